import math

import networkx as nx
import numpy as np
import pytest
import torch
from _graphs import GRAPHS

import graphnets
from graphnets.reference import evaluate


def test_mlp_matches_reference():
    net = graphnets.mlp([6, 5, 4, 3], seed=0)
    x = torch.randn(7, 6)
    torch.testing.assert_close(net(x), evaluate(net, x))


def _all_nodes(net, x):
    """Pre-activation ``z`` and activation ``a`` of every node ([B] each, by label), computed
    one node at a time from ``edges()`` and the parameters (independent of the kernels)."""
    G = nx.DiGraph()
    G.add_nodes_from(net.labels)
    G.add_edges_from(net.edges())
    w = dict(zip(net.edges(), net.weight.detach(), strict=True))
    b = dict(zip(net.labels, net.bias.detach(), strict=True))
    acts = {lab: graphnets.parse_activation(a) for lab, a in net.activations.items()}
    z, a = {}, {}
    for k, lab in enumerate(net.inputs):
        a[lab] = x[:, k]
    for lab in nx.topological_sort(G):
        if lab in a:
            continue
        z[lab] = b[lab] + sum(
            (w[(u, lab)] * a[u] for u in G.predecessors(lab)),
            torch.zeros(x.shape[0], dtype=x.dtype),
        )
        a[lab] = acts[lab].forward(z[lab])
    return z, a


# -- semantics --------------------------------------------------------------------------------
def test_graphnet_output_feeding_on_carries_its_activation():
    # y0 = tanh(z_y0) is both an output and the source of edge y0 -> h1.
    net = GRAPHS["output_feeds"]().double()
    x = torch.randn(5, 2, dtype=torch.float64)
    z, a = _all_nodes(net, x)
    y = net(x)
    torch.testing.assert_close(y[:, 0], torch.tanh(z["y0"]))
    torch.testing.assert_close(y[:, 1], torch.tanh(z["y1"]))
    torch.testing.assert_close(y, evaluate(net, x))


def test_graphnet_outputs_linear_by_default():
    net = GRAPHS["skip_dag"]().double()
    x = torch.randn(4, len(net.inputs), dtype=torch.float64)
    z, _ = _all_nodes(net, x)
    torch.testing.assert_close(net(x), torch.stack([z[o] for o in net.outputs], 1))


def test_graphnet_inputs_not_activated():
    # relu would clip the negative input; inputs pass x as it is.
    net = graphnets.from_edges(
        torch.tensor([[0], [1]]), 2, [0], [1], weight=torch.tensor([1.0]), activation="relu"
    )
    x = torch.tensor([[-3.0], [2.0]])
    assert net(x).tolist() == [[-3.0], [2.0]]


def test_graphnet_hidden_source_outputs_activated_bias():
    net = GRAPHS["hidden_sources"]().double()
    x = torch.randn(3, 2, dtype=torch.float64)
    _, a = _all_nodes(net, x)
    b = dict(zip(net.labels, net.bias.detach(), strict=True))
    torch.testing.assert_close(a["s1"], torch.nn.functional.elu(b["s1"]).expand(3))
    torch.testing.assert_close(net(x), evaluate(net, x))


@pytest.mark.parametrize("graph", list(GRAPHS))
def test_graphnet_matches_independent_evaluation(graph):
    net = GRAPHS[graph]().double()
    x = torch.randn(4, len(net.inputs), dtype=torch.float64)
    _, a = _all_nodes(net, x)
    torch.testing.assert_close(net(x), torch.stack([a[o] for o in net.outputs], 1))


def test_graphnet_single_sample():
    net = GRAPHS["mixed_activations"]()
    x = torch.randn(3)
    y = net(x)
    assert y.shape == (2,)
    torch.testing.assert_close(y, evaluate(net, x[None])[0])


