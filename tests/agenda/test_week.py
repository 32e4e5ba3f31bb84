"""A simulated week of the agenda: goals triggered by real turns, fired by the scheduler on the
Clock. Follow-ups go out at the right local time, never in quiet hours, never without consent,
at most maxAttempts times, fall back when a channel fails, stop when the goal is met, survive
a restart (SQLite, PostgreSQL, Redis state) and fire once with two schedulers."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from focalctl.compile import compile_paths
from runtime.agenda import RecordingOutbound, Scheduler, check
from runtime.agenda.permission import QuietHours
from runtime.conversations import TurnRequest, TurnService
from runtime.gateway import TurnGateway
from runtime.ports import ActionStatus, SimulatedClock, StateBackend, open_state
from runtime.ports.memory import MemoryState
from runtime.registry import SnapshotRegistry
from tests.brain.test_engine import retail
from tests.conftest import REPO

BERLIN = ZoneInfo("Europe/Berlin")
LONDON = ZoneInfo("Europe/London")
TICK = timedelta(minutes=15)  # how often the simulated scheduler runs: "on time" is within it


class Tools:
    def call(self, name: str, spec: Mapping[str, Any], args: Mapping[str, Any]) -> Any:
        if name == "lookup-order":
            return {"status": "delivered", "total": 42.0}
        if name == "find-slots":
            return [{"label": "10:30", "id": "S-1"}]
        return {"refund_id": "R-1", "id": "A-1"}


class World:
    """One tenant's runtime on a simulated clock: turns, a scheduler, a recording outbound."""

    def __init__(
        self,
        start: datetime,
        state: StateBackend | None = None,
        snapshot: tuple[str, str, bytes] | None = None,
        failing: tuple[str, ...] = (),
    ) -> None:
        tenant, sid, raw = snapshot or ("acme", *retail())
        self.tenant = tenant
        self.registry = SnapshotRegistry()
        assert self.registry.offer(tenant, "dev", 1, sid, raw, "test") is not None
        self.clock = SimulatedClock(start)
        self.state = state or MemoryState()
        self.service = TurnService(
            self.registry, self.state, self.clock, {"http": Tools(), "internal": Tools()}
        )
        self.gateway = TurnGateway(self.service, inline=True)
        self.outbound = RecordingOutbound(failing=failing)
        self.scheduler = Scheduler(self.service, self.outbound)
        self.n = 0
        self.conversation = "c1"

    def say(self, agent: str, channel: str, profile: dict[str, Any], **fields: Any) -> None:
        self.n += 1
        self.clock.advance(timedelta(seconds=20))  # a customer's pace
        done = self.gateway.submit(
            TurnRequest(
                self.tenant,
                agent,
                channel,
                self.conversation,
                f"m{self.n}",
                fields.pop("text", "..."),
                profile=profile,
                **fields,
            )
        )
        while not done.done():
            deadline = self.gateway.next_deadline()
            assert deadline is not None
            self.clock.advance(deadline - self.clock.now())
            self.gateway.pump()

    def live(self, hours: float, step: timedelta | None = None) -> None:
        step = step or TICK
        end = self.clock.now() + timedelta(hours=hours)
        while self.clock.now() < end:
            self.clock.advance(step)
            self.scheduler.tick()

    def refund(self, profile: dict[str, Any]) -> None:
        self.say("support", "wa-main", profile, intent="refund", slots={"order_id": "O-1"})
        self.say("support", "wa-main", profile, intent="confirm")

    def actions(self) -> list[Any]:
        return self.state.actions(self.tenant, self.conversation)


ANA = {"first_name": "Ana", "consent": True}


def test_a_follow_up_waits_for_quiet_hours_to_end_then_goes_out_once() -> None:
    # Monday 22:30 in Berlin: due Tuesday 22:30, inside quiet hours (21:00-08:00)
    world = World(datetime(2026, 3, 2, 22, 30, tzinfo=BERLIN))
    world.refund(ANA)
    [action] = world.actions()
    assert action.goal == "refund-feedback" and action.status == ActionStatus.PENDING
    world.live(24 * 7)
    [sent] = world.outbound.sent
    opens = datetime(2026, 3, 4, 8, 0, tzinfo=BERLIN)  # Wednesday, when quiet hours end
    assert timedelta(0) <= sent.at - opens < TICK, sent.at.astimezone(BERLIN)
    assert sent.profile == "wa-main" and sent.parts == (
        "Hi Ana, did your refund arrive? Reply YES or NO. - Acme",
    )
    [done] = world.actions()
    assert (done.status, done.attempts, done.channel) == (ActionStatus.SENT, 0, "wa-main")
    kinds = [e.kind for e in world.state.events("acme", limit=10_000)]
    assert kinds.count("agenda.postponed") == 1 and kinds.count("agenda.sent") == 1


