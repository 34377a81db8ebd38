"""The linear ("wide") part of GraphRegressor against scikit-learn's ridge regression, the
zero-cost proxy graph features against the proxies, and tune's inner cross-validation against a
hand-run of the same folds."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold

import graphnets
from graphnets.predict import (
    GraphEncoder,
    GraphRegressor,
    grad_norm,
    jacob_cov,
    kendall,
    snip,
    synflow,
    tune,
)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def task():
    ps = np.random.default_rng(4).uniform(0.1, 0.5, 30)
    nets = [graphnets.priors.erdos_renyi(4, 2, 14, float(p), seed=i) for i, p in enumerate(ps)]
    y = np.array([float(n.num_edges) for n in nets]) + np.random.default_rng(0).normal(0, 3, 30)
    return nets, y


def test_wide_part_starts_as_ridge_regression(task):
    nets, y = task
    # a learning rate of 1e-12: the fitted model is its start, the ridge regression of the
    # standardised targets on the standardised graph features (MLP head's last layer at zero)
    model = GraphRegressor(hidden=8, layers=1, wide=True, seed=0)
    model.fit(nets, y, epochs=1, lr=1e-12, val_fraction=0, scale="standard", seed=0)
    enc = GraphEncoder("basic").fit(nets)
    u = torch.cat([enc.transform(n).u for n in nets]).double().numpy()
    z = (y - y.mean()) / y.std()
    ridge = Ridge(alpha=1.0).fit(u, z)
    expected = ridge.predict(u) * y.std() + y.mean()
    np.testing.assert_allclose(model.predict(nets).double().numpy(), expected, rtol=1e-4)


def test_wide_round_trip_and_older_files(tmp_path, task):
    nets, y = task
    model = GraphRegressor(hidden=8, layers=1, wide=True, seed=0).fit(nets, y, epochs=3, seed=0)
    model.save(tmp_path / "m.pt")
    back = GraphRegressor.load(tmp_path / "m.pt")
    assert back.wide and back.hparams() == model.hparams()
    torch.testing.assert_close(back.predict(nets), model.predict(nets))
    # a file saved before the linear part existed (no "wide" hparam) loads as wide=False
    plain = GraphRegressor(hidden=8, layers=1, seed=0).fit(nets, y, epochs=2, seed=0)
    state = torch.load(tmp_path / "m.pt", weights_only=True)
    plain.save(tmp_path / "p.pt")
    state = torch.load(tmp_path / "p.pt", weights_only=True)
    del state["hparams"]["wide"]
    torch.save(state, tmp_path / "old.pt")
    old = GraphRegressor.load(tmp_path / "old.pt")
    assert old.wide is False
    torch.testing.assert_close(old.predict(nets), plain.predict(nets))
    with pytest.raises(TypeError, match="wide must be a bool, got 1"):
        GraphRegressor(wide=1)


def _batch():
    gen = torch.Generator().manual_seed(0)
    return torch.rand(16, 4, generator=gen), torch.randint(0, 2, (16,), generator=gen)


def test_proxy_graph_features_are_the_proxies(tmp_path, task):
    nets, y = task
    batch = _batch()
    enc = GraphEncoder("proxies", batch).fit(nets)
    assert enc.graph_names[-4:] == ["log10_synflow", "log10_snip", "log10_grad_norm", "jacob_cov"]

    def log10(v):  # a zero score has no logarithm: nan, then the mean (0 after standardising)
        return np.log10(v) if v > 0 else np.nan

    raw = np.array(
        [
            [
                log10(synflow(n, seed=0)),
                log10(snip(n, batch, seed=0)),
                log10(grad_norm(n, batch, seed=0)),
                -np.log10(-jacob_cov(n, batch, seed=0)),
            ]
            for n in nets
        ]
    )
    mean = np.nanmean(raw, axis=0)
    filled = np.where(np.isfinite(raw), raw, mean)
    expected = (filled - mean) / filled.std(0)
    u = torch.cat([enc.transform(n).u for n in nets]).double().numpy()[:, -4:]
    np.testing.assert_allclose(u, expected, rtol=1e-5, atol=1e-6)
    # the regressor carries the batch through save / load
    model = GraphRegressor(hidden=8, layers=1, graph_features="proxies", batch=batch, seed=0)
    model.fit(nets, y, epochs=2, seed=0).save(tmp_path / "m.pt")
    back = GraphRegressor.load(tmp_path / "m.pt")
    torch.testing.assert_close(back.predict(nets), model.predict(nets))
    with pytest.raises(ValueError, match='graph_features="proxies" needs a data batch'):
        GraphRegressor(graph_features="proxies").fit(nets, y, epochs=1)


def test_tune_picks_the_best_inner_score_by_hand(task):
    nets, y = task
    candidates = [({"hidden": 8, "layers": 1}, {}), ({"hidden": 8, "layers": 1, "wide": True}, {})]
    fit = {"epochs": 8}
    model = tune(nets, y, candidates=candidates, folds=3, seed=1, fit_kwargs=fit)
    # the same inner folds, fits and scores, by hand
    scores = []
    for kwargs, _ in candidates:
        taus = []
        for tr, te in KFold(3, shuffle=True, random_state=1).split(y):
            m = GraphRegressor(**kwargs, seed=1).fit([nets[i] for i in tr], y[tr], **fit, seed=1)
            taus.append(kendall(y[te], m.predict([nets[i] for i in te]).double().numpy()))
        scores.append(np.mean(taus))
    np.testing.assert_allclose(model.tuning.kendall.to_numpy(), scores)
    best = int(np.argmax(scores))
    assert model.tuning.chosen.tolist() == [i == best for i in range(2)]
    assert model.wide == candidates[best][0].get("wide", False)
    # then fitted on all the graphs it was given
    again = GraphRegressor(**candidates[best][0], seed=1).fit(nets, y, **fit, seed=1)
    torch.testing.assert_close(model.predict(nets), again.predict(nets))


def test_tune_errors(task):
    nets, y = task
    with pytest.raises(TypeError, match="candidates must be a list"):
        tune(nets, y, candidates={"hidden": 8})
    with pytest.raises(TypeError, match="candidate 0 must be a pair"):
        tune(nets, y, candidates=[{"hidden": 8}])
    with pytest.raises(ValueError, match="candidates is empty"):
        tune(nets, y, candidates=[])
    with pytest.raises(ValueError, match="folds must be an int >= 2, got 1"):
        tune(nets, y, folds=1)
    with pytest.raises(ValueError, match="expected at least 30 graphs for 10 inner folds"):
        tune(nets[:20], y[:20], folds=10)
    with pytest.raises(ValueError, match=r"expected one target per graph \(30\), got 29"):
        tune(nets, y[:-1])


def test_normal_scores_scale_learns_the_ranks(task):
    from scipy import stats

    nets, y = task
    y = y.copy()
    y[:3] -= 200  # a long tail of failures: the ranks do not see how far
    model = GraphRegressor(hidden=8, layers=1, wide=True, seed=0)
    model.fit(nets, y, epochs=1, lr=1e-12, val_fraction=0, scale="normal_scores", seed=0)
    enc = GraphEncoder("basic").fit(nets)
    u = torch.cat([enc.transform(n).u for n in nets]).double().numpy()
    # the normal scores written out: Φ⁻¹((rank - 0.5) / n), ties at their mean rank
    ranks = np.array([(y < v).sum() + ((y == v).sum() + 1) / 2 for v in y])
    z = stats.norm.ppf((ranks - 0.5) / len(y))
    expected = Ridge(alpha=1.0).fit(u, z).predict(u) * y.std() + y.mean()
    np.testing.assert_allclose(model.predict(nets).double().numpy(), expected, rtol=1e-4)
    with pytest.raises(ValueError, match="scale"):
        GraphRegressor(hidden=8).fit(nets, y, epochs=1, scale="ranks")
