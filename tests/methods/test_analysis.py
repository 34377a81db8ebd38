"""graphnets.analysis against independent networkx / brute-force / scipy computations."""

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import graphnets
from graphnets import analysis


def hand_dag() -> graphnets.GraphNet:
    """Skip edges, two hidden components, a hidden node isolated in the hidden graph."""
    G = nx.DiGraph()
    G.add_edges_from(
        [
            ("a", "h1"),
            ("b", "h2"),
            ("h1", "h3"),
            ("h2", "h3"),
            ("h1", "h4"),
            ("h3", "h5"),
            ("h4", "h5"),
            ("h1", "h5"),
            ("h5", "o1"),
            ("h4", "o2"),
            ("b", "h6"),
            ("h6", "h7"),
            ("h7", "o2"),
            ("a", "h8"),
            ("h8", "o1"),
            ("h2", "h9"),
            ("h9", "h5"),
            ("h3", "o1"),
        ]
    )
    return graphnets.from_networkx(G, ["a", "b"], ["o1", "o2"], seed=0)


NETS = {
    "hand": hand_dag,
    "ws": lambda: graphnets.priors.watts_strogatz(4, 3, 20, 4, 0.3, seed=0),
    "ba": lambda: graphnets.priors.barabasi_albert(3, 2, 18, 2, seed=1),
    "mlp": lambda: graphnets.mlp([3, 4, 4, 2], seed=0),
}


