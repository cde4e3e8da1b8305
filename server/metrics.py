"""Prometheus metrics, in a registry of the app's own (several apps may live in one process)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from llmaas._lanes import all_stats

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
MAX_MODEL_LABELS = 64  # label values come from requests: keep their number bounded
OTHER = "other"


class Metrics:
    def __init__(self, queue_depth: Callable[[], float], running: Callable[[], float]) -> None:
        self.registry: CollectorRegistry = CollectorRegistry()
        self.requests: Counter = Counter("llmaas_requests", "Requests served", ["endpoint", "status"],
                                registry=self.registry)
        self.tokens: Counter = Counter("llmaas_tokens", "Tokens processed", ["model", "kind"], registry=self.registry)
        self.latency: Histogram = Histogram("llmaas_request_latency_seconds", "Time from request to last byte", ["endpoint"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.ttft: Histogram = Histogram("llmaas_time_to_first_token_seconds", "Time from request to first streamed token",
                              ["endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry)
        Gauge("llmaas_queue_depth", "Requests waiting for the engine",
              registry=self.registry).set_function(queue_depth)
        Gauge("llmaas_running_sequences", "Sequences in the engine's running batch",
              registry=self.registry).set_function(running)

        self._models: set[str] = set()
        self.registry.register(LaneCollector())

    def model_label(self, model: str) -> str:
        """``model`` as a label value (only models that served a request get here), or "other" once
        ``MAX_MODEL_LABELS`` distinct models have one."""
        if model in self._models:
            return model
        if len(self._models) >= MAX_MODEL_LABELS:
            return OTHER
        self._models.add(model)
        return model

    def render(self) -> bytes:
        return generate_latest(self.registry)


class LaneCollector(Collector):
    """The lanes of blocking work (``llmaas._lanes``): threads busy, calls waiting, calls running past their
    time limit (stuck), and the totals of calls that timed out or were refused."""

    HELP = {"busy": "Threads of a lane running work", "waiting": "Calls waiting for a lane's thread",
            "stuck": "Calls running past their lane's time limit", "timed_out": "Calls a lane gave up waiting for",
            "refused": "Calls a full lane refused"}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = all_stats()
        for key, text in self.HELP.items():
            family = GaugeMetricFamily(f"llmaas_lane_{key}", text, labels=["lane"])
            for name, values in sorted(stats.items()):
                family.add_metric([name], values[key])
            yield family
