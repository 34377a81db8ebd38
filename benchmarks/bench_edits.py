"""Edits on a large sparse graph vs rebuilding the net from its new edge list.

A random DAG of 100,000 nodes and 1,000,000 edges (100 inputs, 10 outputs): remove 50% of its
edges, and insert 1,000 edges, each as an edit (``remove_edges`` / ``add_edges``) and as a full
rebuild (``from_edges`` on the resulting edge list: validation, levels, schedule). Same run,
medians of a few repeats on fresh copies.

Second, the memory of the edit history: ``--history-edits`` edits of 1% of the edges each on the
same 1M-edge graph (removing 1% of the edges, then adding as many new ones, in turn, as a
rewiring method does), with what ``net.history`` holds after them beside what it held when every
record kept a full ``int64`` edge and node map (graphnets 0.1).

Run: ``python benchmarks/bench_edits.py`` (``--history-edits 0`` skips the second part)
"""

from __future__ import annotations

import argparse
import copy

import numpy as np
import torch
from common import machine, median_seconds

import graphnets


def big_dag(n: int = 100_000, E: int = 1_000_000, seed: int = 0) -> graphnets.GraphNet:
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, n, size=3 * E), rng.integers(0, n, size=3 * E)
    src, dst = np.minimum(a, b), np.maximum(a, b)
    keep = (src != dst) & (dst >= 100)
    key = rng.permutation(np.unique(src[keep] * n + dst[keep]))[:E]
    ei = torch.from_numpy(np.stack([key // n, key % n]))
    return graphnets.from_edges(ei, n, list(range(100)), list(range(n - 10, n)), seed=0)


def history_memory(net: graphnets.GraphNet, edits: int, seed: int = 3) -> list[str]:
    """Rows of the history-memory table after ``edits`` edits of 1% of the edges each."""
    import time

    rng = np.random.default_rng(seed)
    n = net.num_nodes
    k = net.num_edges // 100
    old_bytes = 0  # graphnets 0.1: an int64 edge map and node map per record
    start = time.perf_counter()
    for i in range(edits):
        s = net.structure
        old_bytes += 8 * (s.num_edges + s.num_nodes)
        if i % 2 == 0:
            net.remove_edges(rng.choice(s.num_edges, size=k, replace=False))
            continue
        level = s.level
        src, dst = s.edge_index.numpy()
        have = np.sort(src * n + dst)
        new = np.zeros(0, dtype=np.int64)
        while new.size < k:  # new edges from a lower to a higher level, not present
            u, v = rng.integers(0, n, size=(2, 4 * k))
            ok = (level[u] < level[v]) & (v >= 100)
            key = np.unique(u[ok] * n + v[ok])
            key = key[~np.isin(key, have) & ~np.isin(key, new)]
            new = np.concatenate([new, rng.permutation(key)[: k - new.size]])
        net.add_edges((new // n).tolist(), (new % n).tolist(), seed=i)
    seconds = time.perf_counter() - start
    last = sum(r.nbytes() for r in net.history[-100:])
    return [
        f"{edits:,} edits of 1% ({k:,} edges each) on {net.num_edges:,} edges "
        f"({seconds / edits:.2f} s per edit):",
        "| history | records | memory | with full maps (graphnets 0.1) |",
        "|---|---|---|---|",
        f"| all kept (default) | {len(net.history):,} | {net.history.nbytes() / 2**20:.1f} MiB | "
        f"{old_bytes / 2**20:,.0f} MiB |",
        f"| `GraphNet(..., history=100)` | 100 | {last / 2**20:.1f} MiB | |",
    ]


def _time(f, repeats: int) -> float:
    return median_seconds(f, repeats, warmup=0)  # each call edits a fresh copy: no warm-up


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--history-edits", type=int, default=1000)
    args = ap.parse_args(argv)
    net = big_dag()
    n, ins, outs = net.num_nodes, list(range(100)), list(range(net.num_nodes - 10, net.num_nodes))
    mask = torch.rand(net.num_edges, generator=torch.Generator().manual_seed(1)) < 0.5

    copies = [copy.deepcopy(net) for _ in range(args.repeats)]
    t_remove = _time(lambda: copies.pop().remove_edges(mask), args.repeats)
    kept = net.edge_index[:, ~mask]
    t_remove_full = _time(lambda: graphnets.from_edges(kept, n, ins, outs, seed=0), args.repeats)

    # 1,000 new edges from a lower to a higher level (so no cycle), not already present
    rng = np.random.default_rng(2)
    level = net.structure.level
    existing = set((net.edge_index[0] * n + net.edge_index[1]).tolist())
    new_src, new_dst = [], []
    while len(new_src) < 1000:
        u, v = (int(t) for t in rng.integers(0, n, size=2))
        if level[u] < level[v] and v >= 100 and u * n + v not in existing:
            existing.add(u * n + v)
            new_src.append(u)
            new_dst.append(v)
    copies = [copy.deepcopy(net) for _ in range(args.repeats)]
    t_insert = _time(lambda: copies.pop().add_edges(new_src, new_dst), args.repeats)
    grown = torch.cat([net.edge_index, torch.tensor([new_src, new_dst])], 1)
    t_insert_full = _time(lambda: graphnets.from_edges(grown, n, ins, outs, seed=0), args.repeats)
    rows = [
        f"machine: {machine()}",
        f"graph: {net.num_nodes:,} nodes, {net.num_edges:,} edges, {net.depth} levels",
        "| edit | as an edit | full rebuild | ratio |",
        "|---|---|---|---|",
        f"| remove 50% of the edges | {t_remove:.3f} s | {t_remove_full:.3f} s | "
        f"**{t_remove / t_remove_full:.2f}** |",
        f"| insert 1,000 edges | {t_insert:.3f} s | {t_insert_full:.3f} s | "
        f"**{t_insert / t_insert_full:.2f}** |",
    ]
    if args.history_edits:
        rows += ["", *history_memory(net, args.history_edits)]
    print("\n".join(rows))
    return rows


if __name__ == "__main__":
    main()
