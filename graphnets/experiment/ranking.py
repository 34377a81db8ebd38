"""The predict stage: how well is a net's performance predicted from its structure?

Three results, all on the same cross-validation folds:

- :func:`comparison`: :func:`graphnets.compare.compare` (the GNN, the property regressors and
  the single-number baselines);
- :func:`out_of_fold`: every net's prediction when it was in the test fold (first cv seed), for
  the predicted-vs-actual plot, as :func:`~graphnets.compare.compare` made it;
- :func:`correlation_table`: :func:`graphnets.analysis.correlations` of every measured property
  with the target, Table 1's properties first;
- :func:`learning_curve`: Kendall τ of the GNN and of the best baseline against the number of
  training nets, on the comparison's folds (first cv seed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..methods.analysis import TABLE1, correlations
from ..methods.predict.compare import compare, default_predictors, features, fit_predict, kendall

__all__ = [
    "comparison",
    "out_of_fold",
    "correlation_table",
    "best_predictors",
    "learning_curve",
    "CURVE_SIZES",
    "BATCH_ROWS",
    "proxy_batch",
]

#: Rows of the data batch (the first rows of the training split) of the zero-cost proxies.
BATCH_ROWS = 64

#: Training sizes of :func:`learning_curve` (those below a fold's training size, then that size).
CURVE_SIZES: tuple[int, ...] = (25, 50, 100, 200, 300)


def _gnn_fit_kwargs(settings: Mapping) -> dict:
    return {"epochs": settings["gnn_epochs"], "patience": settings["gnn_patience"]}


def _names(settings: Mapping, batch: bool) -> list[str]:

    chosen = settings["predictors"]
    return default_predictors(batch) if chosen == "all" else list(chosen)


def proxy_batch(x_train, y_train) -> tuple:
    """The data batch of the zero-cost proxies: the first :data:`BATCH_ROWS` rows of the
    training split (already shuffled by the split's seed, so a fixed, random-looking batch)."""
    return x_train[:BATCH_ROWS], y_train[:BATCH_ROWS]


def comparison(
    nets: Sequence,
    y: np.ndarray,
    settings: Mapping,
    *,
    batch: tuple | None = None,
    progress: bool = True,
):
    """The comparison table (one row per predictor), its per-fold metrics and every
    out-of-fold prediction.

    Args:
        nets: the trained nets (their structure is what the predictors see).
        y: the target of every net.
        settings: the ``[predict]`` section.
        batch: ``(x, labels)`` for the zero-cost proxies (:func:`proxy_batch`); without one,
            ``predictors = "all"`` leaves out the proxies that need it.
        progress: show a tqdm bar with ETA over the fits on stderr (default: ``True``).

    Returns:
        tuple: ``(table, per_fold, predictions)`` as :func:`graphnets.compare.compare` returns
        them (``predictions`` is its ``.attrs["predictions"]``).

    Raises:
        ValueError: with fewer than ``2 * folds`` nets.
    """

    folds = settings["folds"]
    if len(nets) < 2 * folds:
        raise ValueError(
            f"predict.folds = {folds} needs at least {2 * folds} trained nets, got "
            f"{len(nets)}; train more (--graphs) or use fewer folds"
        )
    table = compare(
        nets,
        y,
        folds=folds,
        seeds=tuple(settings["cv_seeds"]),
        fit_kwargs=_gnn_fit_kwargs(settings),
        top_k=settings["top_k"],
        predictors=_names(settings, batch is not None),
        batch=batch,
        progress=progress,
    )
    return table, table.attrs.pop("folds"), table.attrs.pop("predictions")


def best_predictors(table, count: int = 2) -> list[str]:
    """The ``count`` predictors of highest mean Kendall τ (ranking is what a search needs)."""
    order = (
        table["kendall_mean"]
        .astype(float)
        .fillna(-np.inf)
        .sort_values(ascending=False, kind="stable")
    )
    return list(order.index[:count])


def out_of_fold(predictions, y: np.ndarray, names: Sequence[str], settings: Mapping):
    """Each net's prediction from the fold that held it out, for every predictor of ``names``.

    Read from the comparison's out-of-fold predictions (:func:`comparison`) of the first of
    ``settings["cv_seeds"]``: nothing is refitted.

    Returns:
        pandas.DataFrame: one row per net (in the order of ``y``): ``actual``, ``fold`` and a
        column per predictor.
    """
    import pandas as pd

    seed = int(settings["cv_seeds"][0])
    part = predictions[predictions.seed == seed]
    out = pd.DataFrame({"actual": y, "fold": -1})
    for name in names:
        rows = part[part.predictor == name]
        column = np.full(len(y), np.nan)
        column[rows.net.to_numpy()] = rows.predicted.to_numpy()
        out.loc[rows.net.to_numpy(), "fold"] = rows.fold.to_numpy()
        out[name] = column
    return out


def correlation_table(properties, y: np.ndarray):
    """Pearson and Spearman correlation of every property with ``y``, Table 1's rows first."""

    corr = correlations(properties, y)
    order = [p for p in TABLE1 if p in corr.index] + [p for p in corr.index if p not in TABLE1]
    corr = corr.loc[order]
    corr.index.name = "property"
    return corr


def learning_curve(
    nets: Sequence,
    y: np.ndarray,
    settings: Mapping,
    per_fold,
    baseline: str,
    *,
    batch: tuple | None = None,
):
    """Kendall τ against the number of training nets, for the GNN and ``baseline``.

    On the folds of the comparison's first cv seed (the same ``KFold`` splits), each predictor
    is trained on a random subset of ``size`` nets of the training part, for every size of
    :data:`CURVE_SIZES` below the training part's size, and scored on the whole test fold.
    The full training part is the comparison itself: its τ is read from ``per_fold``, not
    refitted, and recorded at the mean training size over folds (folds differ by one net).

    Returns:
        pandas.DataFrame: ``predictor, size, fold, kendall``, one row per fit.
    """
    import pandas as pd
    from sklearn.model_selection import KFold

    seed = int(settings["cv_seeds"][0])
    y = np.asarray(y, dtype=np.float64)
    splits = KFold(n_splits=settings["folds"], shuffle=True, random_state=seed).split(y)
    feats = features(nets, batch) if baseline != "gnn" else None
    rows = []
    splits = list(splits)
    # the full training parts differ by a net between folds: one point at their mean size
    full = int(round(float(np.mean([len(tr) for tr, _ in splits]))))
    for fold, (tr, te) in enumerate(splits):
        rng = np.random.default_rng([seed, fold])
        for size in [s for s in CURVE_SIZES if s < len(tr)]:
            sub = np.sort(rng.choice(tr, size, replace=False))
            for name in dict.fromkeys(["gnn", baseline]):
                pred = fit_predict(
                    name,
                    nets,
                    y,
                    sub,
                    te,
                    seed=seed,
                    features=feats,
                    fit_kwargs=_gnn_fit_kwargs(settings),
                    batch=batch,
                )
                rows.append(
                    dict(predictor=name, size=size, fold=fold, kendall=kendall(y[te], pred))
                )
        for name in dict.fromkeys(["gnn", baseline]):
            hit = per_fold[
                (per_fold.predictor == name) & (per_fold.seed == seed) & (per_fold.fold == fold)
            ]
            rows.append(
                dict(predictor=name, size=full, fold=fold, kendall=float(hit.kendall.iloc[0]))
            )
    return pd.DataFrame(rows)
