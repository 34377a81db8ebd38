r"""Structural analysis: graph properties of a net, tables of them, and their correlations.

The properties of ``002_…`` Table 1 (§4.3), the path-length and layer-mass features of §4.4, and
clustering / small-world measures, computed with igraph's C routines (numpy for the DAG dynamic
programmes). Two graphs are measured:

- the **hidden graph**: the subgraph induced by the hidden nodes (neither input nor output). For a
  net from :mod:`graphnets.priors` this is the oriented random graph itself, which is what Table 1
  describes. Distance and centrality measures take its **undirected** view, as for the undirected
  Watts–Strogatz / Barabási–Albert graphs of the paper (in a DAG most ordered pairs are
  unreachable, so directed distances would say little). The path-length features of §4.4 take it
  **directed**, from its *sources* (no in-edge from a hidden node) to its *sinks* (no out-edge to
  a hidden node); an isolated hidden node is both, joined to itself by a path of length 0. (On
  the whole net they would collapse: a prior feeds every hidden source from every input, so every
  input–output pair has the same shortest and longest path.)
- the **whole net** (inputs, hidden, outputs), **directed**: depth, fan-in and layer mass, which
  follow the direction of computation.

A recurrent net (one with delayed edges, :mod:`graphnets.nn.recurrent`) is measured on its
**delay-0 edges**: the feed-forward graph one time step runs, which for a recurrent prior
(``002_…`` Fig. 6c) is the random DAG Table 1 describes; the delayed edges are left out.

Unreachable pairs are never counted as infinite distances: they are left out (see the table).
Variances and standard deviations are population ones (``ddof=0``). A property that is undefined
for the graph at hand (e.g. a density with fewer than 2 hidden nodes) is ``nan``.

============================  ======  ======  ==================================================
property                      graph   view    definition; unreachable pairs
============================  ======  ======  ==================================================
layers                        hidden  dir.    number of layer indices (§4.3) of the hidden DAG
                                              taken alone = nodes on its longest path
nodes                         hidden  –       number of hidden nodes
edges                         hidden  –       number of edges between hidden nodes
source_nodes                  hidden  dir.    hidden nodes without an in-edge from a hidden node
diameter                      hidden  undir.  largest finite distance; unreachable pairs
                                              ignored (0 if there is no edge)
density                       hidden  undir.  ``2 E / (n (n - 1))``
average_shortest_path_length  hidden  undir.  mean distance over connected ordered pairs;
                                              unreachable pairs ignored
eccentricity_var              hidden  undir.  variance of eccentricities; a node's eccentricity
                                              is over the nodes it reaches
degree_var                    hidden  undir.  variance of degrees (in + out)
closeness_var                 hidden  undir.  variance of closeness ``(r - 1) / Σ_u d(v, u)``
                                              over the ``r`` nodes ``v`` reaches (itself
                                              included); isolated nodes 0
nodes_betweenness_var         hidden  undir.  variance of node betweenness (unnormalised; each
                                              unordered pair of nodes counted once)
edge_betweenness_var          hidden  undir.  variance of edge betweenness (unnormalised)
transitivity                  hidden  undir.  3 × triangles / connected triples (0 if none)
average_clustering            hidden  undir.  mean local clustering, nodes of degree < 2 count 0
clustering_ratio              hidden  undir.  ``average_clustering / C_rand`` with ``C_rand =
                                              density``, the expected clustering of ``G(n, p)``
path_length_ratio             hidden  undir.  ``average_shortest_path_length / L_rand``,
                                              ``L_rand = ln n / ln k̄`` (``k̄`` the mean degree;
                                              ``nan`` if ``k̄ ≤ 1``), the random-graph estimate
small_world_sigma             hidden  undir.  ``clustering_ratio / path_length_ratio``: σ of
                                              Humphries & Gurney with the analytic references
                                              above (> 1: small world); no random graphs drawn
shortest_path_mean, _std      hidden  dir.    length of a shortest path, over every (source,
                                              sink) pair joined by a path; other pairs ignored
longest_path_mean, _std       hidden  dir.    the same for a longest path
random_walk_mean, _std        hidden  dir.    mean and std of the number of steps ``T`` of a walk
                                              that starts at a uniformly chosen source and takes
                                              a uniformly chosen out-edge until it reaches a sink
                                              (it always does: a DAG)
depth                         whole   dir.    number of levels of the net
fan_in_mean, _std             whole   dir.    in-degree of every non-input node: the layer mass
                                              of §4.4 for one-channel vertices
layer_mass_mean, _std         whole   dir.    over levels ``l ≥ 1``: (nodes in ``l``) ×
                                              (distinct nodes with an edge into ``l``), the layer
                                              mass with one level as one layer
============================  ======  ======  ==================================================

The random walk is solved exactly by a reverse-topological pass (levels in decreasing order):
``h(v) = E[T | start v] = 1 + mean_w h(w)`` and ``g(v) = E[T² | start v] = 1 + mean_w (2 h(w) +
g(w))`` over the out-neighbours ``w`` of ``v`` (``h = g = 0`` at sinks); then ``E[T]`` and
``E[T²]`` are their means over sources and ``std = sqrt(E[T²] - E[T]²)``.

Not checked here: recurrent edges (a structure holds feed-forward edges only); weights are
ignored, every property is of the topology.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from ..core.levels import levels as _levels
from ..core.structure import Structure

__all__ = ["PROPERTIES", "TABLE1", "properties", "properties_table", "correlations"]

#: Names of the 12 properties of Table 1 of ``002_…``, in its order.
TABLE1 = (
    "layers",
    "nodes",
    "edges",
    "source_nodes",
    "diameter",
    "density",
    "average_shortest_path_length",
    "eccentricity_var",
    "degree_var",
    "closeness_var",
    "nodes_betweenness_var",
    "edge_betweenness_var",
)

#: Every property :func:`properties` computes, in the order of its result.
PROPERTIES = TABLE1 + (
    "transitivity",
    "average_clustering",
    "clustering_ratio",
    "path_length_ratio",
    "small_world_sigma",
    "shortest_path_mean",
    "shortest_path_std",
    "longest_path_mean",
    "longest_path_std",
    "random_walk_mean",
    "random_walk_std",
    "depth",
    "fan_in_mean",
    "fan_in_std",
    "layer_mass_mean",
    "layer_mass_std",
)

# Bound the [sources, N] longest-path table to about this many entries per block of sources.
_BLOCK_ENTRIES = 1 << 22


def _var(values) -> float:
    a = np.asarray(values, dtype=np.float64)
    return float(a.var()) if a.size else math.nan


def _mean_std(values) -> tuple[float, float]:
    a = np.asarray(values, dtype=np.float64)
    return (float(a.mean()), float(a.std())) if a.size else (math.nan, math.nan)


class _Graphs:
    """The graphs and intermediate results the properties share, each built on first use."""

    def __init__(self, s: Structure) -> None:
        self.s = s
        self.n = s.num_nodes
        self.src, self.dst = s.edge_index.numpy()
        hidden = np.ones(self.n, dtype=bool)
        hidden[s.inputs.numpy()] = False
        hidden[s.outputs.numpy()] = False
        new = np.full(self.n, -1, dtype=np.int64)
        new[hidden] = np.arange(int(hidden.sum()))
        keep = hidden[self.src] & hidden[self.dst]
        self.nh = int(hidden.sum())
        self.h_src, self.h_dst = new[self.src[keep]], new[self.dst[keep]]
        self._cache: dict = {}

    def get(self, key: str, build: Callable[[], object]):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    # -- hidden graph, undirected ----------------------------------------------------------
    @property
    def und(self):
        import igraph as ig

        return self.get(
            "und",
            lambda: ig.Graph(
                n=self.nh, edges=np.stack([self.h_src, self.h_dst], 1).tolist(), directed=False
            ),
        )

    def density(self) -> float:
        n = self.nh
        return 2.0 * self.h_src.size / (n * (n - 1)) if n >= 2 else math.nan

    def avg_path(self) -> float:
        if self.nh == 0:
            return math.nan
        return self.get(
            "apl", lambda: float(self.und.average_path_length(directed=False, unconn=True))
        )

    def avg_clustering(self) -> float:
        if self.nh == 0:
            return math.nan
        return self.get(
            "acc", lambda: float(self.und.transitivity_avglocal_undirected(mode="zero"))
        )

    def clustering_ratio(self) -> float:
        p = self.density()
        return self.avg_clustering() / p if p > 0 else math.nan

    def path_length_ratio(self) -> float:
        k = 2.0 * self.h_src.size / self.nh if self.nh else math.nan
        if not k > 1:
            return math.nan
        return self.avg_path() / (math.log(self.nh) / math.log(k))

    # -- whole net, directed ---------------------------------------------------------------
    # -- hidden graph, directed: paths from its sources to its sinks -----------------------
    @property
    def h_level(self) -> np.ndarray:
        return self.get("h_level", lambda: _levels(self.h_src, self.h_dst, self.nh))

    @property
    def ends(self) -> tuple[np.ndarray, np.ndarray]:
        def build():
            indeg = np.bincount(self.h_dst, minlength=self.nh)
            outdeg = np.bincount(self.h_src, minlength=self.nh)
            return np.flatnonzero(indeg == 0), np.flatnonzero(outdeg == 0)

        return self.get("ends", build)

    def shortest(self) -> tuple[float, float]:
        def build():
            import igraph as ig

            sources, sinks = self.ends
            g = ig.Graph(
                n=self.nh, edges=np.stack([self.h_src, self.h_dst], 1).tolist(), directed=True
            )
            d = np.asarray(
                g.distances(source=sources.tolist(), target=sinks.tolist(), mode="out"),
                dtype=np.float64,
            )
            return _mean_std(d[np.isfinite(d)])

        return self.get("shortest", build)

    def longest(self) -> tuple[float, float]:
        def build():
            sources, sinks = self.ends
            level = self.h_level
            # Edges by destination level, then destination: one reduceat per level.
            order = np.lexsort((self.h_dst, level[self.h_dst]))
            src, dst = self.h_src[order], self.h_dst[order]
            lev = level[dst]
            bounds = np.searchsorted(lev, np.arange(1, int(level.max(initial=0)) + 2))
            found = []
            block = max(1, _BLOCK_ENTRIES // max(self.nh, 1))
            for b in range(0, sources.size, block):
                rows = sources[b : b + block]
                L = np.full((rows.size, self.nh), -np.inf)
                L[np.arange(rows.size), rows] = 0.0
                for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
                    if lo == hi:
                        continue
                    d = dst[lo:hi]
                    starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
                    L[:, d[starts]] = np.maximum.reduceat(L[:, src[lo:hi]] + 1.0, starts, axis=1)
                part = L[:, sinks]
                found.append(part[np.isfinite(part)])
            return _mean_std(np.concatenate(found) if found else [])

        return self.get("longest", build)

    def random_walk(self) -> tuple[float, float]:
        def build():
            sources, _ = self.ends
            if sources.size == 0:
                return math.nan, math.nan
            level = self.h_level
            outdeg = np.bincount(self.h_src, minlength=self.nh).astype(np.float64)
            order = np.lexsort((self.h_src, level[self.h_src]))
            src, dst = self.h_src[order], self.h_dst[order]
            lev = level[src]
            h = np.zeros(self.nh)
            g = np.zeros(self.nh)
            # Successors of a node sit on higher levels, so they are final when we get to it.
            for lvl in range(int(level.max(initial=0)), -1, -1):
                lo, hi = np.searchsorted(lev, [lvl, lvl + 1])
                if lo == hi:
                    continue
                s, d = src[lo:hi], dst[lo:hi]
                starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
                v = s[starts]
                h_sum = np.add.reduceat(h[d], starts)
                g_sum = np.add.reduceat(2.0 * h[d] + g[d], starts)
                h[v] = 1.0 + h_sum / outdeg[v]
                g[v] = 1.0 + g_sum / outdeg[v]
            mean = float(h[sources].mean())
            second = float(g[sources].mean())
            return mean, math.sqrt(max(second - mean * mean, 0.0))

        return self.get("walk", build)

    def fan_in(self) -> tuple[float, float]:
        indeg = np.bincount(self.dst, minlength=self.n)
        keep = np.ones(self.n, dtype=bool)
        keep[self.s.inputs.numpy()] = False
        return _mean_std(indeg[keep])

    def layer_mass(self) -> tuple[float, float]:
        def build():
            level = self.s.level
            depth = int(level.max(initial=-1)) + 1
            if depth < 2:
                return math.nan, math.nan
            size = np.bincount(level, minlength=depth)
            feeders = np.unique(level[self.dst] * self.n + self.src) // self.n
            fed = np.bincount(feeders, minlength=depth)
            return _mean_std((size * fed)[1:])

        return self.get("mass", build)


def _hidden_layers(G: _Graphs) -> int:
    lv = G.h_level
    return int(lv.max()) + 1 if lv.size else 0


_COMPUTE: dict[str, Callable[[_Graphs], float]] = {
    "layers": _hidden_layers,
    "nodes": lambda G: G.nh,
    "edges": lambda G: int(G.h_src.size),
    "source_nodes": lambda G: int(G.nh - np.unique(G.h_dst).size),
    "diameter": lambda G: float(G.und.diameter(directed=False, unconn=True)) if G.nh else math.nan,
    "density": lambda G: G.density(),
    "average_shortest_path_length": lambda G: G.avg_path(),
    "eccentricity_var": lambda G: _var(G.und.eccentricity()),
    "degree_var": lambda G: _var(G.und.degree()),
    "closeness_var": lambda G: _var(
        np.nan_to_num(np.asarray(G.und.closeness(normalized=True), dtype=np.float64), nan=0.0)
    ),
    "nodes_betweenness_var": lambda G: _var(G.und.betweenness(directed=False)),
    "edge_betweenness_var": lambda G: _var(G.und.edge_betweenness(directed=False)),
    "transitivity": lambda G: (
        float(G.und.transitivity_undirected(mode="zero")) if G.nh else math.nan
    ),
    "average_clustering": lambda G: G.avg_clustering(),
    "clustering_ratio": lambda G: G.clustering_ratio(),
    "path_length_ratio": lambda G: G.path_length_ratio(),
    "small_world_sigma": lambda G: G.clustering_ratio() / G.path_length_ratio(),
    "depth": lambda G: G.s.num_levels,
    "shortest_path_mean": lambda G: G.shortest()[0],
    "shortest_path_std": lambda G: G.shortest()[1],
    "longest_path_mean": lambda G: G.longest()[0],
    "longest_path_std": lambda G: G.longest()[1],
    "random_walk_mean": lambda G: G.random_walk()[0],
    "random_walk_std": lambda G: G.random_walk()[1],
    "fan_in_mean": lambda G: G.fan_in()[0],
    "fan_in_std": lambda G: G.fan_in()[1],
    "layer_mass_mean": lambda G: G.layer_mass()[0],
    "layer_mass_std": lambda G: G.layer_mass()[1],
}


def _structure(net) -> Structure:
    """The structure to measure: the delay-0 part of a recurrent one (module docstring)."""
    if isinstance(net, Structure):
        return net.feedforward()[0]
    s = getattr(net, "structure", None)
    if isinstance(s, Structure):
        return s.feedforward()[0]
    raise TypeError(f"expected a graphnets GraphNet or Structure, got {type(net).__name__}")


def _names(which: Iterable[str] | None) -> list[str]:
    if which is None:
        return list(PROPERTIES)
    if isinstance(which, str):
        raise TypeError(
            f"which must be a collection of property names, got the string "
            f"{which!r}; write which=[{which!r}]"
        )
    names = list(which)
    unknown = [w for w in names if w not in _COMPUTE]
    if unknown:
        raise ValueError(
            f"unknown propert{'y' if len(unknown) == 1 else 'ies'} "
            f"{', '.join(map(repr, unknown))}; expected some of "
            f"{', '.join(PROPERTIES)}"
        )
    return [p for p in PROPERTIES if p in set(names)]


def properties(net, *, which: Iterable[str] | None = None) -> dict[str, float]:
    """Graph properties of a net (see the module docstring for every definition).

    Args:
        net (GraphNet or Structure): the net to measure.
        which (collection of str, optional): the properties to compute, any of
            :data:`PROPERTIES`; only what they need is computed (default: all).

    Returns:
        dict: property name → value (``int`` for counts, else ``float``; ``nan`` where undefined),
        in the order of :data:`PROPERTIES`.

    Raises:
        TypeError: if ``net`` is neither a GraphNet nor a Structure, or ``which`` is a string.
        ValueError: on an unknown property name (the message lists the accepted ones).

    Example:
        >>> import graphnets
        >>> net = graphnets.mlp([2, 3, 3, 1], seed=0)
        >>> p = properties(net, which=["nodes", "edges", "layers", "longest_path_mean"])
        >>> p
        {'layers': 2, 'nodes': 6, 'edges': 9, 'longest_path_mean': 1.0}
    """
    s = _structure(net)
    names = _names(which)
    G = _Graphs(s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nan / nan where undefined
        return {name: _COMPUTE[name](G) for name in names}


def properties_table(nets: Sequence | Mapping, *, which: Iterable[str] | None = None):
    """One row of :func:`properties` per net, as a ``pandas.DataFrame``.

    Args:
        nets: a sequence of nets (rows indexed ``0..k-1``) or a mapping name → net (rows indexed
            by name).
        which: as for :func:`properties` (default: all).

    Example:
        >>> import graphnets
        >>> nets = {w: graphnets.mlp([2, w, 1], seed=0) for w in (3, 5)}
        >>> properties_table(nets, which=["nodes", "edges"])
           nodes  edges
        3      3      0
        5      5      0
    """
    import pandas as pd

    names = _names(which)
    if isinstance(nets, Mapping):
        keys, values = list(nets.keys()), list(nets.values())
    elif (
        isinstance(nets, Iterable)
        and not isinstance(nets, (Structure, str))
        and not hasattr(nets, "structure")
    ):
        values = list(nets)
        keys = list(range(len(values)))
    else:
        raise TypeError(
            f"expected a sequence or a mapping of nets, got {type(nets).__name__}; "
            "wrap a single net in a list"
        )
    rows = [properties(v, which=names) for v in values]
    return pd.DataFrame(rows, index=keys, columns=names)


def correlations(table, target, *, columns: Iterable[str] | None = None):
    """Pearson and Spearman correlation of every property with a target, as in Table 1.

    Computed with ``scipy.stats.pearsonr`` / ``spearmanr`` over the rows where both the property
    and the target are finite. With fewer than 3 such rows, or a constant column, the
    coefficients and p-values are ``nan``.

    Args:
        table (pandas.DataFrame): e.g. from :func:`properties_table`.
        target (str or sequence): a column of ``table`` (left out of the properties), or one
            value per row (e.g. test accuracies).
        columns (collection of str, optional): the properties to correlate
            (default: every numeric column but the target).

    Returns:
        pandas.DataFrame: one row per property, columns ``pearson``, ``pearson_p``,
        ``spearman``, ``spearman_p``, ``n`` (rows used).

    Raises:
        ValueError: if ``target`` is not a column, has the wrong length, or a column is unknown.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"nodes": [1, 2, 3, 4], "acc": [0.1, 0.2, 0.4, 0.8]})
        >>> correlations(t, "acc")[["spearman", "n"]]
               spearman  n
        nodes       1.0  4
    """
    import pandas as pd
    from scipy import stats

    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(table).__name__}")
    if isinstance(target, str):
        if target not in table.columns:
            raise ValueError(
                f"target {target!r} is not a column of the table; columns are "
                f"{', '.join(map(str, table.columns))}"
            )
        y = table[target].to_numpy(dtype=np.float64)
        skip = {target}
    else:
        y = np.asarray(target, dtype=np.float64).reshape(-1)
        if y.size != len(table):
            raise ValueError(f"expected one target value per row ({len(table)}), got {y.size}")
        skip = set()
    if columns is None:
        columns = [c for c in table.select_dtypes("number").columns if c not in skip]
    else:
        columns = list(columns)
        unknown = [c for c in columns if c not in table.columns]
        if unknown:
            raise ValueError(
                f"unknown column {unknown[0]!r}; columns are {', '.join(map(str, table.columns))}"
            )
    rows = {}
    for c in columns:
        x = table[c].to_numpy(dtype=np.float64)
        ok = np.isfinite(x) & np.isfinite(y)
        xs, ys = x[ok], y[ok]
        r = dict(
            pearson=math.nan,
            pearson_p=math.nan,
            spearman=math.nan,
            spearman_p=math.nan,
            n=int(ok.sum()),
        )
        if xs.size >= 3 and np.ptp(xs) > 0 and np.ptp(ys) > 0:
            pr, sr = stats.pearsonr(xs, ys), stats.spearmanr(xs, ys)
            r.update(
                pearson=float(pr.statistic),
                pearson_p=float(pr.pvalue),
                spearman=float(sr.statistic),
                spearman_p=float(sr.pvalue),
            )
        rows[c] = r
    return pd.DataFrame.from_dict(
        rows, orient="index", columns=["pearson", "pearson_p", "spearman", "spearman_p", "n"]
    )
