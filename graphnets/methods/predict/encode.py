r"""Any architecture graph as GNN input: GraphNets, networkx DAGs with attributes, PyG ``Data``.

:class:`GraphEncoder` is fitted on the training graphs (it learns vocabularies and means, never
targets) and turns every graph into a ``torch_geometric.data.Data`` with

- ``x`` ``[N, node_dim]``: per-node features;
- ``edge_attr`` ``[E, edge_dim]``: per-edge features;
- ``u`` ``[1, graph_dim]``: graph-level features, standardised over the fitted graphs;
- ``level`` / ``rlevel`` ``[N]``: each node's level (longest path from a source) and reverse
  level (longest path to a sink), the schedules of the DAG encoder
  (:class:`~graphnets.methods.predict.regressor.GraphRegressor` with ``conv="dag"``).

What each kind of graph contributes:

- every graph: structural node features (``log(1 + in/out degree)``, level and reverse level
  over their maximum, is-source, is-sink), the structural edge feature ``log(1 + level gap)``
  (``0`` for an edge between consecutive levels, larger for a skip) and a constant ``1``, and the
  graph features ``log(1 + ·)`` of nodes, edges, depth (the maximum level), sources and sinks,
  and edges per node;
- a :class:`~graphnets.GraphNet`: the node features of :func:`~graphnets.predict.to_pyg`
  (role, level, degrees, activation one-hot), and, with ``graph_features="properties"``, every
  property of :func:`graphnets.analysis.properties` and ``log10`` of the
  :func:`~graphnets.predict.synflow` zero-cost proxy; with ``graph_features="proxies"``, the
  four zero-cost proxies (``log10`` of :func:`~graphnets.predict.synflow`,
  :func:`~graphnets.predict.snip` and :func:`~graphnets.predict.grad_norm`, and
  ``-log10(-jacob_cov)``), the batch ones on the encoder's ``batch`` with the net re-initialised
  from :data:`PROXY_SEED`;
- a ``networkx.DiGraph``: every node and edge attribute. A **string** value is categorical and
  one-hot encoded over the values seen in :meth:`~GraphEncoder.fit` (sorted); a number or a
  bool is numeric and standardised with the fitted mean and std. A node or edge that lacks an
  attribute gets zeros in its columns (all-zero one-hot; the mean for a number);
- a ``torch_geometric.data.Data``: its ``x`` and ``edge_attr`` columns, standardised.

Decided here: a categorical value or an attribute name that :meth:`~GraphEncoder.fit` never saw
is an **error** (``ValueError`` naming it and the known ones), not a silent "unknown" slot: an
operation the model never trained on has no learned meaning, so ranking by it would be a guess.
Fit on graphs that cover the search space's vocabulary. Graphs must be acyclic (a GraphNet's
delayed edges are left out of its levels, as everywhere in graphnets); a networkx graph with a
cycle is refused. Nodes keep the order of ``graph.nodes``; labels can be anything hashable.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ...core.levels import CycleError, levels
from ...nn.base import BaseGraphNet
from .features import FEATURES, pyg, to_pyg

if TYPE_CHECKING:
    from torch_geometric.data import Data

__all__ = ["GraphEncoder", "GRAPH_FEATURES", "KINDS", "check_graphs", "graph_kind"]

#: Kinds of graph :class:`GraphEncoder` reads.
KINDS: tuple[str, ...] = ("graphnet", "networkx", "pyg")
#: Accepted ``graph_features`` settings: no graph-level features, the cheap structural ones of
#: any graph, those plus the properties and SynFlow of GraphNets, or those plus the four
#: zero-cost proxies of GraphNets on a data batch.
GRAPH_FEATURES: tuple[str, ...] = ("none", "basic", "properties", "proxies")
#: Seed from which a GraphNet is re-initialised for its ``"proxies"`` features (so trained and
#: untrained nets of one structure get the same features: those at initialisation).
PROXY_SEED = 0

_STRUCT = ("log_in_degree", "log_out_degree", "level", "rlevel", "is_source", "is_sink")
_BASIC = ("log_nodes", "log_edges", "log_depth", "log_sources", "log_sinks", "edges_per_node")


def graph_kind(graph: object) -> str:
    """``"graphnet"``, ``"networkx"`` or ``"pyg"``; ``TypeError`` for anything else."""
    import networkx as nx

    if isinstance(graph, BaseGraphNet):
        return "graphnet"
    if isinstance(graph, nx.DiGraph) and not graph.is_multigraph():
        return "networkx"
    if isinstance(graph, pyg().data.Data):
        return "pyg"
    raise TypeError(
        f"expected a GraphNet, a networkx.DiGraph or a torch_geometric Data, got "
        f"{type(graph).__name__}"
    )


def check_graphs(graphs: Sequence) -> tuple[list, str]:
    """``graphs`` as a list and their one kind, or the error naming the entry that is wrong."""
    import networkx as nx

    if (
        isinstance(graphs, (BaseGraphNet, nx.Graph, str, bytes))
        or isinstance(graphs, pyg().data.Data)
        or not isinstance(graphs, Sequence)
    ):
        raise TypeError(
            f"expected a sequence of graphs (GraphNets, networkx.DiGraphs or torch_geometric "
            f"Data), got {type(graphs).__name__}"
        )
    if len(graphs) == 0:
        raise ValueError("expected at least one graph, got an empty sequence")
    kinds = []
    for i, g in enumerate(graphs):
        try:
            kinds.append(graph_kind(g))
        except TypeError as err:
            raise TypeError(f"{err} at position {i}") from None
    other = next((i for i, k in enumerate(kinds) if k != kinds[0]), None)
    if other is not None:
        raise TypeError(
            f"expected graphs of one kind, got a {kinds[0]} at position 0 and a {kinds[other]} "
            f"at position {other}; convert them to one kind"
        )
    return list(graphs), kinds[0]


def _reverse_levels(src: np.ndarray, dst: np.ndarray, n: int) -> np.ndarray:
    return levels(dst, src, n) if n else np.zeros(0, dtype=np.int64)


def _structure(src: np.ndarray, dst: np.ndarray, n: int, level: np.ndarray | None = None):
    """Structural node features ``[n, 6]``, edge gap ``[E]``, graph features, level, rlevel."""
    try:
        if level is None:
            level = levels(src, dst, n) if n else np.zeros(0, dtype=np.int64)
        rlevel = _reverse_levels(src, dst, n)
    except CycleError as err:
        cycle = err.cycle
        raise ValueError(
            f"the graph has a cycle (through node positions {cycle}); the ranker reads acyclic "
            "graphs only"
        ) from None
    indeg = np.bincount(dst, minlength=n).astype(np.float64)
    outdeg = np.bincount(src, minlength=n).astype(np.float64)
    depth = int(level.max()) if n else 0
    rdepth = int(rlevel.max()) if n else 0
    x = np.stack(
        [
            np.log1p(indeg),
            np.log1p(outdeg),
            level / depth if depth else np.zeros(n),
            rlevel / rdepth if rdepth else np.zeros(n),
            (indeg == 0).astype(np.float64),
            (outdeg == 0).astype(np.float64),
        ],
        axis=1,
    )
    gap = np.log1p(np.maximum(level[dst] - level[src] - 1, 0)) if src.size else np.zeros(0)
    e = src.size
    u = [
        math.log1p(n),
        math.log1p(e),
        math.log1p(depth),
        math.log1p(float((indeg == 0).sum())),
        math.log1p(float((outdeg == 0).sum())),
        e / n if n else 0.0,
    ]
    return x, gap, u, level, rlevel


def _proxy_batch(graph_features: str, batch):
    """``batch`` as a pair of CPU tensors, required (only) for ``"proxies"``."""
    if graph_features != "proxies":
        return None
    if batch is None:
        raise ValueError(
            'graph_features="proxies" needs a data batch (x, labels) for snip, grad_norm and '
            "jacob_cov; pass batch=(x, labels)"
        )
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise TypeError(f"batch must be a pair (x, labels) of tensors, got {type(batch).__name__}")
    return tuple(torch.as_tensor(v).detach().cpu() for v in batch)


def _log10(v: float) -> float:
    return math.log10(v) if v > 0 else math.nan


def synflow_feature(net) -> float:
    """``log10`` of the SynFlow of ``net`` re-initialised from :data:`PROXY_SEED` (``nan`` for
    a zero score, as in :func:`proxy_features`): the ``"properties"`` features' last column and
    :func:`~graphnets.predict.compare`'s ``synflow`` row."""
    from .zero_cost import synflow

    return _log10(synflow(net, seed=PROXY_SEED))


