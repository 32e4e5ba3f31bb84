"""``focalctl report``: the AnalyticsAgent's numbers, read from the audit stream alone.

Turns per scenario, drop-off per step (a funnel: distinct conversations that entered each
step, in the order conversations first reached them), tool calls with failures, replays,
refusals and compensations, follow-up outcomes, fallbacks per channel profile, duplicates
dropped and rate-limited requests; the same per day, and anomalies: a step's drop-off, a
tool's failure rate or a channel's fallback rate on a day that lies beyond three standard
deviations of its trailing fourteen days (at least seven of them with data). No figure
depends on a language model.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

__all__ = ["Anomaly", "Report", "build", "read_jsonl", "read_state"]

TRAILING_DAYS = 14
MIN_HISTORY = 7


@dataclass(frozen=True, slots=True)
class Anomaly:
    day: str
    metric: str  # drop-off | tool failure rate | fallback rate
    subject: str  # scenario/step, tool, channel profile
    value: float
    mean: float
    stdev: float


@dataclass(slots=True)
class Report:
    events: int = 0
    since: str | None = None
    turns: Counter[str] = field(default_factory=Counter)  # scenario -> turns
    funnels: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    tools: dict[str, Counter[str]] = field(default_factory=dict)  # tool -> outcome -> count
    follow_ups: Counter[str] = field(default_factory=Counter)
    fallbacks: Counter[str] = field(default_factory=Counter)  # profile -> failed hops
    deliveries: Counter[str] = field(default_factory=Counter)  # profile -> hops tried
    duplicates: int = 0
    rate_limited: int = 0
    days: dict[str, dict[str, float]] = field(default_factory=dict)
    anomalies: list[Anomaly] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "since": self.since,
            "turns_per_scenario": dict(sorted(self.turns.items())),
            "funnels": {
                s: [{"step": step, "conversations": n} for step, n in f]
                for s, f in sorted(self.funnels.items())
            },
            "tools": {t: dict(sorted(c.items())) for t, c in sorted(self.tools.items())},
            "follow_ups": dict(sorted(self.follow_ups.items())),
            "fallbacks": dict(sorted(self.fallbacks.items())),
            "duplicates_dropped": self.duplicates,
            "rate_limited": self.rate_limited,
            "days": self.days,
            "anomalies": [a.__dict__ for a in self.anomalies],
        }


_TOOL_OUTCOMES = {
    "tool.call": "calls",
    "tool.result": "succeeded",
    "tool.error": "failed",
    "tool.replayed": "replayed",
    "tool.refused": "refused",
    "tool.invalid": "invalid",
    "tool.compensated": "compensated",
    "tool.unknown": "unknown",
}
_AGENDA = {
    "agenda.scheduled": "scheduled",
    "agenda.sent": "sent",
    "agenda.failed": "failed",
    "agenda.expired": "expired",
    "agenda.cancelled": "cancelled",
    "agenda.retry": "retried",
    "agenda.postponed": "postponed",
}


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Audit events from a JSON Lines file (``simulate --out`` writes ``audit.jsonl``);
    raises ValueError with the line number of a line that is not an event."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(event, dict) or "kind" not in event or "at" not in event:
                raise ValueError(f"{path}:{number}: not an audit event (no kind or at)")
            yield event


def read_state(url: str, tenant: str, stream: str = "live") -> Iterator[dict[str, Any]]:
    """Audit events of ``tenant`` from the runtime's state, oldest first, in pages."""
    from runtime.ports import open_state

    backend = open_state(url)
    try:
        after = 0
        while True:
            page = backend.events(tenant, stream=stream, after=after, limit=1000)
            for event in page:
                yield event.to_json()
            if len(page) < 1000:
                return
            after = page[-1].seq
    finally:
        backend.close()


def build(
    events: Iterable[dict[str, Any]], *, tenant: str | None = None, since: date | None = None
) -> Report:
    report = Report(since=since.isoformat() if since else None)
    turn_scenarios: dict[str, set[str]] = defaultdict(set)
    reached: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    paths: dict[tuple[str, str], list[str]] = defaultdict(list)  # (scenario, conversation)
    daily: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for event in events:
        if tenant is not None and event.get("tenant") != tenant:
            continue
        at = datetime.fromisoformat(str(event["at"]))
        if since is not None and at.date() < since:
            continue
        report.events += 1
        kind, data = str(event["kind"]), dict(event.get("data") or {})
        day = daily[at.date().isoformat()]
        conversation = str(event.get("conversation") or "")
        if kind == "step.entered":
            scenario, step = str(data.get("scenario")), str(data.get("step"))
            turn_scenarios[scenario].add(str(event.get("turn")))
            path = paths[(scenario, conversation)]
            if step not in path:
                path.append(step)
            reached[scenario][step].add(conversation)
            day["reached"][f"{scenario}/{step}"] += 1
        elif kind in _TOOL_OUTCOMES:
            tool = str(data.get("tool"))
            report.tools.setdefault(tool, Counter())[_TOOL_OUTCOMES[kind]] += 1
            day["tool." + _TOOL_OUTCOMES[kind]][tool] += 1
        elif kind in _AGENDA:
            report.follow_ups[_AGENDA[kind]] += 1
            for hop in data.get("hops") or []:
                profile = str(hop.get("profile") or hop.get("channel"))
                report.deliveries[profile] += 1
                day["hops"][profile] += 1
                if hop.get("result") == "failed":
                    report.fallbacks[profile] += 1
                    day["failed hops"][profile] += 1
        elif kind == "turn.duplicate":
            report.duplicates += 1
        elif kind == "turn.rate_limited":
            report.rate_limited += 1
    report.turns = Counter({s: len(t) for s, t in turn_scenarios.items()})
    report.funnels = {
        s: [(step, len(reached[s][step])) for step in _order(s, paths)] for s in reached
    }
    _trends(report, daily)
    return report


