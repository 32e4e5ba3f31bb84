"""Delivery receipts and the receipt-driven fallback ladder, in process on a simulated clock:
a follow-up sent on WhatsApp is recorded; receipts move it forward only; a failed receipt
sends it on SMS (re-formatted to GSM-7 parts of at most 160 characters), the next on email,
and when email fails too it is undeliverable. A ladder never tries a profile twice."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import pytest

from focalctl.compile import compile_paths
from runtime.agenda.ladder import walk
from runtime.ports import MessageStatus, StateBackend, open_state
from runtime.ports.memory import MemoryState
from tests.conftest import REPO

from .test_week import ANA, BERLIN, World

LONG = (
    "Hi {{ profile.first_name }}, did your refund for order O-1 arrive? We sent it to the card"
    " you paid with, and banks can take up to five working days to show it. If it is not there"
    " yet, reply NO and a member of our team will look into it for you today. Reply YES if all"
    " is well."
)


@lru_cache(maxsize=1)
def ladder_snapshot(tmp: str) -> tuple[str, str, bytes]:
    """The retail example with the refund follow-up on WhatsApp, then SMS, then email, and a
    message longer than one SMS."""
    bundle = Path(tmp) / "retail"
    shutil.copytree(REPO / "examples" / "retail", bundle)
    goal = bundle / "goals" / "refund-feedback.yaml"
    text = goal.read_text().replace(
        "channels: [wa-main, sms-main]", "channels: [wa-main, sms-main, email-main]"
    )
    start = text.index("  message: ")
    end = text.index("\n", start)
    goal.write_text(text[:start] + f'  message: "{LONG}"' + text[end:])
    snap = compile_paths([bundle]).snapshots["acme"]
    return "acme", snap.id, snap.raw


@pytest.fixture(params=["memory", "sqlite"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateBackend]:
    backend = open_state("memory" if request.param == "memory" else f"sqlite:///{tmp_path}/s.db")
    yield backend
    backend.close()


def _fired(
    state: StateBackend, tmp_path_factory: pytest.TempPathFactory, failing: tuple[str, ...] = ()
) -> World:
    snapshot = ladder_snapshot(str(tmp_path_factory.getbasetemp()))
    world = World(datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN), state, snapshot, failing)
    world.refund(ANA)
    world.live(25)
    assert len(world.outbound.sent) == 1
    return world


def test_the_scheduler_records_what_it_sends(
    state: StateBackend, tmp_path_factory: pytest.TempPathFactory
) -> None:
    world = _fired(state, tmp_path_factory)
    [sent] = world.outbound.sent
    [action] = world.actions()
    assert sent.message_id == f"{action.id}:1"
    [message] = state.messages("acme", "c1")
    assert message.id == sent.message_id and message.action == action.id
    assert (message.status, message.profile, message.channel) == ("sent", "wa-main", "whatsapp")
    assert message.parts == sent.parts and message.text.startswith("Hi Ana, did your refund")
    assert message.ladder == ("sms-main", "email-main")
    assert [(h["profile"], h["result"]) for h in message.hops] == [("wa-main", "sent")]


def test_receipts_move_forward_only(
    state: StateBackend, tmp_path_factory: pytest.TempPathFactory
) -> None:
    world = _fired(state, tmp_path_factory)
    mid = world.outbound.sent[0].message_id
    assert mid is not None
    assert world.scheduler.receipt("acme", "nope", "read") is None
    steps = [("delivered", True), ("sent", False), ("delivered", False), ("read", True)]
    for status, changed in steps:
        found = world.scheduler.receipt("acme", mid, status)
        assert found is not None and found[1] is changed, status
    message = state.message("acme", mid)
    assert message is not None and message.status == MessageStatus.READ
    assert [h["result"] for h in message.hops] == ["sent", "delivered", "read"]
    receipts = [e for e in state.events("acme", limit=10_000) if e.kind == "delivery.receipt"]
    assert [e.data["status"] for e in receipts] == ["delivered", "read"]
    assert len(world.outbound.sent) == 1, "receipts alone send nothing"


def test_whatsapp_fails_then_sms_then_email_then_undeliverable(
    state: StateBackend, tmp_path_factory: pytest.TempPathFactory
) -> None:
    world = _fired(state, tmp_path_factory)
    mid = world.outbound.sent[0].message_id
    assert mid is not None

    found = world.scheduler.receipt("acme", mid, "failed", "not on WhatsApp")
    assert found is not None
    message, changed = found
    assert changed and (message.status, message.profile) == ("sent", "sms-main")
    sms = world.outbound.sent[-1]
    assert (sms.profile, sms.channel, sms.message_id) == ("sms-main", "sms", mid)
    assert len(sms.parts) > 1 and all(len(p) <= 160 for p in sms.parts)
    for part in sms.parts:
        part.encode("gsm03.38")  # GSM-7, no UCS-2 part
    assert sms.parts[-1].endswith("- Acme") and message.ladder == ("email-main",)
    assert world.scheduler.receipt("acme", mid, "delivered") is not None  # on SMS now

    message, changed = world.scheduler.receipt("acme", mid, "failed") or (None, False)
    assert changed and message is not None and message.profile == "email-main"
    email = world.outbound.sent[-1]
    assert email.channel == "email" and len(email.parts) == 1
    assert email.parts[0].startswith("Hello Ana,") and "The Acme Outdoor team" in email.parts[0]

    message, changed = world.scheduler.receipt("acme", mid, "failed", "bounced") or (None, False)
    assert changed and message is not None and message.status == MessageStatus.UNDELIVERABLE
    assert len(world.outbound.sent) == 3, "nothing left to try"
    for late in ("read", "failed", "sent"):
        assert world.scheduler.receipt("acme", mid, late) == (message, False)
    stored = state.message("acme", mid)
    assert stored == message and stored.ladder == ()
    assert [(h["profile"], h["result"]) for h in stored.hops] == [
        ("wa-main", "sent"),
        ("wa-main", "failed"),
        ("sms-main", "sent"),
        ("sms-main", "delivered"),
        ("sms-main", "failed"),
        ("email-main", "sent"),
        ("email-main", "failed"),
    ]
    events = state.events("acme", limit=10_000)
    hops = [(e.data["profile"], e.data["result"]) for e in events if e.kind == "delivery.hop"]
    assert hops == [("wa-main", "sent"), ("sms-main", "sent"), ("email-main", "sent")]
    [gone] = [e for e in events if e.kind == "delivery.undeliverable"]
    assert gone.data["message"] == mid and gone.data["tried"] == [
        "email-main",
        "sms-main",
        "wa-main",
    ]


def test_a_profile_that_fails_to_send_is_skipped_on_the_way_down(
    state: StateBackend, tmp_path_factory: pytest.TempPathFactory
) -> None:
    world = _fired(state, tmp_path_factory)
    mid = world.outbound.sent[0].message_id
    assert mid is not None
    world.outbound.failing = ("sms-main",)
    message, _ = world.scheduler.receipt("acme", mid, "failed") or (None, False)
    assert message is not None and (message.status, message.profile) == ("sent", "email-main")
    assert [(h["profile"], h["result"]) for h in message.hops[-3:]] == [
        ("wa-main", "failed"),
        ("sms-main", "failed"),
        ("email-main", "sent"),
    ]
    world.outbound.failing = ("email-main",)  # a ladder exhausted by sends that fail
    world.scheduler.receipt("acme", mid, "failed")
    stored = state.message("acme", mid)
    assert stored is not None and stored.status == MessageStatus.UNDELIVERABLE


def test_a_ladder_never_loops(
    state: StateBackend, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A message whose ladder names profiles already tried skips them."""
    world = _fired(state, tmp_path_factory)
    mid = world.outbound.sent[0].message_id
    assert mid is not None
    stored = state.message("acme", mid)
    assert stored is not None
    looped = replace(stored, id="looped", ladder=("wa-main", "sms-main", "wa-main"))
    assert state.record(looped)
    message, _ = world.scheduler.receipt("acme", "looped", "failed") or (None, False)
    assert message is not None and message.profile == "sms-main" and message.ladder == ()
    message, _ = world.scheduler.receipt("acme", "looped", "failed") or (None, False)
    assert message is not None and message.status == "undeliverable"
    assert [s.profile for s in world.outbound.sent] == ["wa-main", "sms-main"]


