"""graphnets.predict: PyG conversion against the net, and a GNN that learns real structural
targets of generated nets (edge counts), checked on held-out nets."""

import doctest
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import torch
from scipy.stats import kendalltau, spearmanr
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader

import graphnets
from graphnets.predict import FEATURES, GraphEncoder, GraphRegressor, rank_loss, to_pyg

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parents[2]


def _er_nets(k, seed):
    # Erdős–Rényi priors with 16 hidden nodes and a random edge probability each: the number
    # of edges varies widely and is a property of the graph alone, so it is a learnable target.
    ps = np.random.default_rng(seed).uniform(0.1, 0.5, k)
    return [
        graphnets.priors.erdos_renyi(4, 2, 16, float(p), seed=seed * 1000 + i)
        for i, p in enumerate(ps)
    ]


@pytest.fixture(scope="module")
def data():
    nets = _er_nets(80, 0)
    y = torch.tensor([float(n.num_edges) for n in nets])
    return nets[:60], y[:60], nets[60:], y[60:]


@pytest.fixture(scope="module")
def fitted(data):
    nets, y, _, _ = data
    # no graph-level features: the edge count must be learned from the graph, not read off u
    return GraphRegressor(hidden=32, layers=2, graph_features="none", seed=0).fit(
        nets, y, epochs=100, seed=0
    )


# -- to_pyg ----------------------------------------------------------------------------------
def test_to_pyg_features_match_the_net():
    net = graphnets.priors.watts_strogatz(3, 2, 12, 4, 0.3, seed=1)
    d = to_pyg(net)
    s = net.structure
    f = {name: d.x[:, i] for i, name in enumerate(FEATURES)}
    assert d.x.shape == (net.num_nodes, len(FEATURES)) and d.x.dtype == torch.float32
    assert torch.equal(d.edge_index, s.edge_index)
    assert d.num_nodes == net.num_nodes and d.edge_attr is None
    role = torch.stack([f["is_input"], f["is_hidden"], f["is_output"]], 1)
    assert torch.equal(role.sum(1), torch.ones(net.num_nodes))
    assert f["is_input"].nonzero()[:, 0].tolist() == s.inputs.tolist()
    assert f["is_output"].nonzero()[:, 0].tolist() == s.outputs.tolist()
    level = torch.as_tensor(s.level, dtype=torch.float32)
    torch.testing.assert_close(f["level"], level / level.max())
    indeg = [sum(1 for _, b in net.edges() if b == lab) for lab in net.labels]
    outdeg = [sum(1 for a, _ in net.edges() if a == lab) for lab in net.labels]
    torch.testing.assert_close(f["in_degree"], torch.log1p(torch.tensor(indeg).float()))
    torch.testing.assert_close(f["out_degree"], torch.log1p(torch.tensor(outdeg).float()))
    acts = torch.stack([f[f"act_{a}"] for a in graphnets.ACTIVATIONS], 1)
    assert torch.equal(acts.sum(1), torch.ones(net.num_nodes))
    for i, a in enumerate(s.activations):
        assert f[f"act_{a}"][i] == 1


def test_to_pyg_activation_one_hot_by_name():
    G = nx.DiGraph([("a", "h"), ("h", "g"), ("g", "y")])
    G.nodes["h"]["activation"] = "leaky_relu(0.2)"
    net = graphnets.from_networkx(G, inputs=["a"], outputs=["y"], activation="tanh")
    d = to_pyg(net)
    col = FEATURES.index("act_leaky_relu")
    assert d.x[net.labels.index("h"), col] == 1
    assert d.x[net.labels.index("a"), FEATURES.index("act_identity")] == 1
    assert d.x[net.labels.index("g"), FEATURES.index("act_tanh")] == 1
    assert d.x[:, 6:].sum(1).tolist() == [1.0] * 4


def test_to_pyg_weights():
    net = graphnets.mlp([3, 4, 2], seed=0).double()
    d = to_pyg(net, weights=True)
    assert d.edge_attr.shape == (net.num_edges, 1) and d.edge_attr.dtype == torch.float32
    assert not d.edge_attr.requires_grad
    torch.testing.assert_close(d.edge_attr[:, 0], net.weight.detach().float())


