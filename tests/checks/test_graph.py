"""Invariant 5: entry, reachability, termination, cycles without exit, checkpoint crossings."""

from __future__ import annotations

from pathlib import Path

from .bundles import diagnostics, found, scenario, write

S = "scenario.yaml"


def graph(tmp_path: Path, steps: str, entry: str = "start") -> set[tuple[str, str, str]]:
    return found(write(tmp_path, scenario=scenario(steps, entry)))


def test_valid_scenario_has_no_graph_findings(tmp_path: Path) -> None:
    assert found(write(tmp_path)) == set()


def test_unknown_entry_step_with_did_you_mean(tmp_path: Path) -> None:
    root = write(tmp_path, scenario=scenario("    - {id: start, terminal: true}\n", "strat"))
    assert found(root) == {("FOC401", S, "/spec/entry/step")}


def test_unreachable_step_reported_once_at_its_id(tmp_path: Path) -> None:
    steps = (
        "    - {id: start, transitions: [{to: end}]}\n"
        "    - {id: end, terminal: true}\n"
        "    - {id: orphan, terminal: true}\n"
    )
    assert graph(tmp_path, steps) == {("FOC402", S, "/spec/steps/2/id")}


def test_dead_end_and_steps_stuck_behind_it_cannot_finish(tmp_path: Path) -> None:
    steps = (
        '    - {id: start, transitions: [{to: end, when: "turn.x"}, {to: a}]}\n'
        "    - {id: a, transitions: [{to: b}]}\n"
        "    - {id: b}\n"
        "    - {id: end, terminal: true}\n"
    )
    assert graph(tmp_path, steps) == {
        ("FOC403", S, "/spec/steps/1/id"),
        ("FOC403", S, "/spec/steps/2/id"),
    }


def test_closed_cycle_is_one_foc405_not_foc403_per_member(tmp_path: Path) -> None:
    steps = (
        '    - {id: start, transitions: [{to: end, when: "turn.x"}, {to: ping}]}\n'
        "    - {id: ping, transitions: [{to: pong}]}\n"
        "    - {id: pong, transitions: [{to: pang}]}\n"
        "    - {id: pang, transitions: [{to: ping}]}\n"
        "    - {id: end, terminal: true}\n"
    )
    root = write(tmp_path, scenario=scenario(steps))
    assert found(root) == {("FOC405", S, "/spec/steps/1/id")}
    (diag,) = diagnostics(root)
    assert "'ping', 'pong', 'pang'" in diag.message


def test_self_loop_without_exit_is_a_cycle(tmp_path: Path) -> None:
    steps = (
        '    - {id: start, transitions: [{to: end, when: "turn.x"}, {to: wait}]}\n'
        "    - {id: wait, transitions: [{to: wait}]}\n"
        "    - {id: end, terminal: true}\n"
    )
    assert graph(tmp_path, steps) == {("FOC405", S, "/spec/steps/1/id")}


def test_cycle_whose_exit_is_a_dead_end_is_not_closed(tmp_path: Path) -> None:
    """The SCC {a, b} has an edge leaving it (to the dead end c): each stuck step is FOC403."""
    steps = (
        '    - {id: start, transitions: [{to: end, when: "turn.x"}, {to: a}]}\n'
        "    - {id: a, transitions: [{to: b}]}\n"
        "    - {id: b, transitions: [{to: a}, {to: c}]}\n"
        "    - {id: c}\n"
        "    - {id: end, terminal: true}\n"
    )
    assert graph(tmp_path, steps) == {
        ("FOC403", S, "/spec/steps/1/id"),
        ("FOC403", S, "/spec/steps/2/id"),
        ("FOC403", S, "/spec/steps/3/id"),
    }


def test_cycle_with_an_exit_to_a_terminal_is_fine(tmp_path: Path) -> None:
    steps = (
        "    - {id: start, transitions: [{to: ask}]}\n"
        '    - {id: ask, transitions: [{to: end, when: "turn.ok"}, {to: retry}]}\n'
        "    - {id: retry, transitions: [{to: ask}]}\n"
        "    - {id: end, terminal: true}\n"
    )
    assert graph(tmp_path, steps) == set()


def test_no_terminal_step_is_foc406_without_a_cascade(tmp_path: Path) -> None:
    steps = "    - {id: start, transitions: [{to: next}]}\n    - {id: next}\n"
    assert graph(tmp_path, steps) == {("FOC406", S, "/spec/steps")}


