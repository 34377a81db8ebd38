r"""Ranking architectures by a graph neural network: one predicted number per graph.

Two layers, as elsewhere in graphnets:

- :class:`~graphnets.predict.GraphEncoder` turns a GraphNet, a ``networkx.DiGraph`` cell with
  categorical or numeric attributes, or a PyG ``Data`` into node, edge and graph-level
  features (fitted on the training graphs);
- :class:`GraphRegressor` is a small message-passing network (GIN, GraphSAGE, GAT layers and/or
  the topological :class:`~graphnets.methods.predict.dag.DagEncoder`, a global pooling, the
  graph features, an MLP head; optionally an ensemble) that maps such graphs to one number
  each, trained with :meth:`~GraphRegressor.fit` on graphs and their measured targets (e.g.
  test accuracy).

Convention: a **higher target is better**; :meth:`~GraphRegressor.rank` puts the highest
prediction first. To rank by a loss or an error, fit on its negation.

What is *not* done here: the regressor reads the topology, activations and attributes only
(a GraphNet's edge weights, available from ``to_pyg(..., weights=True)``, are not fed to the
convolutions); training runs on the CPU in one process. A search over configurations nested in
the training graphs is :func:`~graphnets.predict.tune`.
"""

from __future__ import annotations

import copy
import io
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..._util.checks import choice, positive_int
from ..._util.files import atomic_write
from ..._util.seeds import generator
from .dag import DagEncoder
from .encode import GRAPH_FEATURES, GraphEncoder, check_graphs
from .features import FEATURES, pyg

if TYPE_CHECKING:
    from torch_geometric.data import Batch, Data

__all__ = [
    "AUTO_CONV",
    "CONVS",
    "LOSSES",
    "POOLS",
    "SCALES",
    "normal_scores",
    "GraphRegressor",
    "rank_loss",
    "listwise_loss",
]

#: Accepted ``conv`` names of :class:`GraphRegressor` (besides ``"auto"``).
CONVS: tuple[str, ...] = ("gin", "sage", "gat", "dag", "gin+dag")
#: What ``conv="auto"`` runs for each kind of graph: the best measured per kind
#: (docs/prediction.md): GIN then a DAG sweep pair on neuron-level GraphNets (Kendall τ 0.764 vs
#: 0.753 for the DAG encoder alone on the 300-net meta-set); the DAG encoder alone on cells
#: (0.718 / 0.827 vs 0.710 / 0.800 with an op per edge, 0.643 / 0.752 vs 0.270 / 0.238 with an op
#: per node, at 100 / 200 training cells).
AUTO_CONV: dict[str, str] = {"graphnet": "gin+dag", "networkx": "dag", "pyg": "dag"}
#: Accepted ``loss`` names of :meth:`GraphRegressor.fit`.
LOSSES: tuple[str, ...] = ("mse", "rank", "listwise", "mse+rank", "mse+listwise")
#: Accepted ``scale`` names of :meth:`GraphRegressor.fit`.
SCALES: tuple[str, ...] = ("standard", "normal_scores")
#: Accepted ``pool`` names of :class:`GraphRegressor`.
POOLS: tuple[str, ...] = ("meanmax", "add")

_FORMAT = "graphnets.GraphRegressor"
_VERSION = 2  # 2: any graph (GraphEncoder), ensembles; files of version 1 are refused


def normal_scores(t: torch.Tensor) -> torch.Tensor:
    r"""The normal scores of ``t``: :math:`\Phi^{-1}\bigl((r_i - 0.5) / n\bigr)` with
    :math:`r_i` the rank of :math:`t_i` (ties get their mean rank), as a float32 tensor.

    Example:
        >>> import torch
        >>> normal_scores(torch.tensor([3.0, 10.0, 1.0])).round(decimals=3)
        tensor([ 0.0000,  0.9670, -0.9670])
    """
    from scipy import stats

    r = stats.rankdata(t.detach().double().cpu().numpy())
    return torch.as_tensor(stats.norm.ppf((r - 0.5) / len(r)), dtype=torch.float32)


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


def listwise_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    r"""ListNet loss (Cao et al. 2007): cross-entropy between the softmax of the targets and the
    softmax of the predictions over the list (the batch).

    .. math::
        \ell = -\sum_i \operatorname{softmax}(t)_i \log \operatorname{softmax}(p)_i

    Example:
        >>> import torch
        >>> good = listwise_loss(torch.tensor([2.0, 0.0]), torch.tensor([2.0, 0.0]))
        >>> bad = listwise_loss(torch.tensor([0.0, 2.0]), torch.tensor([2.0, 0.0]))
        >>> bool(good < bad)
        True
    """
    return -(torch.softmax(target, 0) * torch.log_softmax(pred, 0)).sum()


