"""graphnets.compare: SynFlow against the per-neuron reference and against path sums, the
metrics against scipy / sklearn, and the comparison table on a real structural target."""

import copy
import math

import networkx as nx
import numpy as np
import pytest
import torch
from _graphs import mixed_activation_net, randomize_bias, skip_dag_net
from scipy import stats
from sklearn.metrics import r2_score

import graphnets
from graphnets.compare import (
    METRICS,
    PREDICTORS,
    compare,
    default_predictors,
    features,
    fit_predict,
    kendall,
    r2,
    spearman,
    synflow,
    top_k_precision,
)
from graphnets.reference import evaluate

pytestmark = pytest.mark.usefixtures("one_thread")


def _reference_synflow(net):
    # |θ| in float64 on an independent copy, the per-neuron evaluator, torch autograd.
    twin = copy.deepcopy(net).double()
    with torch.no_grad():
        twin.weight.abs_()
        twin.bias.abs_()
    x = torch.ones(1, twin.structure.inputs.numel(), dtype=torch.float64)
    (g,) = torch.autograd.grad(evaluate(twin, x).sum(), [twin.weight])
    return float((g * twin.weight).sum().detach())


@pytest.mark.parametrize(
    "make",
    [
        lambda: randomize_bias(skip_dag_net()),
        lambda: randomize_bias(mixed_activation_net()),
        lambda: graphnets.priors.watts_strogatz(5, 3, 12, 4, 0.3, seed=2),
    ],
)
def test_synflow_matches_reference(make):
    net = make()
    assert synflow(net) == pytest.approx(_reference_synflow(net), rel=1e-10)


def test_synflow_is_path_sum():
    # ReLU hidden, linear outputs, zero biases, |w| > 0: R is the sum over input→output paths of
    # Π|w|, and Σ_e w_e ∂R/∂w_e counts each path once per edge on it.
    rng = np.random.default_rng(3)
    edges = [(u, v) for v in range(3, 9) for u in range(v) if u == v - 1 or rng.random() < 0.4]
    net = graphnets.from_edges(torch.tensor(edges).T, 9, [0, 1, 2], [7, 8], seed=3)
    s = net.structure
    G = nx.DiGraph(s.edge_index.t().tolist())
    w = {
        tuple(e): abs(float(v))
        for e, v in zip(s.edge_index.t().tolist(), net.weight.detach(), strict=True)
    }
    expected = 0.0
    for i in s.inputs.tolist():
        for o in s.outputs.tolist():
            if i in G and o in G:
                for path in nx.all_simple_paths(G, i, o):
                    edges = list(zip(path[:-1], path[1:], strict=True))
                    expected += len(edges) * math.prod(w[e] for e in edges)
    assert expected > 0
    assert synflow(net) == pytest.approx(expected, rel=1e-10)


def test_synflow_leaves_net_alone():
    net = randomize_bias(skip_dag_net())
    w, b = net.weight.detach().clone(), net.bias.detach().clone()
    synflow(net)
    assert net.weight.dtype == torch.float32
    assert torch.equal(net.weight, w) and torch.equal(net.bias, b)


def test_synflow_deep_does_not_overflow():
    # 60 layers of weight 8: 8^60 overflows float32 but not float64.
    net = graphnets.mlp([1] * 61, seed=0)
    with torch.no_grad():
        net.weight.fill_(8.0)
    assert synflow(net) == pytest.approx(60 * 8.0**60, rel=1e-9)


def test_synflow_errors():
    with pytest.raises(TypeError, match="expected a graphnets GraphNet, got Linear"):
        synflow(torch.nn.Linear(2, 2))


def test_metrics_match_scipy_sklearn():
    rng = np.random.default_rng(0)
    t, p = rng.normal(size=40), rng.normal(size=40)
    p[:5] = p[5]  # ties
    assert kendall(t, p) == pytest.approx(stats.kendalltau(t, p).statistic)
    assert spearman(t, p) == pytest.approx(stats.spearmanr(t, p).statistic)
    assert r2(t, p) == pytest.approx(r2_score(t, p))


