"""Random-graph priors: orientation, layer index, embedding, seeding."""

import networkx as nx
import pytest
import torch

from graphnets import priors
from graphnets.reference import evaluate

BUILDERS = {
    "watts_strogatz": lambda seed, **kw: priors.watts_strogatz(3, 2, 30, 4, 0.3, seed=seed, **kw),
    "barabasi_albert": lambda seed, **kw: priors.barabasi_albert(3, 2, 30, 2, seed=seed, **kw),
    "erdos_renyi": lambda seed, **kw: priors.erdos_renyi(3, 2, 30, 0.15, seed=seed, **kw),
    "from_graph": lambda seed, **kw: priors.from_graph(nx.petersen_graph(), 3, 2, seed=seed, **kw),
    "embed": lambda seed, **kw: priors.embed(
        nx.DiGraph([(0, 1), (1, 2), (0, 2), (3, 2)]), 3, 2, seed=seed, **kw
    ),
}


def _same(a, b):
    return a.edges() == b.edges() and torch.equal(a.weight, b.weight)


def _rule_4_3(D):
    """``ind(v) = max({ind(s) | (s, v) in E} ∪ {-1}) + 1``, by recursion over the predecessors."""
    ind = {}

    def visit(v):
        if v not in ind:
            ind[v] = max([visit(s) for s in D.predecessors(v)] + [-1]) + 1
        return ind[v]

    for v in D.nodes:
        visit(v)
    return ind


@pytest.mark.parametrize("name", list(BUILDERS))
def test_priors_same_seed_same_net(name):
    a, b = BUILDERS[name](7), BUILDERS[name](7)
    assert _same(a, b)
    assert a.labels == b.labels


@pytest.mark.parametrize("name", list(BUILDERS))
def test_priors_different_seed_different_net(name):
    assert not _same(BUILDERS[name](7), BUILDERS[name](8))


@pytest.mark.parametrize("name", list(BUILDERS))
def test_priors_generator_seed(name):
    a = BUILDERS[name](torch.Generator().manual_seed(3))
    b = BUILDERS[name](torch.Generator().manual_seed(3))
    assert _same(a, b)
    gen = torch.Generator().manual_seed(3)
    first, second = BUILDERS[name](gen), BUILDERS[name](gen)
    assert _same(first, a)
    assert not _same(first, second)  # the generator advanced


@pytest.mark.parametrize("name", ["watts_strogatz", "barabasi_albert", "erdos_renyi"])
def test_priors_graph_changes_with_seed(name):
    # The random graph itself (not only the weights) depends on the seed.
    edge_sets = {frozenset(BUILDERS[name](s).edges()) for s in range(4)}
    assert len(edge_sets) > 1


def test_priors_orient_random_seeded():
    G = nx.watts_strogatz_graph(40, 4, 0.2, seed=1)
    a, b = priors.orient(G, seed=5), priors.orient(G, seed=5)
    assert list(a.edges) == list(b.edges)
    assert list(priors.orient(G, seed=6).edges) != list(a.edges)
    gen_a = priors.orient(G, seed=torch.Generator().manual_seed(5))
    gen_b = priors.orient(G, seed=torch.Generator().manual_seed(5))
    assert list(gen_a.edges) == list(gen_b.edges)


@pytest.mark.parametrize("orientation", ["random", "index"])
def test_priors_orient_is_dag_covering_every_edge_once(orientation):
    G = nx.barabasi_albert_graph(50, 3, seed=2)
    D = priors.orient(G, orientation=orientation, seed=0)
    assert nx.is_directed_acyclic_graph(D)
    assert D.number_of_edges() == G.number_of_edges()
    assert {frozenset(e) for e in D.edges} == {frozenset(e) for e in G.edges}
    assert list(D.nodes) == list(G.nodes)


def test_priors_orient_index_rule():
    G = nx.Graph()
    G.add_nodes_from(["c", "a", "b"])  # rank = position in G.nodes, not the label order
    G.add_edges_from([("a", "c"), ("b", "a"), ("c", "b")])
    D = priors.orient(G, orientation="index")
    assert sorted(D.edges) == [("a", "b"), ("c", "a"), ("c", "b")]


