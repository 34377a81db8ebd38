"""Builders of graph-structured recurrent cells (:class:`graphnets.nn.cells.GraphRNN`).

:func:`complete` (torch's dense layer), :func:`from_torch` (a torch RNN / LSTM / GRU with its
weights), :func:`from_prior` (a random DAG with the recurrent connections of ``002_…`` Fig. 6c),
:func:`watts_strogatz` and :func:`barabasi_albert`. The cell itself, its pruning and
:class:`~graphnets.nn.cells.SequenceClassifier` are re-exported here, so ``graphnets.cells``
holds everything about cells.
"""

from __future__ import annotations

import networkx as nx
import torch
from torch import nn

from .._util.checks import positive_int
from .._util.seeds import spawn
from ..core.levels import CycleError
from ..nn.cells import (
    GATES,
    MODES,
    RECURRENT,
    GraphRNN,
    SequenceClassifier,
    check_mode,
    magnitude_prune,
)
from .priors import ba_graph, layer_index, orient, ws_graph

__all__ = [
    "MODES",
    "GraphRNN",
    "complete",
    "from_torch",
    "from_prior",
    "watts_strogatz",
    "barabasi_albert",
    "magnitude_prune",
    "SequenceClassifier",
]


def _complete_edges(num_inputs: int, num_hidden: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Row-major edge order of torch's matrices: edge ``v*n + u`` is ``u → v``."""
    n_in, H = num_inputs, num_hidden
    v, u = torch.meshgrid(torch.arange(H), torch.arange(n_in), indexing="ij")
    i2h = torch.stack([u.reshape(-1), v.reshape(-1) + n_in])
    v, u = torch.meshgrid(torch.arange(H), torch.arange(H), indexing="ij")
    h2h = torch.stack([u.reshape(-1), v.reshape(-1)]) + n_in
    return i2h, h2h


def complete(
    mode: str,
    num_inputs: int,
    num_hidden: int,
    *,
    batch_first: bool = False,
    seed: int | torch.Generator | None = None,
    dtype: torch.dtype | None = None,
) -> GraphRNN:
    """Every input → every hidden node, every hidden → every hidden node: torch's dense layer.

    Edge ``v * num_inputs + u`` is input ``u`` → hidden ``v`` (h2h: ``v * H + u``), so
    ``weight.t().reshape(G, H, n_in)`` is torch's ``weight_ih.view(G, H, n_in)``.

    Example:
        >>> complete("lstm", 7, 50, seed=0)  # doctest: +NORMALIZE_WHITESPACE
        GraphRNN(mode='lstm', inputs=7, hidden=50, i2h=350 (350 from inputs, 0 skip),
                 h2h=2500, levels=1, density=100.0%)
    """
    n_in, H = positive_int(num_inputs, "num_inputs"), positive_int(num_hidden, "num_hidden")
    i2h, h2h = _complete_edges(n_in, H)
    return GraphRNN(mode, n_in, H, i2h, h2h, batch_first=batch_first, seed=seed, dtype=dtype)


def from_torch(module: nn.Module) -> GraphRNN:
    """A complete cell with the weights (and dtype, ``batch_first``) of a torch RNN/LSTM/GRU.

    Args:
        module: a one-layer, unidirectional ``torch.nn.RNN``, ``LSTM`` or ``GRU`` with biases
            (and, for LSTM, no projection).

    Raises:
        TypeError: not one of those modules.
        ValueError: several layers, bidirectional, ``bias=False`` or ``proj_size > 0``.

    Example:
        >>> rnn = torch.nn.GRU(3, 4)
        >>> cell = from_torch(rnn)
        >>> x = torch.randn(6, 2, 3)
        >>> torch.allclose(cell(x)[0], rnn(x)[0], atol=1e-6)
        True
    """
    if isinstance(module, nn.LSTM):
        mode = "lstm"
    elif isinstance(module, nn.GRU):
        mode = "gru"
    elif isinstance(module, nn.RNN):
        mode = "rnn_" + module.nonlinearity
    else:
        raise TypeError(f"expected a torch.nn.RNN, LSTM or GRU, got {type(module).__name__}")
    proj = getattr(module, "proj_size", 0)
    for bad, what in (
        (module.num_layers != 1, f"num_layers={module.num_layers}"),
        (module.bidirectional, "bidirectional=True"),
        (not module.bias, "bias=False"),
        (proj > 0, f"proj_size={proj}"),
    ):
        if bad:
            raise ValueError(
                f"expected a one-layer unidirectional module with biases and no "
                f"projection, got {what}; convert each layer / direction separately"
            )
    G, H, n_in = GATES[mode], module.hidden_size, module.input_size
    cell = complete(mode, n_in, H, batch_first=module.batch_first, dtype=module.weight_ih_l0.dtype)
    with torch.no_grad():
        cell.weight.copy_(module.weight_ih_l0.view(G, H * n_in).t())
        cell.recurrent_weight.copy_(module.weight_hh_l0.view(G, H * H).t())
        cell.bias.copy_(module.bias_ih_l0.view(G, H).t())
        cell.recurrent_bias.copy_(module.bias_hh_l0.view(G, H).t())
    return cell.to(module.weight_ih_l0.device)


def from_prior(
    mode: str,
    num_inputs: int,
    D: nx.Graph,
    *,
    recurrent: str = "level",
    inputs_to: str = "sources",
    orientation: str = "random",
    batch_first: bool = False,
    seed: int | torch.Generator | None = None,
    dtype: torch.dtype | None = None,
) -> GraphRNN:
    """A cell whose hidden neurons are the nodes of a DAG (``002_…`` §4.3, Fig. 6b/6c).

    Hidden node ``k`` (id ``num_inputs + k``) is the ``k``-th node of ``D.nodes``; the DAG's
    edges are the delay-0 hidden → hidden (skip) edges, so the cell computes the DAG layer by
    layer inside every time step. Inputs feed the DAG's sources (``inputs_to="sources"``, Fig.
    6b) or every node (``"all"``). Recurrent connections (Fig. 6c) per ``recurrent``:

    * ``"level"``: every node to every node of the same layer index (self loops included), the
      paper's ``U h_{t-1}^l`` per layer ``l``;
    * ``"self"``: every node to itself;  ``"complete"``: every node to every node;
      ``"none"``: no recurrence.

    Args:
        mode (str): see :class:`GraphRNN`.
        num_inputs (int): input features.
        D (networkx.DiGraph or Graph): the hidden DAG; an undirected graph is made one with
            :func:`graphnets.priors.orient` (``orientation``, seeded).
        recurrent, inputs_to (str): see above (defaults: ``"level"``, ``"sources"``).
        orientation (str): for an undirected ``D`` (default: ``"random"``).
        batch_first, dtype: see :class:`GraphRNN`.
        seed (int or torch.Generator, optional): orientation and weights (default: ``None``).

    Raises:
        ValueError: unknown ``recurrent`` / ``inputs_to``, an empty graph, self loops.
        graphnets.CycleError: a directed ``D`` with a cycle.

    Example:
        >>> import networkx as nx
        >>> cell = from_prior("lstm", 3, nx.DiGraph([(0, 1), (0, 2), (1, 2)]), seed=0)
        >>> cell.levels.tolist(), cell.num_edges
        ([0, 1, 2], {'i2h': 6, 'h2h': 3})
    """
    check_mode(mode)
    n_in = positive_int(num_inputs, "num_inputs")
    if recurrent not in RECURRENT:
        raise ValueError(
            f"unknown recurrent {recurrent!r}; expected one of {', '.join(map(repr, RECURRENT))}"
        )
    if inputs_to not in ("sources", "all"):
        raise ValueError(f"unknown inputs_to {inputs_to!r}; expected 'sources' or 'all'")
    if not isinstance(D, nx.Graph):
        raise TypeError(f"expected a networkx Graph or DiGraph, got {type(D).__name__}")
    if D.number_of_nodes() == 0:
        raise ValueError("the prior graph has no nodes; give it at least one")
    loop = next(iter(nx.selfloop_edges(D)), None)
    if loop is not None:
        raise ValueError(
            f"self loop on node {loop[0]!r}; a prior graph must have no self loops "
            "(recurrence comes from the recurrent option)"
        )
    s_orient, s_weights = spawn(seed, 2)
    if not D.is_directed():
        D = orient(D, orientation=orientation, seed=s_orient)
    nodes = list(D.nodes)
    index = {v: n_in + k for k, v in enumerate(nodes)}
    H = len(nodes)
    sources = nodes if inputs_to == "all" else [v for v in nodes if D.in_degree(v) == 0]
    i2h = [(u, index[v]) for v in sources for u in range(n_in)]
    i2h += [(index[u], index[v]) for u, v in D.edges]
    if recurrent == "none":
        h2h = []
    elif recurrent == "self":
        h2h = [(index[v], index[v]) for v in nodes]
    elif recurrent == "complete":
        h2h = [(index[u], index[v]) for v in nodes for u in nodes]
    else:
        if not nx.is_directed_acyclic_graph(D):
            cycle = [index[u] for u, _ in nx.find_cycle(D)]
            raise CycleError(
                f"the prior graph has the cycle {' -> '.join(map(str, cycle))}; give a DAG", cycle
            )
        layer = layer_index(D)
        h2h = [(index[u], index[v]) for v in nodes for u in nodes if layer[u] == layer[v]]
    as_ei = lambda pairs: torch.tensor(pairs, dtype=torch.long).reshape(-1, 2).t()  # noqa: E731
    return GraphRNN(
        mode, n_in, H, as_ei(i2h), as_ei(h2h), batch_first=batch_first, seed=s_weights, dtype=dtype
    )


def watts_strogatz(
    mode: str,
    num_inputs: int,
    n: int,
    k: int,
    p: float,
    *,
    seed: int | torch.Generator | None = None,
    **options,
) -> GraphRNN:
    """A Watts–Strogatz small-world cell (``networkx.watts_strogatz_graph(n, k, p)``).

    ``options`` go to :func:`from_prior` (``recurrent``, ``inputs_to``, ...).

    Example:
        >>> watts_strogatz("gru", 7, 20, 4, 0.3, seed=1).num_hidden
        20
    """
    G, s_rest = ws_graph(n, k, p, seed)
    return from_prior(mode, num_inputs, G, seed=s_rest, **options)


def barabasi_albert(
    mode: str,
    num_inputs: int,
    n: int,
    m: int,
    *,
    seed: int | torch.Generator | None = None,
    **options,
) -> GraphRNN:
    """A Barabási–Albert preferential-attachment cell (``networkx.barabasi_albert_graph``).

    ``options`` go to :func:`from_prior`.
    """
    G, s_rest = ba_graph(n, m, seed)
    return from_prior(mode, num_inputs, G, seed=s_rest, **options)
