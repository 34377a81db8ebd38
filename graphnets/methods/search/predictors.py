r"""Performance predictors for predictor-assisted search: a small interface and two adapters.

A predictor is any object with

- ``fit(genotypes, scores, *, seed)``: learn from the evaluated genotypes (higher score = better);
- ``predict(genotypes) -> numpy.ndarray``: one predicted score per genotype.

:class:`RegressorPredictor` wraps :class:`~graphnets.predict.GraphRegressor` (the GNN of
:mod:`graphnets.predict`) and reads genotypes through the space's
:meth:`~graphnets.search.SearchSpace.to_graph`: a GraphNet for
:class:`~graphnets.search.NeuronSpace`, the cell itself (a ``networkx.DiGraph`` with
categorical ``"op"`` attributes, one-hot encoded by the regressor) for
:class:`~graphnets.search.CellSpace`. It is the default predictor of every space.

:class:`CellOneHotPredictor` is a fast alternative for cell spaces: a random forest
(scikit-learn) on the one-hot op of every position. It fits in a fraction of a second where the
GNN takes seconds, so it suits quick looks and tests; ``docs/search.md`` compares the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import networkx as nx
import numpy as np

from ..._util.seeds import spawn

__all__ = ["Predictor", "RegressorPredictor", "CellOneHotPredictor", "default_predictor"]


class Predictor(Protocol):
    """What predictor-assisted search needs from a performance predictor."""

    def fit(
        self, genotypes: Sequence[nx.DiGraph], scores: Sequence[float], *, seed: int
    ) -> Any: ...

    def predict(self, genotypes: Sequence[nx.DiGraph]) -> np.ndarray: ...


class RegressorPredictor:
    """A :class:`~graphnets.predict.GraphRegressor` refitted from scratch on every ``fit``.

    Args:
        space: the search space (its ``to_graph`` turns genotypes into GraphNets).
        hidden, layers, conv, pool: the regressor's settings (defaults: ``32``, ``2``, ``"gin"``,
            ``"meanmax"``).
        **fit_options: passed to :meth:`GraphRegressor.fit`
            (default: ``epochs=100, patience=20, loss="mse"``).
    """

    def __init__(
        self,
        space,
        *,
        hidden: int = 32,
        layers: int = 2,
        conv: str = "gin",
        pool: str = "meanmax",
        **fit_options,
    ) -> None:
        self.space = space
        self.settings = {"hidden": hidden, "layers": layers, "conv": conv, "pool": pool}
        self.fit_options = {"epochs": 100, "patience": 20, "loss": "mse", **fit_options}
        self.model = None

    def __repr__(self) -> str:
        return f"RegressorPredictor({self.settings}, {self.fit_options})"

    def fit(self, genotypes, scores, *, seed: int = 0) -> RegressorPredictor:
        from ..predict.regressor import GraphRegressor

        (s,) = spawn(int(seed), 1)
        self.model = GraphRegressor(**self.settings, seed=s)
        nets = [self.space.to_graph(g) for g in genotypes]
        self.model.fit(nets, list(scores), seed=s, **self.fit_options)
        return self

    def predict(self, genotypes) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("this predictor is not fitted; call fit(genotypes, scores) first")
        nets = [self.space.to_graph(g) for g in genotypes]
        return self.model.predict(nets).numpy().astype(np.float64)


class CellOneHotPredictor:
    """For cell spaces: a random forest on the one-hot ops of the positions (fast, not a GNN).

    Args:
        space: a :class:`~graphnets.search.CellSpace`.
        trees: number of trees (default: ``100``).
    """

    def __init__(self, space, *, trees: int = 100) -> None:
        self.space = space
        self.trees = trees
        self.model = None

    def __repr__(self) -> str:
        return f"CellOneHotPredictor(trees={self.trees})"

    def features(self, genotypes) -> np.ndarray:
        """``[n, positions * ops]`` one-hot ops."""
        ids = np.stack([self.space.encode(g) for g in genotypes])
        n_ops = len(self.space.ops)
        out = np.zeros((len(ids), ids.shape[1] * n_ops))
        rows = np.arange(len(ids))[:, None]
        out[rows, np.arange(ids.shape[1]) * n_ops + ids] = 1.0
        return out

    def fit(self, genotypes, scores, *, seed: int = 0) -> CellOneHotPredictor:
        from sklearn.ensemble import RandomForestRegressor

        self.model = RandomForestRegressor(n_estimators=self.trees, random_state=int(seed) % 2**31)
        self.model.fit(self.features(genotypes), np.asarray(scores, dtype=np.float64))
        return self

    def predict(self, genotypes) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("this predictor is not fitted; call fit(genotypes, scores) first")
        return self.model.predict(self.features(genotypes))


def default_predictor(space) -> Predictor:
    """A :class:`RegressorPredictor` (the GNN) on ``space``."""
    return RegressorPredictor(space)