def _criterion(loss: str):
    mse = nn.functional.mse_loss
    if loss == "mse":
        return mse
    if loss == "rank":
        return rank_loss
    if loss == "listwise":
        return listwise_loss
    if loss == "mse+rank":
        return lambda p, t: mse(p, t) + rank_loss(p, t)
    return lambda p, t: mse(p, t) + listwise_loss(p, t)


class _Member(nn.Module):
    """One GNN of the ensemble: input layer, message passing, pooling, head on ``[pool, u]``."""

    def __init__(
        self, dims: tuple[int, int, int], hidden: int, layers: int, conv: str, pool: str, wide: bool
    ):
        super().__init__()
        node_dim, edge_dim, graph_dim = dims
        self.conv, self.pool, self.graph_dim = conv, pool, graph_dim
        self.input = nn.Linear(node_dim, hidden)
        pyg_nn = pyg().nn
        convs: list[nn.Module] = []
        if conv in ("gin", "gin+dag"):
            for _ in range(layers):
                mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
                convs.append(pyg_nn.GINEConv(mlp, train_eps=True, edge_dim=edge_dim))
        elif conv == "sage":
            convs = [pyg_nn.SAGEConv(hidden, hidden) for _ in range(layers)]
        elif conv == "gat":
            convs = [
                pyg_nn.GATConv(hidden, hidden, heads=1, edge_dim=edge_dim) for _ in range(layers)
            ]
        self.convs = nn.ModuleList(convs)
        # "dag": `layers` forward+reverse rounds; "gin+dag": one round after the GIN layers
        rounds = layers if conv == "dag" else 1
        self.dag = DagEncoder(hidden, edge_dim, rounds) if "dag" in conv else None
        pooled = 2 * hidden if pool == "meanmax" else hidden
        self.embedding_dim = pooled + graph_dim
        self.head = nn.Sequential(
            nn.Linear(self.embedding_dim, hidden), nn.ReLU(), nn.Linear(hidden, 1)
        )
        # the "wide" part: a linear model of the graph features beside the MLP
        self.wide = nn.Linear(graph_dim, 1) if wide and graph_dim else None

    def out(self, embedding: torch.Tensor) -> torch.Tensor:
        """``[G, 1]`` from :meth:`embed`'s output: the MLP head, plus the linear part on ``u``
        (the last ``graph_dim`` columns)."""
        out = self.head(embedding)
        if self.wide is not None:
            out = out + self.wide(embedding[:, embedding.shape[1] - self.graph_dim :])
        return out

    def embed(self, batch: Batch) -> torch.Tensor:
        pyg_nn = pyg().nn
        h = torch.relu(self.input(batch.x))
        for conv in self.convs:
            if self.conv == "sage":
                h = torch.relu(conv(h, batch.edge_index))
            else:
                h = torch.relu(conv(h, batch.edge_index, batch.edge_attr))
        if self.dag is not None:
            h = self.dag(h, batch.edge_index, batch.edge_attr, batch.level, batch.rlevel)
        graph, size = batch.batch, batch.num_graphs
        if self.pool == "add":
            parts = [pyg_nn.global_add_pool(h, graph, size=size)]
        else:
            parts = [
                pyg_nn.global_mean_pool(h, graph, size=size),
                pyg_nn.global_max_pool(h, graph, size=size),
            ]
        return torch.cat([*parts, batch.u.reshape(size, -1)], dim=1)

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.out(self.embed(batch)).squeeze(-1)


#: Ridge penalty of the linear part's start (on standardised graph features and targets).
RIDGE_ALPHA = 1.0


@torch.no_grad()
def _ridge_start(member: _Member, u: torch.Tensor, z: torch.Tensor) -> None:
    """Set ``member.wide`` to the ridge regression of ``z`` on ``u`` (penalty
    :data:`RIDGE_ALPHA`, intercept unpenalised) and the MLP head's last layer to zero."""
    u, z = u.double(), z.double()
    mu_u, mu_z = u.mean(0), z.mean()
    uc = u - mu_u
    a = uc.T @ uc + RIDGE_ALPHA * torch.eye(u.shape[1], dtype=u.dtype)
    w = torch.linalg.solve(a, uc.T @ (z - mu_z))
    wide = member.wide
    assert wide is not None
    wide.weight.copy_(w.reshape(1, -1).to(wide.weight.dtype))
    wide.bias.fill_(float(mu_z - mu_u @ w))
    last = member.head[-1]
    last.weight.zero_()
    last.bias.zero_()


