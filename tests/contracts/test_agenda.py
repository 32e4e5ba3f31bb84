"""The agenda's contract for every state backend (memory, SQLite, PostgreSQL, Redis): scheduled
actions stored once, claimed by one claimer per lease, completed only by their holder; and on
PostgreSQL and Redis, two real processes sharing 2,000 due actions complete each exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runtime.ports import (
    ActionKind,
    ActionStatus,
    ScheduledAction,
    StateBackend,
    open_state,
)
from tests.conftest import REPO

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
HOUR = timedelta(hours=1)

BACKENDS = ["memory", "sqlite", "postgresql", "redis"]


def _url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "memory":
        return "memory"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    if kind == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return (
        f"{request.getfixturevalue('redis_url')}?prefix={request.getfixturevalue('redis_prefix')}"
    )


@pytest.fixture(params=BACKENDS)
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateBackend]:
    backend = open_state(_url(request.param, request, tmp_path))
    yield backend
    backend.close()


def _action(
    n: int | str,
    due: datetime = T0,
    *,
    tenant: str = "acme",
    conversation: str = "c1",
    goal: str = "cart-recovery",
) -> ScheduledAction:
    return ScheduledAction(
        tenant=tenant,
        id=f"{goal}:{conversation}:{n}",
        goal=goal,
        conversation=conversation,
        agent="support",
        action=ActionKind.FOLLOW_UP,
        due_at=due,
        expires_at=due + timedelta(days=1),
        max_attempts=3,
        data={"text": "Still there? ☕", "items": [], "n": {"a": [1, 2]}},
        created_at=T0 - timedelta(hours=1),
    )


def _ids(actions: list[ScheduledAction]) -> list[str]:
    return [a.id for a in actions]


def test_scheduling_is_idempotent(state: StateBackend) -> None:
    assert state.schedule(_action(1))
    assert not state.schedule(_action(1, T0 + timedelta(hours=1))), "the id exists"
    [stored] = state.actions("acme", "c1")
    assert stored == _action(1), "stored as given, JSON kept exactly"
    assert stored.status == ActionStatus.PENDING and stored.attempts == 0
    assert state.schedule(_action(1, tenant="other")), "ids are per tenant"


def test_only_due_actions_are_claimed_earliest_first_up_to_the_limit(
    state: StateBackend,
) -> None:
    for n, minutes in enumerate([5, -3, 0, -10, 1, -1]):
        assert state.schedule(_action(n, T0 + timedelta(minutes=minutes)))
    first = state.claim_due("acme", T0, "p1", HOUR, 2)
    assert _ids(first) == ["cart-recovery:c1:3", "cart-recovery:c1:1"]
    assert all(
        a.status == ActionStatus.CLAIMED
        and a.claimed_by == "p1"
        and a.claim_expires_at == T0 + HOUR
        and a.updated_at == T0
        for a in first
    )
    rest = state.claim_due("acme", T0, "p1", HOUR, 10)
    assert _ids(rest) == ["cart-recovery:c1:5", "cart-recovery:c1:2"], "due_at <= now"
    assert state.claim_due("acme", T0, "p1", HOUR, 10) == []
    later = state.claim_due("acme", T0 + timedelta(minutes=1), "p1", HOUR, 10)
    assert _ids(later) == ["cart-recovery:c1:4"]
    assert state.claim_due("acme", T0, "p1", HOUR, 0) == []


def test_tenants_are_claimed_separately_or_all_together(state: StateBackend) -> None:
    state.schedule(_action(1, T0 - timedelta(minutes=2)))
    state.schedule(_action(1, T0 - timedelta(minutes=3), tenant="other"))
    state.schedule(_action(2, T0 - timedelta(minutes=1), tenant="third"))
    assert [(a.tenant, a.id) for a in state.claim_due("acme", T0, "p1", LEASE, 10)] == [
        ("acme", "cart-recovery:c1:1")
    ]
    assert [(a.tenant, a.id) for a in state.claim_due(None, T0, "p1", LEASE, 10)] == [
        ("other", "cart-recovery:c1:1"),
        ("third", "cart-recovery:c1:2"),
    ]


def test_a_claim_holds_until_its_lease_ends_then_another_may_take_it(
    state: StateBackend,
) -> None:
    state.schedule(_action(1))
    assert _ids(state.claim_due("acme", T0, "p1", LEASE, 10)) == ["cart-recovery:c1:1"]
    assert state.claim_due("acme", T0 + timedelta(seconds=29), "p2", LEASE, 10) == []
    assert state.claim_due(None, T0 + timedelta(seconds=29), "p2", LEASE, 10) == []
    [taken] = state.claim_due(None, T0 + LEASE, "p2", LEASE, 10)
    assert taken.claimed_by == "p2" and taken.claim_expires_at == T0 + 2 * LEASE
    assert state.complete("acme", taken.id, "p1", ActionStatus.SENT, T0 + LEASE) is None, (
        "p1's claim was lost to p2"
    )
    done = state.complete("acme", taken.id, "p2", ActionStatus.SENT, T0 + LEASE, channel="sms")
    assert done is not None and done.status == ActionStatus.SENT and done.channel == "sms"
    assert state.claim_due(None, T0 + timedelta(days=1), "p3", LEASE, 10) == [], "finished"


def test_only_the_holder_completes_and_only_once(state: StateBackend) -> None:
    state.schedule(_action(1))
    assert state.complete("acme", "cart-recovery:c1:1", "p1", ActionStatus.SENT, T0) is None
    state.claim_due("acme", T0, "p1", LEASE, 10)
    assert state.complete("acme", "cart-recovery:c1:1", "p2", ActionStatus.SENT, T0) is None
    assert state.complete("acme", "nope", "p1", ActionStatus.SENT, T0) is None
    with pytest.raises(ValueError):
        state.complete("acme", "cart-recovery:c1:1", "p1", ActionStatus.PENDING, T0)
    at = T0 + timedelta(seconds=3)
    done = state.complete(
        "acme", "cart-recovery:c1:1", "p1", ActionStatus.FAILED, at, error="no channel"
    )
    assert done is not None
    assert (done.status, done.last_error, done.updated_at) == (
        ActionStatus.FAILED,
        "no channel",
        at,
    )
    assert done.claimed_by == "p1" and done.claim_expires_at is None and done.attempts == 0
    assert state.complete("acme", "cart-recovery:c1:1", "p1", ActionStatus.SENT, at) is None
    assert state.actions("acme", "c1") == [done]


def test_a_retry_goes_back_to_pending_with_one_more_attempt(state: StateBackend) -> None:
    state.schedule(_action(1))
    state.claim_due("acme", T0, "p1", LEASE, 10)
    retry = T0 + timedelta(minutes=10)
    again = state.complete(
        "acme",
        "cart-recovery:c1:1",
        "p1",
        ActionStatus.FAILED,
        T0,
        channel="whatsapp",
        error="timeout",
        next_due=retry,
    )
    assert again is not None
    assert (again.status, again.attempts, again.due_at) == (ActionStatus.PENDING, 1, retry)
    assert (again.channel, again.last_error, again.claimed_by) == ("whatsapp", "timeout", None)
    assert state.claim_due("acme", retry - timedelta(seconds=1), "p2", LEASE, 10) == []
    [second] = state.claim_due("acme", retry, "p2", LEASE, 10)
    assert second.attempts == 1 and second.claimed_by == "p2"
    later = retry + timedelta(hours=8)  # quiet hours: not tried, so not an attempt
    postponed = state.complete(
        "acme", second.id, "p2", ActionStatus.PENDING, retry, next_due=later, postpone=True
    )
    assert postponed is not None and (postponed.attempts, postponed.due_at) == (1, later)
    [third] = state.claim_due("acme", later, "p3", LEASE, 10)
    sent = state.complete("acme", third.id, "p3", ActionStatus.SENT, later, channel="sms")
    assert sent is not None and sent.channel == "sms" and sent.last_error == "timeout"
    assert sent.attempts == 1
    assert state.actions("acme", "c1") == [sent]


def test_cancel_takes_the_goals_open_actions_of_the_conversation(state: StateBackend) -> None:
    state.schedule(_action(1, T0 - timedelta(minutes=1)))
    state.schedule(_action(2, T0 + timedelta(hours=1)))
    state.schedule(_action(3, T0 - timedelta(minutes=2)))
    state.schedule(_action(1, T0, goal="nps-survey"))
    state.schedule(_action(1, T0, conversation="c2"))
    [sent] = state.claim_due("acme", T0 - timedelta(minutes=2), "p1", LEASE, 1)
    state.complete("acme", sent.id, "p1", ActionStatus.SENT, T0)
    state.claim_due("acme", T0 - timedelta(minutes=1), "p1", LEASE, 1)  # :1 is claimed
    assert state.cancel("acme", "c1", "cart-recovery", T0) == 2
    assert state.cancel("acme", "c1", "cart-recovery", T0) == 0
    statuses = {a.id: a.status for a in state.actions("acme", "c1")}
    assert statuses == {
        "cart-recovery:c1:1": ActionStatus.CANCELLED,
        "cart-recovery:c1:2": ActionStatus.CANCELLED,
        "cart-recovery:c1:3": ActionStatus.SENT,
        "nps-survey:c1:1": ActionStatus.PENDING,
    }
    assert state.complete("acme", "cart-recovery:c1:1", "p1", ActionStatus.SENT, T0) is None
    assert _ids(state.claim_due("acme", T0 + timedelta(days=1), "p2", LEASE, 10)) == [
        "cart-recovery:c2:1",
        "nps-survey:c1:1",
    ]


def test_actions_of_a_conversation_are_listed_by_due_time(state: StateBackend) -> None:
    assert state.actions("acme", "c1") == []
    for n, minutes in [(1, 30), (2, -5), (3, 10)]:
        state.schedule(_action(n, T0 + timedelta(minutes=minutes)))
    state.schedule(_action(9, conversation="c2"))
    state.schedule(_action(9, tenant="other"))
    assert _ids(state.actions("acme", "c1")) == [
        "cart-recovery:c1:2",
        "cart-recovery:c1:3",
        "cart-recovery:c1:1",
    ]


def test_racing_claimers_never_share_an_action_and_take_them_all(state: StateBackend) -> None:
    for n in range(200):
        assert state.schedule(_action(n, T0 - timedelta(seconds=n % 17)))
    got: dict[str, list[str]] = {}

    def claim(holder: str) -> None:
        mine: list[str] = []
        while batch := state.claim_due(None, T0, holder, LEASE, 7):
            mine += _ids(batch)
        got[holder] = mine

    threads = [threading.Thread(target=claim, args=(f"p{n}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for ids in got.values() for i in ids]
    assert len(every) == 200 and len(set(every)) == 200
    holders = {a.id: a.claimed_by for a in state.actions("acme", "c1")}
    assert all(holders[i] == holder for holder, ids in got.items() for i in ids)


_WORKER = """
import json, sys, time
from datetime import UTC, datetime, timedelta
from runtime.ports import ActionStatus, open_state

