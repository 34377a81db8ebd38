"""graphnets.predict.GraphEncoder and GraphRegressor on any architecture graph: networkx cells
with categorical and numeric attributes, PyG Data, tiny and large graphs, checked against
references computed here from the graphs themselves."""

import networkx as nx
import numpy as np
import pytest
import torch
from scipy.stats import kendalltau
from torch_geometric.data import Data

import graphnets
from graphnets.data.cell_space import synthetic_cells
from graphnets.predict import GraphEncoder, GraphRegressor, listwise_loss

pytestmark = pytest.mark.usefixtures("one_thread")


def _cell(ops, node_ops=None, widths=None):
    g = nx.DiGraph()
    for i in range(4):
        attrs = {}
        if node_ops:
            attrs["op"] = node_ops[i]
        if widths:
            attrs["width"] = widths[i]
        g.add_node(f"n{i}", **attrs)
    pairs = [(i, j) for j in range(1, 4) for i in range(j)]
    for (i, j), op in zip(pairs, ops, strict=True):
        g.add_edge(f"n{i}", f"n{j}", op=op)
    return g


def _longest_from_sources(g):
    out = {}
    for v in nx.topological_sort(g):
        out[v] = max((out[u] + 1 for u in g.predecessors(v)), default=0)
    return out


def test_encoder_one_hot_edges_and_structure_match_the_graph():
    graphs = [_cell(["skip", "conv3x3", "none", "skip", "conv1x1", "conv3x3"]), _cell(["skip"] * 6)]
    enc = GraphEncoder().fit(graphs)
    assert enc.edge_columns == [
        "constant",
        "log_level_gap",
        "op=conv1x1",
        "op=conv3x3",
        "op=none",
        "op=skip",
    ]
    g = graphs[0]
    data = enc.transform(g)
    vocab = ["conv1x1", "conv3x3", "none", "skip"]
    for e, (_, _, op) in enumerate(g.edges(data="op")):
        expected = [1.0 if op == v else 0.0 for v in vocab]
        assert data.edge_attr[e, 2:].tolist() == expected
    # levels against a longest-path recursion over networkx's topological order
    nodes = list(g.nodes)
    level = _longest_from_sources(g)
    assert data.level.tolist() == [level[v] for v in nodes]
    rlevel = _longest_from_sources(g.reverse())
    assert data.rlevel.tolist() == [rlevel[v] for v in nodes]
    indeg = np.array([g.in_degree(v) for v in nodes])
    np.testing.assert_allclose(data.x[:, 0].numpy(), np.log1p(indeg), rtol=1e-6)
    # the skip edge n0 -> n3 jumps two levels
    e = list(g.edges).index(("n0", "n3"))
    assert data.edge_attr[e, 1].item() == pytest.approx(np.log1p(2))
    assert data.u.shape == (1, 6)


def test_encoder_node_categories_and_numeric_standardisation():
    graphs = [
        _cell(["skip"] * 6, ["input", "conv", "pool", "output"], [1.0, 2.0, 3.0, 4.0]),
        _cell(["skip"] * 6, ["input", "pool", "pool", "output"], [2.0, 2.0, 6.0, 8.0]),
    ]
    enc = GraphEncoder("none").fit(graphs)
    assert enc.node_columns[6:] == ["op=conv", "op=input", "op=output", "op=pool", "width"]
    widths = np.array([1.0, 2.0, 3.0, 4.0, 2.0, 2.0, 6.0, 8.0])
    x = torch.cat([enc.transform(g).x for g in graphs])
    np.testing.assert_allclose(x[:, -1].numpy(), (widths - widths.mean()) / widths.std(), rtol=1e-5)
    assert x[1, 6:10].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert enc.transform(graphs[0]).u.shape == (1, 0)
    # a node without the attribute: all-zero one-hot, the mean for a number
    g = _cell(["skip"] * 6, ["input", "conv", "pool", "output"], [1.0, 2.0, 3.0, 4.0])
    del g.nodes["n1"]["op"], g.nodes["n1"]["width"]
    assert enc.transform(g).x[1, 6:].tolist() == [0.0] * 5