def test_metrics_constant():
    assert math.isnan(kendall([1, 2, 3], [5, 5, 5]))
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    assert math.isnan(r2([1.0], [1.0]))


def test_top_k_precision():
    t = np.arange(10.0)
    assert top_k_precision(t, t, top_k=3) == 1.0
    assert top_k_precision(t, -t, top_k=3) == 0.0
    # true top 2 = {9, 8}; predicted top 2 = {9, 0}
    p = t.copy()
    p[0] = 100
    assert top_k_precision(t, p, top_k=2) == 0.5
    assert top_k_precision(t, p, top_k=0.2) == 0.5  # k = round(0.2 · 10) = 2
    assert top_k_precision(t, p, top_k=50) == 1.0  # k capped at n


def test_top_k_precision_errors():
    with pytest.raises(ValueError, match="top_k must be at least 1 as an int, got 0"):
        top_k_precision([1, 2], [1, 2], top_k=0)
    with pytest.raises(ValueError, match=r"fraction in \(0, 1\] as a float, got 1.5"):
        top_k_precision([1, 2], [1, 2], top_k=1.5)
    with pytest.raises(TypeError, match="top_k must be an int"):
        top_k_precision([1, 2], [1, 2], top_k="1")
    with pytest.raises(ValueError, match="expected as many predictions as targets"):
        top_k_precision([1, 2], [1], top_k=1)


@pytest.fixture(scope="module")
def edge_task():
    # ~40 small Erdős–Rényi nets with widely varying edge probability: the edge count is a real
    # target that the structure determines.
    ps = np.random.default_rng(1).uniform(0.1, 0.6, 42)
    nets = [graphnets.priors.erdos_renyi(4, 2, 14, float(p), seed=i) for i, p in enumerate(ps)]
    return nets, np.array([float(n.num_edges) for n in nets])


def test_compare_table(edge_task):
    nets, y = edge_task
    table = compare(
        nets,
        y,
        folds=3,
        seeds=(0,),
        gnn_kwargs={"hidden": 16, "layers": 2},
        fit_kwargs={"epochs": 40},
        top_k=0.2,
    )
    # the default rows: all but the opt-in search and, without a batch, the batch proxies
    rows = [p for p in PREDICTORS if p not in ("gnn_search", "snip", "grad_norm", "jacob_cov")]
    assert list(table.index) == rows
    assert list(table.columns) == [f"{m}_{s}" for m in METRICS for s in ("mean", "std")] + ["n"]
    assert (table["n"] == 3).all()
    folds = table.attrs["folds"]
    assert len(folds) == 3 * len(rows)
    # The target is the edge count: the edges baseline ranks perfectly and its line is exact.
    assert table.loc["edges", "kendall_mean"] == pytest.approx(1.0)
    assert table.loc["edges", "r2_mean"] == pytest.approx(1.0)
    assert table.loc["edges", "top_k_precision_mean"] == pytest.approx(1.0)
    # Every node count is the same (4 + 14 + 2): the rank metrics are undefined.
    assert math.isnan(table.loc["nodes", "kendall_mean"])
    assert table.loc["random_forest", "spearman_mean"] > 0.7
    assert table.loc["gnn", "spearman_mean"] > 0.5
    ranked = folds[folds.predictor == "bayesian_ridge"]
    assert table.loc["bayesian_ridge", "kendall_std"] == pytest.approx(ranked.kendall.std(ddof=0))


def test_fit_predict_is_one_fold_of_compare(edge_task):
    from sklearn.model_selection import KFold

    nets, y = edge_task
    table = compare(nets, y, folds=3, seeds=(2,), predictors=["random_forest", "edges"])
    preds = table.attrs["predictions"]
    tr, te = next(KFold(3, shuffle=True, random_state=2).split(y))
    feats = features(nets)
    for name in ("random_forest", "edges"):
        ours = fit_predict(name, nets, y, tr, te, seed=2, features=feats)
        theirs = preds[(preds.predictor == name) & (preds.fold == 0)].predicted.to_numpy()
        np.testing.assert_allclose(ours, theirs)
    # without precomputed features it computes them, with the same result
    np.testing.assert_allclose(fit_predict("edges", nets, y, tr, te), ours)
    with pytest.raises(ValueError, match="unknown predictor 'gcn'"):
        fit_predict("gcn", nets, y, tr, te)