def test_to_pyg_batching_with_loader():
    nets = [
        graphnets.mlp([3, 4, 2], seed=0),
        graphnets.priors.erdos_renyi(2, 1, 6, 0.5, seed=0),
        graphnets.mlp([2, 1], seed=1),
    ]
    graphs = [to_pyg(n, weights=True) for n in nets]
    (batch,) = list(DataLoader(graphs, batch_size=3))
    assert batch.num_graphs == 3
    assert batch.x.shape[0] == sum(n.num_nodes for n in nets)
    assert batch.edge_attr.shape == (sum(n.num_edges for n in nets), 1)
    offset = nets[0].num_nodes
    first = nets[0].num_edges
    assert torch.equal(
        batch.edge_index[:, first : first + nets[1].num_edges], nets[1].edge_index + offset
    )
    assert torch.equal(batch.batch.bincount(), torch.tensor([n.num_nodes for n in nets]))
    assert Batch.from_data_list(graphs).x.shape == batch.x.shape


def test_to_pyg_rejects_non_nets():
    with pytest.raises(TypeError, match="expected a graphnets GraphNet, got Linear"):
        to_pyg(torch.nn.Linear(2, 2))


# -- GraphRegressor --------------------------------------------------------------------------
def test_regressor_learns_edge_count_on_held_out_nets(data, fitted):
    _, _, test_nets, y_test = data
    pred = fitted.predict(test_nets)
    assert pred.shape == (20,) and torch.isfinite(pred).all()
    assert spearmanr(pred.numpy(), y_test.numpy())[0] > 0.8
    # predictions are in the targets' units, not standardised ones
    assert abs(float(pred.mean()) - float(y_test.mean())) < 0.5 * float(y_test.std())
    assert fitted.history["val"] and len(fitted.history["train"]) == len(fitted.history["val"])


@pytest.mark.parametrize("conv", ["gin", "sage", "gat", "dag"])
def test_regressor_other_convs_learn(data, conv):
    nets, y, test_nets, y_test = data
    model = GraphRegressor(
        hidden=32, layers=2, conv=conv, pool="add", graph_features="none", seed=0
    )
    model.fit(nets, y, epochs=60, seed=0)
    assert model.embed(test_nets).shape == (20, 32)
    assert spearmanr(model.predict(test_nets).numpy(), y_test.numpy())[0] > 0.8


def test_regressor_deterministic_for_a_seed(data):
    nets, y, test_nets, _ = data
    a = GraphRegressor(hidden=16, layers=2).fit(nets, y, epochs=10, seed=3).predict(test_nets)
    b = GraphRegressor(hidden=16, layers=2).fit(nets, y, epochs=10, seed=3).predict(test_nets)
    c = GraphRegressor(hidden=16, layers=2).fit(nets, y, epochs=10, seed=4).predict(test_nets)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_regressor_rank_embed_consistent_with_predict(data, fitted):
    _, _, test_nets, _ = data
    pred = fitted.predict(test_nets)
    order = fitted.rank(test_nets)
    assert order.dtype == torch.long and sorted(order.tolist()) == list(range(20))
    assert torch.all(pred[order][:-1] >= pred[order][1:])
    emb = fitted.embed(test_nets)
    assert emb.shape == (20, fitted.embedding_dim) == (20, 64)
    # the head applied to the embedding is the prediction
    head = fitted.head(emb).squeeze(-1) * fitted.target_std + fitted.target_mean
    torch.testing.assert_close(head.detach(), pred)


def test_regressor_save_load_round_trip(tmp_path, data, fitted):
    _, _, test_nets, _ = data
    fitted.save(tmp_path / "m.pt")
    loaded = GraphRegressor.load(tmp_path / "m.pt")
    assert loaded.hparams() == fitted.hparams()
    assert torch.equal(loaded.predict(test_nets), fitted.predict(test_nets))
    assert "conv=gin+dag, hidden=32, layers=2, pool=meanmax, graph_features=none" in repr(loaded)


def test_regressor_load_rejects_other_files(tmp_path):
    torch.save({"a": 1}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="does not hold a saved GraphRegressor"):
        GraphRegressor.load(tmp_path / "x.pt")
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ValueError, match=r"does not hold a saved GraphRegressor \(torch\.load"):
        GraphRegressor.load(tmp_path / "notes.txt")
    with pytest.raises(FileNotFoundError):
        GraphRegressor.load(tmp_path / "none.pt")


