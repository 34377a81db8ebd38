r"""Side-by-side evaluation of performance predictors: the GNN against simple baselines.

:func:`compare` cross-validates, on the same folds, every predictor of :data:`PREDICTORS`:

- ``gnn``: :class:`graphnets.predict.GraphRegressor` on the nets themselves;
- ``gnn_search``: :func:`graphnets.predict.tune`, a small search over GraphRegressor
  configurations by inner cross-validation on the training fold only (not in the default rows:
  it costs about ten GNN fits per fold);
- ``bayesian_ridge``, ``random_forest``, ``adaboost``: the three regressors of ``002_…`` on the
  vector of :func:`graphnets.analysis.properties` (all of :data:`~graphnets.analysis.PROPERTIES`;
  a ``nan`` is replaced by the mean of its column over the training fold, then every column is
  standardised with the training fold's mean and std);
- ``edges``, ``nodes``, ``depth``: one number of the whole net each (``num_edges``,
  ``num_nodes``, ``depth``);
- ``synflow``: the zero-cost proxy :func:`synflow`, needing no data;
- ``snip``, ``grad_norm``, ``jacob_cov``: the zero-cost proxies of
  :mod:`~graphnets.methods.predict.zero_cost` on ``batch``; computed, and in the default rows,
  only when a ``batch`` is given.

All four score each net re-initialised from seed 0 (its score at initialisation, whatever its
weights: a trained net is scored as it would have started).

A single-number baseline is not a regressor; to give it an R² and a direction it is turned into
one by a 1-D least-squares line fitted on the training fold (on ``log10`` of the score for
``synflow``, ``snip`` and ``grad_norm``, which span orders of magnitude, and on
``-log10(-score)`` for ``jacob_cov``, whose score is ``<= -B``; a zero ``snip`` or
``grad_norm`` has no logarithm and takes the training fold's mean). The line is
monotone, so the rank metrics are those of the raw number, up to the sign the training fold
chose.

Metrics, on each test fold (:func:`r2`, :func:`kendall`, :func:`spearman`,
:func:`top_k_precision`), then mean and std (``ddof=0``) over folds × seeds, ignoring folds where
a metric is undefined (e.g. a rank correlation of constant predictions).

Not done here: hyperparameter search for the baselines (``gnn_search`` searches the GNN's, nested
in the training fold); the properties and the zero-cost proxies are computed once for all nets
(they use no target, so this leaks nothing).
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from ...nn.base import BaseGraphNet
from ..analysis import properties_table
from .encode import proxy_features, synflow_feature
from .features import check_nets
from .regressor import GraphRegressor
from .tune import tune
from .zero_cost import synflow

__all__ = [
    "PREDICTORS",
    "METRICS",
    "synflow",
    "r2",
    "kendall",
    "spearman",
    "top_k_precision",
    "compare",
    "fit_predict",
    "features",
]

#: Rows of :func:`compare`, in order.
PREDICTORS: tuple[str, ...] = (
    "gnn",
    "gnn_search",
    "bayesian_ridge",
    "random_forest",
    "adaboost",
    "edges",
    "nodes",
    "depth",
    "synflow",
    "snip",
    "grad_norm",
    "jacob_cov",
)
#: Rows that need a data ``batch`` (left out of the defaults without one).
BATCH_PREDICTORS: tuple[str, ...] = ("snip", "grad_norm", "jacob_cov")
#: Rows that ``predictors=None`` leaves out: the nested search, ten GNN fits per fold.
OPT_IN_PREDICTORS: tuple[str, ...] = ("gnn_search",)
#: Metrics of :func:`compare`; each gives a ``<metric>_mean`` and a ``<metric>_std`` column.
METRICS: tuple[str, ...] = ("r2", "kendall", "spearman", "top_k_precision")


# -- metrics -------------------------------------------------------------------------------------
def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64).reshape(-1)
    p = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if t.size != p.size:
        raise ValueError(f"expected as many predictions as targets ({t.size}), got {p.size}")
    return t, p


def r2(y_true, y_pred) -> float:
    """Coefficient of determination (``sklearn.metrics.r2_score``); ``nan`` below 2 values."""
    from sklearn.metrics import r2_score

    t, p = _pair(y_true, y_pred)
    return float(r2_score(t, p)) if t.size >= 2 else math.nan


def kendall(y_true, y_pred) -> float:
    """Kendall's τ-b (``scipy.stats.kendalltau``); ``nan`` if either side is constant."""
    from scipy import stats

    t, p = _pair(y_true, y_pred)
    if t.size < 2 or np.ptp(t) == 0 or np.ptp(p) == 0:
        return math.nan
    return float(stats.kendalltau(t, p).statistic)