def test_compare_seeds_and_subset(edge_task):
    nets, y = edge_task
    table = compare(nets, y, folds=2, seeds=(0, 1), predictors=["edges", "bayesian_ridge"])
    assert list(table.index) == ["edges", "bayesian_ridge"]
    assert (table["n"] == 4).all()
    # every net is predicted once per seed and predictor, while in the test fold, and the
    # per-fold metrics are those of these predictions
    pred = table.attrs["predictions"]
    assert len(pred) == 2 * 2 * len(nets)
    for _, part in pred.groupby(["predictor", "seed"]):
        assert sorted(part.net) == list(range(len(nets)))
        np.testing.assert_array_equal(part.actual.to_numpy(), y[part.net.to_numpy()])
    folds = table.attrs["folds"]
    for row in folds.itertuples():
        part = pred[
            (pred.predictor == row.predictor) & (pred.seed == row.seed) & (pred.fold == row.fold)
        ]
        assert row.kendall == pytest.approx(kendall(part.actual, part.predicted), nan_ok=True)


def test_compare_errors(edge_task):
    nets, y = edge_task
    with pytest.raises(TypeError, match="expected a sequence of GraphNets, got GraphNet"):
        compare(nets[0], y[:1])
    with pytest.raises(TypeError, match="got int at position 1"):
        compare([nets[0], 3], [1, 2])
    with pytest.raises(ValueError, match=r"expected one target per net \(42\), got 41"):
        compare(nets, y[:-1])
    bad = y.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="target 3 is nan; targets must be finite"):
        compare(nets, bad)
    with pytest.raises(ValueError, match="folds must be an int >= 2, got 1"):
        compare(nets, y, folds=1)
    with pytest.raises(ValueError, match="expected at least 50 nets for 25 folds"):
        compare(nets, y, folds=25)
    with pytest.raises(ValueError, match=r"seeds must be a non-empty sequence of ints, got 0"):
        compare(nets, y, seeds=0)
    with pytest.raises(ValueError, match="top_k must be a fraction"):
        compare(nets, y, top_k=0.0)
    with pytest.raises(TypeError, match="gnn_kwargs must be a mapping"):
        compare(nets, y, gnn_kwargs=[1])
    with pytest.raises(ValueError, match="unknown predictor 'xgboost'; expected some of gnn"):
        compare(nets, y, predictors=["xgboost"])


@pytest.mark.parametrize(
    "predictors, error, message",
    [
        (
            [],
            ValueError,
            r"predictors is empty, so there is nothing to compare; name some of "
            r"gnn, gnn_search, bayesian_ridge, .*, or pass None for all",
        ),
        ((), ValueError, r"predictors is empty"),
        (
            "edges",
            TypeError,
            r"predictors must be a list of names \(e\.g\. \['gnn', 'edges'\]\) "
            r"or None, got 'edges'",
        ),
        (3, TypeError, r"predictors must be a list of names .* or None, got 3"),
        (
            ["edges", "depth", "edges"],
            ValueError,
            r"predictor 'edges' is listed twice; list each "
            r"predictor once",
        ),
    ],
)
def test_compare_predictors_errors(edge_task, predictors, error, message):
    # compare(predictors=[]) used to compute every feature and fail in pandas ("No objects to
    # concatenate"); a string was split into letters.
    nets, y = edge_task
    with pytest.raises(error, match=message):
        compare(nets, y, predictors=predictors)