def proxy_features(net, batch) -> list[float]:
    """The four ``"proxies"`` graph features of a GraphNet, all with the net re-initialised
    from :data:`PROXY_SEED`: ``log10`` of SynFlow, of SNIP and of the gradient norm, and
    ``-log10(-jacob_cov)`` (the score is ``<= -B``; higher is better either way).

    A score of zero (no gradient reaches the edges at this batch: every path dead) has no
    logarithm and gives ``nan``, which the encoder replaces by the fitted mean and
    :func:`~graphnets.predict.compare` by the training fold's mean; a floor such as ``1e-300``
    would make it an outlier hundreds of decades away that dominates any fit."""
    from .zero_cost import grad_norm, jacob_cov, snip

    return [
        synflow_feature(net),
        _log10(snip(net, batch, seed=PROXY_SEED)),
        _log10(grad_norm(net, batch, seed=PROXY_SEED)),
        -math.log10(-jacob_cov(net, batch, seed=PROXY_SEED)),
    ]


def _numeric(value: object) -> bool:
    return isinstance(value, (bool, numbers.Real, np.bool_))


class GraphEncoder:
    """Learns, on the training graphs, how to turn graphs into GNN input (see the module
    docstring for the features); :meth:`transform` then encodes any graph of the same kind.

    Args:
        graph_features (str): ``"none"``, ``"basic"`` (structural, any graph) or
            ``"properties"`` (``"basic"`` plus the properties of
            :func:`graphnets.analysis.properties` and ``log10`` SynFlow at initialisation;
            GraphNets only, other kinds get ``"basic"``) or ``"proxies"`` (``"basic"`` plus the
            four zero-cost proxies; GraphNets only) (default: ``"basic"``).
        batch (tuple, optional): ``(x, labels)``, the data batch of the ``"proxies"`` features
            (required for them; see :func:`~graphnets.predict.snip`).

    Example:
        >>> import networkx as nx
        >>> g = nx.DiGraph()
        >>> g.add_edge(0, 1, op="conv3x3"); g.add_edge(1, 2, op="skip"); g.add_edge(0, 2, op="skip")
        >>> enc = GraphEncoder().fit([g])
        >>> enc.edge_columns
        ['constant', 'log_level_gap', 'op=conv3x3', 'op=skip']
        >>> data = enc.transform(g)
        >>> data.x.shape, data.edge_attr.shape, data.u.shape
        (torch.Size([3, 6]), torch.Size([3, 4]), torch.Size([1, 6]))
    """

    def __init__(self, graph_features: str = "basic", batch=None) -> None:
        from ..._util.checks import choice

        self.graph_features = choice(graph_features, GRAPH_FEATURES, "graph_features")
        self.batch = _proxy_batch(graph_features, batch)
        self.kind: str | None = None
        # name -> sorted vocabulary (categorical) or None (numeric), for nodes and edges
        self.node_attrs: dict[str, list[str] | None] = {}
        self.edge_attrs: dict[str, list[str] | None] = {}
        self.node_stats: dict[str, tuple[float, float]] = {}
        self.edge_stats: dict[str, tuple[float, float]] = {}
        self.graph_names: list[str] = []
        self.graph_mean: list[float] = []
        self.graph_std: list[float] = []

    # -- columns ----------------------------------------------------------------------------
    @property
    def fitted(self) -> bool:
        return self.kind is not None

    @property
    def node_columns(self) -> list[str]:
        """Names of the columns of ``x``."""
        self._check_fitted()
        if self.kind == "graphnet":
            return [*FEATURES, "rlevel"]
        return [*_STRUCT, *self._columns(self.node_attrs)]

    @property
    def edge_columns(self) -> list[str]:
        """Names of the columns of ``edge_attr``."""
        self._check_fitted()
        return ["constant", "log_level_gap", *self._columns(self.edge_attrs)]

    @staticmethod
    def _columns(attrs: dict[str, list[str] | None]) -> list[str]:
        out: list[str] = []
        for name, vocab in attrs.items():
            out += [name] if vocab is None else [f"{name}={v}" for v in vocab]
        return out

    def _check_fitted(self) -> None:
        if self.kind is None:
            raise RuntimeError("this GraphEncoder is not fitted; call fit(graphs) first")

    # -- fit --------------------------------------------------------------------------------
    def fit(self, graphs: Sequence) -> GraphEncoder:
        """Learn the kind, the attribute vocabularies and the standardisation of ``graphs``.

        Raises:
            TypeError: if ``graphs`` is not a sequence of graphs of one kind, or an attribute
                value is neither a string nor a number.
            ValueError: if ``graphs`` is empty, a networkx graph has a cycle, or an attribute
                is a string on some nodes (edges) and a number on others.
        """
        graphs, kind = check_graphs(graphs)
        self.kind = kind
        self.node_attrs, self.edge_attrs, self.node_stats, self.edge_stats = {}, {}, {}, {}
        if kind == "networkx":
            self.node_attrs, self.node_stats = self._learn(
                [d for g in graphs for _, d in g.nodes(data=True)], "node"
            )
            self.edge_attrs, self.edge_stats = self._learn(
                [d for g in graphs for *_, d in g.edges(data=True)], "edge"
            )
        elif kind == "pyg":
            for where, attr, stats in (
                ("x", "node", self.node_stats),
                ("edge_attr", "edge", self.edge_stats),
            ):
                cols = [self._pyg_matrix(g, where) for g in graphs]
                widths = {c.shape[1] for c in cols}
                if len(widths) > 1:
                    raise ValueError(
                        f"expected every graph's {where} to have the same number of columns, "
                        f"got {sorted(widths)}"
                    )
                m = np.concatenate(cols) if cols else np.zeros((0, 0))
                names = [f"{where}{j}" for j in range(m.shape[1])]
                (self.node_attrs if attr == "node" else self.edge_attrs).update(
                    {n: None for n in names}
                )
                for j, n in enumerate(names):
                    stats[n] = self._stat(m[:, j]) if m.shape[0] else (0.0, 1.0)
        raw = []
        for i, g in enumerate(graphs):
            try:
                raw.append(self._graph_raw(g))
            except ValueError as err:
                raise ValueError(f"graph {i}: {err}") from None
        u = np.array([r[1] for r in raw], dtype=np.float64).reshape(len(raw), -1)
        self.graph_names = raw[0][0]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-nan column: mean of nothing
            mean = np.nanmean(np.where(np.isfinite(u), u, np.nan), axis=0)
        mean = np.where(np.isfinite(mean), mean, 0.0)
        filled = np.where(np.isfinite(u), u, mean)
        std = filled.std(axis=0)
        self.graph_mean = [float(v) for v in mean]
        self.graph_std = [float(v) if v > 0 else 1.0 for v in std]
        return self

    @staticmethod
    def _stat(values: np.ndarray) -> tuple[float, float]:
        values = values[np.isfinite(values)]
        if values.size == 0:
            return 0.0, 1.0
        sd = float(values.std())
        return float(values.mean()), sd if sd > 0 else 1.0

    def _learn(self, dicts: list[dict], what: str):
        vocab: dict[str, set] = {}
        numbers_: dict[str, list[float]] = {}
        for d in dicts:
            for name, value in d.items():
                if isinstance(value, str):
                    if name in numbers_:
                        self._mixed(name, what)
                    vocab.setdefault(name, set()).add(value)
                elif _numeric(value):
                    if name in vocab:
                        self._mixed(name, what)
                    numbers_.setdefault(name, []).append(float(value))  # type: ignore[arg-type]
                else:
                    raise TypeError(
                        f"{what} attribute {name!r} has value {value!r} of type "
                        f"{type(value).__name__}; expected a string (categorical) or a number"
                    )
        attrs: dict[str, list[str] | None] = {}
        stats: dict[str, tuple[float, float]] = {}
        for name in sorted(set(vocab) | set(numbers_), key=str):
            if name in vocab:
                attrs[name] = sorted(vocab[name])
            else:
                attrs[name] = None
                stats[name] = self._stat(np.array(numbers_[name]))
        return attrs, stats

    @staticmethod
    def _mixed(name: str, what: str):
        raise ValueError(
            f"{what} attribute {name!r} is a string on some {what}s and a number on others; "
            "give it one type"
        )

    @staticmethod
    def _pyg_matrix(g: Data, where: str) -> np.ndarray:
        value = getattr(g, where, None)
        rows = g.num_nodes if where == "x" else g.edge_index.shape[1]
        if value is None:
            return np.zeros((rows, 0))
        m = value.detach().to(torch.float64).reshape(rows, -1).cpu().numpy()
        return m

    # -- transform --------------------------------------------------------------------------
    def _graph_raw(self, g) -> tuple[list[str], list[float]]:
        """Graph-level feature names and raw values (before standardising)."""
        if self.graph_features == "none":
            return [], []
        src, dst, n, level = self._topology(g)
        *_, u, _, _ = _structure(src, dst, n, level)
        names, values = list(_BASIC), list(u)
        if self.graph_features == "properties" and self.kind == "graphnet":
            from ..analysis import PROPERTIES, properties

            props = properties(g)
            names += list(PROPERTIES)
            values += [float(props[p]) for p in PROPERTIES]
            names.append("log10_synflow")
            values.append(synflow_feature(g))
        if self.graph_features == "proxies" and self.kind == "graphnet":
            names += ["log10_synflow", "log10_snip", "log10_grad_norm", "jacob_cov"]
            values += proxy_features(g, self.batch)
        return names, values

    def _topology(self, g):
        """``src``, ``dst``, ``n`` and the levels (``None`` to compute) of a graph."""
        if self.kind == "graphnet":
            s = g.structure
            keep = s.delay == 0 if getattr(s, "delay", None) is not None else slice(None)
            ei = s.edge_index[:, keep].cpu().numpy()
            return ei[0], ei[1], s.num_nodes, np.asarray(s.level, dtype=np.int64)
        if self.kind == "pyg":
            ei = g.edge_index.cpu().numpy().astype(np.int64)
            return ei[0], ei[1], int(g.num_nodes), None
        index = {v: i for i, v in enumerate(g.nodes)}
        e = g.number_of_edges()
        src = np.fromiter((index[a] for a, _ in g.edges), dtype=np.int64, count=e)
        dst = np.fromiter((index[b] for _, b in g.edges), dtype=np.int64, count=e)
        return src, dst, len(index), None

    def _encode_attrs(self, dicts, attrs, stats, what: str) -> np.ndarray:
        cols = self._columns(attrs)
        out = np.zeros((len(dicts), len(cols)))
        offset, where = 0, {}
        for name, vocab in attrs.items():
            where[name] = offset
            offset += 1 if vocab is None else len(vocab)
        lookup = {
            name: {v: i for i, v in enumerate(vocab)} for name, vocab in attrs.items() if vocab
        }
        for r, d in enumerate(dicts):
            for name, value in d.items():
                if name not in attrs:
                    raise ValueError(
                        f"{what} attribute {name!r} was not seen in fit; known {what} "
                        f"attributes: {', '.join(map(repr, attrs)) or 'none'}"
                    )
                vocab = attrs[name]
                if vocab is None:
                    if not _numeric(value):
                        raise TypeError(
                            f"{what} attribute {name!r} is numeric in fit, got {value!r}"
                        )
                    mu, sd = stats[name]
                    out[r, where[name]] = (float(value) - mu) / sd  # type: ignore[arg-type]
                else:
                    j = lookup[name].get(value) if isinstance(value, str) else None
                    if j is None:
                        raise ValueError(
                            f"{what} attribute {name}={value!r} was not seen in fit; known "
                            f"values: {', '.join(map(repr, vocab))}. Fit on graphs that cover "
                            "the vocabulary"
                        )
                    out[r, where[name] + j] = 1.0
        return out

    def transform(self, graph) -> Data:
        """The ``Data`` of one graph (see the module docstring).

        Raises:
            RuntimeError: before :meth:`fit`.
            TypeError: if ``graph`` is not of the fitted kind.
            ValueError: on a cycle, or an attribute name or value that fit never saw.
        """
        self._check_fitted()
        kind = graph_kind(graph)
        if kind != self.kind:
            raise TypeError(f"this GraphEncoder was fitted on {self.kind} graphs, got a {kind}")
        src, dst, n, level = self._topology(graph)
        sx, gap, _, level, rlevel = _structure(src, dst, n, level)
        e = src.size
        if kind == "graphnet":
            x = torch.cat([to_pyg(graph).x, torch.as_tensor(sx[:, 3:4], dtype=torch.float32)], 1)
            ex = np.zeros((e, 0))
        elif kind == "networkx":
            nx_ = np.concatenate(
                [
                    sx,
                    self._encode_attrs(
                        [d for _, d in graph.nodes(data=True)],
                        self.node_attrs,
                        self.node_stats,
                        "node",
                    ),
                ],
                axis=1,
            )
            x = torch.as_tensor(nx_, dtype=torch.float32)
            ex = self._encode_attrs(
                [d for *_, d in graph.edges(data=True)], self.edge_attrs, self.edge_stats, "edge"
            )
        else:
            parts = []
            for where, attrs, stats in (
                ("x", self.node_attrs, self.node_stats),
                ("edge_attr", self.edge_attrs, self.edge_stats),
            ):
                m = self._pyg_matrix(graph, where)
                if m.shape[1] != len(attrs):
                    raise ValueError(
                        f"expected {where} with {len(attrs)} columns as in fit, got {m.shape[1]}"
                    )
                mu = np.array([stats[c][0] for c in attrs])
                sd = np.array([stats[c][1] for c in attrs])
                parts.append((m - mu) / sd if len(attrs) else m)
            x = torch.as_tensor(np.concatenate([sx, parts[0]], axis=1), dtype=torch.float32)
            ex = parts[1]
        edge_attr = np.concatenate([np.ones((e, 1)), gap.reshape(-1, 1), ex], axis=1)
        _, raw = self._graph_raw(graph)
        u = (np.array(raw, dtype=np.float64) - np.array(self.graph_mean)) / np.array(self.graph_std)
        u = np.where(np.isfinite(u), u, 0.0)  # a property undefined for this graph: the mean
        return pyg().data.Data(
            x=x,
            edge_index=torch.as_tensor(np.stack([src, dst]), dtype=torch.long).reshape(2, -1),
            edge_attr=torch.as_tensor(edge_attr, dtype=torch.float32).reshape(e, -1),
            u=torch.as_tensor(u, dtype=torch.float32).reshape(1, -1),
            level=torch.as_tensor(level, dtype=torch.long),
            rlevel=torch.as_tensor(rlevel, dtype=torch.long),
            num_nodes=n,
        )

    def transform_all(self, graphs: Sequence) -> list[Data]:
        """:meth:`transform` of every graph, naming the position of one that fails."""
        graphs, _ = check_graphs(graphs)
        out = []
        for i, g in enumerate(graphs):
            try:
                out.append(self.transform(g))
            except (TypeError, ValueError) as err:
                raise type(err)(f"graph {i}: {err}") from None
        return out

    # -- dimensions and persistence ----------------------------------------------------------
    @property
    def dims(self) -> tuple[int, int, int]:
        """``(node_dim, edge_dim, graph_dim)``."""
        return len(self.node_columns), len(self.edge_columns), len(self.graph_names)

    def state(self) -> dict[str, Any]:
        """Plain data (strings, lists, floats) that :meth:`from_state` reads back."""
        self._check_fitted()
        return {
            "graph_features": self.graph_features,
            "batch": None if self.batch is None else [v.tolist() for v in self.batch],
            "kind": self.kind,
            "node_attrs": [[k, v] for k, v in self.node_attrs.items()],
            "edge_attrs": [[k, v] for k, v in self.edge_attrs.items()],
            "node_stats": [[k, list(v)] for k, v in self.node_stats.items()],
            "edge_stats": [[k, list(v)] for k, v in self.edge_stats.items()],
            "graph_names": list(self.graph_names),
            "graph_mean": list(self.graph_mean),
            "graph_std": list(self.graph_std),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> GraphEncoder:
        """The encoder :meth:`state` described."""
        batch = state.get("batch")
        if batch is not None:
            batch = (torch.tensor(batch[0]), torch.tensor(batch[1], dtype=torch.long))
        enc = cls(state["graph_features"], batch)
        enc.kind = state["kind"]
        enc.node_attrs = {k: v for k, v in state["node_attrs"]}
        enc.edge_attrs = {k: v for k, v in state["edge_attrs"]}
        enc.node_stats = {k: (float(v[0]), float(v[1])) for k, v in state["node_stats"]}
        enc.edge_stats = {k: (float(v[0]), float(v[1])) for k, v in state["edge_stats"]}
        enc.graph_names = list(state["graph_names"])
        enc.graph_mean = [float(v) for v in state["graph_mean"]]
        enc.graph_std = [float(v) for v in state["graph_std"]]
        return enc

    def __repr__(self) -> str:
        if not self.fitted:
            return f"GraphEncoder(graph_features={self.graph_features!r}, not fitted)"
        node, edge, graph = self.dims
        return (
            f"GraphEncoder(kind={self.kind}, node_dim={node}, edge_dim={edge}, "
            f"graph_dim={graph}, graph_features={self.graph_features!r})"
        )