# -- introspection ----------------------------------------------------------------------------
def test_graphnet_counts_and_roles():
    net = GRAPHS["hidden_sources"]()
    assert net.num_nodes == 8
    assert net.num_edges == 9
    assert net.inputs == ["x0", "x1"]
    assert net.outputs == ["y0", "y1"]
    assert net.weight.shape == (9,) and net.bias.shape == (8,)
    assert net.edge_index.shape == (2, 9)


@pytest.mark.parametrize("graph", ["skip_dag", "mixed_activations", "prior"])
def test_graphnet_edges_order_is_weight_order(graph):
    net = GRAPHS[graph]().double()
    lab = net.labels
    src, dst = net.edge_index.tolist()
    assert net.edges() == [(lab[s], lab[d]) for s, d in zip(src, dst, strict=True)]
    # Zeroing weight[e] is the same function as removing edges()[e].
    e = net.num_edges // 2
    keep = [k for k in range(net.num_edges) if k != e]
    s = net.structure
    cut = graphnets.GraphNet(
        graphnets.Structure(s.edge_index[:, keep], s.labels, s.inputs, s.outputs, s.activations),
        net.weight.detach()[keep],
        net.bias.detach(),
    ).double()
    with torch.no_grad():
        net.weight[e] = 0
    x = torch.randn(5, len(net.inputs), dtype=torch.float64)
    torch.testing.assert_close(net(x), cut(x), rtol=1e-12, atol=1e-12)


def _nx_levels(net):
    G = nx.DiGraph()
    G.add_nodes_from(net.labels)
    G.add_edges_from(net.edges())
    index = {lab: i for i, lab in enumerate(net.labels)}
    return [sorted(gen, key=index.__getitem__) for gen in nx.topological_generations(G)], G


@pytest.mark.parametrize("graph", list(GRAPHS))
def test_graphnet_levels_match_networkx(graph):
    net = GRAPHS[graph]()
    want, G = _nx_levels(net)
    assert net.levels == want
    assert net.depth == len(want)
    # Level = longest path from a source; depth = most nodes on one path.
    assert net.depth == nx.dag_longest_path_length(G) + 1
    longest = {}
    for v in nx.topological_sort(G):
        longest[v] = max((longest[u] + 1 for u in G.predecessors(v)), default=0)
    assert {v: ell for ell, nodes in enumerate(net.levels) for v in nodes} == longest


def test_graphnet_levels_longest_path_exact():
    # 0 -> 1 -> 2 -> 3 and 0 -> 3: node 3 at level 3 (longest path), not 1 (shortest).
    net = graphnets.from_edges(torch.tensor([[0, 1, 2, 0], [1, 2, 3, 3]]), 4, [0], [3], seed=0)
    assert net.levels == [[0], [1], [2], [3]]
    assert net.depth == 4


def test_graphnet_order_inputs_first():
    net = GRAPHS["skip_dag"]()
    order = net.order
    assert order[: len(net.inputs)] == net.inputs
    assert sorted(order, key=str) == sorted(net.labels, key=str)
    level = {v: ell for ell, nodes in enumerate(net.levels) for v in nodes}
    assert [level[v] for v in order] == sorted(level[v] for v in order)


def test_graphnet_dead_nodes_example():
    G = nx.DiGraph([("x", "h"), ("h", "y"), ("x", "y"), ("z", "y"), ("h", "q")])
    net = graphnets.from_networkx(G, ["x"], ["y"], seed=0)
    assert net.dead_nodes() == ["z", "q"]
    # Reported, not removed: the net still has them and still evaluates.
    assert net.num_nodes == 5
    x = torch.randn(3, 1)
    torch.testing.assert_close(net(x), evaluate(net, x))
    assert "dead nodes: 2 (see dead_nodes())" in net.summary()


def test_graphnet_dead_nodes_none():
    assert GRAPHS["mlp"]().dead_nodes() == []
    assert "dead nodes" not in GRAPHS["mlp"]().summary()


def test_graphnet_dead_nodes_hidden_source_feeding_outputs():
    # s1, s2 have no path from an input (bias only) but feed the outputs: dead by definition.
    assert sorted(GRAPHS["hidden_sources"]().dead_nodes()) == ["s1", "s2"]