def spearman(y_true, y_pred) -> float:
    """Spearman's ρ (``scipy.stats.spearmanr``); ``nan`` if either side is constant."""
    from scipy import stats

    t, p = _pair(y_true, y_pred)
    if t.size < 2 or np.ptp(t) == 0 or np.ptp(p) == 0:
        return math.nan
    return float(stats.spearmanr(t, p).statistic)


def _k(top_k: int | float, n: int) -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, numbers.Real):
        raise TypeError(
            f"top_k must be an int (how many) or a float (what fraction), got {top_k!r}"
        )
    if isinstance(top_k, numbers.Integral):
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1 as an int, got {top_k}")
        return min(int(top_k), n)
    if not 0.0 < top_k <= 1.0:
        raise ValueError(f"top_k must be a fraction in (0, 1] as a float, got {top_k}")
    return max(1, round(top_k * n))


def top_k_precision(y_true, y_pred, top_k: int | float = 0.1) -> float:
    """Fraction of the ``k`` best nets (highest ``y_true``) among the ``k`` predicted best.

    ``top_k`` is an int (``k``, capped at the number of nets) or a float in ``(0, 1]`` (the
    fraction of the nets, ``k = max(1, round(top_k · n))``). Ties are broken by position (a
    stable sort), on both sides.

    Example:
        >>> top_k_precision([4, 3, 2, 1], [1, 3, 2, 4], top_k=2)
        0.5
    """
    t, p = _pair(y_true, y_pred)
    if t.size == 0:
        raise ValueError("expected at least one target, got none")
    k = _k(top_k, t.size)
    best = np.argsort(-t, kind="stable")[:k]
    chosen = np.argsort(-p, kind="stable")[:k]
    return len(set(best.tolist()) & set(chosen.tolist())) / k


# -- comparison ----------------------------------------------------------------------------------
def _check_inputs(nets, targets, folds, seeds, top_k, gnn_kwargs, fit_kwargs):
    nets = check_nets(nets)
    y = np.asarray(targets, dtype=np.float64).reshape(-1)
    if y.size != len(nets):
        raise ValueError(f"expected one target per net ({len(nets)}), got {y.size}")
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise ValueError(f"target {bad[0]} is {y[bad[0]]}; targets must be finite")
    if isinstance(folds, bool) or not isinstance(folds, numbers.Integral) or folds < 2:
        raise ValueError(f"folds must be an int >= 2, got {folds!r}")
    if len(nets) < 2 * folds:
        raise ValueError(
            f"expected at least {2 * folds} nets for {folds} folds (2 per test "
            f"fold), got {len(nets)}; use fewer folds or more nets"
        )
    if (
        isinstance(seeds, (numbers.Integral, str))
        or not isinstance(seeds, Sequence)
        or len(seeds) == 0
        or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) for s in seeds)
    ):
        raise ValueError(
            f"seeds must be a non-empty sequence of ints, got {seeds!r}; "
            "write seeds=(0,) for one seed"
        )
    _k(top_k, len(nets))
    for name, kw in (("gnn_kwargs", gnn_kwargs), ("fit_kwargs", fit_kwargs)):
        if kw is not None and not isinstance(kw, Mapping):
            raise TypeError(
                f"{name} must be a mapping of keyword arguments or None, got {type(kw).__name__}"
            )
    return nets, y