class GraphRegressor(nn.Module):
    r"""A GNN that predicts one number per architecture graph, to rank architectures.

    It reads GraphNets, ``networkx.DiGraph`` cells with categorical or numeric node and edge
    attributes, and ``torch_geometric`` ``Data`` (:class:`~graphnets.predict.GraphEncoder`,
    fitted in :meth:`fit`, turns them into node, edge and graph features). Each member of the
    ensemble computes

    .. math::
        h^{(0)} = \mathrm{ReLU}(W x), \quad
        h^{(k)} = \mathrm{ReLU}\bigl(\mathrm{conv}_k(h^{(k-1)}, \mathrm{edge\_index},
        e)\bigr), \quad
        g = [\mathrm{pool}(h^{(K)}), u], \quad \hat z = \mathrm{MLP}(g)
        \;(+\, a^\top u + b \text{ with } \texttt{wide=True})

    and the prediction is the members' mean, :math:`\hat y = \bar z\, \sigma_t + \mu_t`
    (:meth:`fit` trains on standardised targets or on their normal scores, ``scale``, and
    predictions come back on the targets' scale).

    The defaults (``conv="auto"``: GIN layers then a DAG sweep pair for GraphNets, the DAG
    encoder alone for cells; width 32, basic graph features, no linear part, one member;
    ``fit(loss="mse+rank", scale="normal_scores")``) are the best of the ablation in
    docs/prediction.md.

    ``conv``: ``"gin"`` (:class:`~torch_geometric.nn.GINEConv`, edge features added to the
    messages), ``"sage"`` (:class:`~torch_geometric.nn.SAGEConv`, no edge features),
    ``"gat"`` (:class:`~torch_geometric.nn.GATConv`, one head), ``"dag"``
    (:class:`~graphnets.methods.predict.dag.DagEncoder`: ``layers`` forward-then-reverse sweeps
    in topological order) or ``"gin+dag"`` (the GIN layers, then one DAG sweep pair). Messages
    flow along the edges (source to destination, the direction of computation).
    ``pool="meanmax"`` concatenates the mean and the max over the nodes of each graph; ``"add"``
    sums them, which can count. ``u`` are the graph-level features of ``graph_features``
    (nothing for ``"none"``).

    Args:
        hidden (int): width of the node embeddings (default: ``32``).
        layers (int): message-passing layers, or sweep pairs for ``"dag"`` (default: ``2``).
        conv (str): one of :data:`CONVS`, or ``"auto"``: chosen in :meth:`fit` by the kind of
            graph (:data:`AUTO_CONV`; ``"gin+dag"`` until then) (default: ``"auto"``).
        pool (str): one of :data:`POOLS` (default: ``"meanmax"``).
        graph_features (str): ``"none"``, ``"basic"``, ``"properties"`` or ``"proxies"``
            (see :class:`~graphnets.predict.GraphEncoder`) (default: ``"basic"``).
        ensemble (int): members trained from different seeds, predictions averaged
            (default: ``1``).
        wide (bool): add a linear model of the graph features to each member's output
            ("wide and deep"); :meth:`fit` starts it at the ridge regression of the training
            targets on the features (penalty :data:`RIDGE_ALPHA`) with the MLP's last layer at
            zero, and keeps that start if no epoch beats it on the validation graphs
            (default: ``False``).
        batch (tuple, optional): ``(x, labels)``, the data batch of
            ``graph_features="proxies"`` (see :class:`~graphnets.predict.GraphEncoder`).
        seed (int or torch.Generator, optional): randomness of the initialisation.

    Shapes:
        - **input:** a sequence of ``G`` graphs of one kind
        - **output:** :meth:`predict` ``[G]``; :meth:`embed` ``[G, d]``, ``d`` =
          :attr:`embedding_dim`

    Example:
        >>> import graphnets
        >>> nets = [graphnets.priors.erdos_renyi(4, 2, 10, p, seed=0) for p in (0.2, 0.4, 0.6)]
        >>> model = GraphRegressor(hidden=16, layers=2, seed=0)
        >>> model = model.fit(nets, [n.num_edges for n in nets], epochs=5, seed=0)
        >>> model.predict(nets).shape, model.embed(nets).shape, model.rank(nets).shape
        (torch.Size([3]), torch.Size([3, 38]), torch.Size([3]))
    """

    def __init__(
        self,
        hidden: int = 32,
        layers: int = 2,
        *,
        conv: str = "auto",
        pool: str = "meanmax",
        graph_features: str = "basic",
        ensemble: int = 1,
        wide: bool = False,
        batch: tuple[torch.Tensor, torch.Tensor] | None = None,
        seed: int | torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.hidden = positive_int(hidden, "hidden")
        self.layers = positive_int(layers, "layers")
        #: ``conv`` as given; :attr:`conv` is what runs (``"auto"`` resolved by the graphs).
        self.conv_setting = choice(conv, ("auto", *CONVS), "conv")
        self.conv = AUTO_CONV["graphnet"] if conv == "auto" else conv
        self.pool = choice(pool, POOLS, "pool")
        self.graph_features = choice(graph_features, GRAPH_FEATURES, "graph_features")
        self.ensemble = positive_int(ensemble, "ensemble")
        if not isinstance(wide, bool):
            raise TypeError(f"wide must be a bool, got {wide!r}")
        self.wide = wide
        #: The data batch ``(x, labels)`` of ``graph_features="proxies"`` (``None`` otherwise).
        self.batch = batch
        #: The fitted :class:`~graphnets.predict.GraphEncoder` (``None`` before :meth:`fit`).
        self.graph_encoder: GraphEncoder | None = None
        self.members = nn.ModuleList()
        self.register_buffer("target_mean", torch.zeros(()))
        self.register_buffer("target_std", torch.ones(()))
        # A buffer, so a state_dict (and save / load) carries it with the parameters.
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))
        #: Per-epoch ``{"train": [...], "val": [...]}`` losses of the last :meth:`fit` (of its
        #: last ensemble member).
        self.history: dict[str, list[float]] = {"train": [], "val": []}
        # Until fit says otherwise, the layers are those of GraphNet input.
        self._build(self._graphnet_dims())
        self.reset_parameters(seed)

    def _graphnet_dims(self) -> tuple[int, int, int]:
        from ..analysis import PROPERTIES

        graph = {"none": 0, "basic": 6, "properties": 6 + len(PROPERTIES) + 1, "proxies": 10}
        return len(FEATURES) + 1, 2, graph[self.graph_features]

    def _resolve_conv(self, kind: str) -> bool:
        """Set :attr:`conv` for graphs of ``kind`` under ``conv="auto"``; whether it changed."""
        if self.conv_setting != "auto" or AUTO_CONV[kind] == self.conv:
            return False
        self.conv = AUTO_CONV[kind]
        return True

    def _build(self, dims: tuple[int, int, int]) -> None:
        self._dims = tuple(dims)
        self.members = nn.ModuleList(
            _Member(self._dims, self.hidden, self.layers, self.conv, self.pool, self.wide)  # type: ignore[arg-type]
            for _ in range(self.ensemble)
        )

    @property
    def embedding_dim(self) -> int:
        """``d``, the width of :meth:`embed`: every member's pooled node states and graph
        features, side by side."""
        return sum(m.embedding_dim for m in self.members)  # type: ignore[misc]

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

    # -- encoding ---------------------------------------------------------------------------
    def _encode(self, graphs: Sequence) -> list[Data]:
        graphs, kind = check_graphs(graphs)
        enc = self.graph_encoder
        if enc is None:  # embed before fit: standardise over these graphs, no target involved
            enc = GraphEncoder(self.graph_features, self.batch).fit(graphs)
            if self._resolve_conv(kind) or enc.dims != self._dims:
                self._build(enc.dims)
        return enc.transform_all(graphs)

    def _batches(self, graphs: list[Data], batch_size: int = 256):
        for i in range(0, len(graphs), batch_size):
            yield pyg().data.Batch.from_data_list(graphs[i : i + batch_size])

    def forward(self, batch: Batch) -> torch.Tensor:
        """Standardised predictions ``[G]`` for a ``Batch`` of encoded graphs (the members'
        mean)."""
        return torch.stack([m(batch) for m in self.members]).mean(0)

    def head(self, embedding: torch.Tensor) -> torch.Tensor:
        """Standardised predictions ``[G, 1]`` from :meth:`embed`'s output: each member's head
        on its slice, averaged."""
        out, at = [], 0
        for m in self.members:
            d = m.embedding_dim
            out.append(m.out(embedding[:, at : at + d]))  # type: ignore[operator]
            at += d  # type: ignore[operator]
        return torch.stack(out).mean(0)

    def _check_fitted(self, what: str) -> None:
        if not bool(self.fitted):
            raise RuntimeError(
                f"this GraphRegressor is not fitted, so {what} would come from random "
                "parameters; call fit(nets, targets) first, or GraphRegressor.load a fitted one"
            )

    @torch.no_grad()
    def predict(self, graphs: Sequence) -> torch.Tensor:
        """Predicted targets ``[n]`` of ``graphs``, in the units of the fitted targets.

        Raises:
            RuntimeError: before :meth:`fit` (the model would predict from random parameters).
            TypeError, ValueError: as :meth:`GraphEncoder.transform
                <graphnets.predict.GraphEncoder.transform>` (a graph of another kind, an
                attribute value fit never saw, a cycle).
        """
        check_graphs(graphs)
        self._check_fitted("its predictions")
        data = self._encode(graphs)
        was = self.training
        self.eval()
        out = torch.cat([self(b) for b in self._batches(data)])
        self.train(was)
        return out * self.target_std + self.target_mean

    @torch.no_grad()
    def embed(self, graphs: Sequence) -> torch.Tensor:
        """Graph embeddings ``[n, d]`` of ``graphs`` (``d`` = :attr:`embedding_dim`): what the
        heads read.

        Allowed before :meth:`fit`: the embeddings of a randomly initialised GNN are a known
        baseline of graph features (the graph features are then standardised over ``graphs``).
        """
        data = self._encode(graphs)
        was = self.training
        self.eval()
        out = torch.cat(
            [torch.cat([m.embed(b) for m in self.members], 1) for b in self._batches(data)]
        )
        self.train(was)
        return out

    def rank(self, graphs: Sequence) -> torch.Tensor:
        """Indices of ``graphs``, highest prediction (best) first, as a ``LongTensor [n]``.

        Raises:
            RuntimeError: before :meth:`fit`, as :meth:`predict`.
        """
        check_graphs(graphs)
        self._check_fitted("its ranking")  # before predict, to name what was asked for
        return torch.argsort(self.predict(graphs), descending=True, stable=True)

    # -- training ---------------------------------------------------------------------------
    def fit(
        self,
        graphs: Sequence,
        targets: Sequence[float] | torch.Tensor,
        *,
        epochs: int = 200,
        lr: float = 1e-2,
        batch_size: int = 32,
        loss: str = "mse+rank",
        scale: str = "normal_scores",
        val_fraction: float = 0.2,
        patience: int = 20,
        seed: int | torch.Generator | None = None,
        threads: int | None = 1,
    ) -> GraphRegressor:
        """Train on ``graphs`` and their ``targets`` with Adam; returns ``self``.

        First the :class:`~graphnets.predict.GraphEncoder` is fitted on ``graphs`` (the
        vocabularies of categorical attributes, the means and stds of numeric ones and of the
        graph features), and the layers are rebuilt if its widths differ from the current
        ones. Then each ensemble member is trained: a random ``val_fraction`` of the graphs
        (at least one, if ``val_fraction > 0``; drawn anew per member) is held out; training
        stops after ``patience`` epochs without a lower validation loss and the member's best
        parameters are restored. With ``val_fraction=0`` it runs all ``epochs``.

        Args:
            graphs: the training graphs, all of one kind (GraphNets, networkx DiGraphs or
                PyG ``Data``).
            targets: one finite number per graph (higher is better, see the module docstring).
            epochs: maximum number of passes over the training graphs (default: ``200``).
            lr: Adam's learning rate (default: ``1e-2``).
            batch_size: graphs per step (default: ``32``).
            loss: one of :data:`LOSSES` on standardised targets: ``"mse"``, ``"rank"``
                (:func:`rank_loss` over the pairs within each batch), ``"listwise"``
                (:func:`listwise_loss` over each batch), or a sum ``"mse+rank"`` /
                ``"mse+listwise"`` (default: ``"mse+rank"``: the best Kendall τ of the
                ablation in docs/prediction.md, and predictions keep the targets' scale).
            scale: what the GNN learns: ``"standard"``, the targets standardised (mean 0, std
                1); or ``"normal_scores"``, their ranks mapped to standard normal quantiles
                (:func:`normal_scores`), so a skewed target (accuracies bunched near the top,
                a long tail of failures) weighs every pair alike in the squared error.
                Predictions come back as ``mean + std · ẑ`` either way: in the targets' units
                for ``"standard"``, monotone in them (their order, not their values) for
                ``"normal_scores"`` (default: ``"normal_scores"``: Kendall τ 0.727 vs 0.699 for
                ``"standard"`` at 67 training nets, 0.768 vs 0.764 at 240, docs/prediction.md).
            val_fraction: fraction held out for early stopping, in ``[0, 1)`` (default: ``0.2``).
            patience: epochs without improvement before stopping (default: ``20``).
            seed: when given, parameters are re-initialised from it and it draws the splits and
                the batch order, so the same seed gives the same model.
            threads: torch's intra-op threads while training, restored afterwards; ``None``
                leaves torch's setting (default: ``1``: the GNN's matrices are small, and on a
                busy 2-core machine one thread trained 5-30x faster than torch's default).

        Raises:
            TypeError: if ``graphs`` is not a sequence of graphs of one kind.
            ValueError: on a length mismatch, non-finite targets, an unknown ``loss``, settings
                out of range, or a graph the encoder refuses (a cycle).
        """
        graphs, kind = check_graphs(graphs)
        if isinstance(targets, torch.Tensor):
            t = targets.detach().to(torch.float32).reshape(-1)
        else:  # a copy: a read-only array (pandas' to_numpy) made torch warn
            t = torch.tensor(np.asarray(targets, dtype=np.float32)).reshape(-1)
        if t.numel() != len(graphs):
            raise ValueError(f"expected one target per net ({len(graphs)}), got {t.numel()}")
        bad = ~torch.isfinite(t)
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            raise ValueError(f"target {i} is {float(t[i])}; targets must be finite")
        choice(loss, LOSSES, "loss")
        choice(scale, SCALES, "scale")
        epochs, batch_size = positive_int(epochs, "epochs"), positive_int(batch_size, "batch_size")
        patience = positive_int(patience, "patience")
        if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        if not (isinstance(val_fraction, (int, float)) and 0 <= val_fraction < 1):
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
        if threads is not None:
            threads = positive_int(threads, "threads")
        n_val = 0 if val_fraction == 0 else max(1, round(val_fraction * len(graphs)))
        if len(graphs) - n_val < 2:
            raise ValueError(
                f"expected at least {n_val + 2} nets to keep 2 for training with "
                f"val_fraction={val_fraction}, got {len(graphs)}"
            )

        gen = generator(seed)
        if gen is None:
            gen = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,))))
        encoder = GraphEncoder(self.graph_features, self.batch).fit(graphs)
        data = encoder.transform_all(graphs)
        self.graph_encoder = encoder
        if self._resolve_conv(kind) or encoder.dims != self._dims:
            self._build(encoder.dims)
            self.reset_parameters(gen)
        elif seed is not None:
            self.reset_parameters(gen)
        self.target_mean.fill_(float(t.mean()))
        std = float(t.std(unbiased=False))
        self.target_std.fill_(std if std > 0 else 1.0)
        z = (t - self.target_mean) / self.target_std
        if scale == "normal_scores":
            z = normal_scores(t)
        criterion = _criterion(loss)
        before = torch.get_num_threads()
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            for member in self.members:
                self._fit_member(
                    member, data, z, criterion, gen, epochs, lr, batch_size, n_val, patience
                )
        finally:
            torch.set_num_threads(before)
        self.fitted.fill_(True)
        self.eval()
        return self

    def _fit_member(self, member, data, z, criterion, gen, epochs, lr, batch_size, n_val, patience):
        perm = torch.randperm(len(data), generator=gen)
        val_ids, train_ids = perm[:n_val], perm[n_val:]
        val_batch = pyg().data.Batch.from_data_list([data[i] for i in val_ids]) if n_val else None
        opt = torch.optim.Adam(member.parameters(), lr=lr)
        self.history = {"train": [], "val": []}
        best, best_state, waited = math.inf, None, 0
        if member.wide is not None:
            # start as the ridge regression of the graph features (the MLP's last layer at
            # zero), and keep it if no epoch of the GNN beats it on the validation graphs
            _ridge_start(member, torch.cat([data[int(i)].u for i in train_ids]), z[train_ids])
            if val_batch is not None:
                member.eval()
                with torch.no_grad():
                    best = float(criterion(member(val_batch), z[val_ids]))
                best_state = copy.deepcopy(member.state_dict())
        member.train()
        for _ in range(epochs):
            order = train_ids[torch.randperm(len(train_ids), generator=gen)]
            total = 0.0
            for i in range(0, len(order), batch_size):
                ids = order[i : i + batch_size]
                opt.zero_grad()
                batch = pyg().data.Batch.from_data_list([data[j] for j in ids])
                step = criterion(member(batch), z[ids])
                step.backward()
                opt.step()
                total += float(step.detach()) * len(ids)
            self.history["train"].append(total / len(order))
            if val_batch is None:
                continue
            member.eval()
            with torch.no_grad():
                val = float(criterion(member(val_batch), z[val_ids]))
            member.train()
            self.history["val"].append(val)
            if val < best:
                best, best_state, waited = val, copy.deepcopy(member.state_dict()), 0
            else:
                waited += 1
                if waited >= patience:
                    break
        if best_state is not None:
            member.load_state_dict(best_state)
        member.eval()

    # -- persistence ------------------------------------------------------------------------
    def hparams(self) -> dict:
        """The constructor arguments, enough to rebuild the model (see :meth:`load`)."""
        return {
            "hidden": self.hidden,
            "layers": self.layers,
            "conv": self.conv,
            "pool": self.pool,
            "graph_features": self.graph_features,
            "ensemble": self.ensemble,
            "wide": self.wide,
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write the hyperparameters, the fitted encoder and the parameters to ``path`` (read
        back with :meth:`load`), atomically: a kill mid-save leaves the previous file whole."""
        buffer = io.BytesIO()
        torch.save(
            {
                "format": _FORMAT,
                "version": _VERSION,
                "hparams": self.hparams(),
                "encoder": None if self.graph_encoder is None else self.graph_encoder.state(),
                "state_dict": self.state_dict(),
            },
            buffer,
        )
        atomic_write(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike) -> GraphRegressor:
        """Read a model written by :meth:`save` (with ``torch.load(weights_only=True)``).

        Raises:
            FileNotFoundError: if there is no such file.
            ValueError: if the file does not hold a saved GraphRegressor (not a torch file, a
                pickle that would run code, a missing or damaged field, named), or holds one
                written by graphnets before any-graph input (version 1), whose layers differ.
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
        if state.get("version") != _VERSION:
            raise ValueError(
                f"{name} holds a GraphRegressor of format version {state.get('version', 1)}, "
                f"written before graphnets read any graph; this graphnets reads version "
                f"{_VERSION}: fit the model again"
            )
        hparams, weights = state.get("hparams"), state.get("state_dict")
        for key, value in (("hparams", hparams), ("state_dict", weights)):
            if not isinstance(value, dict):
                raise ValueError(
                    f"{name} is not a valid GraphRegressor save: field {key!r} should "
                    f"be a dict, got {type(value).__name__}"
                )
        hparams = {"wide": False, **hparams}  # saved before the linear part existed
        try:
            model = cls(**hparams)  # type: ignore[arg-type]
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"{name} is not a valid GraphRegressor save: field 'hparams' is refused ({err})"
            ) from None
        if state.get("encoder") is not None:
            try:
                encoder = GraphEncoder.from_state(state["encoder"])
                dims = encoder.dims
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                raise ValueError(
                    f"{name} is not a valid GraphRegressor save: field 'encoder' is damaged "
                    f"({type(err).__name__}: {err})"
                ) from None
            model.graph_encoder = encoder
            model.batch = encoder.batch
            if dims != model._dims:
                model._build(dims)
        try:
            model.load_state_dict(weights)  # type: ignore[arg-type]
        except (RuntimeError, TypeError) as err:
            first = str(err).strip().splitlines()
            raise ValueError(
                f"{name} is not a valid GraphRegressor save: field 'state_dict' "
                f"does not fit its hparams ({first[-1] if first else err})"
            ) from None
        return model.eval()

    def extra_repr(self) -> str:
        return (
            f"conv={self.conv}, hidden={self.hidden}, layers={self.layers}, pool={self.pool}, "
            f"graph_features={self.graph_features}, ensemble={self.ensemble}, wide={self.wide}"
        )