def _order(scenario: str, paths: dict[tuple[str, str], list[str]]) -> list[str]:
    """A scenario's steps in funnel order: by their mean position in the conversations' paths
    through it (the entry first), then by name."""
    positions: dict[str, list[int]] = defaultdict(list)
    for (s, _), path in paths.items():
        if s == scenario:
            for i, step in enumerate(path):
                positions[step].append(i)
    return sorted(positions, key=lambda step: (statistics.fmean(positions[step]), step))


def _trends(report: Report, daily: dict[str, dict[str, Counter[str]]]) -> None:
    """Per day: each step's drop-off (1 - reached / reached at its scenario's first step),
    each tool's failure rate, each profile's fallback rate; flag the outliers."""
    series: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for day, counts in sorted(daily.items()):
        values: dict[str, float] = {}
        for scenario, steps in report.funnels.items():
            first = counts["reached"].get(f"{scenario}/{steps[0][0]}", 0) if steps else 0
            for step, _ in steps[1:]:
                if first:
                    rate = 1 - counts["reached"].get(f"{scenario}/{step}", 0) / first
                    values[f"drop-off {scenario}/{step}"] = round(rate, 4)
                    series[("drop-off", f"{scenario}/{step}")][day] = rate
        for tool, calls in counts["tool.calls"].items():
            rate = counts["tool.failed"].get(tool, 0) / calls
            values[f"tool failure rate {tool}"] = round(rate, 4)
            series[("tool failure rate", tool)][day] = rate
        for profile, hops in counts["hops"].items():
            rate = counts["failed hops"].get(profile, 0) / hops
            values[f"fallback rate {profile}"] = round(rate, 4)
            series[("fallback rate", profile)][day] = rate
        report.days[day] = values
    for (metric, subject), by_day in series.items():
        days = sorted(by_day)
        for i, day in enumerate(days):
            history = [
                by_day[d]
                for d in days[:i]
                if (date.fromisoformat(day) - date.fromisoformat(d)).days <= TRAILING_DAYS
            ]
            if len(history) < MIN_HISTORY:
                continue
            mean, stdev = statistics.fmean(history), statistics.pstdev(history)
            if abs(by_day[day] - mean) > 3 * stdev and abs(by_day[day] - mean) > 1e-9:
                report.anomalies.append(
                    Anomaly(
                        day, metric, subject, round(by_day[day], 4), round(mean, 4), round(stdev, 4)
                    )
                )


def html(report: Report) -> str:
    """One self-contained HTML file (plotly.js inlined: it opens offline): a funnel per
    scenario, tool outcomes, follow-up outcomes, and the daily trends with anomalies marked."""
    from html import escape

    import plotly.graph_objects as go
    from plotly.io import to_html

    figures: list[tuple[str, Any]] = []
    for scenario, steps in sorted(report.funnels.items()):
        fig = go.Figure(go.Funnel(y=[s for s, _ in steps], x=[n for _, n in steps]))
        fig.update_layout(title=f"Funnel: {scenario}", height=320 + 24 * len(steps))
        figures.append((f"funnel-{scenario}", fig))
    if report.tools:
        names = sorted(report.tools)
        fig = go.Figure(
            [
                go.Bar(name=outcome, x=names, y=[report.tools[t].get(outcome, 0) for t in names])
                for outcome in ("succeeded", "failed", "replayed", "refused")
            ]
        )
        fig.update_layout(title="Tool calls by outcome", barmode="stack", height=360)
        figures.append(("tools", fig))
    if report.follow_ups:
        keys = sorted(report.follow_ups)
        fig = go.Figure(go.Bar(x=keys, y=[report.follow_ups[k] for k in keys]))
        fig.update_layout(title="Follow-ups", height=320)
        figures.append(("follow-ups", fig))
    if report.days:
        days = sorted(report.days)
        metrics = sorted({m for values in report.days.values() for m in values})
        fig = go.Figure(
            [
                go.Scatter(
                    name=m, x=days, y=[report.days[d].get(m) for d in days], mode="lines+markers"
                )
                for m in metrics
            ]
        )
        for a in report.anomalies:
            fig.add_annotation(x=a.day, y=a.value, text=f"anomaly: {a.subject}", showarrow=True)
        fig.update_layout(title="Daily rates", height=420, yaxis_tickformat=".0%")
        figures.append(("trends", fig))
    body = "".join(
        f'<section id="{escape(name, quote=True)}">'  # names come from the audit stream
        + to_html(fig, full_html=False, include_plotlyjs="inline" if i == 0 else False)
        + "</section>"
        for i, (name, fig) in enumerate(figures)
    )
    summary = (
        f"<p>{report.events} audit events"
        + (f" since {report.since}" if report.since else "")
        + f"; duplicates dropped: {report.duplicates}; rate-limited: {report.rate_limited}; "
        + f"anomalies: {len(report.anomalies)}.</p>"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Focal report</title></head>"
        f"<body><h1>Focal report</h1>{summary}{body}</body></html>"
    )
