"""Prometheus metrics of the runtime, on a registry of its own."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from runtime.registry import Active, Rejection, SnapshotRegistry

if TYPE_CHECKING:
    from runtime.sources.base import SourceHealth


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.reloads = Counter(
            "focal_snapshot_reloads", "Snapshots swapped in", ["tenant"], registry=self.registry
        )
        self.rejected = Counter(
            "focal_snapshot_rejected",
            "Candidate snapshots rejected",
            ["tenant", "reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "focal_snapshot_reload_seconds",
            "Time to verify, validate and index a snapshot",
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
        )
        self.version = Gauge(
            "focal_snapshot_version", "Active release version", ["tenant"], registry=self.registry
        )
        self.stale = Gauge(
            "focal_snapshot_stale",
            "1 while serving a cached snapshot",
            ["tenant"],
            registry=self.registry,
        )

        self.turns = Counter(
            "focal_turns",
            "Inbound messages by outcome",
            ["tenant", "status"],
            registry=self.registry,
        )
        self.turn_seconds = Histogram(
            "focal_turn_seconds",
            "Time to process one turn (lease, brain, tools, save)",
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.tool_calls = Counter(
            "focal_tool_calls",
            "Tool calls by tool and outcome",
            ["tenant", "tool", "outcome"],
            registry=self.registry,
        )

    def attach(self, snapshots: SnapshotRegistry) -> None:
        snapshots.listeners.append(self._on_event)

    def watch(self, sources: Sequence[SourceHealth]) -> None:
        """Expose each source's state at scrape time (``focal_source_up``, restarts)."""
        if sources:
            self.registry.register(_SourceCollector(sources))

    def _on_event(
        self, tenant: str, active: Active | None, rejection: Rejection | None, seconds: float
    ) -> None:
        if active is not None:
            self.reloads.labels(tenant).inc()
            self.latency.observe(seconds)
            self.version.labels(tenant).set(active.version)
            self.stale.labels(tenant).set(1 if active.stale else 0)
        if rejection is not None:
            self.rejected.labels(tenant, rejection.reason).inc()


class _SourceCollector(Collector):
    def __init__(self, sources: Sequence[SourceHealth]) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "focal_source_up", "1 while the source's loop runs", labels=["source"]
        )
        restarts = CounterMetricFamily(
            "focal_source_restarts",
            "Times the source's loop failed and was restarted",
            labels=["source"],
        )
        for health in self.sources:
            up.add_metric([health.name], 1 if health.state == "running" else 0)
            restarts.add_metric([health.name], health.restarts)
        yield up
        yield restarts
