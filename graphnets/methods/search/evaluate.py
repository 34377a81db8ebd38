r"""Score functions for searches: train a net on data, or a generated cell landscape.

- :class:`TrainEvaluator` trains the GraphNet of a :class:`~graphnets.search.NeuronSpace`
  genotype (:func:`graphnets.train.fit`) and scores it by validation accuracy;
- :class:`SyntheticCellScore` is a known score function on a
  :class:`~graphnets.search.CellSpace` (random op values plus random interactions of
  neighbouring positions), so the optimum and every quantile of the space are known exactly.

Both are plain picklable objects, so they run in worker processes and on Ray.
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np

from ..._util.checks import positive_int

__all__ = ["TrainEvaluator", "SyntheticCellScore"]


class TrainEvaluator:
    r"""Train a genotype's net with Adam and return its validation accuracy.

    Args:
        space: the :class:`~graphnets.search.NeuronSpace` of the genotypes.
        data (tuple, optional): ``(x_train, y_train, x_val, y_val)`` (default: digits, its
            training part split 3:1 into training and validation with seed 0; the digits test
            set is not used).
        epochs (int): epochs of training (default: ``5``).
        lr (float): Adam's learning rate (default: ``1e-2``).
        batch_size (int): default ``64``.
        seed (int): the weights' and the shuffles' seed, the same for every genotype
            (default: ``0``).

    Raises:
        ValueError: if the data do not match the space's inputs and outputs.
    """

    def __init__(
        self, space, *, data=None, epochs: int = 5, lr: float = 1e-2, batch_size: int = 64, seed=0
    ) -> None:
        if data is None:
            from ...data import digits

            x, y, _, _ = digits(seed=0)
            n_val = len(x) // 4
            data = (x[n_val:], y[n_val:], x[:n_val], y[:n_val])
        x_train, y_train, x_val, y_val = data
        classes = int(max(int(y_train.max()), int(y_val.max()))) + 1
        if x_train.shape[1] != space.n_inputs or classes > space.n_outputs:
            raise ValueError(
                f"the data have {x_train.shape[1]} features and {classes} classes, the space "
                f"{space.n_inputs} inputs and {space.n_outputs} outputs; pass data= that match, "
                "or another evaluate"
            )
        self.space = space
        self.data = (x_train, y_train, x_val, y_val)
        self.epochs = positive_int(epochs, "epochs")
        self.batch_size = positive_int(batch_size, "batch_size")
        self.lr = lr
        self.seed = seed

    def __repr__(self) -> str:
        return f"TrainEvaluator(epochs={self.epochs}, lr={self.lr}, seed={self.seed})"

    def __call__(self, genotype: nx.DiGraph) -> float:
        from ...train import fit

        net = self.space.to_net(genotype, seed=self.seed)
        x_train, y_train, x_val, y_val = self.data
        try:
            records = fit(
                net,
                x_train,
                y_train,
                x_val,
                y_val,
                epochs=self.epochs,
                batch_size=self.batch_size,
                lr=self.lr,
                seed=self.seed,
                progress=False,
            )
        except FloatingPointError:
            return 0.0  # a diverged training scores as chance at best: count it as the worst
        return float(records[-1]["test_acc"])


class SyntheticCellScore:
    r"""A known score function on a cell space.

    .. math::
        s(g) = \sum_p u_{p, o_p} + \sum_{(p, q) \in A} v_{p, q, o_p, o_q}

    with ``u ~ N(0, 1)``, ``v ~ N(0, interaction²)`` drawn from ``seed`` and ``A`` the pairs of
    neighbouring positions (edges that share a node, or nodes joined by an edge). The
    interactions make the landscape non-additive, so a strategy must combine ops, not pick
    each one alone.

    Args:
        space: a :class:`~graphnets.search.CellSpace`.
        seed (int): default ``0``.
        interaction (float): scale of the pairwise terms (default: ``0.5``).

    Example:
        >>> from graphnets.methods.search import CellSpace
        >>> space = CellSpace.nas_bench_201()
        >>> score = SyntheticCellScore(space, seed=0)
        >>> table = score.table()
        >>> table.shape, bool(table.max() == score.optimum)
        ((15625,), True)
        >>> score(space.decode(score.argmax())) == score.optimum
        True
    """

    def __init__(self, space, *, seed: int = 0, interaction: float = 0.5) -> None:
        self.space = space
        rng = np.random.default_rng(seed)
        P, O = len(space.positions), len(space.ops)
        self.unary = rng.normal(size=(P, O))
        pairs = []
        for p, q in itertools.combinations(range(P), 2):
            a, b = space.positions[p], space.positions[q]
            if space.on == "edges":
                near = bool(set(a) & set(b))
            else:
                near = space.dag.has_edge(a, b) or space.dag.has_edge(b, a)
            if near:
                pairs.append((p, q))
        self.pairs = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        self.pairwise = rng.normal(scale=interaction, size=(len(pairs), O, O))
        self._table: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"SyntheticCellScore({len(self.space.positions)} positions, {len(self.pairs)} pairs)"

    def scores(self, ids: np.ndarray) -> np.ndarray:
        """Scores of op-index rows ``[n, positions]``."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1, len(self.space.positions))
        out = self.unary[np.arange(ids.shape[1]), ids].sum(axis=1)
        for k, (p, q) in enumerate(self.pairs):
            out += self.pairwise[k, ids[:, p], ids[:, q]]
        return out

    def __call__(self, genotype: nx.DiGraph) -> float:
        return float(self.scores(self.space.encode(genotype)[None])[0])

    def table(self) -> np.ndarray:
        """The score of every genotype, in the order of ``space.all()``."""
        if self._table is None:
            O, P = len(self.space.ops), len(self.space.positions)
            ids = np.array(list(itertools.product(range(O), repeat=P)), dtype=np.int64)
            self._table = self.scores(ids)
        return self._table

    def argmax(self) -> np.ndarray:
        """The op indices of the best genotype."""
        O, P = len(self.space.ops), len(self.space.positions)
        i = int(np.argmax(self.table()))
        return np.array(np.unravel_index(i, (O,) * P), dtype=np.int64)

    @property
    def optimum(self) -> float:
        """The highest score of the space."""
        return float(self.table().max())

    def quantile(self, q: float) -> float:
        """The score that a fraction ``q`` of the space lies below (``q=0.99``: top 1 %)."""
        return float(np.quantile(self.table(), q))
