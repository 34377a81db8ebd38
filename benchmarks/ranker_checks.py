"""Two checks of the default GraphRegressor on targets whose truth is known (issue 12 §3).

1. **Generated cells** (:func:`graphnets.data.cell_space.synthetic_cells`, noise 0.1): for each
   encoding (``edge``: 4 nodes, an op per edge, NAS-Bench-201 style; ``node``: 7 nodes, an op
   per node, NAS-Bench-101 style) and each of ``--seeds``, 100 and 200 training cells and 200
   held-out cells drawn from that seed; Kendall τ on the held-out cells of the default
   ``GraphRegressor()`` against a random forest (200 trees) on one-hot op features (edge cells:
   the op of each of the 6 edges; node cells: the op of each of the 5 middle nodes and the 21
   upper-triangular adjacency bits).
2. **Depth**: 260 random-prior nets (Watts–Strogatz, Barabási–Albert, Erdős–Rényi in turn,
   8 inputs, 4 outputs, 10–60 hidden nodes, random parameters; the longest path differs a
   lot between priors and densities); the default ``GraphRegressor()`` trained on 200 to
   predict ``net.depth``, Kendall τ on the other 60, for each of ``--seeds``.

    .venv/bin/python benchmarks/ranker_checks.py
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
import numpy as np
import torch
from sklearn.ensemble import RandomForestRegressor

import graphnets
from graphnets.data.cell_space import EDGE_OPS, NODE_OPS, synthetic_cells
from graphnets.predict import GraphRegressor, kendall


def one_hot(graphs, encoding: str) -> np.ndarray:
    rows = []
    for g in graphs:
        if encoding == "edge":
            ops = [op for *_, op in sorted(g.edges(data="op"))]
            rows.append([float(op == o) for op in ops for o in EDGE_OPS])
        else:
            n = g.number_of_nodes()
            ops = [g.nodes[i]["op"] for i in range(1, n - 1)]
            adj = nx.to_numpy_array(g, nodelist=range(n))[np.triu_indices(n, 1)]
            rows.append([float(op == o) for op in ops for o in NODE_OPS] + adj.tolist())
    return np.array(rows)


def cells(seeds) -> None:
    print("| cells | training cells | GNN τ | random forest τ |")
    print("|---|---|---|---|")
    for encoding, nodes in (("edge", 4), ("node", 7)):
        for size in (100, 200):
            gnn, rf = [], []
            for seed in seeds:
                graphs, y = synthetic_cells(size + 200, encoding=encoding, nodes=nodes, seed=seed)
                tr, te = slice(0, size), slice(size, size + 200)
                x = one_hot(graphs, encoding)
                forest = RandomForestRegressor(200, random_state=seed).fit(x[tr], y[tr])
                rf.append(kendall(y[te], forest.predict(x[te])))
                model = GraphRegressor(seed=seed).fit(graphs[tr], y[tr], seed=seed)
                gnn.append(kendall(y[te], model.predict(graphs[te]).numpy()))
            print(
                f"| {encoding} | {size} | {np.mean(gnn):.3f} ± {np.std(gnn):.3f} "
                f"| {np.mean(rf):.3f} ± {np.std(rf):.3f} |",
                flush=True,
            )


def depth_nets(count: int, seed: int) -> list[graphnets.GraphNet]:
    rng = np.random.default_rng(seed)
    nets = []
    for i in range(count):
        n = int(rng.integers(10, 61))
        s = seed * 10_000 + i
        if i % 3 == 0:
            k = int(rng.choice([2, 4, 6]))
            nets.append(graphnets.priors.watts_strogatz(8, 4, n, k, float(rng.uniform()), seed=s))
        elif i % 3 == 1:
            nets.append(graphnets.priors.barabasi_albert(8, 4, n, int(rng.integers(1, 5)), seed=s))
        else:
            p = float(rng.uniform(1, 6) / (n - 1))
            nets.append(graphnets.priors.erdos_renyi(8, 4, n, p, seed=s))
    return nets


def depth(seeds) -> None:
    taus = []
    for seed in seeds:
        nets = depth_nets(260, seed)
        y = np.array([float(n.depth) for n in nets])
        t0 = time.perf_counter()
        model = GraphRegressor(seed=seed).fit(nets[:200], y[:200], seed=seed)
        tau = kendall(y[200:], model.predict(nets[200:]).numpy())
        taus.append(tau)
        print(
            f"depth, seed {seed}: τ {tau:.3f} on 60 held-out nets (depth {y.min():.0f}–"
            f"{y.max():.0f}; fit {time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    print(f"depth: τ {np.mean(taus):.3f} ± {np.std(taus):.3f} over seeds {list(seeds)}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--only", choices=["cells", "depth"], default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    if args.only in (None, "cells"):
        cells(args.seeds)
    if args.only in (None, "depth"):
        depth(args.seeds)


if __name__ == "__main__":
    main()
