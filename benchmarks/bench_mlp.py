"""Dense and randomly sparsified 784-300-100-10 nets vs ``torch.nn.Sequential``.

Forward + cross-entropy + backward per batch of 256, interleaved with the reference in the same
run, medians of repeats; peak memory torch allocates during one step (profiler events).

Targets (issue 2): dense GraphNet / nn.Sequential <= 1.3; with 90% of the edges removed <= 1.0,
with 99% removed <= 0.3 of the dense nn.Sequential time.

Run: ``python benchmarks/bench_mlp.py [--repeats N]``
"""

from __future__ import annotations

import argparse

import torch
from common import interleaved, machine, peak_memory_mib, train_step

import graphnets


def sparse(net: graphnets.GraphNet, keep: float) -> graphnets.GraphNet:
    """The same net with a random ``keep`` fraction of its edges, built from the edge list."""
    E = net.num_edges
    idx = (
        torch.randperm(E, generator=torch.Generator().manual_seed(0))[: int(E * keep)].sort().values
    )
    return graphnets.from_edges(
        net.edge_index[:, idx], net.num_nodes, list(range(784)), list(range(1184, 1194)), seed=0
    )


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=60)
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    x = torch.randn(256, 784)
    y = torch.randint(0, 10, (256,))
    seq = torch.nn.Sequential(
        torch.nn.Linear(784, 300),
        torch.nn.ReLU(),
        torch.nn.Linear(300, 100),
        torch.nn.ReLU(),
        torch.nn.Linear(100, 10),
    )
    dense = graphnets.from_torch(seq)
    nets = {"dense GraphNet": dense}
    for removed in (0.9, 0.99):
        nets[f"{removed:.0%} removed"] = sparse(dense, 1 - removed)
    rows = [
        f"machine: {machine()}",
        "| net | GraphNet | nn.Sequential (dense) | ratio | kernels "
        "| peak MiB (GraphNet / Sequential) |",
        "|---|---|---|---|---|---|",
    ]
    ref_mem = None if args.no_memory else peak_memory_mib(train_step(seq, x, y))
    for name, net in nets.items():
        t = interleaved(
            {"net": train_step(net, x, y), "seq": train_step(seq, x, y)}, repeats=args.repeats
        )
        kinds = ",".join(sorted(set(net.schedule.kinds()) - {"bias"}))
        mem = (
            "-"
            if args.no_memory
            else f"{peak_memory_mib(train_step(net, x, y)):.2f} / {ref_mem:.2f}"
        )
        rows.append(
            f"| {name} ({net.num_edges:,} edges) | {t['net'] * 1e3:.2f} ms | "
            f"{t['seq'] * 1e3:.2f} ms | **{t['net'] / t['seq']:.2f}** | {kinds} | {mem} |"
        )
    print("\n".join(rows))
    return rows


if __name__ == "__main__":
    main()
