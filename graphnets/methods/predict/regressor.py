r"""Predicting a net's performance from its structure with a graph neural network.

Two layers, as elsewhere in graphnets:

- :func:`~graphnets.predict.to_pyg` turns a :class:`~graphnets.GraphNet` into a
  ``torch_geometric.data.Data`` whose
  node features describe each neuron's place in the graph (see :data:`FEATURES`);
- :class:`GraphRegressor` is a small message-passing network (GIN, GraphSAGE or GAT layers, a
  global pooling, an MLP head) that maps such graphs to one number each, trained with
  :meth:`~GraphRegressor.fit` on nets and their measured targets (e.g. test accuracy).

Convention: a **higher target is better**; :meth:`~GraphRegressor.rank` puts the highest
prediction first. To rank by a loss or an error, fit on its negation.

What is *not* done here: the regressor reads the topology and activations only (edge weights,
available from ``to_pyg(..., weights=True)``, are not fed to the convolutions); there are no
graph-level features (such as the properties of :mod:`graphnets.analysis`) in the head; training
runs on the CPU in one process, with no hyperparameter search.
"""

from __future__ import annotations

import copy
import io
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..._util.checks import choice, positive_int
from ..._util.files import atomic_write
from ..._util.seeds import generator
from ...nn.base import BaseGraphNet
from .features import FEATURES, check_nets, pyg, to_pyg

if TYPE_CHECKING:
    from torch_geometric.data import Batch, Data

__all__ = ["CONVS", "LOSSES", "POOLS", "GraphRegressor", "rank_loss"]

#: Accepted ``conv`` names of :class:`GraphRegressor`.
CONVS: tuple[str, ...] = ("gin", "sage", "gat")
#: Accepted ``loss`` names of :meth:`GraphRegressor.fit`.
LOSSES: tuple[str, ...] = ("mse", "rank")
#: Accepted ``pool`` names of :class:`GraphRegressor`.
POOLS: tuple[str, ...] = ("meanmax", "add")

_FORMAT = "graphnets.GraphRegressor"


def rank_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    r"""Pairwise logistic (RankNet) loss over all pairs with different targets.

    .. math::
        \ell = \operatorname{mean}_{(i, j):\, t_i > t_j} \log\bigl(1 + e^{-(p_i - p_j)}\bigr)

    Zero (with a gradient) when no two targets differ.

    Example:
        >>> import torch
        >>> float(rank_loss(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 0.0]))) < 0.2
        True
    """
    better = target[:, None] > target[None, :]
    if not bool(better.any()):
        return pred.sum() * 0.0
    diff = pred[:, None] - pred[None, :]
    return nn.functional.softplus(-diff[better]).mean()


