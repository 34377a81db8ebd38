"""Building a GraphNet: the 1,074-node deep DAG from networkx, and a 1M-edge edge list.

Target (issue 2): the DAG of ``bench_deep.py`` in <= 20 ms (schedule included); report seconds
for 1M edges. The peer library (deepstruct) takes ~950 ms for the DAG.

Run: ``python benchmarks/bench_build.py``
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
import numpy as np
import torch
from common import machine
from common import median_seconds as _median

import graphnets


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args(argv)
    G = nx.watts_strogatz_graph(1000, 4, 0.3, seed=42)
    D = graphnets.priors.orient(G, orientation="index")
    ins = [("in", k) for k in range(64)]
    outs = [("out", k) for k in range(10)]
    N = nx.DiGraph()
    N.add_nodes_from(ins)
    N.add_nodes_from(D)
    N.add_nodes_from(outs)
    N.add_edges_from((i, s) for s in D if D.in_degree(s) == 0 for i in ins)
    N.add_edges_from(D.edges)
    N.add_edges_from((s, o) for s in D if D.out_degree(s) == 0 for o in outs)
    t_nx = _median(lambda: graphnets.from_networkx(N, ins, outs, seed=0), args.repeats)
    t_lv = _median(
        lambda: graphnets.from_networkx(N, ins, outs, seed=0, kernel="scatter"), args.repeats
    )

    # 1M random edges over 100k nodes, oriented low -> high index (a DAG), 100 inputs/10 outputs.
    rng = np.random.default_rng(0)
    n, E = 100_000, 1_000_000
    a = rng.integers(0, n, size=3 * E)
    b = rng.integers(0, n, size=3 * E)
    src, dst = np.minimum(a, b), np.maximum(a, b)
    keep = (src != dst) & (dst >= 100)  # no self loops, nothing into the 100 inputs
    key = np.unique(src[keep] * n + dst[keep])
    key = rng.permutation(key)[:E]
    ei = torch.from_numpy(np.stack([key // n, key % n]))
    outs_big = list(range(n - 10, n))
    t0 = time.perf_counter()
    big = graphnets.from_edges(ei, n, list(range(100)), outs_big, seed=0)
    t_big = time.perf_counter() - t0
    rows = [
        f"machine: {machine()}",
        "| build | seconds | note |",
        "|---|---|---|",
        f"| from_networkx, 1,074-node DAG (auto: fused) | {t_nx * 1e3:.1f} ms | "
        f"{N.number_of_edges()} edges, {graphnets.from_networkx(N, ins, outs).depth} levels |",
        f"| from_networkx, same DAG, level-wise schedule | {t_lv * 1e3:.1f} ms | per-level plans |",
        f"| from_edges, 1M edges | {t_big:.2f} s | {big.num_nodes:,} nodes, "
        f"{big.num_edges:,} edges, {big.depth} levels |",
    ]
    print("\n".join(rows))
    return rows


if __name__ == "__main__":
    main()