def test_priors_orient_keeps_attributes():
    G = nx.Graph()
    G.add_node(0, bias=0.5)
    G.add_edge(0, 1, weight=2.0)
    D = priors.orient(G, orientation="index")
    assert D.nodes[0]["bias"] == 0.5
    assert D.edges[0, 1]["weight"] == 2.0


def test_priors_orient_directed_copy():
    D = nx.DiGraph([(2, 1), (1, 0)])
    out = priors.orient(D)
    assert list(out.edges) == [(2, 1), (1, 0)]
    assert out is not D


def test_priors_watts_strogatz_index_1000():
    G = nx.watts_strogatz_graph(1000, 4, 0.3, seed=42)
    net = priors.from_graph(G, 64, 10, orientation="index", seed=0)
    assert net.num_nodes == 1074
    assert net.num_edges == 5086
    net2 = priors.embed(priors.orient(G, orientation="index"), 64, 10, seed=0)
    assert net2.num_nodes == 1074 and net2.num_edges == 5086
    # Independently: 2000 graph edges, 64 per DAG source, 10 per DAG sink.
    D = nx.DiGraph()
    D.add_nodes_from(G)
    D.add_edges_from((min(u, v), max(u, v)) for u, v in G.edges)
    sources = sum(1 for v in D if D.in_degree(v) == 0)
    sinks = sum(1 for v in D if D.out_degree(v) == 0)
    assert 2000 + 64 * sources + 10 * sinks == 5086
    x = torch.randn(2, 64)
    assert net(x).shape == (2, 10)


@pytest.mark.parametrize("orientation", ["random", "index"])
def test_priors_embed_sources_and_sinks(orientation):
    G = nx.watts_strogatz_graph(60, 4, 0.3, seed=3)
    net = priors.from_graph(G, 5, 3, orientation=orientation, seed=1)
    ins, outs = set(net.inputs), set(net.outputs)
    assert net.inputs == [("in", k) for k in range(5)]
    assert net.outputs == [("out", k) for k in range(3)]
    N = nx.DiGraph(net.edges())
    N.add_nodes_from(net.labels)
    hidden = N.subgraph([v for v in N if v not in ins | outs])
    assert set(hidden.nodes) == set(G.nodes)
    for v in hidden:
        fed_by = {u for u in N.predecessors(v) if u in ins}
        feeds = {o for o in N.successors(v) if o in outs}
        if hidden.in_degree(v) == 0:
            assert fed_by == ins
        else:
            assert fed_by == set()
        if hidden.out_degree(v) == 0:
            assert feeds == outs
        else:
            assert feeds == set()
    # Inputs feed only DAG sources, outputs are fed only by DAG sinks.
    assert all(N.out_degree(i) == sum(1 for v in hidden if hidden.in_degree(v) == 0) for i in ins)
    assert all(set(N.predecessors(o)) <= set(hidden) for o in outs)


def test_priors_embed_all():
    D = nx.DiGraph([("a", "b"), ("b", "c")])
    net = priors.embed(D, 2, 1, inputs_to="all", outputs_from="all", seed=0)
    edges = set(net.edges())
    assert {(("in", k), v) for k in range(2) for v in "abc"} <= edges
    assert {(v, ("out", 0)) for v in "abc"} <= edges
    assert net.num_edges == 2 * 3 + 2 + 3


def test_priors_embed_labels():
    D = nx.DiGraph([("a", "b"), ("c", "b")])
    net = priors.embed(D, 2, 1, activation="tanh", seed=0)
    assert net.labels == [("in", 0), ("in", 1), "a", "b", "c", ("out", 0)]
    assert set(net.edges()) == {
        (("in", 0), "a"),
        (("in", 1), "a"),
        (("in", 0), "c"),
        (("in", 1), "c"),
        ("a", "b"),
        ("c", "b"),
        ("b", ("out", 0)),
    }
    assert net.activations["b"] == "tanh"
    x = torch.randn(3, 2)
    torch.testing.assert_close(net(x), evaluate(net, x))