def test_encoder_errors():
    g = _cell(["skip"] * 6)
    enc = GraphEncoder().fit([g])
    with pytest.raises(
        ValueError, match=r"edge attribute op='conv3x3' was not seen in fit; known values: 'skip'"
    ):
        enc.transform(_cell(["conv3x3"] * 6))
    h = _cell(["skip"] * 6)
    h.nodes["n0"]["colour"] = "red"
    with pytest.raises(ValueError, match="node attribute 'colour' was not seen in fit"):
        enc.transform(h)
    with pytest.raises(TypeError, match="fitted on networkx graphs, got a graphnet"):
        enc.transform(graphnets.mlp([2, 2], seed=0))
    bad = _cell(["skip"] * 6)
    bad.edges["n0", "n1"]["op"] = ["a", "list"]
    with pytest.raises(
        TypeError, match=r"edge attribute 'op' has value \['a', 'list'\] of type list"
    ):
        GraphEncoder().fit([bad])
    mixed = _cell(["skip"] * 5 + ["skip"])
    mixed.edges["n0", "n1"]["op"] = 3
    with pytest.raises(
        ValueError, match="edge attribute 'op' is a string on some edges and a number"
    ):
        GraphEncoder().fit([mixed])
    cyclic = nx.DiGraph([(0, 1), (1, 2), (2, 0)])
    with pytest.raises(ValueError, match="graph 0: the graph has a cycle"):
        GraphEncoder().fit([cyclic])
    with pytest.raises(
        TypeError,
        match="expected a GraphNet, a networkx.DiGraph or a torch_geometric Data, got Graph at pos",
    ):
        GraphEncoder().fit([nx.Graph([(0, 1)])])
    with pytest.raises(RuntimeError, match="not fitted"):
        GraphEncoder().transform(g)
    with pytest.raises(ValueError, match="unknown graph_features 'x'"):
        GraphEncoder("x")


def test_encoder_pyg_data_standardised_and_checked():
    rng = np.random.default_rng(0)
    graphs = [
        Data(
            x=torch.tensor(rng.normal(5, 2, (5, 3)), dtype=torch.float32),
            edge_index=torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]]),
            edge_attr=torch.tensor(rng.normal(0, 3, (4, 1)), dtype=torch.float32),
        )
        for _ in range(4)
    ]
    enc = GraphEncoder().fit(graphs)
    x = torch.cat([enc.transform(g).x[:, 6:] for g in graphs]).double()
    torch.testing.assert_close(x.mean(0), torch.zeros(3, dtype=torch.float64), atol=1e-5, rtol=0)
    torch.testing.assert_close(x.std(0, unbiased=False), torch.ones(3, dtype=torch.float64))
    assert enc.transform(graphs[0]).level.tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="expected x with 3 columns as in fit, got 2"):
        enc.transform(
            Data(
                x=torch.zeros(2, 2),
                edge_index=torch.tensor([[0], [1]]),
                edge_attr=torch.zeros(1, 1),
            )
        )


def test_regressor_ranks_generated_edge_cells():
    graphs, y = synthetic_cells(220, encoding="edge", seed=1)
    model = GraphRegressor(hidden=32, layers=1, conv="dag", seed=0)
    model.fit(graphs[:150], y[:150], epochs=60, batch_size=32, seed=0)
    tau = kendalltau(model.predict(graphs[150:]).numpy(), y[150:])[0]
    # a score of operations and their interactions, not of the (identical) wiring
    assert tau > 0.6
    order = model.rank(graphs[150:])
    assert sorted(order.tolist()) == list(range(70))


def test_regressor_nx_save_load_round_trip(tmp_path):
    graphs, y = synthetic_cells(30, encoding="node", nodes=5, seed=2)
    model = GraphRegressor(hidden=8, layers=1, ensemble=2, seed=0).fit(graphs, y, epochs=3, seed=0)
    model.save(tmp_path / "cells.pt")
    loaded = GraphRegressor.load(tmp_path / "cells.pt")
    assert torch.equal(loaded.predict(graphs), model.predict(graphs))
    assert loaded.graph_encoder.node_columns == model.graph_encoder.node_columns
    # the ensemble: embeddings side by side, the heads' mean is the prediction
    emb = model.embed(graphs)
    assert emb.shape == (30, model.embedding_dim) == (30, 2 * (16 + 6))
    head = model.head(emb).squeeze(-1) * model.target_std + model.target_mean
    torch.testing.assert_close(head, model.predict(graphs))
    with pytest.raises(ValueError, match=r"node attribute op='avgpool' was not seen in fit"):
        model.predict([_relabel_op(graphs[0], "avgpool")])