def test_no_follow_up_without_consent_and_at_most_max_attempts() -> None:
    world = World(datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN))
    world.refund({"first_name": "Bo", "consent": False})
    world.live(24 * 7)
    assert world.outbound.sent == []
    [done] = world.actions()
    assert (done.status, done.attempts) == (ActionStatus.FAILED, 1)  # maxAttempts 2: tried twice
    kinds = [e.kind for e in world.state.events("acme", limit=10_000)]
    assert kinds.count("agenda.retry") == 1 and kinds.count("agenda.failed") == 1


def test_a_failing_channel_falls_back_to_the_next_reformatted() -> None:
    world = World(datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN), failing=("wa-main",))
    world.refund(ANA)
    world.live(48)
    [sent] = world.outbound.sent
    assert sent.profile == "sms-main" and sent.channel == "sms"
    assert all(len(p) <= 160 for p in sent.parts)
    [event] = [e for e in world.state.events("acme", limit=10_000) if e.kind == "agenda.sent"]
    assert [h["profile"] for h in event.data["hops"]] == ["wa-main", "sms-main"]
    assert event.data["hops"][0]["result"] == "failed"


def test_every_channel_failing_retries_then_gives_up() -> None:
    every = ("wa-main", "sms-main", "email-main")  # the goal's two, and the profiles' fallback
    world = World(datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN), failing=every)
    world.refund(ANA)
    world.live(24 * 7)
    assert world.outbound.sent == []
    [done] = world.actions()
    assert done.status == ActionStatus.FAILED and done.last_error == "undeliverable"


@pytest.fixture(scope="module")
def clinic() -> tuple[str, str, bytes]:
    snap = compile_paths([REPO / "examples" / "clinic"]).snapshots["northside-clinic"]
    return "northside-clinic", snap.id, snap.raw


PATIENT = {"patient_id": "P-7", "consent": True}


def _book(world: World, at: str) -> None:
    for fields in (
        {"intent": "book"},
        {"slots": {"kind": "gp"}},
        {"slots": {"day": at[:10]}},
        {"slots": {"appointment_at": at}},
        {"intent": "confirm"},
    ):
        world.say("receptionist", "phone", PATIENT, **fields)


def test_a_reminder_goes_out_a_day_before_the_appointment(clinic: tuple[str, str, bytes]) -> None:
    world = World(datetime(2026, 3, 2, 9, 0, tzinfo=LONDON), snapshot=clinic)
    _book(world, "2026-03-05T10:30:00+00:00")
    world.live(24 * 4)
    [sent] = world.outbound.sent
    due = datetime(2026, 3, 4, 10, 30, tzinfo=LONDON)  # 24 h before the appointment
    assert timedelta(0) <= sent.at - due < TICK, sent.at
    assert sent.profile == "sms-reminders" and "tomorrow" in sent.parts[0]


