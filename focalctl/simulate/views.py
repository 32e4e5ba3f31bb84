"""How a simulate run is shown: text (rich; a transcript for each failure), JSON, JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import IO, Any

from rich.console import Console
from rich.markup import escape

from focalctl.simulate import Comparison, Suite
from focalctl.simulate.runner import Line, SimulationResult

FORMATS = ("text", "json", "junit")
_WHO = {"user": "cyan", "agent": "green", "tool": "magenta", "system": "dim"}


def transcript(result: SimulationResult) -> list[str]:
    """The transcript as plain lines, in the simulation's time zone."""
    return [f"{_clock(result, line)}  {line.who:<6} {line.text}" for line in result.transcript]


def text(suite: Suite, console: Console) -> None:
    for result in suite.results:
        where = escape(f"{result.tenant}/{result.name}")
        took = f"{result.seconds * 1000:.0f} ms"
        if result.passed:
            console.print(f"[green]PASS[/] {where} [dim]({escape(result.file)}, {took})[/]")
            continue
        console.print(f"[red]FAIL[/] {where} [dim]({escape(result.file)}, {took})[/]")
        for line in result.transcript:
            color = _WHO.get(line.who, "white")
            console.print(
                f"   [dim]{_clock(result, line)}[/] [{color}]{line.who:<6}[/] {escape(line.text)}"
            )
        failure = result.failure
        assert failure is not None
        console.print(
            f"   [bold]{escape(_position(result))}[/]: [red]event {failure.event + 1}, "
            f"{escape(failure.key)}[/]: {escape(failure.message)}"
        )
    failed = sum(1 for r in suite.results if not r.passed)
    passed = len(suite.results) - failed
    color = "red" if failed else "green"
    console.print(
        f"[{color}]{passed} passed, {failed} failed[/]"
        + (f" [dim]({suite.found - len(suite.results)} deselected)[/]" if suite.found else "")
    )


def as_json(suite: Suite) -> dict[str, Any]:
    return {
        "passed": sum(1 for r in suite.results if r.passed),
        "failed": sum(1 for r in suite.results if not r.passed),
        "simulations": [
            {
                "tenant": r.tenant,
                "name": r.name,
                "file": r.file,
                "passed": r.passed,
                "seconds": round(r.seconds, 4),
                "failure": None
                if r.failure is None
                else {
                    "event": r.failure.event + 1,
                    "key": r.failure.key,
                    "message": r.failure.message,
                    "file": r.file,
                    "line": r.line,
                    "column": r.column,
                },
                "transcript": [
                    {"at": _iso(r, line), "who": line.who, "text": line.text}
                    for line in r.transcript
                ],
            }
            for r in suite.results
        ],
    }


def junit(suite: Suite, out: IO[str]) -> None:
    root = ET.Element(
        "testsuite",
        name="focalctl simulate",
        tests=str(len(suite.results)),
        failures=str(sum(1 for r in suite.results if not r.passed)),
        time=f"{sum(r.seconds for r in suite.results):.3f}",
    )
    for r in suite.results:
        case = ET.SubElement(
            root, "testcase", classname=r.tenant, name=r.name, file=r.file, time=f"{r.seconds:.3f}"
        )
        if r.failure is not None:
            failure = ET.SubElement(case, "failure", message=f"{_position(r)}: {r.failure.message}")
            failure.text = "\n".join(transcript(r))
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode"))
    out.write("\n")


def write_json(suite: Suite, out: IO[str]) -> None:
    from focalctl import jsondoc

    jsondoc.write(as_json(suite), out)


def _position(result: SimulationResult) -> str:
    return f"{result.file}:{result.line or 1}:{result.column or 1}"


def _clock(result: SimulationResult, line: Line) -> str:
    return line.at.astimezone(result.zone).strftime("%a %H:%M:%S.%f")[:-3]


def _iso(result: SimulationResult, line: Line) -> str:
    return line.at.astimezone(result.zone).isoformat()


def comparisons_text(comparisons: Sequence[Comparison], console: Console) -> None:
    """The behaviour section of ``plan --simulate``."""
    if not comparisons:
        console.print("\n[dim]No simulations for this tenant.[/]")
        return
    changed = [c for c in comparisons if c.changed]
    console.print(
        f"\n[bold]Behaviour[/]: {len(changed)} of {len(comparisons)} simulation(s) change"
    )
    for c in changed:
        before = "no active release" if c.before is None else _verdict(c.before)
        console.print(f"  [yellow]~[/] {escape(c.name)}: {before} → {_verdict(c.after)}")
        for line in c.diff:
            color = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            console.print(f"      [{color}]{escape(line)}[/]")


def comparisons_json(comparisons: Sequence[Comparison]) -> list[dict[str, Any]]:
    return [
        {
            "name": c.name,
            "changed": c.changed,
            "before": None if c.before is None else _outcome(c.before),
            "after": _outcome(c.after),
            "diff": list(c.diff),
        }
        for c in comparisons
    ]


def _verdict(result: SimulationResult) -> str:
    if result.passed:
        return "[green]pass[/]"
    failure = result.failure
    assert failure is not None
    return f"[red]fail[/] (event {failure.event + 1}, {escape(failure.key)})"


def _outcome(result: SimulationResult) -> dict[str, Any]:
    failure = result.failure
    return {
        "passed": result.passed,
        "failure": None
        if failure is None
        else {"event": failure.event + 1, "key": failure.key, "message": failure.message},
    }