def test_the_walk_skips_refused_and_tried_profiles() -> None:
    _, sid, raw = ladder_snapshot_plain()
    world = World(datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN), MemoryState(), ("acme", sid, raw))
    active = world.registry.get("acme")
    assert active is not None
    compiled = world.service.compiled(active.id, active.raw)
    sent: list[str] = []
    walked = walk(
        ["wa-main", "nope", "sms-main", "email-main"],
        "Hello",
        compiled,
        {"profile": {"first_name": "Bo"}},
        {"consent": False},  # the tenant requires consent: every profile refuses
        world.clock.now(),
        lambda profile, spec, parts: sent.append(profile),
        tried={"sms-main"},
    )
    assert walked.sent is None and sent == []
    assert [(h["profile"], h["result"]) for h in walked.hops] == [
        ("wa-main", "no-consent"),
        ("nope", "unknown profile"),
        ("email-main", "no-consent"),
    ]


def ladder_snapshot_plain() -> tuple[str, str, bytes]:
    from tests.brain.test_engine import retail

    return ("acme", *retail())


def test_a_ladder_is_the_goals_channels_each_followed_by_its_profiles_fallback() -> None:
    """The retail goal names [wa-main, sms-main]; wa-main falls back to [sms-main, email-main]
    and sms-main to [email-main]: the ladder is each name once, depth first."""
    import json

    from runtime.agenda.ladder import expand

    _, _, raw = ladder_snapshot_plain()
    compiled = json.loads(raw)
    assert expand(["wa-main", "sms-main"], compiled) == ["wa-main", "sms-main", "email-main"]
    assert expand(["sms-main"], compiled) == ["sms-main", "email-main"]
    assert expand(["email-main", "wa-main"], compiled) == [
        "email-main",
        "wa-main",
        "sms-main",
    ]
    assert expand(["nope"], compiled) == ["nope"]  # walk() records it as an unknown profile


