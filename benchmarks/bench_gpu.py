"""The GPU path: CUDA-graph replay (``graphnets.CudaGraphed``) vs eager kernels and torch.

Rows (issue 16 §4), forward + cross-entropy + backward per batch of 256 on one CUDA device, every
candidate timed interleaved with its reference in the same run (CUDA-synchronised, medians):

* the dense 784-300-100-10 GraphNet, eager and CUDA-graphed, vs ``nn.Sequential`` (eager and
  CUDA-graphed with ``torch.cuda.make_graphed_callables``, the fair reference for a replay);
* the same net with a random 90% and 99% of its edges removed, vs the dense ``nn.Sequential``;
* the deep WS(1000, 4, 0.3) DAG of ``bench_deep.py`` (405 levels), eager and CUDA-graphed, vs the
  per-neuron evaluator (one gather and dot product per node, torch autograd) on the same GPU.

One short script, a minute or two on a GPU: ``python benchmarks/bench_gpu.py [--repeats N]``.
Without CUDA it says so and exits 0 (nothing is measured). Not yet run: no GPU was available
where it was written (``docs/benchmarks.md``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import torch
from bench_deep import PerNeuron, deep_dag
from bench_prune_speed import random_pruned, sequential
from common import train_step

import graphnets


def interleaved_cuda(
    fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 3
) -> dict[str, float]:
    """Median seconds per call, calls interleaved, each timed between CUDA synchronisations."""
    for _ in range(warmup):
        for f in fns.values():
            f()
    torch.cuda.synchronize()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            f()
            torch.cuda.synchronize()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--per-neuron-repeats", type=int, default=3)
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print("bench_gpu: no CUDA device here; nothing measured")
        return []
    dev = torch.device("cuda")
    torch.manual_seed(0)
    x = torch.randn(256, 784, device=dev)
    y = torch.randint(0, 10, (256,), device=dev)
    seq = sequential().to(dev)
    seq_graphed = torch.cuda.make_graphed_callables(sequential().to(dev), (x,))
    rows = [
        f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}",
        "| net | candidate | time | reference | ratio |",
        "|---|---|---|---|---|",
    ]
    nets = {
        "dense": graphnets.from_torch(sequential()).to(dev),
        "random 90%": random_pruned(0.9).to(dev),
        "random 99%": random_pruned(0.99).to(dev),
    }
    for name, net in nets.items():
        graphed = graphnets.CudaGraphed(net)
        t = interleaved_cuda(
            {
                "eager": train_step(net, x, y),
                "graphed": train_step(graphed, x, y),
                "seq": train_step(seq, x, y),
                "seq graphed": train_step(seq_graphed, x, y),
            },
            args.repeats,
        )
        for cand in ("eager", "graphed"):
            for ref in ("seq", "seq graphed"):
                rows.append(
                    f"| {name} ({net.num_edges:,} edges) | GraphNet {cand} | "
                    f"{t[cand] * 1e3:.3f} ms | nn.Sequential {ref.replace('seq', '').strip()} "
                    f"{t[ref] * 1e3:.3f} ms | **{t[cand] / t[ref]:.2f}** |"
                )
        print(rows[-1], file=sys.stderr, flush=True)

    net = deep_dag().to(dev)
    xd = torch.randn(256, 64, device=dev)
    yd = torch.randint(0, 10, (256,), device=dev)
    graphed = graphnets.CudaGraphed(net)
    t0 = time.perf_counter()
    train_step(graphed, xd, yd)()
    torch.cuda.synchronize()
    capture = time.perf_counter() - t0
    t = interleaved_cuda(
        {"eager": train_step(net, xd, yd), "graphed": train_step(graphed, xd, yd)}, args.repeats
    )
    ref = interleaved_cuda({"ref": train_step(PerNeuron(net), xd, yd)}, args.per_neuron_repeats)
    for cand in ("eager", "graphed"):
        rows.append(
            f"| deep DAG ({net.num_edges:,} edges, {net.depth} levels) | GraphNet {cand} | "
            f"{t[cand] * 1e3:.3f} ms | per-neuron {ref['ref'] * 1e3:.1f} ms | "
            f"**{ref['ref'] / t[cand]:.0f}x faster** |"
        )
    rows.append(f"deep DAG capture (first call, warm-up included): {capture:.2f} s")
    print("\n".join(rows))
    return rows


if __name__ == "__main__":
    main()