def default_predictors(batch: bool) -> list[str]:
    """The rows of ``predictors=None``: :data:`PREDICTORS` but the opt-in search and, without a
    data batch, the proxies that need one."""
    skip = set(OPT_IN_PREDICTORS) | (set() if batch else set(BATCH_PREDICTORS))
    return [p for p in PREDICTORS if p not in skip]


def _check_predictors(predictors: object, batch: bool = True) -> list[str]:
    """The rows to compute: :func:`default_predictors` for ``None``, else a non-empty list of
    distinct names among :data:`PREDICTORS` (those that need a batch only with one)."""
    if predictors is None:
        return default_predictors(batch)
    if isinstance(predictors, (str, bytes)) or not isinstance(predictors, Sequence):
        raise TypeError(
            f"predictors must be a list of names (e.g. ['gnn', 'edges']) or None, got "
            f"{predictors!r}"
        )
    names = list(predictors)
    if not names:
        raise ValueError(
            f"predictors is empty, so there is nothing to compare; name some of "
            f"{', '.join(PREDICTORS)}, or pass None for all"
        )
    unknown = [p for p in names if p not in PREDICTORS]
    if unknown:
        raise ValueError(
            f"unknown predictor {unknown[0]!r}; expected some of {', '.join(PREDICTORS)}"
        )
    twice = next((p for i, p in enumerate(names) if p in names[:i]), None)
    if twice is not None:
        raise ValueError(f"predictor {twice!r} is listed twice; list each predictor once")
    needs = next((p for p in names if p in BATCH_PREDICTORS), None)
    if needs is not None and not batch:
        raise ValueError(
            f"predictor {needs!r} needs a data batch; pass batch=(x, labels) (e.g. a few rows "
            "of the training data)"
        )
    return names


def fit_predict(
    name: str,
    nets: Sequence[BaseGraphNet],
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    *,
    seed: int = 0,
    features: tuple[np.ndarray, dict[str, np.ndarray]] | None = None,
    gnn_kwargs: Mapping | None = None,
    fit_kwargs: Mapping | None = None,
    batch=None,
) -> np.ndarray:
    """Train predictor ``name`` of :data:`PREDICTORS` on ``nets[train]`` and predict
    ``nets[test]``, as one fold of :func:`compare` does.

    Args:
        name: a predictor of :data:`PREDICTORS`.
        nets, y: all nets and their targets; ``train`` and ``test`` index into them.
        seed: seeds the GNN and the forests (default: ``0``).
        features: the property matrix and single numbers of every net, as
            :func:`compare` computes them once (default: computed here, for all ``nets``).
        gnn_kwargs, fit_kwargs, batch: as :func:`compare`.

    Returns:
        numpy.ndarray: the predictions for ``nets[test]``.
    """
    from sklearn.linear_model import LinearRegression

    name = _check_predictors([name], batch is not None)[0]
    train, test = np.asarray(train), np.asarray(test)
    y = np.asarray(y, dtype=np.float64)
    extra = {} if batch is None else {"batch": batch}
    if name == "gnn":
        model = GraphRegressor(**{"seed": seed, **extra, **(gnn_kwargs or {})})
        model.fit([nets[i] for i in train], y[train], **{"seed": seed, **(fit_kwargs or {})})
        return model.predict([nets[i] for i in test]).double().numpy()
    if name == "gnn_search":
        model = tune(
            [nets[i] for i in train], y[train], seed=seed, fit_kwargs=fit_kwargs, batch=batch
        )
        return model.predict([nets[i] for i in test]).double().numpy()
    X, single = features if features is not None else _features(list(nets), batch)
    if name in single:
        # a proxy that is nan for some nets (a zero score): the training fold's mean
        col = single[name]
        seen = col[train][np.isfinite(col[train])]
        x = np.where(np.isfinite(col), col, seen.mean() if seen.size else 0.0)[:, None]
        line = LinearRegression().fit(x[train], y[train])
        return line.predict(x[test])
    Xtr, Xte = _standardise(X[train], X[test])
    return _regressor(name, seed).fit(Xtr, y[train]).predict(Xte)