def test_a_reminder_stops_when_the_appointment_is_cancelled(
    clinic: tuple[str, str, bytes],
) -> None:
    world = World(datetime(2026, 3, 2, 9, 0, tzinfo=LONDON), snapshot=clinic)
    _book(world, "2026-03-05T10:30:00+00:00")
    world.say(
        "receptionist", "phone", PATIENT, intent="cancel", slots={"appointment": {"id": "A-1"}}
    )
    world.say("receptionist", "phone", PATIENT, intent="confirm")
    world.live(24 * 4)
    assert world.outbound.sent == []
    [reminder] = [a for a in world.actions() if a.goal == "appointment-reminder"]
    assert reminder.status == ActionStatus.CANCELLED


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "redis"])
def test_the_agenda_survives_a_restart_and_two_schedulers_fire_each_action_once(
    backend: str, tmp_path: Any, request: pytest.FixtureRequest
) -> None:
    url = {
        "sqlite": lambda: f"sqlite:///{tmp_path / 'state.db'}",
        "postgresql": lambda: str(request.getfixturevalue("pg_url")),
        "redis": lambda: (
            f"{request.getfixturevalue('redis_url')}?prefix={request.getfixturevalue('redis_prefix')}"
        ),
    }[backend]()
    start = datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN)
    first = World(start, state=open_state(url))
    for n in range(20):  # twenty conversations, each with a follow-up due tomorrow
        first.conversation = f"c{n}"
        first.say("support", "web-chat", ANA, intent="refund", slots={"order_id": f"O-{n}"})
        first.say("support", "web-chat", ANA, intent="confirm")
    first.gateway.close()
    first.state.close()  # nothing of it survives but what the state stored

    # "restart": two new processes' worth of schedulers on the same state
    later = first.clock.now() + timedelta(hours=25)
    outbound = RecordingOutbound()
    schedulers = []
    for _ in range(2):
        world = World(later, state=open_state(url))
        world.scheduler = Scheduler(world.service, outbound)
        schedulers.append(world)
    for _ in range(2):  # WhatsApp's burst (10) leaves some for the next tick
        threads = [threading.Thread(target=w.scheduler.tick) for w in schedulers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for w in schedulers:
            w.clock.advance(TICK)
    conversations = [s.conversation for s in outbound.sent]
    assert len(conversations) == 20 and len(set(conversations)) == 20, conversations
    for w in schedulers:
        w.state.close()


def test_quiet_hours_across_midnight_and_dst() -> None:
    window = QuietHours.of({"start": "21:00", "end": "08:00", "timezone": "Europe/Berlin"})
    # the night the clocks go forward (2026-03-29 02:00 → 03:00 in Berlin)
    late = datetime(2026, 3, 28, 23, 0, tzinfo=BERLIN)
    assert window.contains(late)
    opens = window.ends_after(late)
    assert opens.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 29, 8, 0)
    elapsed = opens.astimezone(UTC) - late.astimezone(UTC)  # same-zone subtraction is wall time
    assert elapsed == timedelta(hours=8)  # 9 wall-clock hours, one of them skipped
    assert not window.contains(datetime(2026, 3, 29, 12, 0, tzinfo=BERLIN))
    tenant = {
        "outbound": {
            "requireConsent": True,
            "quietHours": {"start": "21:00", "end": "08:00", "timezone": "Europe/Berlin"},
        }
    }
    profile = {"channel": "sms", "capabilities": {"outbound": True}}
    refused = check(tenant, profile, {"consent": True}, late)
    assert (refused.allowed, refused.reason, refused.retry_at) == (False, "quiet-hours", opens)
    assert check(tenant, profile, {}, opens).reason == "no-consent"
    assert (
        check(
            tenant,
            {"channel": "sms", "capabilities": {"outbound": False}},
            {"consent": True},
            opens,
        ).reason
        == "no-outbound"
    )
    assert check(tenant, profile, {"consent": True}, opens).allowed


def test_a_profiles_outbound_rate_limit_holds_messages_for_it_not_for_a_lower_channel() -> None:
    """wa-main sends 60 a minute with a burst of 10 (WhatsApp's defaults): twelve follow-ups
    due in one tick go ten at once; the other two are postponed (not an attempt) and go out
    on WhatsApp at the next tick, never on SMS."""
    world = World(datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN))
    for n in range(12):
        world.conversation = f"c{n}"
        world.refund(ANA)
    world.clock.advance(timedelta(hours=24))
    world.scheduler.tick()
    assert [s.profile for s in world.outbound.sent] == ["wa-main"] * 10
    events = world.state.events("acme", limit=10_000)
    postponed = [e for e in events if e.kind == "agenda.postponed"]
    assert len(postponed) == 2
    assert all(
        e.data["hops"] == [{**e.data["hops"][0], "result": "rate-limited"}] for e in postponed
    )
    world.live(1)
    assert [s.profile for s in world.outbound.sent] == ["wa-main"] * 12
    assert len({s.conversation for s in world.outbound.sent}) == 12
    actions = [world.state.actions("acme", f"c{n}")[0] for n in range(12)]
    assert all(a.status == ActionStatus.SENT and a.attempts <= 1 for a in actions), actions
