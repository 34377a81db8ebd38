r"""A small hyperparameter search for :class:`~graphnets.predict.GraphRegressor`, nested inside
the training graphs.

:func:`tune` cross-validates a few candidate configurations on the graphs it is given (inner
folds), picks the one of best mean Kendall τ, and fits it on all of them. It sees only the
graphs and targets it is given: inside :func:`~graphnets.predict.compare` (predictor
``"gnn_search"``) that is the training fold, so the test fold never takes part in the choice.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from .encode import check_graphs
from .regressor import GraphRegressor

__all__ = ["CANDIDATES", "tune"]

#: The default candidates of :func:`tune`: ``(GraphRegressor kwargs, fit kwargs)`` pairs: the
#: default, the default on standardised targets, and the default with a linear part.
CANDIDATES: tuple[tuple[dict, dict], ...] = (
    ({}, {}),
    ({}, {"scale": "standard"}),
    ({"wide": True}, {}),
)


def _kendall(t: np.ndarray, p: np.ndarray) -> float:
    """Kendall's τ-b, ``nan`` if either side is constant: :func:`graphnets.predict.kendall`,
    which lives in ``compare`` (that imports this module)."""
    from scipy import stats

    if t.size < 2 or np.ptp(t) == 0 or np.ptp(p) == 0:
        return math.nan
    return float(stats.kendalltau(t, p).statistic)


def _check_candidates(candidates) -> list[tuple[dict, dict]]:
    if isinstance(candidates, (str, bytes, Mapping)) or not isinstance(candidates, Sequence):
        raise TypeError(
            "candidates must be a list of (GraphRegressor kwargs, fit kwargs) pairs, got "
            f"{type(candidates).__name__}"
        )
    out = []
    for i, c in enumerate(candidates):
        if not (
            isinstance(c, (tuple, list)) and len(c) == 2 and all(isinstance(d, Mapping) for d in c)
        ):
            raise TypeError(
                f"candidate {i} must be a pair (GraphRegressor kwargs, fit kwargs) of dicts, "
                f"got {c!r}"
            )
        out.append((dict(c[0]), dict(c[1])))
    if not out:
        raise ValueError("candidates is empty; give at least one (kwargs, fit kwargs) pair")
    return out


def tune(
    graphs: Sequence,
    targets,
    *,
    candidates: Sequence | None = None,
    folds: int = 3,
    seed: int = 0,
    fit_kwargs: Mapping | None = None,
    batch=None,
) -> GraphRegressor:
    """Pick a configuration by inner cross-validation on ``graphs`` only, and fit it on them.

    For each candidate ``(kwargs, fit)``, ``GraphRegressor(**kwargs, seed=seed)`` is fitted
    with ``fit(**fit_kwargs, **fit, seed=seed)`` on ``folds - 1`` inner folds
    (``KFold(shuffle=True, random_state=seed)`` over ``graphs``) and scored by Kendall τ on the
    remaining one; the candidate of best mean τ (the first on a tie; a fold where τ is
    undefined is left out) is then fitted on all of ``graphs``.

    Args:
        graphs: training graphs, of one kind (as :meth:`GraphRegressor.fit`).
        targets: one finite number per graph, higher is better.
        candidates: ``(GraphRegressor kwargs, fit kwargs)`` pairs (default: :data:`CANDIDATES`).
        folds: inner folds, ``>= 2`` (default: ``3``).
        seed: draws the inner folds and seeds every fit (default: ``0``).
        fit_kwargs: keyword arguments of every :meth:`~GraphRegressor.fit`, under each
            candidate's own (default: none).
        batch: the data batch of ``graph_features="proxies"`` candidates (default: none).

    Returns:
        GraphRegressor: the chosen configuration fitted on all ``graphs``; its ``tuning``
        attribute is a DataFrame with one row per candidate (``kwargs``, ``fit``, ``kendall``:
        the mean inner τ, ``chosen``).

    Raises:
        TypeError: if ``candidates`` is not a list of pairs of dicts.
        ValueError: if ``folds`` is not an int ``>= 2``, there are fewer than ``3 * folds``
            graphs, or a candidate's settings are refused (as :class:`GraphRegressor`).
    """
    import pandas as pd
    from sklearn.model_selection import KFold

    graphs, _ = check_graphs(graphs)
    y = np.asarray(targets, dtype=np.float64).reshape(-1)
    if y.size != len(graphs):
        raise ValueError(f"expected one target per graph ({len(graphs)}), got {y.size}")
    cands = _check_candidates(CANDIDATES if candidates is None else candidates)
    if isinstance(folds, bool) or not isinstance(folds, numbers.Integral) or folds < 2:
        raise ValueError(f"folds must be an int >= 2, got {folds!r}")
    if len(graphs) < 3 * folds:
        raise ValueError(
            f"expected at least {3 * folds} graphs for {folds} inner folds, got {len(graphs)}"
        )
    base = dict(fit_kwargs or {})
    extra = {} if batch is None else {"batch": batch}
    splits = list(KFold(n_splits=folds, shuffle=True, random_state=int(seed)).split(y))
    scores = []
    for kwargs, fit in cands:
        taus = []
        for tr, te in splits:
            model = GraphRegressor(**{**extra, **kwargs, "seed": seed})
            model.fit([graphs[i] for i in tr], y[tr], **{**base, **fit, "seed": seed})
            taus.append(_kendall(y[te], model.predict([graphs[i] for i in te]).double().numpy()))
        ok = [t for t in taus if math.isfinite(t)]
        scores.append(float(np.mean(ok)) if ok else -math.inf)
    best = int(np.argmax(scores))
    kwargs, fit = cands[best]
    model = GraphRegressor(**{**extra, **kwargs, "seed": seed})
    model.fit(graphs, y, **{**base, **fit, "seed": seed})
    model.tuning = pd.DataFrame(  # type: ignore[attr-defined]
        {
            "kwargs": [repr(k) for k, _ in cands],
            "fit": [repr(f) for _, f in cands],
            "kendall": scores,
            "chosen": [i == best for i in range(len(cands))],
        }
    )
    return model