def test_graphnet_repr():
    net = graphnets.mlp([4, 8, 3], seed=0, kernel="levelwise")
    assert repr(net) == (
        "GraphNet(nodes=15, edges=56, inputs=4, outputs=3, levels=3, kernel=levelwise[densex2])"
    )
    net.compile("fused")
    assert repr(net) == (
        "GraphNet(nodes=15, edges=56, inputs=4, outputs=3, levels=3, kernel=fused[fusedx2])"
    )


def test_graphnet_summary():
    net = graphnets.mlp([4, 8, 3], seed=0, kernel="levelwise")
    text = net.summary()
    lines = text.splitlines()
    assert lines[0] == repr(net)
    assert "parameters: 67 (56 weights, 11 biases)" in text
    rows = [line.split() for line in lines[3:6]]
    assert [r[:4] for r in rows] == [
        ["0", "4", "0", "0"],
        ["1", "8", "32", "4"],
        ["2", "3", "24", "8"],
    ]
    assert rows[1][4] == "100.00%" and rows[1][5] == "dense" and rows[1][6] == "relu"
    table = net.level_table()
    assert [r["nodes"] for r in table] == [4, 8, 3]
    assert [r["edges"] for r in table] == [0, 32, 24]
    assert table[0]["kernel"] == "input"


def test_graphnet_summary_long():
    net = GRAPHS["deep"]()  # 14 levels: all shown
    assert len([ln for ln in net.summary().splitlines() if ln.strip()[:1].isdigit()]) == 14
    ei = torch.stack([torch.arange(40), torch.arange(1, 41)])
    chain = graphnets.from_edges(ei, 41, [0], [40])
    text = chain.summary()
    assert "(21 more levels)" in text


def test_graphnet_reset_parameters_seeded():
    net = GRAPHS["skip_dag"]()
    net.reset_parameters(seed=3)
    w1 = net.weight.detach().clone()
    assert bool((net.bias == 0).all())
    net.reset_parameters(seed=3)
    assert torch.equal(net.weight, w1)
    net.reset_parameters(seed=torch.Generator().manual_seed(3))
    assert torch.equal(net.weight, w1)
    net.reset_parameters(seed=4)
    assert not torch.equal(net.weight, w1)


def test_graphnet_reset_parameters_gain():
    # tanh nodes get gain 5/3: bound sqrt(3) * 5/3 / sqrt(fan_in).
    net = graphnets.mlp([400, 2], activation="relu", output_activation="tanh", seed=0)
    bound = math.sqrt(3) * 5 / 3 / math.sqrt(400)
    w = net.weight.detach().abs()
    assert float(w.max()) <= bound
    assert float(w.max()) > 0.95 * bound


def test_graphnet_optimizer_step_changes_output():
    net = GRAPHS["mlp"]()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x = torch.randn(8, 5)
    loss0 = (net(x) ** 2).mean()
    loss0.backward()
    opt.step()
    with torch.no_grad():
        assert float((net(x) ** 2).mean()) < float(loss0)


# -- to_dense ---------------------------------------------------------------------------------
def test_graphnet_to_dense_layered_block_structure():
    sizes = [3, 4, 2]
    net = graphnets.mlp(sizes, seed=0)
    W = net.to_dense()
    assert W.shape == (9, 9)
    assert net.order == [(ell, u) for ell, k in enumerate(sizes) for u in range(k)]
    offs = np.cumsum([0] + sizes)
    for r in range(len(sizes)):
        for c in range(len(sizes)):
            block = W[offs[r] : offs[r + 1], offs[c] : offs[c + 1]]
            if r == c + 1:
                assert bool((block != 0).all())  # the sub-diagonal: layer c feeds layer c+1
            else:
                assert bool((block == 0).all())
    w = dict(zip(net.edges(), net.weight.detach().tolist(), strict=True))
    assert float(W.detach()[offs[1] + 2, 1]) == w[((0, 1), (1, 2))]