url, holder, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
state = open_state(url)
time.sleep(max(0.0, start - time.time()))
done = []
while batch := state.claim_due(None, datetime.now(UTC), holder, timedelta(minutes=5), 25):
    for action in batch:
        now = datetime.now(UTC)
        if state.complete(action.tenant, action.id, holder, ActionStatus.SENT, now, channel="sms"):
            done.append([action.tenant, action.id])
state.close()
print(json.dumps(done))
"""


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["postgresql", "redis"])
def test_two_processes_complete_each_due_action_exactly_once(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = _url(kind, request, tmp_path)
    state = open_state(url)
    try:
        due = datetime.now(UTC) - timedelta(minutes=1)
        for n in range(2000):
            tenant = ("acme", "other")[n % 2]
            assert state.schedule(_action(n, due, tenant=tenant, conversation=f"c{n % 50}"))
        start = time.time() + 2.0
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _WORKER, url, holder, str(start)],
                cwd=REPO,
                stdout=subprocess.PIPE,
                text=True,
            )
            for holder in ("w1", "w2")
        ]
        reports = {}
        for holder, proc in zip(("w1", "w2"), procs, strict=True):
            out, _ = proc.communicate(timeout=120)
            assert proc.returncode == 0
            reports[holder] = {tuple(x) for x in json.loads(out)}
        assert reports["w1"] and reports["w2"], "both processes took part"
        assert not reports["w1"] & reports["w2"], "no action completed twice"
        assert len(reports["w1"]) + len(reports["w2"]) == 2000
        final = {
            (a.tenant, a.id): a
            for tenant in ("acme", "other")
            for c in range(50)
            for a in state.actions(tenant, f"c{c}")
        }
        assert len(final) == 2000
        for holder, done in reports.items():
            for key in done:
                assert final[key].status == ActionStatus.SENT and final[key].claimed_by == holder
    finally:
        state.close()