def test_regressor_load_refuses_a_pickle_that_would_run_code(tmp_path):
    # it raised a raw UnpicklingError, not the documented ValueError
    import pickle

    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    with open(tmp_path / "evil.pt", "wb") as f:
        pickle.dump({"format": "graphnets.GraphRegressor", "x": Payload()}, f, protocol=2)
    with pytest.raises(ValueError, match=r"torch\.load failed: UnpicklingError"):
        GraphRegressor.load(tmp_path / "evil.pt")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s.pop("hparams"), r"field 'hparams' should be a dict, got NoneType"),
        (lambda s: s.update(state_dict=[1, 2]), r"field 'state_dict' should be a dict, got list"),
        (lambda s: s["hparams"].update(conv="gcn"), r"field 'hparams' is refused \(unknown conv"),
        (lambda s: s["hparams"].update(width=3), r"field 'hparams' is refused \(.*width"),
        (lambda s: s["hparams"].update(hidden=8), r"field 'state_dict' does not fit its hparams"),
    ],
)
def test_regressor_load_names_a_damaged_field(tmp_path, change, message):
    model = GraphRegressor(hidden=4, layers=1, seed=0)
    model.save(tmp_path / "m.pt")
    state = torch.load(tmp_path / "m.pt", weights_only=True)
    change(state)
    torch.save(state, tmp_path / "m.pt")
    with pytest.raises(ValueError, match=message):
        GraphRegressor.load(tmp_path / "m.pt")


def test_regressor_rank_loss_improves_kendall_tau(data):
    nets, y, test_nets, y_test = data
    untrained = GraphRegressor(hidden=32, layers=2, graph_features="none", seed=0).eval()
    encoded = GraphEncoder("none").fit(nets).transform_all(test_nets)
    with torch.no_grad():  # its raw outputs: predict refuses an untrained model
        raw = untrained(Batch.from_data_list(encoded))
    tau0 = kendalltau(raw.numpy(), y_test.numpy())[0]
    model = GraphRegressor(hidden=32, layers=2, graph_features="none", seed=0)
    model.fit(nets, y, epochs=100, loss="rank", seed=0)
    tau = kendalltau(model.predict(test_nets).numpy(), y_test.numpy())[0]
    assert tau > 0.6 and tau > tau0 + 0.2
    assert model.history["train"][-1] < model.history["train"][0]


def test_rank_loss_values():
    p, t = torch.tensor([2.0, 0.0, 1.0]), torch.tensor([3.0, 1.0, 2.0])
    ref = torch.stack(
        [torch.log1p(torch.exp(-(p[i] - p[j]))) for i in range(3) for j in range(3) if t[i] > t[j]]
    ).mean()
    torch.testing.assert_close(rank_loss(p, t), ref)
    tied = rank_loss(p.requires_grad_(), torch.ones(3))
    assert float(tied.detach()) == 0.0
    tied.backward()


def test_regressor_val_fraction_zero_runs_all_epochs(data):
    nets, y, _, _ = data
    model = GraphRegressor(hidden=8, layers=1).fit(
        nets[:6], y[:6], epochs=4, val_fraction=0, seed=0
    )
    assert len(model.history["train"]) == 4 and model.history["val"] == []