@pytest.mark.parametrize("graph", ["mlp", "skip_dag", "hidden_sources", "output_feeds"])
def test_graphnet_to_dense_computes_z(graph):
    net = GRAPHS[graph]().double()
    x = torch.randn(5, len(net.inputs), dtype=torch.float64)
    z, a = _all_nodes(net, x)
    order = net.order
    W = net.to_dense()
    A = torch.stack([a[v] for v in order])  # [N, B], rows in order
    b = dict(zip(net.labels, net.bias.detach(), strict=True))
    Z = W @ A + torch.stack([b[v] for v in order])[:, None]
    n_in = len(net.inputs)
    torch.testing.assert_close(Z[n_in:], torch.stack([z[v] for v in order[n_in:]]))
    # Strictly lower triangular: edges only go forward in the schedule order.
    assert bool((torch.triu(W) == 0).all())


def test_graphnet_to_dense_differentiable():
    net = GRAPHS["skip_dag"]()
    (net.to_dense() * 2).sum().backward()
    assert torch.equal(net.weight.grad, torch.full_like(net.weight, 2.0))


# -- save / load ------------------------------------------------------------------------------
@pytest.mark.parametrize("graph", ["mlp", "mixed_activations", "prior", "deep"])
def test_graphnet_save_load_round_trip(graph, tmp_path):
    net = GRAPHS[graph]().compile("scatter")
    path = tmp_path / "net.pt"
    net.save(path)
    back = graphnets.load(path)
    assert back.labels == net.labels
    assert back.edges() == net.edges()
    assert back.inputs == net.inputs and back.outputs == net.outputs
    assert back.activations == net.activations
    assert back.kernel == "scatter"
    assert torch.equal(back.weight, net.weight) and torch.equal(back.bias, net.bias)
    x = torch.randn(4, len(net.inputs))
    assert torch.equal(back(x), net(x))


def test_graphnet_save_load_label_types(tmp_path):
    labels = [("in", 0), ("in", (1, "nested")), 7, "h", 2.5, None, True, ("out", 0)]
    ei = torch.tensor([[0, 1, 2, 3, 4, 5, 6], [2, 2, 3, 4, 5, 6, 7]])
    net = graphnets.from_edges(
        ei,
        8,
        [("in", 0), ("in", (1, "nested"))],
        [("out", 0)],
        labels=labels,
        activation="tanh",
        seed=0,
    )
    net.save(tmp_path / "n.pt")
    back = graphnets.load(tmp_path / "n.pt")
    assert back.labels == labels
    assert [type(v) for v in back.labels] == [type(v) for v in labels]
    assert back.labels[1] == ("in", (1, "nested"))
    x = torch.randn(3, 2)
    assert torch.equal(back(x), net(x))


def test_graphnet_save_load_float64(tmp_path):
    net = GRAPHS["skip_dag"]().double()
    net.save(tmp_path / "n.pt")
    back = graphnets.load(str(tmp_path / "n.pt"), map_location="cpu")
    assert back.weight.dtype == torch.float64 and back.bias.dtype == torch.float64
    x = torch.randn(3, len(net.inputs), dtype=torch.float64)
    assert torch.equal(back(x), net(x))


@pytest.mark.parametrize(
    "label",
    [frozenset({1}), object(), (1, frozenset())],
    ids=["frozenset", "object", "tuple-with-frozenset"],
)
def test_graphnet_save_unsaveable_label(label, tmp_path):
    net = graphnets.from_edges(
        torch.tensor([[0, 1], [1, 2]]), 3, ["x"], ["y"], labels=["x", label, "y"], seed=0
    )
    with pytest.raises(
        TypeError,
        match=r"cannot save node label .* of type "
        + type(label).__name__
        + r": labels must be int",
    ):
        net.save(tmp_path / "n.pt")
    assert not (tmp_path / "n.pt").exists()
