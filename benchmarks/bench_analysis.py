"""Structural analysis: ``graphnets.analysis.properties`` (igraph + numpy) against networkx.

The full property set of a Watts–Strogatz prior net with 500 and 2000 hidden nodes, once with
:func:`graphnets.analysis.properties` and once computed the same way with networkx and Python
loops (:func:`networkx_properties`); the two answers are checked to agree before timing.
Both start from the GraphNet, so building their graphs is timed too. Target (issue 5): >= 10x.

Run: ``python benchmarks/bench_analysis.py``
"""

from __future__ import annotations

import argparse
import math

import networkx as nx
import numpy as np
from common import machine, median_seconds

import graphnets


def networkx_properties(net: graphnets.GraphNet) -> dict:
    """Every property of :mod:`graphnets.analysis`, with networkx (same definitions)."""
    s = net.structure
    G = nx.DiGraph()
    G.add_nodes_from(range(s.num_nodes))
    G.add_edges_from(s.edge_index.T.tolist())
    ends = set(s.inputs.tolist()) | set(s.outputs.tolist())
    H = G.subgraph([v for v in G if v not in ends]).copy()
    U = H.to_undirected()
    n, m = U.number_of_nodes(), U.number_of_edges()
    dist = dict(nx.all_pairs_shortest_path_length(U))
    pairs = [d for u in dist for v, d in dist[u].items() if u != v]
    p = nx.density(U)
    k = 2 * m / n
    avg_cc = nx.average_clustering(U)
    aspl = float(np.mean(pairs))
    c_ratio = avg_cc / p
    l_ratio = aspl / (math.log(n) / math.log(k))
    out = {
        "layers": len(list(nx.topological_generations(H))),
        "nodes": n,
        "edges": H.number_of_edges(),
        "source_nodes": sum(1 for v in H if H.in_degree(v) == 0),
        "diameter": max(pairs, default=0),
        "density": p,
        "average_shortest_path_length": aspl,
        "eccentricity_var": np.var([max(dist[u].values()) for u in U]),
        "degree_var": np.var([d for _, d in U.degree()]),
        "closeness_var": np.var(list(nx.closeness_centrality(U, wf_improved=False).values())),
        "nodes_betweenness_var": np.var(
            list(nx.betweenness_centrality(U, normalized=False).values())
        ),
        "edge_betweenness_var": np.var(
            list(nx.edge_betweenness_centrality(U, normalized=False).values())
        ),
        "transitivity": nx.transitivity(U),
        "average_clustering": avg_cc,
        "clustering_ratio": c_ratio,
        "path_length_ratio": l_ratio,
        "small_world_sigma": c_ratio / l_ratio,
        "depth": len(list(nx.topological_generations(G))),
    }
    sources = [v for v in H if H.in_degree(v) == 0]
    sinks = set(v for v in H if H.out_degree(v) == 0)
    topo = list(nx.topological_sort(H))
    shortest, longest = [], []
    for src in sources:
        d = nx.single_source_shortest_path_length(H, src)
        shortest += [d[t] for t in d if t in sinks]
        far = {src: 0}
        for v in topo:
            if v in far:
                for w in H.successors(v):
                    far[w] = max(far.get(w, -1), far[v] + 1)
        longest += [far[t] for t in far if t in sinks]
    h, g = {}, {}
    for v in reversed(topo):
        succ = list(H.successors(v))
        h[v] = 1 + np.mean([h[w] for w in succ]) if succ else 0.0
        g[v] = 1 + np.mean([2 * h[w] + g[w] for w in succ]) if succ else 0.0
    walk = float(np.mean([h[v] for v in sources]))
    second = float(np.mean([g[v] for v in sources]))
    inputs = set(s.inputs.tolist())
    fan_in = [G.in_degree(v) for v in G if v not in inputs]
    mass = [
        len(gen) * len({u for v in gen for u in G.predecessors(v)})
        for gen in list(nx.topological_generations(G))[1:]
    ]
    out.update(
        shortest_path_mean=np.mean(shortest),
        shortest_path_std=np.std(shortest),
        longest_path_mean=np.mean(longest),
        longest_path_std=np.std(longest),
        random_walk_mean=walk,
        random_walk_std=math.sqrt(max(second - walk * walk, 0.0)),
        fan_in_mean=np.mean(fan_in),
        fan_in_std=np.std(fan_in),
        layer_mass_mean=np.mean(mass),
        layer_mass_std=np.std(mass),
    )
    return out


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    args = ap.parse_args(argv)
    rows = [
        f"Machine: {machine()}",
        "",
        "| hidden nodes | edges | graphnets.analysis | networkx | speed-up |",
        "|---|---|---|---|---|",
    ]
    print("\n".join(rows), flush=True)
    for n in args.sizes:
        net = graphnets.priors.watts_strogatz(64, 10, n, 6, 0.3, seed=0)
        ours, ref = graphnets.analysis.properties(net), networkx_properties(net)
        for key, value in ours.items():
            if not np.isclose(value, ref[key], rtol=1e-9, atol=1e-12):
                raise AssertionError(f"{key}: graphnets {value} != networkx {ref[key]}")
        t = median_seconds(lambda net=net: graphnets.analysis.properties(net), args.repeats)
        t_nx = median_seconds(
            lambda net=net: networkx_properties(net), max(1, args.repeats // 3), warmup=0
        )
        row = (
            f"| {n:,} | {net.num_edges:,} | {t * 1e3:.0f} ms | {t_nx * 1e3:.0f} ms | "
            f"**{t_nx / t:.1f}x** |"
        )
        print(row, flush=True)
        rows.append(row)
    return rows


if __name__ == "__main__":
    main()
