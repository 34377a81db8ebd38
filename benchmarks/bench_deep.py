"""An arbitrary deep DAG vs a per-neuron Python evaluator.

``networkx.watts_strogatz_graph(1000, 4, 0.3, seed=42)``, each edge oriented from the lower to the
higher index, embedded between 64 inputs and 10 outputs (1,074 nodes, 5,086 edges, ~400 levels).
Forward + cross-entropy + backward per batch of 256 with every kernel, against
``graphnets.reference.evaluate`` (one gather and dot product per node, torch autograd), in the
same run. Target (issue 2): >= 10x faster than the per-neuron evaluator.

Run: ``python benchmarks/bench_deep.py [--repeats N]``
"""

from __future__ import annotations

import argparse

import networkx as nx
import torch
from common import interleaved, machine, train_step

import graphnets
from graphnets.kernels import fused
from graphnets.reference import evaluate


class PerNeuron(torch.nn.Module):
    def __init__(self, net: graphnets.GraphNet):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return evaluate(self.net, x)


def deep_dag() -> graphnets.GraphNet:
    G = nx.watts_strogatz_graph(1000, 4, 0.3, seed=42)
    return graphnets.priors.from_graph(G, 64, 10, orientation="index", seed=0)


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    net = deep_dag()
    x = torch.randn(256, 64)
    y = torch.randint(0, 10, (256,))

    ref = PerNeuron(net)
    kernels = ["fused"] if fused.available() else []
    kernels += ["scatter", "sparse", "auto"]
    rows = [
        f"machine: {machine()}",
        f"graph: {net.num_nodes} nodes, {net.num_edges} edges, {net.depth} levels",
        "| kernel | GraphNet | per-neuron evaluator | speed-up |",
        "|---|---|---|---|",
    ]
    for k in kernels:
        net.compile(k)
        t = interleaved(
            {"net": train_step(net, x, y), "ref": train_step(ref, x, y)},
            repeats=args.repeats,
            warmup=2,
        )
        kinds = " (" + ",".join(sorted(set(net.schedule.kinds()))) + ")" if k == "auto" else ""
        rows.append(
            f"| {k}{kinds} | {t['net'] * 1e3:.2f} ms | {t['ref'] * 1e3:.2f} ms "
            f"| **{t['ref'] / t['net']:.1f}x** |"
        )
    print("\n".join(rows))
    return rows


if __name__ == "__main__":
    main()