class GraphRegressor(nn.Module):
    r"""A GNN that predicts one number per net from its structure (:func:`to_pyg` features).

    .. math::
        h^{(0)} = \mathrm{ReLU}(W x), \quad
        h^{(k)} = \mathrm{ReLU}\bigl(\mathrm{conv}_k(h^{(k-1)}, \mathrm{edge\_index})\bigr), \quad
        g = \mathrm{pool}(h^{(K)}), \quad \hat y = \mathrm{MLP}(g)\, \sigma_t + \mu_t

    Messages flow along the net's edges (source to destination, the direction of computation).
    ``pool="meanmax"`` concatenates the mean and the max over the nodes of each graph
    (``d = 2 · hidden``), which does not grow with the size of the net; ``"add"`` sums them
    (``d = hidden``), which can count. :meth:`fit` standardises the targets (``μ_t``, ``σ_t``)
    so predictions come back in their units.

    Args:
        hidden (int): width of the node embeddings (default: ``64``).
        layers (int): number of message-passing layers (default: ``3``).
        conv (str): ``"gin"`` (:class:`~torch_geometric.nn.GINConv` with a two-layer MLP),
            ``"sage"`` (:class:`~torch_geometric.nn.SAGEConv`) or ``"gat"``
            (:class:`~torch_geometric.nn.GATConv`, one head) (default: ``"gin"``).
        pool (str): ``"meanmax"`` or ``"add"`` (default: ``"meanmax"``).
        seed (int or torch.Generator, optional): randomness of the initialisation.

    Shapes:
        - **input:** a ``torch_geometric`` ``Batch`` of ``G`` graphs from :func:`to_pyg`
        - **output:** ``[G]`` predictions; :meth:`embed` ``[G, d]``

    Example:
        >>> import graphnets
        >>> nets = [graphnets.priors.erdos_renyi(4, 2, 10, p, seed=0) for p in (0.2, 0.4, 0.6)]
        >>> model = GraphRegressor(hidden=16, layers=2, seed=0)
        >>> model = model.fit(nets, [n.num_edges for n in nets], epochs=5, seed=0)
        >>> model.predict(nets).shape, model.embed(nets).shape, model.rank(nets).shape
        (torch.Size([3]), torch.Size([3, 32]), torch.Size([3]))
    """

    def __init__(
        self,
        hidden: int = 64,
        layers: int = 3,
        *,
        conv: str = "gin",
        pool: str = "meanmax",
        seed: int | torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.hidden = positive_int(hidden, "hidden")
        self.layers = positive_int(layers, "layers")
        self.conv = choice(conv, CONVS, "conv")
        self.pool = choice(pool, POOLS, "pool")
        self.encoder = nn.Linear(len(FEATURES), hidden)
        self.convs = nn.ModuleList(self._make_conv() for _ in range(layers))
        d = self.embedding_dim
        self.head = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.register_buffer("target_mean", torch.zeros(()))
        self.register_buffer("target_std", torch.ones(()))
        # A buffer, so a state_dict (and save / load) carries it with the parameters.
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))
        #: Per-epoch ``{"train": [...], "val": [...]}`` losses of the last :meth:`fit`.
        self.history: dict[str, list[float]] = {"train": [], "val": []}
        self.reset_parameters(seed)

    def _make_conv(self) -> nn.Module:
        h, pyg_nn = self.hidden, pyg().nn
        if self.conv == "gin":
            mlp = nn.Sequential(nn.Linear(h, h), nn.ReLU(), nn.Linear(h, h))
            return pyg_nn.GINConv(mlp, train_eps=True)
        if self.conv == "sage":
            return pyg_nn.SAGEConv(h, h)
        return pyg_nn.GATConv(h, h, heads=1)

    @property
    def embedding_dim(self) -> int:
        """``d``, the width of the pooled graph embedding."""
        return 2 * self.hidden if self.pool == "meanmax" else self.hidden

    def reset_parameters(self, seed: int | torch.Generator | None = None) -> None:
        """Re-initialise every layer (PyTorch defaults), drawn from ``seed``."""
        gen = generator(seed)
        # Layers draw from the global generator; fork it so a seed does not leak outside.
        with torch.random.fork_rng(devices=[]):
            if gen is not None:
                torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen)))
            for m in self.modules():
                if m is not self and hasattr(m, "reset_parameters"):
                    m.reset_parameters()

    # -- forward ----------------------------------------------------------------------------
    def _embed(self, batch: Batch) -> torch.Tensor:
        pyg_nn = pyg().nn
        h = torch.relu(self.encoder(batch.x))
        for conv in self.convs:
            h = torch.relu(conv(h, batch.edge_index))
        graph, size = batch.batch, batch.num_graphs
        if self.pool == "add":
            return pyg_nn.global_add_pool(h, graph, size=size)
        return torch.cat(
            [
                pyg_nn.global_mean_pool(h, graph, size=size),
                pyg_nn.global_max_pool(h, graph, size=size),
            ],
            dim=1,
        )

    def forward(self, batch: Batch) -> torch.Tensor:
        """Standardised predictions ``[G]`` for a batch of :func:`to_pyg` graphs."""
        return self.head(self._embed(batch)).squeeze(-1)

    def _batches(self, graphs: list[Data], batch_size: int = 256):
        for i in range(0, len(graphs), batch_size):
            yield pyg().data.Batch.from_data_list(graphs[i : i + batch_size])

    def _check_fitted(self, what: str) -> None:
        if not bool(self.fitted):
            raise RuntimeError(
                f"this GraphRegressor is not fitted, so {what} would come from random "
                "parameters; call fit(nets, targets) first, or GraphRegressor.load a fitted one"
            )

    @torch.no_grad()
    def predict(self, nets: Sequence[BaseGraphNet]) -> torch.Tensor:
        """Predicted targets ``[n]`` of ``nets``, in the units of the fitted targets.

        Raises:
            RuntimeError: before :meth:`fit` (the model would predict from random parameters).
        """
        nets = check_nets(nets)
        self._check_fitted("its predictions")
        graphs = [to_pyg(net) for net in nets]
        was = self.training
        self.eval()
        out = torch.cat([self(b) for b in self._batches(graphs)])
        self.train(was)
        return out * self.target_std + self.target_mean

    @torch.no_grad()
    def embed(self, nets: Sequence[BaseGraphNet]) -> torch.Tensor:
        """Pooled graph embeddings ``[n, d]`` of ``nets`` (``d`` = :attr:`embedding_dim`).

        Allowed before :meth:`fit`: the embeddings of a randomly initialised GNN are a known
        baseline of graph features.
        """
        graphs = [to_pyg(net) for net in check_nets(nets)]
        was = self.training
        self.eval()
        out = torch.cat([self._embed(b) for b in self._batches(graphs)])
        self.train(was)
        return out

    def rank(self, nets: Sequence[BaseGraphNet]) -> torch.Tensor:
        """Indices of ``nets``, highest prediction (best) first, as a ``LongTensor [n]``.

        Raises:
            RuntimeError: before :meth:`fit`, as :meth:`predict`.
        """
        self._check_fitted("its ranking")  # before predict, to name what was asked for
        return torch.argsort(self.predict(nets), descending=True, stable=True)

    # -- training ---------------------------------------------------------------------------
    def fit(
        self,
        nets: Sequence[BaseGraphNet],
        targets: Sequence[float] | torch.Tensor,
        *,
        epochs: int = 200,
        lr: float = 1e-2,
        batch_size: int = 16,
        loss: str = "mse",
        val_fraction: float = 0.2,
        patience: int = 30,
        seed: int | torch.Generator | None = None,
    ) -> GraphRegressor:
        """Train on ``nets`` and their ``targets`` with Adam; returns ``self``.

        A random ``val_fraction`` of the nets (at least one, if ``val_fraction > 0``) is held
        out; training stops after ``patience`` epochs without a lower validation loss and the
        best parameters are restored. With ``val_fraction=0`` it runs all ``epochs``.

        Args:
            nets: the training nets.
            targets: one finite number per net (higher is better, see the module docstring).
            epochs: maximum number of passes over the training nets (default: ``200``).
            lr: Adam's learning rate (default: ``1e-2``).
            batch_size: nets per step (default: ``16``).
            loss: ``"mse"`` on standardised targets, or ``"rank"``: :func:`rank_loss` over the
                pairs within each batch (default: ``"mse"``).
            val_fraction: fraction held out for early stopping, in ``[0, 1)`` (default: ``0.2``).
            patience: epochs without improvement before stopping (default: ``30``).
            seed: when given, parameters are re-initialised from it and it draws the split and
                the batch order, so the same seed gives the same model.

        Raises:
            TypeError: if ``nets`` is not a sequence of GraphNets.
            ValueError: on a length mismatch, non-finite targets, an unknown ``loss``, or
                settings out of range.
        """
        nets = check_nets(nets)
        t = torch.as_tensor(targets, dtype=torch.float32).reshape(-1)
        if t.numel() != len(nets):
            raise ValueError(f"expected one target per net ({len(nets)}), got {t.numel()}")
        bad = ~torch.isfinite(t)
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            raise ValueError(f"target {i} is {float(t[i])}; targets must be finite")
        choice(loss, LOSSES, "loss")
        epochs, batch_size = positive_int(epochs, "epochs"), positive_int(batch_size, "batch_size")
        patience = positive_int(patience, "patience")
        if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        if not (isinstance(val_fraction, (int, float)) and 0 <= val_fraction < 1):
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
        n_val = 0 if val_fraction == 0 else max(1, round(val_fraction * len(nets)))
        if len(nets) - n_val < 2:
            raise ValueError(
                f"expected at least {n_val + 2} nets to keep 2 for training with "
                f"val_fraction={val_fraction}, got {len(nets)}"
            )

        gen = generator(seed)
        if gen is None:
            gen = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,))))
        if seed is not None:
            self.reset_parameters(gen)
        perm = torch.randperm(len(nets), generator=gen)
        val_ids, train_ids = perm[:n_val], perm[n_val:]
        mean, std = t[train_ids].mean(), t[train_ids].std(unbiased=False)
        self.target_mean.fill_(float(mean))
        self.target_std.fill_(float(std) if std > 0 else 1.0)
        z = (t - self.target_mean) / self.target_std
        graphs = [to_pyg(net) for net in nets]
        criterion = rank_loss if loss == "rank" else nn.functional.mse_loss

        def evaluate(ids: torch.Tensor) -> float:
            self.eval()
            with torch.no_grad():
                pred = torch.cat([self(b) for b in self._batches([graphs[i] for i in ids])])
            self.train()
            return float(criterion(pred, z[ids]))

        opt = torch.optim.Adam(self.parameters(), lr=lr)
        self.history = {"train": [], "val": []}
        best, best_state, waited = math.inf, None, 0
        self.train()
        for _ in range(epochs):
            order = train_ids[torch.randperm(len(train_ids), generator=gen)]
            total = 0.0
            for i in range(0, len(order), batch_size):
                ids = order[i : i + batch_size]
                opt.zero_grad()
                batch = pyg().data.Batch.from_data_list([graphs[j] for j in ids])
                step = criterion(self(batch), z[ids])
                step.backward()
                opt.step()
                total += float(step.detach()) * len(ids)
            self.history["train"].append(total / len(order))
            if n_val == 0:
                continue
            val = evaluate(val_ids)
            self.history["val"].append(val)
            if val < best:
                best, best_state, waited = val, copy.deepcopy(self.state_dict()), 0
            else:
                waited += 1
                if waited >= patience:
                    break
        if best_state is not None:
            self.load_state_dict(best_state)
        self.fitted.fill_(True)
        self.eval()
        return self

    # -- persistence ------------------------------------------------------------------------
    def hparams(self) -> dict:
        """The constructor arguments, enough to rebuild the model (see :meth:`load`)."""
        return {"hidden": self.hidden, "layers": self.layers, "conv": self.conv, "pool": self.pool}

    def save(self, path: str | os.PathLike) -> None:
        """Write the hyperparameters and parameters to ``path`` (read back with :meth:`load`),
        atomically: a kill mid-save leaves the previous file whole."""
        buffer = io.BytesIO()
        torch.save(
            {"format": _FORMAT, "hparams": self.hparams(), "state_dict": self.state_dict()}, buffer
        )
        atomic_write(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike) -> GraphRegressor:
        """Read a model written by :meth:`save` (with ``torch.load(weights_only=True)``).

        Raises:
            FileNotFoundError: if there is no such file.
            ValueError: if the file does not hold a saved GraphRegressor (not a torch file, a
                pickle that would run code, a missing or damaged field, named).
        """
        name = repr(os.fspath(path))
        try:
            state = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise
        except Exception as err:  # not a torch file, a refused pickle, a truncated file, ...
            raise ValueError(
                f"{name} does not hold a saved GraphRegressor (torch.load failed: "
                f"{type(err).__name__})"
            ) from err
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ValueError(
                f"{name} does not hold a saved GraphRegressor; write one with GraphRegressor.save"
            )
        hparams, weights = state.get("hparams"), state.get("state_dict")
        for key, value in (("hparams", hparams), ("state_dict", weights)):
            if not isinstance(value, dict):
                raise ValueError(
                    f"{name} is not a valid GraphRegressor save: field {key!r} should "
                    f"be a dict, got {type(value).__name__}"
                )
        try:
            model = cls(**hparams)  # type: ignore[arg-type]
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"{name} is not a valid GraphRegressor save: field 'hparams' is refused ({err})"
            ) from None
        weights = dict(weights)  # type: ignore[arg-type]
        # Files written before the flag existed were written after fit: count them as fitted.
        weights.setdefault("fitted", torch.ones((), dtype=torch.bool))
        try:
            model.load_state_dict(weights)
        except (RuntimeError, TypeError) as err:
            first = str(err).strip().splitlines()
            raise ValueError(
                f"{name} is not a valid GraphRegressor save: field 'state_dict' "
                f"does not fit its hparams ({first[-1] if first else err})"
            ) from None
        return model.eval()

    def extra_repr(self) -> str:
        return f"conv={self.conv}, hidden={self.hidden}, layers={self.layers}, pool={self.pool}"