def test_unknown_transition_target_stops_graph_analysis(tmp_path: Path) -> None:
    steps = (
        "    - {id: start, transitions: [{to: edn}]}\n"
        "    - {id: end, terminal: true}\n"
        "    - {id: orphan}\n"
    )
    assert graph(tmp_path, steps) == {("FOC302", S, "/spec/steps/0/transitions/0/to")}


CHECKPOINTED = (
    "    - {id: start, transitions: [{to: pay}]}\n"
    "    - id: pay\n"
    "      checkpoint: {description: charged}\n"
    "      transitions: [{to: receipt}]\n"
    '    - {id: receipt, transitions: [{to: end, when: "turn.ok"}, {to: BACK}]}\n'
    "    - {id: end, terminal: true}\n"
)


def test_transition_back_before_a_checkpoint(tmp_path: Path) -> None:
    steps = CHECKPOINTED.replace("BACK", "start")
    assert graph(tmp_path, steps) == {("FOC404", S, "/spec/steps/2/transitions/1/to")}


def test_transition_from_the_checkpoint_itself_back(tmp_path: Path) -> None:
    steps = CHECKPOINTED.replace("[{to: receipt}]", "[{to: receipt}, {to: start}]").replace(
        ", {to: BACK}", ""
    )
    assert graph(tmp_path, steps) == {("FOC404", S, "/spec/steps/1/transitions/1/to")}


def test_loop_back_to_the_checkpoint_or_within_its_region_is_fine(tmp_path: Path) -> None:
    assert graph(tmp_path, CHECKPOINTED.replace("BACK", "pay")) == set()


def test_forward_merge_into_a_shared_step_is_not_a_crossing(tmp_path: Path) -> None:
    """'bye' is reachable without the checkpoint, but the checkpoint cannot be reached from it."""
    steps = (
        '    - {id: start, transitions: [{to: pay, when: "turn.buy"}, {to: bye}]}\n'
        "    - id: pay\n"
        "      checkpoint: {description: charged}\n"
        "      transitions: [{to: bye}]\n"
        "    - {id: bye, terminal: true}\n"
    )
    assert graph(tmp_path, steps) == set()


def test_leaving_the_checkpoint_region_towards_a_step_that_leads_back_is_a_crossing(
    tmp_path: Path,
) -> None:
    """'side' is not after 'pay' (there is a path around it) and 'pay' is reachable from 'side'
    again: pay → side would let the conversation redo the point of no return."""
    steps = (
        '    - {id: start, transitions: [{to: pay, when: "turn.buy"}, {to: side}]}\n'
        "    - id: pay\n"
        "      checkpoint: {description: charged}\n"
        "      transitions: [{to: side}]\n"
        '    - {id: side, transitions: [{to: end, when: "turn.done"}, {to: start}]}\n'
        "    - {id: end, terminal: true}\n"
    )
    assert graph(tmp_path, steps) == {("FOC404", S, "/spec/steps/1/transitions/0/to")}
    # Without side → start, 'pay' cannot be reached from 'side': a forward merge, no finding.
    assert graph(tmp_path, steps.replace(", {to: start}", "")) == set()


def test_nested_checkpoints_report_one_diagnostic_naming_the_innermost(tmp_path: Path) -> None:
    steps = (
        "    - {id: start, transitions: [{to: c1}]}\n"
        "    - {id: c1, checkpoint: {description: one}, transitions: [{to: c2}]}\n"
        "    - {id: c2, checkpoint: {description: two}, transitions: [{to: last}]}\n"
        '    - {id: last, transitions: [{to: end, when: "turn.ok"}, {to: start}]}\n'
        "    - {id: end, terminal: true}\n"
    )
    root = write(tmp_path, scenario=scenario(steps))
    assert found(root) == {("FOC404", S, "/spec/steps/3/transitions/1/to")}
    (diag,) = diagnostics(root)
    assert "'c2'" in diag.message and "'last'" in diag.message and "'start'" in diag.message


def test_standalone_steps_join_the_graph(tmp_path: Path) -> None:
    """A `kind: Step` document is part of its scenario: entry and transitions may use it."""
    steps = "    - {id: start, transitions: [{to: done}]}\n"
    standalone = (
        "apiVersion: focal/v1\nkind: Step\nmetadata: {name: done-step, tenant: t1}\n"
        "spec: {scenario: flow, id: done, terminal: true}\n"
    )
    assert found(write(tmp_path, scenario=scenario(steps), step=standalone)) == set()
    cut = standalone.replace("terminal: true", "terminal: false")
    assert found(write(tmp_path, scenario=scenario(steps), step=cut)) == {
        ("FOC406", S, "/spec/steps")
    }