def features(nets: Sequence[BaseGraphNet], batch=None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """What the baselines read: the matrix ``[n, len(PROPERTIES)]`` of
    :func:`graphnets.analysis.properties` and the single numbers ``edges``, ``nodes``,
    ``depth`` and ``synflow`` (``log10``) of every net, and with a ``batch`` ``snip``,
    ``grad_norm`` (``log10``) and ``jacob_cov`` (``-log10(-score)``)."""
    return _features(list(check_nets(nets)), batch)


def _features(nets: list[BaseGraphNet], batch=None) -> tuple[np.ndarray, dict[str, np.ndarray]]:

    table = properties_table(nets)
    single = {
        "edges": np.array([net.num_edges for net in nets], dtype=np.float64),
        "nodes": np.array([net.num_nodes for net in nets], dtype=np.float64),
        "depth": np.array([net.depth for net in nets], dtype=np.float64),
        # at initialisation (re-initialised from PROXY_SEED, as the batch proxies), log10 for
        # the 1-D line; a zero score is nan (the training fold's mean), not an outlier
        "synflow": np.array([synflow_feature(net) for net in nets], dtype=np.float64),
    }
    if batch is not None:
        # the proxy features of the GraphRegressor, the net re-initialised from PROXY_SEED
        proxies = np.array([proxy_features(net, batch)[1:] for net in nets]).reshape(-1, 3)
        single.update(snip=proxies[:, 0], grad_norm=proxies[:, 1], jacob_cov=proxies[:, 2])
    return table.to_numpy(dtype=np.float64), single


def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``nan`` → training column mean (0 for an all-``nan`` column), then z-scores of the
    training fold (a constant column keeps std 1)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "mean of empty slice": all-nan column
        mean = np.nanmean(train, axis=0)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    train = np.where(np.isfinite(train), train, mean)
    test = np.where(np.isfinite(test), test, mean)
    mu, sd = train.mean(axis=0), train.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (train - mu) / sd, (test - mu) / sd


def _regressor(name: str, seed: int):
    from sklearn.ensemble import AdaBoostRegressor, RandomForestRegressor
    from sklearn.linear_model import BayesianRidge

    if name == "bayesian_ridge":
        return BayesianRidge()
    if name == "random_forest":
        return RandomForestRegressor(n_estimators=200, random_state=seed, n_jobs=1)
    return AdaBoostRegressor(random_state=seed)


def compare(
    nets: Sequence[BaseGraphNet],
    targets,
    *,
    folds: int = 5,
    seeds: Sequence[int] = (0,),
    gnn_kwargs: Mapping | None = None,
    fit_kwargs: Mapping | None = None,
    top_k: int | float = 0.1,
    predictors: Sequence[str] | None = None,
    batch=None,
    progress: bool = False,
):
    """Cross-validate every predictor of :data:`PREDICTORS` on ``nets`` → ``targets``.

    For each seed the nets are split into ``folds`` shuffled folds
    (``sklearn.model_selection.KFold(shuffle=True, random_state=seed)``); every predictor is
    trained on the same training folds and scored on the same test fold (see the module
    docstring for the predictors and :func:`top_k_precision` for ``top_k``, applied per test
    fold).

    Args:
        nets: the nets.
        targets: one finite number per net, higher is better (e.g. test accuracy).
        folds: number of folds, ``>= 2`` (default: ``5``).
        seeds: one cross-validation per seed; the seed also draws the GNN's initialisation and
            batches and the forests' randomness (default: ``(0,)``).
        gnn_kwargs: keyword arguments of :class:`~graphnets.predict.GraphRegressor`
            (default: its defaults).
        fit_kwargs: keyword arguments of :meth:`~graphnets.predict.GraphRegressor.fit`
            (default: its defaults).
        top_k: ``k`` of :func:`top_k_precision`, an int or a fraction (default: ``0.1``).
        predictors: the rows to compute, a subset of :data:`PREDICTORS` (default:
            :func:`default_predictors`: all but ``gnn_search``, and the batch proxies only with
            a ``batch``).
        batch: ``(x, labels)``, a data batch for the ``snip``, ``grad_norm`` and ``jacob_cov``
            rows (see :func:`~graphnets.predict.snip`), and for a GNN with
            ``graph_features="proxies"`` (default: none).
        progress: show a tqdm bar with ETA over seeds × folds × predictors on stderr
            (default: ``False``).

    Returns:
        pandas.DataFrame: one row per predictor, columns ``<metric>_mean`` and ``<metric>_std``
        for every metric of :data:`METRICS`, and ``n`` (folds × seeds). ``.attrs["folds"]``
        holds the per-fold metrics as a long DataFrame (``predictor, seed, fold, metric...``);
        ``.attrs["predictions"]`` every out-of-fold prediction (``predictor, seed, fold, net``
        (index into ``nets``), ``actual``, ``predicted``).

    Raises:
        TypeError: if ``nets`` is not a sequence of GraphNets, ``gnn_kwargs`` /
            ``fit_kwargs`` is not a mapping, or ``predictors`` not a list of names.
        ValueError: on a length mismatch, non-finite targets, too few nets for the folds, bad
            ``folds`` / ``seeds`` / ``top_k``, or ``predictors`` empty, unknown or repeated.
    """
    import pandas as pd
    from sklearn.model_selection import KFold

    nets, y = _check_inputs(nets, targets, folds, seeds, top_k, gnn_kwargs, fit_kwargs)
    names = _check_predictors(predictors, batch is not None)
    from tqdm.auto import tqdm

    X, single = _features(nets, batch)
    rows, predictions = [], []
    bar = tqdm(
        total=len(seeds) * folds * len(names),
        desc="compare",
        unit="fit",
        disable=not progress,
        dynamic_ncols=True,
    )
    for seed in seeds:
        splits = KFold(n_splits=folds, shuffle=True, random_state=int(seed)).split(y)
        for fold, (tr, te) in enumerate(splits):
            for name in names:
                bar.set_postfix_str(f"{name}, seed {seed}, fold {fold}")
                pred = fit_predict(
                    name,
                    nets,
                    y,
                    tr,
                    te,
                    seed=int(seed),
                    features=(X, single),
                    gnn_kwargs=gnn_kwargs,
                    fit_kwargs=fit_kwargs,
                    batch=batch,
                )
                rows.append(
                    dict(
                        predictor=name,
                        seed=int(seed),
                        fold=fold,
                        r2=r2(y[te], pred),
                        kendall=kendall(y[te], pred),
                        spearman=spearman(y[te], pred),
                        top_k_precision=top_k_precision(y[te], pred, top_k),
                    )
                )
                predictions.append(
                    pd.DataFrame(
                        dict(
                            predictor=name,
                            seed=int(seed),
                            fold=fold,
                            net=te,
                            actual=y[te],
                            predicted=pred,
                        )
                    )
                )
                bar.update()
    bar.close()
    per_fold = pd.DataFrame(rows)
    out = {}
    for name in names:
        part = per_fold[per_fold.predictor == name]
        r = {}
        for m in METRICS:
            v = part[m].to_numpy(dtype=np.float64)
            v = v[np.isfinite(v)]
            r[f"{m}_mean"] = float(v.mean()) if v.size else math.nan
            r[f"{m}_std"] = float(v.std()) if v.size else math.nan
        r["n"] = len(part)
        out[name] = r
    table = pd.DataFrame.from_dict(out, orient="index")
    table.attrs["folds"] = per_fold
    table.attrs["predictions"] = pd.concat(predictions, ignore_index=True)
    return table