def _relabel_op(g, op):
    h = g.copy()
    h.nodes[1]["op"] = op
    return h


def test_regressor_tiny_and_large_graphs():
    tiny = [nx.DiGraph([(0, 1)]), nx.DiGraph([(0, 1), (1, 2)]), nx.DiGraph([(0, 2), (1, 2)])]
    model = GraphRegressor(hidden=8, layers=1, conv="gin+dag", seed=0)
    model.fit(tiny, [0.0, 1.0, 2.0], epochs=2, val_fraction=0, seed=0)
    assert model.predict(tiny).shape == (3,)
    big = [
        graphnets.mlp([64, 1000, 1000, 10], seed=0),
        graphnets.priors.erdos_renyi(64, 10, 2000, 0.002, seed=1),
    ]
    assert big[0].num_nodes > 2000 and big[1].num_nodes > 2000
    model = GraphRegressor(hidden=8, layers=1, conv="dag", seed=0)
    model.fit(big, [1.0, 0.0], epochs=1, val_fraction=0, seed=0)
    assert torch.isfinite(model.predict(big)).all()


def test_listwise_loss_values():
    p, t = torch.tensor([2.0, 0.0, 1.0]), torch.tensor([3.0, 1.0, 2.0])
    pn, tn = p.numpy().astype(np.float64), t.numpy().astype(np.float64)
    ref = -sum(
        np.exp(tn[i]) / np.exp(tn).sum() * np.log(np.exp(pn[i]) / np.exp(pn).sum())
        for i in range(3)
    )
    assert float(listwise_loss(p, t)) == pytest.approx(float(ref), rel=1e-5)


@pytest.mark.parametrize("conv", ["gin", "dag"])
def test_regressor_ignores_node_labels_and_order(conv):
    # isomorphic relabelling (the augmentation issue 12 lists) cannot change a prediction:
    # message passing and pooling are permutation-invariant; checked, not assumed
    graphs, y = synthetic_cells(40, encoding="node", nodes=6, seed=4)
    model = GraphRegressor(hidden=8, layers=1, conv=conv, seed=0).fit(graphs, y, epochs=3, seed=0)
    rng = np.random.default_rng(0)
    shuffled = []
    for g in graphs:
        order = rng.permutation(g.number_of_nodes())
        h = nx.DiGraph()
        h.add_nodes_from((f"v{order[v]}", g.nodes[v]) for v in rng.permutation(list(g.nodes)))
        h.add_edges_from((f"v{order[a]}", f"v{order[b]}") for a, b in g.edges)
        shuffled.append(h)
    torch.testing.assert_close(model.predict(shuffled), model.predict(graphs))


def test_regressor_auto_conv_follows_the_kind_of_graph(tmp_path):
    # conv="auto" (the default): GIN then a DAG sweep pair for GraphNets, the DAG encoder alone
    # for cells (networkx / PyG); an explicit conv is kept whatever the graphs.
    from graphnets.methods.predict.regressor import AUTO_CONV

    cells = [nx.DiGraph([(0, 1, {"op": op}), (1, 2, {"op": "skip"})]) for op in "abcab"]
    y = [0.0, 1.0, 2.0, 0.5, 1.5]
    model = GraphRegressor(hidden=8, layers=1, seed=0)
    assert (model.conv_setting, model.conv) == ("auto", "gin+dag")
    model.fit(cells, y, epochs=2, val_fraction=0, seed=0)
    assert model.conv == AUTO_CONV["networkx"] == "dag"
    assert all(m.dag is not None and len(m.convs) == 0 for m in model.members)
    assert "conv=dag" in repr(model)
    model.save(tmp_path / "m.pt")  # the resolved conv travels with the file
    loaded = GraphRegressor.load(tmp_path / "m.pt")
    assert loaded.conv == "dag" and torch.equal(loaded.predict(cells), model.predict(cells))
    nets = [graphnets.priors.erdos_renyi(4, 2, 8, p, seed=0) for p in (0.2, 0.4, 0.6)]
    model = GraphRegressor(hidden=8, layers=1, seed=0).fit(
        nets, [1.0, 2.0, 3.0], epochs=2, val_fraction=0, seed=0
    )
    assert model.conv == "gin+dag"
    model = GraphRegressor(hidden=8, layers=1, conv="gin", seed=0)
    model.fit(cells, y, epochs=2, val_fraction=0, seed=0)
    assert model.conv == "gin"
