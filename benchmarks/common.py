"""Shared helpers for the benchmarks: interleaved timing with medians, and peak memory.

Every benchmark times a candidate and its reference in the same run, alternating between
them so that machine noise hits both alike, and prints the ratio of medians beside the
absolute figures.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch


def interleaved(fns: dict[str, Callable[[], object]], *, repeats: int = 30, warmup: int = 3
                ) -> dict[str, float]:
    """Median seconds per call of each function, the calls interleaved round-robin."""
    for _ in range(warmup):
        for f in fns.values():
            f()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def train_step(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    """One forward + cross-entropy + backward, gradients cleared each time."""
    loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> None:
        model.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()

    return step


def peak_rss_mib(code: str) -> float:
    """Peak resident memory growth (MiB) of running ``code``'s ``step()`` once, in a fresh process.

    ``code`` must define ``step``; the process records ``ru_maxrss`` after setting up (and one
    warm-up call on a tiny batch is *not* made, so the first call's peak is measured).
    """
    prog = (
        "import resource, torch\n"
        "torch.set_num_threads(%d)\n" % torch.get_num_threads()
        + code
        + "\nbefore = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "step()\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print((after - before) / 1024)\n"
    )
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, env=env,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    import platform

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads")


def row(name: str, t: float, ref: float, ref_name: str, extra: str = "") -> str:
    return (f"| {name} | {t * 1e3:.2f} ms | {ref * 1e3:.2f} ms ({ref_name}) | "
            f"**{t / ref:.2f}** |{extra}")
