"""Shared helpers for the benchmarks: interleaved timing with medians, and peak memory.

Every benchmark times a candidate and its reference in the same run, alternating between
them so that machine noise hits both alike, and prints the ratio of medians beside the
absolute figures.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import torch


def interleaved(
    fns: dict[str, Callable[[], object]], *, repeats: int = 30, warmup: int = 3, window: int = 1
) -> dict[str, float]:
    """Median seconds per call of each function, the calls interleaved round-robin.

    With ``window > 1`` each turn makes ``window`` consecutive calls of one function and counts
    their mean: the steady state of a loop that repeats it (caches warm from its own last
    call), where ``window=1`` times every call right after the other functions' calls."""
    for _ in range(warmup):
        for f in fns.values():
            f()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = time.perf_counter()
            for _ in range(window):
                f()
            times[k].append((time.perf_counter() - t0) / window)
    return {k: statistics.median(v) for k, v in times.items()}


def median_seconds(f: Callable[[], object], repeats: int, *, warmup: int = 1) -> float:
    """Median seconds of ``f()`` over ``repeats`` calls (after ``warmup`` untimed ones)."""
    for _ in range(warmup):
        f()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def train_step(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    """One forward + cross-entropy + backward, gradients cleared each time."""
    loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> None:
        model.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()

    return step


def peak_memory_mib(step: Callable[[], object], *, warmup: bool = True) -> float:
    """Peak CPU memory (MiB) allocated by torch during one call of ``step``, above its start.

    Read from the profiler's allocation events (``profile_memory=True``): every allocation and
    free of the call in time order, summed; the peak of that running sum. One warm-up call first
    unless ``warmup=False`` (for a call that cannot be repeated, such as a rewiring round).
    """
    from torch.profiler import ProfilerActivity, profile

    if warmup:
        step()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    events.sort(key=lambda e: e.start_ns())
    current = peak = 0
    for e in events:
        current += e.nbytes()
        peak = max(peak, current)
    return peak / 2**20


def machine() -> str:
    import platform

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )


def row(name: str, t: float, ref: float, ref_name: str, extra: str = "") -> str:
    return (
        f"| {name} | {t * 1e3:.2f} ms | {ref * 1e3:.2f} ms ({ref_name}) | "
        f"**{t / ref:.2f}** |{extra}"
    )