def test_compare_is_also_graphnets_predict_compare():
    # issue 5 names it graphnets.predict.compare; both names run the same function
    import graphnets

    with pytest.raises(
        ValueError,
        match=r"expected at least 10 nets for 5 folds \(2 per test "
        r"fold\), got 6; use fewer folds or more nets",
    ):
        graphnets.predict.compare([graphnets.mlp([2, 2], seed=0)] * 6, [0.0] * 6)


def _digits_batch(rows=32):
    from graphnets.data import digits

    x, labels, _, _ = digits(seed=0)
    return x[:rows], labels[:rows]


def test_compare_proxy_rows_are_the_proxies_of_the_reinitialised_nets():
    from graphnets.predict import grad_norm, jacob_cov, snip

    ps = np.random.default_rng(2).uniform(0.05, 0.4, 12)
    nets = [graphnets.priors.erdos_renyi(64, 10, 12, float(p), seed=i) for i, p in enumerate(ps)]
    y = np.array([float(n.num_edges) for n in nets])
    batch = _digits_batch()
    table = compare(nets, y, folds=2, batch=batch, predictors=["snip", "grad_norm", "jacob_cov"])
    pred = table.attrs["predictions"]
    # a 1-D line of the proxy: its predictions rank the nets as the proxy does, up to the sign
    # the training fold chose; the proxy is that of the net re-initialised from seed 0
    for name, proxy in (("snip", snip), ("grad_norm", grad_norm), ("jacob_cov", jacob_cov)):
        raw = np.array([proxy(net, batch, seed=0) for net in nets])
        for _, part in pred[pred.predictor == name].groupby("fold"):
            tau = kendall(raw[part.net.to_numpy()], part.predicted.to_numpy())
            assert abs(tau) == pytest.approx(1.0)
    # the default rows include them only with a batch
    assert {"snip", "grad_norm", "jacob_cov"} <= set(default_predictors(batch=True))
    assert not {"snip", "grad_norm", "jacob_cov"} & set(default_predictors(batch=False))
    with pytest.raises(ValueError, match="predictor 'snip' needs a data batch"):
        compare(nets, y, folds=2, predictors=["edges", "snip"])


def test_compare_synflow_row_scores_the_net_at_initialisation():
    # the synflow row used the weights as given (in the experiment: the trained ones) and a
    # 1e-300 floor for a zero score; now, like the batch proxies, the net re-initialised from
    # seed 0, and a zero score is nan (filled with the training fold's mean)
    from graphnets.methods.predict.compare import features

    nets = [graphnets.priors.erdos_renyi(6, 3, 8, 0.4, seed=i) for i in range(4)]
    trained = [copy.deepcopy(n) for n in nets]
    for net in trained:
        with torch.no_grad():
            net.weight.mul_(3.0).add_(0.5)
    want = [np.log10(synflow(net, seed=0)) for net in nets]
    np.testing.assert_allclose(features(trained)[1]["synflow"], want, rtol=1e-12)
    assert features(nets)[1]["synflow"] == pytest.approx(features(trained)[1]["synflow"])
    dead = graphnets.mlp([2, 2, 1], seed=0)
    dead.remove_edges(list(range(4)))  # no path from an input to the output: SynFlow 0
    assert np.isnan(features([dead])[1]["synflow"][0])


def test_gnn_search_never_sees_the_test_fold(edge_task):
    # the nested search is a function of the training fold only: changing the test fold's
    # targets (and nothing else) leaves every prediction unchanged
    from sklearn.model_selection import KFold

    nets, y = edge_task
    tr, te = next(KFold(3, shuffle=True, random_state=0).split(y))
    fit = {"epochs": 15}
    ours = fit_predict("gnn_search", nets, y, tr, te, seed=0, fit_kwargs=fit)
    other = y.copy()
    other[te] = np.random.default_rng(5).permutation(other[te]) * -3.0
    again = fit_predict("gnn_search", nets, other, tr, te, seed=0, fit_kwargs=fit)
    np.testing.assert_array_equal(ours, again)
    assert kendall(y[te], ours) > 0.5