def test_priors_embed_node_and_edge_order():
    # Nodes: inputs, the DAG's nodes, outputs; edges (and so weights): grouped by source node,
    # in node order. "s" is a source and a sink listed before the DAG edge a -> b.
    D = nx.DiGraph()
    D.add_nodes_from(["s", "a", "b"])
    D.add_edge("a", "b")
    net = priors.embed(D, 2, 1, seed=0)
    assert net.labels == [("in", 0), ("in", 1), "s", "a", "b", ("out", 0)]
    assert net.edges() == [
        (("in", 0), "s"),
        (("in", 0), "a"),
        (("in", 1), "s"),
        (("in", 1), "a"),
        ("s", ("out", 0)),
        ("a", "b"),
        ("b", ("out", 0)),
    ]
    src = net.edge_index[0]
    assert bool((src[1:] >= src[:-1]).all())


@pytest.mark.parametrize("seed", range(4))
def test_priors_layer_index_rule(seed):
    G = nx.gnp_random_graph(40, 0.1, seed=seed)
    D = priors.orient(G, seed=seed)
    assert priors.layer_index(D) == _rule_4_3(D)


def test_priors_layer_index_example():
    assert priors.layer_index(nx.DiGraph([(0, 1), (1, 2), (0, 2)])) == {0: 0, 1: 1, 2: 2}
    D = nx.DiGraph()
    D.add_nodes_from(["lonely", "x"])
    assert priors.layer_index(D) == {"lonely": 0, "x": 0}


def test_priors_levels_follow_layer_index():
    # With inputs feeding the DAG's sources, a hidden node's level is its layer index + 1.
    G = nx.watts_strogatz_graph(50, 4, 0.3, seed=9)
    D = priors.orient(G, seed=9)
    net = priors.embed(D, 4, 2, seed=0)
    ind = priors.layer_index(D)
    level = {v: ell for ell, nodes in enumerate(net.levels) for v in nodes}
    assert all(level[v] == ind[v] + 1 for v in D)
    assert {level[o] for o in net.outputs} == {max(ind.values()) + 2}
    assert net.depth == max(ind.values()) + 3


@pytest.mark.parametrize("name", list(BUILDERS))
def test_priors_nets_evaluate(name):
    net = BUILDERS[name](0)
    x = torch.randn(4, 3)
    torch.testing.assert_close(net(x), evaluate(net, x))


def test_priors_options_pass_through():
    net = priors.watts_strogatz(
        3, 2, 20, 4, 0.3, seed=0, activation="tanh", output_activation="sigmoid", kernel="scatter"
    )
    assert net.kernel == "scatter"
    hidden = set(net.labels) - set(net.inputs) - set(net.outputs)
    assert {net.activations[v] for v in hidden} == {"tanh"}
    assert {net.activations[o] for o in net.outputs} == {"sigmoid"}


@pytest.mark.parametrize("recurrent", [None, "self"])
@pytest.mark.parametrize("name", list(BUILDERS))
def test_priors_dtype_and_device(name, recurrent, device):
    # Every builder takes dtype= and device=; the seed draws the same net in every dtype.
    net = BUILDERS[name](0, dtype=torch.float64, device=device, recurrent=recurrent)
    ref = BUILDERS[name](0, recurrent=recurrent)
    assert net.weight.dtype == net.bias.dtype == torch.float64
    assert net.weight.device.type == device.type
    assert net.edges() == ref.edges()
    assert torch.equal(net.weight.cpu().float(), ref.weight)
    if recurrent is None:
        x = torch.randn(4, 3, dtype=torch.float64, device=device)
        torch.testing.assert_close(net(x), evaluate(net, x))
    else:
        y = net.run(torch.randn(5, 4, 3, dtype=torch.float64, device=device))
        assert y.dtype == torch.float64
