"""Look inside a small GraphNet: levels, depth, schedule order, summary, dead nodes, to_dense.

The graph has two inputs ``a`` and ``b``, hidden neurons ``h1``, ``h2``, ``h3``, one output
``y``, a skip connection ``a -> y`` that jumps two levels, and two dead neurons: ``z`` (no path
from an input) and ``q`` (no path to the output). Dead neurons are reported, never dropped.

Run it:

    python examples/inspect_levels.py
"""

from __future__ import annotations

import argparse

import networkx as nx
import torch

import graphnets


def build(seed: int = 0) -> graphnets.GraphNet:
    """The example's graph as a GraphNet."""
    G = nx.DiGraph(
        [
            ("a", "h1"),
            ("b", "h1"),
            ("b", "h2"),  # level 1
            ("h1", "h3"),
            ("h2", "h3"),  # level 2
            ("h3", "y"),
            ("a", "y"),  # level 3; a -> y skips two levels
            ("z", "h3"),  # z has no input upstream: dead
            ("h2", "q"),  # q reaches no output: dead
        ]
    )
    return graphnets.from_networkx(G, inputs=["a", "b"], outputs=["y"], seed=seed)


def main(argv: list[str] | None = None) -> graphnets.GraphNet:
    """Print what a GraphNet knows about its own structure; returns the net."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights (default: 0)")
    args = parser.parse_args(argv)

    net = build(args.seed)
    print(net)
    print("edges:     ", net.edges())
    print("levels:    ", net.levels)
    print("depth:     ", net.depth)
    print("order:     ", net.order)
    print("dead nodes:", net.dead_nodes())
    print()
    print(net.summary())
    print()
    # W[dst, src], rows and columns in net.order: inputs first, then level by level
    W = net.to_dense().detach()
    width = max(len(str(lab)) for lab in net.order)
    print("to_dense() (rows: destination, columns: source, in net.order):")
    print(" " * width, " ".join(f"{str(lab):>6}" for lab in net.order))
    for lab, row in zip(net.order, W.tolist(), strict=True):
        print(f"{str(lab):>{width}}", " ".join(f"{w:6.2f}" for w in row))
    x = torch.tensor([[1.0, -1.0]])
    print()
    print(f"net(x) for x = {x.tolist()}: {net(x).tolist()}")
    return net


if __name__ == "__main__":
    main()