def reference(net) -> dict:
    """Every property, from networkx (and brute-force path enumeration) alone."""
    G = net.to_networkx()
    hidden = [v for v in G if G.nodes[v]["role"] == "hidden"]
    H = G.subgraph(hidden).copy()
    U = H.to_undirected()
    n, m = U.number_of_nodes(), U.number_of_edges()
    dist = dict(nx.all_pairs_shortest_path_length(U))
    pairs = [d for u in dist for v, d in dist[u].items() if u != v]
    ecc = [max(dist[u].values()) for u in U]
    p = nx.density(U)
    k = 2 * m / n
    avg_cc = nx.average_clustering(U)
    aspl = float(np.mean(pairs))
    c_ratio = avg_cc / p
    l_ratio = aspl / (math.log(n) / math.log(k)) if k > 1 else math.nan
    ref = {
        "layers": len(list(nx.topological_generations(H))),
        "nodes": n,
        "edges": H.number_of_edges(),
        "source_nodes": sum(1 for v in H if H.in_degree(v) == 0),
        "diameter": max(pairs, default=0),
        "density": p,
        "average_shortest_path_length": aspl,
        "eccentricity_var": np.var(ecc),
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
    # Paths of the hidden DAG, enumerated one by one, each with its random-walk probability.
    sources = [v for v in H if H.in_degree(v) == 0]
    sinks = [v for v in H if H.out_degree(v) == 0]
    shortest, longest, walk_t, walk_p = [], [], [], []
    for s in sources:
        for t in sinks:
            paths = [[s]] if s == t else list(nx.all_simple_paths(H, s, t))
            if paths:
                shortest.append(min(len(q) - 1 for q in paths))
                longest.append(max(len(q) - 1 for q in paths))
            for q in paths:
                walk_t.append(len(q) - 1)
                walk_p.append(np.prod([1 / H.out_degree(v) for v in q[:-1]]) / len(sources))
    walk_t, walk_p = np.array(walk_t), np.array(walk_p)
    assert walk_p.sum() == pytest.approx(1.0)
    mean_t = float(walk_t @ walk_p)
    ref.update(
        shortest_path_mean=np.mean(shortest),
        shortest_path_std=np.std(shortest),
        longest_path_mean=np.mean(longest),
        longest_path_std=np.std(longest),
        random_walk_mean=mean_t,
        random_walk_std=math.sqrt(float((walk_t - mean_t) ** 2 @ walk_p)),
    )
    fan_in = [G.in_degree(v) for v in G if G.nodes[v]["role"] != "input"]
    mass = [
        len(gen) * len({u for v in gen for u in G.predecessors(v)})
        for gen in list(nx.topological_generations(G))[1:]
    ]
    ref.update(
        fan_in_mean=np.mean(fan_in),
        fan_in_std=np.std(fan_in),
        layer_mass_mean=np.mean(mass),
        layer_mass_std=np.std(mass),
    )
    return ref


@pytest.mark.parametrize("name", list(NETS))
def test_properties_match_networkx(name):
    net = NETS[name]()
    got = analysis.properties(net)
    ref = reference(net)
    assert list(got) == list(analysis.PROPERTIES)
    assert set(ref) == set(got)
    for key in analysis.PROPERTIES:
        if isinstance(ref[key], float) and math.isnan(ref[key]):
            assert math.isnan(got[key]), key
        else:
            assert got[key] == pytest.approx(ref[key], rel=1e-9, abs=1e-12), key


def test_properties_table1_names_first():
    assert (
        analysis.PROPERTIES[:12]
        == analysis.TABLE1
        == (
            "layers",
            "nodes",
            "edges",
            "source_nodes",
            "diameter",
            "density",
            "average_shortest_path_length",
            "eccentricity_var",
            "degree_var",
            "closeness_var",
            "nodes_betweenness_var",
            "edge_betweenness_var",
        )
    )


def test_properties_hand_dag_values():
    p = analysis.properties(
        hand_dag(),
        which=[
            "nodes",
            "edges",
            "source_nodes",
            "layers",
            "longest_path_mean",
            "shortest_path_mean",
        ],
    )
    # hidden sources h1, h2, h6, h8; sinks h5, h7, h8; shortest..longest per pair:
    # h1->h5 1..2, h2->h5 2..2, h6->h7 1..1, h8->h8 0..0 (isolated in the hidden graph).
    assert p == {
        "layers": 3,
        "nodes": 9,
        "edges": 9,
        "source_nodes": 4,
        "shortest_path_mean": 1.0,
        "longest_path_mean": 1.25,
    }


def test_properties_structure_same_as_net():
    net = NETS["ws"]()
    a, b = analysis.properties(net), analysis.properties(net.structure)
    assert a.keys() == b.keys()
    assert all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def test_properties_which_subset_in_canonical_order():
    net = NETS["hand"]()
    full = analysis.properties(net)
    sub = analysis.properties(net, which=["random_walk_std", "density", "layers"])
    assert list(sub) == ["layers", "density", "random_walk_std"]
    assert all(sub[k] == full[k] for k in sub)
    assert analysis.properties(net, which=[]) == {}


def test_properties_which_unknown():
    with pytest.raises(ValueError, match=r"unknown property 'girth'; expected some of layers, "):
        analysis.properties(NETS["hand"](), which=["nodes", "girth"])
    with pytest.raises(ValueError, match=r"unknown properties 'a', 'b'"):
        analysis.properties(NETS["hand"](), which=["a", "b"])


def test_properties_which_string():
    with pytest.raises(TypeError, match=r"got the string 'nodes'; write which=\['nodes'\]"):
        analysis.properties(NETS["hand"](), which="nodes")


def test_properties_bad_net():
    with pytest.raises(TypeError, match="expected a graphnets GraphNet or Structure, got Graph"):
        analysis.properties(nx.Graph())


def test_properties_no_hidden_nodes():
    p = analysis.properties(graphnets.mlp([3, 2], seed=0))
    assert p["nodes"] == 0 and p["edges"] == 0 and p["layers"] == 0 and p["depth"] == 2
    assert p["fan_in_mean"] == 3.0 and p["layer_mass_mean"] == 6.0
    for k in (
        "diameter",
        "density",
        "average_shortest_path_length",
        "closeness_var",
        "small_world_sigma",
        "shortest_path_mean",
        "random_walk_mean",
    ):
        assert math.isnan(p[k]), k


def test_properties_table_rows_and_columns():
    nets = {"ws": NETS["ws"](), "ba": NETS["ba"]()}
    t = analysis.properties_table(nets)
    assert list(t.index) == ["ws", "ba"]
    assert list(t.columns) == list(analysis.PROPERTIES)
    assert t.loc["ba", "edges"] == analysis.properties(nets["ba"])["edges"]
    t2 = analysis.properties_table(list(nets.values()), which=["edges", "nodes"])
    assert list(t2.index) == [0, 1] and list(t2.columns) == ["nodes", "edges"]
    assert t2["nodes"].tolist() == [20, 18]


def test_properties_table_single_net():
    with pytest.raises(TypeError, match="wrap a single net in a list"):
        analysis.properties_table(NETS["ws"]())


def test_correlations_match_scipy():
    rng = np.random.default_rng(0)
    t = pd.DataFrame(
        {
            "a": rng.normal(size=12),
            "b": rng.normal(size=12),
            "const": np.ones(12),
            "acc": rng.normal(size=12),
        }
    )
    t.loc[3, "b"] = np.nan
    c = analysis.correlations(t, "acc")
    assert list(c.index) == ["a", "b", "const"]
    assert list(c.columns) == ["pearson", "pearson_p", "spearman", "spearman_p", "n"]
    pr, sr = stats.pearsonr(t["a"], t["acc"]), stats.spearmanr(t["a"], t["acc"])
    assert c.loc["a", "pearson"] == pytest.approx(pr.statistic)
    assert c.loc["a", "pearson_p"] == pytest.approx(pr.pvalue)
    assert c.loc["a", "spearman"] == pytest.approx(sr.statistic)
    assert c.loc["a", "spearman_p"] == pytest.approx(sr.pvalue)
    ok = t["b"].notna()
    assert c.loc["b", "n"] == 11
    assert c.loc["b", "pearson"] == pytest.approx(stats.pearsonr(t["b"][ok], t["acc"][ok])[0])
    assert c.loc["const"].drop("n").isna().all()
    by_values = analysis.correlations(t.drop(columns="acc"), t["acc"].to_numpy(), columns=["a"])
    assert by_values.loc["a", "spearman"] == pytest.approx(sr.statistic)


def test_correlations_on_properties_table():
    nets = [
        graphnets.priors.erdos_renyi(3, 2, 15, p, seed=i)
        for i, p in enumerate([0.1, 0.2, 0.3, 0.4])
    ]
    t = analysis.properties_table(nets, which=["edges", "density"])
    c = analysis.correlations(t, [1.0, 2.0, 3.0, 4.0])
    assert list(c.index) == ["edges", "density"]
    assert c.loc["edges", "spearman"] == pytest.approx(
        stats.spearmanr(t["edges"], [1, 2, 3, 4]).statistic
    )


def test_correlations_errors():
    t = pd.DataFrame({"a": [1.0, 2.0, 3.0], "acc": [1.0, 0.0, 2.0]})
    with pytest.raises(
        ValueError, match="target 'loss' is not a column of the table; columns are a, acc"
    ):
        analysis.correlations(t, "loss")
    with pytest.raises(ValueError, match=r"expected one target value per row \(3\), got 2"):
        analysis.correlations(t, [1.0, 2.0])
    with pytest.raises(ValueError, match="unknown column 'z'"):
        analysis.correlations(t, "acc", columns=["z"])
    with pytest.raises(TypeError, match="expected a pandas DataFrame, got dict"):
        analysis.correlations({"a": [1]}, "a")


def test_analysis_page_examples_run():
    import doctest
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "docs" / "analysis.md"
    result = doctest.testfile(str(page), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