# -- errors ----------------------------------------------------------------------------------
def test_regressor_errors(data):
    nets, y, _, _ = data
    few = nets[:5]
    with pytest.raises(
        ValueError, match="unknown conv 'gcn'; expected one of auto, gin, sage, gat, dag, gin\\+dag"
    ):
        GraphRegressor(conv="gcn")
    with pytest.raises(ValueError, match="unknown pool 'max'; expected one of meanmax, add"):
        GraphRegressor(pool="max")
    with pytest.raises(ValueError, match="hidden must be a positive int, got 0"):
        GraphRegressor(hidden=0)
    model = GraphRegressor(hidden=8, layers=1, seed=0)
    with pytest.raises(ValueError, match="unknown loss 'mae'; expected one of mse, rank, listwise"):
        model.fit(few, y[:5], loss="mae")
    with pytest.raises(ValueError, match=r"expected one target per net \(5\), got 4"):
        model.fit(few, y[:4])
    with pytest.raises(ValueError, match="target 2 is nan; targets must be finite"):
        model.fit(few, [1.0, 2.0, math.nan, 3.0, 4.0])
    with pytest.raises(TypeError, match="expected a sequence of graphs .*, got GraphNet"):
        model.predict(nets[0])
    with pytest.raises(TypeError, match="got str at position 1"):
        model.predict([nets[0], "net"])
    with pytest.raises(
        TypeError, match="expected graphs of one kind, got a graphnet at position 0 and a networkx"
    ):
        model.predict([nets[0], nx.DiGraph([(0, 1)])])
    with pytest.raises(ValueError, match="ensemble must be a positive int, got 0"):
        GraphRegressor(ensemble=0)
    with pytest.raises(
        ValueError, match="unknown graph_features 'all'; expected one of none, basic"
    ):
        GraphRegressor(graph_features="all")
    with pytest.raises(ValueError, match="expected at least one graph, got an empty sequence"):
        model.embed([])
    with pytest.raises(ValueError, match="epochs must be a positive int, got 0"):
        model.fit(few, y[:5], epochs=0)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 2.5"):
        model.fit(few, y[:5], batch_size=2.5)
    with pytest.raises(ValueError, match="patience must be a positive int, got -1"):
        model.fit(few, y[:5], patience=-1)
    with pytest.raises(ValueError, match="lr must be a positive number, got 0"):
        model.fit(few, y[:5], lr=0)
    with pytest.raises(ValueError, match=r"val_fraction must be in \[0, 1\), got 1"):
        model.fit(few, y[:5], val_fraction=1)
    with pytest.raises(ValueError, match="expected at least 3 nets to keep 2 for training"):
        model.fit(few[:2], y[:2])


def test_regressor_refuses_to_predict_before_fit(data, tmp_path):
    # predict and rank used to return an untrained model's output.
    nets, y, test_nets, _ = data
    model = GraphRegressor(hidden=8, layers=1, graph_features="none", seed=0)
    message = (
        r"this GraphRegressor is not fitted, so its {} would come from random parameters; call "
        r"fit\(nets, targets\) first, or GraphRegressor\.load a fitted one"
    )
    with pytest.raises(RuntimeError, match=message.format("predictions")):
        model.predict(test_nets)
    with pytest.raises(RuntimeError, match=message.format("ranking")):
        model.rank(test_nets)
    assert model.embed(test_nets).shape == (len(test_nets), 16)  # random features are allowed
    model.save(tmp_path / "untrained.pt")  # saving does not make it fitted
    with pytest.raises(RuntimeError, match=message.format("predictions")):
        GraphRegressor.load(tmp_path / "untrained.pt").predict(test_nets)
    model.fit(nets[:8], y[:8], epochs=2, seed=0)
    assert model.predict(test_nets).shape == (len(test_nets),)
    twin = GraphRegressor(hidden=8, layers=1, graph_features="none")
    twin.load_state_dict(model.state_dict())  # the state dict carries the flag
    twin.graph_encoder = model.graph_encoder  # the encoder travels with save / load
    assert torch.equal(twin.eval().predict(test_nets), model.predict(test_nets))


def test_regressor_refuses_files_of_format_version_1(tmp_path, fitted):
    # version 1 (GraphNets only, GINConv without edge features) has other layers: say so
    old = {"hidden": 32, "layers": 2, "conv": "gin", "pool": "meanmax"}
    torch.save(
        {"format": "graphnets.GraphRegressor", "hparams": old, "state_dict": {}},
        tmp_path / "old.pt",
    )
    with pytest.raises(ValueError, match="format version 1, written before graphnets read any"):
        GraphRegressor.load(tmp_path / "old.pt")


# -- docs ------------------------------------------------------------------------------------
def test_docs_predict_section_runs():
    text = (ROOT / "docs" / "analysis.md").read_text()
    section = text.split("## Predicting performance from structure", 1)[1]
    test = doctest.DocTestParser().get_doctest(section, {}, "analysis.md", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False).attempted >= 5
    assert runner.summarize(verbose=False).failed == 0
