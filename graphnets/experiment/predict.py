"""The predict stage: how well is a net's performance predicted from its structure?

Three results, all on the same cross-validation folds:

- :func:`comparison`: :func:`graphnets.compare.compare` (the GNN, the property regressors and
  the single-number baselines);
- :func:`out_of_fold`: every net's prediction when it was in the test fold (first cv seed), for
  the predicted-vs-actual plot, rebuilt with the models :func:`~graphnets.compare.compare` uses;
- :func:`correlation_table`: :func:`graphnets.analysis.correlations` of every measured property
  with the target, Table 1's properties first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["comparison", "out_of_fold", "correlation_table", "best_predictors"]


def _gnn_fit_kwargs(settings: Mapping) -> dict:
    return {"epochs": settings["gnn_epochs"], "patience": settings["gnn_patience"]}


def _names(settings: Mapping) -> list[str]:
    from ..compare import PREDICTORS

    chosen = settings["predictors"]
    return list(PREDICTORS) if chosen == "all" else list(chosen)


def comparison(nets: Sequence, y: np.ndarray, settings: Mapping, *, progress: bool = True):
    """The comparison table (one row per predictor) and its per-fold metrics.

    Args:
        nets: the trained nets (their structure is what the predictors see).
        y: the target of every net.
        settings: the ``[predict]`` section.
        progress: show a tqdm bar with ETA on stderr (default: ``True``).

    Returns:
        tuple: ``(table, per_fold)`` as :func:`graphnets.compare.compare` returns them.

    Raises:
        ValueError: with fewer than ``2 * folds`` nets.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    from ..compare import compare

    folds = settings["folds"]
    if len(nets) < 2 * folds:
        raise ValueError(f"predict.folds = {folds} needs at least {2 * folds} trained nets, got "
                         f"{len(nets)}; train more (--graphs) or use fewer folds")
    # Two calls, not one per predictor: compare measures every net's properties and SynFlow on
    # each call, which would cost more than the cheap predictors themselves.
    names = _names(settings)
    groups = [g for g in ([n for n in names if n == "gnn"], [n for n in names if n != "gnn"])
              if g]
    tables, per_fold = [], []
    bar = tqdm(groups, desc="predict", unit="group", disable=not progress, dynamic_ncols=True)
    for group in bar:
        bar.set_postfix_str("GNN" if group == ["gnn"] else "property regressors and baselines")
        t = compare(nets, y, folds=folds, seeds=tuple(settings["cv_seeds"]),
                    fit_kwargs=_gnn_fit_kwargs(settings), top_k=settings["top_k"],
                    predictors=group)
        per_fold.append(t.attrs.pop("folds"))
        tables.append(t)
    table = pd.concat(tables)
    return table, pd.concat(per_fold, ignore_index=True)


def best_predictors(table, count: int = 2) -> list[str]:
    """The ``count`` predictors of highest mean Kendall τ (ranking is what a search needs)."""
    order = table["kendall_mean"].astype(float).fillna(-np.inf).sort_values(ascending=False,
                                                                            kind="stable")
    return list(order.index[:count])


def out_of_fold(nets: Sequence, y: np.ndarray, names: Sequence[str], settings: Mapping):
    """Each net's prediction from the fold that held it out, for every predictor of ``names``.

    Uses the first of ``settings["cv_seeds"]``: the same ``KFold`` split and the same models as
    :func:`graphnets.compare.compare` with that seed.

    Returns:
        pandas.DataFrame: one row per net (in the order of ``nets``): ``actual``, ``fold`` and a
        column per predictor.
    """
    import pandas as pd
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import KFold

    from ..compare import _features, _regressor, _standardise
    from ..predict import GraphRegressor

    seed = int(settings["cv_seeds"][0])
    X, single = _features(list(nets))
    out = pd.DataFrame({"actual": y, "fold": -1})
    preds = {name: np.full(len(y), np.nan) for name in names}
    splits = KFold(n_splits=settings["folds"], shuffle=True, random_state=seed).split(y)
    for fold, (tr, te) in enumerate(splits):
        out.loc[te, "fold"] = fold
        Xtr, Xte = _standardise(X[tr], X[te])
        for name in names:
            if name == "gnn":
                model = GraphRegressor(seed=seed)
                model.fit([nets[i] for i in tr], y[tr], seed=seed, **_gnn_fit_kwargs(settings))
                preds[name][te] = model.predict([nets[i] for i in te]).double().numpy()
            elif name in single:
                line = LinearRegression().fit(single[name][tr, None], y[tr])
                preds[name][te] = line.predict(single[name][te, None])
            else:
                preds[name][te] = _regressor(name, seed).fit(Xtr, y[tr]).predict(Xte)
    for name in names:
        out[name] = preds[name]
    return out


def correlation_table(properties, y: np.ndarray):
    """Pearson and Spearman correlation of every property with ``y``, Table 1's rows first."""
    from ..analysis import TABLE1, correlations

    corr = correlations(properties, y)
    order = [p for p in TABLE1 if p in corr.index] + [p for p in corr.index if p not in TABLE1]
    corr = corr.loc[order]
    corr.index.name = "property"
    return corr