def test_the_unchanged_retail_follow_up_falls_back_to_email_through_the_profiles_ladder(
    tmp_path: Path,
) -> None:
    """With the example as shipped (goal channels [wa-main, sms-main]), a message whose SMS
    fails too still reaches email: the profiles' own fallback is part of the ladder."""
    _, sid, raw = ladder_snapshot_plain()
    world = World(
        datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN),
        open_state(f"sqlite:///{tmp_path}/s.db"),
        ("acme", sid, raw),
        ("wa-main", "sms-main"),
    )
    world.refund(ANA)
    world.live(25)
    [sent] = world.outbound.sent
    assert sent.profile == "email-main"
    [message] = world.state.messages("acme", "c1")
    assert [(h["profile"], h["result"]) for h in message.hops] == [
        ("wa-main", "failed"),
        ("sms-main", "failed"),
        ("email-main", "sent"),
    ]


def test_a_message_left_failed_by_a_dead_process_is_fallen_back_by_a_later_sweep(
    state: StateBackend, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The receipt was stored ``failed`` but its process died before walking the ladder: a
    lease later any scheduler claims it and sends it on SMS; a second scheduler racing for
    it finds nothing to do, and no profile is sent twice."""
    from datetime import timedelta

    from runtime.agenda.scheduler import Scheduler

    world = _fired(state, tmp_path_factory)
    [message] = state.messages("acme", "c1")
    died, changed = state.receipt("acme", message.id, "failed", world.clock.now(), "no route")
    assert changed and died is not None and died.status == "failed"
    other = Scheduler(world.service, world.outbound, holder="the-other-one")
    world.clock.advance(timedelta(minutes=1))
    assert world.scheduler.sweep_failed() == 0, "within the lease the receiver may still act"
    world.clock.advance(world.scheduler.lease)
    assert world.scheduler.sweep_failed() == 1
    assert other.sweep_failed() == 0
    assert [s.profile for s in world.outbound.sent] == ["wa-main", "sms-main"]
    recovered = state.message("acme", message.id)
    assert recovered is not None and recovered.status == "sent"
    assert (recovered.profile, recovered.ladder) == ("sms-main", ("email-main",))
    kinds = [e.kind for e in state.events("acme", limit=10_000)]
    assert kinds.count("delivery.recovered") == 1
    world.live(2)
    assert [s.profile for s in world.outbound.sent] == ["wa-main", "sms-main"]
