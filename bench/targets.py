"""Issue 15's targets, shared by the benchmarks, and the side-by-side table they print: one row per
workload with Open WebUI's figure (when it ran), the gateway's, the direct upstream's, the ratio and
"met" or "missed" for each figure that has a target."""

import datetime
import os
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    text: str
    judges: str  # "gateway" (its figure), "direct" (gateway / direct upstream) or "openwebui" (times better than it)
    met: Callable[[float], bool]


INGEST_VS_OPENWEBUI = Target("≥ 5× Open WebUI", "openwebui", lambda times: times >= 5)
TTFT_P95_MS = Target("p95 < 200 ms", "gateway", lambda ms: ms < 200)
THROUGHPUT_OF_DIRECT = Target("≥ 0.7 of direct", "direct", lambda share: share >= 0.7)
PEAK_RSS_MB = Target("< 300 MB per process", "gateway", lambda mb: mb < 300)


@dataclass
class Row:
    workload: str
    unit: str
    gateway: float
    openwebui: float | None = None
    direct: float | None = None
    higher_is_better: bool = False
    target: Target | None = None

    def times_better(self) -> float | None:
        """How many times better the gateway does than Open WebUI (above 1: better); none when a figure
        is not above zero (an added latency within the machine's noise)."""
        if self.openwebui is None or self.gateway <= 0 or self.openwebui <= 0:
            return None
        return self.gateway / self.openwebui if self.higher_is_better else self.openwebui / self.gateway

    def verdict(self) -> str:
        if self.target is None:
            return ""
        value = {"gateway": self.gateway, "openwebui": self.times_better(),
                 "direct": self.gateway / self.direct if self.direct else None}[self.target.judges]
        if value is None:
            return "not measured (needs --openwebui)" if self.target.judges == "openwebui" else "not measured"
        shown = f"{value:.2f}" if self.target.judges == "direct" else ""
        return f"{'met' if self.target.met(value) else 'missed'}{f' ({shown})' if shown else ''}"


def header(name: str, **facts) -> str:
    """The line every benchmark prints first: what ran, when, on how many cores, at what sizes."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    extra = "".join(f"; {k.replace('_', ' ')}: {v}" for k, v in facts.items())
    return f"{name}: {now}; os.cpu_count() = {os.cpu_count()}; load average {load}{extra}"


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    return f"{value:.1f} {unit}" if abs(value) < 100 or unit == "s" else f"{value:.0f} {unit}"


def table(rows: list[Row], markdown: bool = False) -> str:
    with_owui = any(r.openwebui is not None for r in rows)
    with_direct = any(r.direct is not None for r in rows)
    columns = ["workload", *(["Open WebUI 0.12.4"] if with_owui else []), "gateway", *(["direct upstream"] if with_direct else []),
               *(["ratio (times better)"] if with_owui else []), "target", "verdict"]
    cells = []
    for r in rows:
        ratio = r.times_better()
        cells.append([r.workload, *([_figure(r.openwebui, r.unit)] if with_owui else []), _figure(r.gateway, r.unit),
                      *([_figure(r.direct, r.unit)] if with_direct else []),
                      *([f"{ratio:.1f}×" if ratio is not None else ""] if with_owui else []),
                      r.target.text if r.target else "", r.verdict()])
    if markdown:
        return "\n".join(["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns),
                          *("| " + " | ".join(c) + " |" for c in cells)])
    widths = [max(len(str(c[i])) for c in [columns, *cells]) for i in range(len(columns))]
    return "\n".join("  ".join(str(c[i]).ljust(widths[i]) for i in range(len(columns))).rstrip() for c in [columns, *cells])
