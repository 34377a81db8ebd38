r"""Graph-structured recurrent cells: RNN-tanh, RNN-ReLU, LSTM and GRU whose connections are graphs.

One layer of ``num_hidden`` recurrent neurons fed by ``num_inputs`` inputs, per ``002_…`` §2:

.. math::

    h_t^l = \sigma\Big(\sum_{s<l} (W^{s\to l} \odot M^{s\to l})\, h_t^s + U h_{t-1}^l + b^l\Big)

Nodes ``0..num_inputs-1`` are the inputs, ``num_inputs..num_inputs+num_hidden-1`` the hidden
neurons. Two edge lists make the graph:

* ``edge_index [2, E]``, the feed-forward **i2h** edges (delay 0): source an input or a hidden
  node, destination a hidden node. Hidden → hidden i2h edges are skip connections inside one time
  step and must form a DAG; its layer indices (``002_…`` §4.3) are :attr:`GraphRNN.levels`.
* ``recurrent_edge_index [2, R]``, the **h2h** edges (delay 1): hidden → hidden from the previous
  time step, any pattern, self loops included.

Every structural edge carries one weight per gate, ``weight [E, G]`` and ``recurrent_weight
[R, G]`` with ``G`` = 1 (RNN), 4 (LSTM, gates ``i, f, g, o``) or 3 (GRU, gates ``r, z, n``), in
torch's gate order; removing an edge removes all its gates at once. Per time step and per hidden
node ``v``, level by level:

.. code-block:: text

    gi_v = Σ_{(u→v) i2h} weight[e] · a_u(t)   + bias[v]            a_u(t) = x_t[u] or h_u(t)
    gh_v = Σ_{(u→v) h2h} recurrent_weight[e] · h_u(t-1) + recurrent_bias[v]

then torch's cell equations per node: RNN ``h = σ(gi + gh)``; LSTM ``i, f, o = sigmoid``,
``g = tanh`` of ``gi + gh``, ``c = f c + i g``, ``h = o tanh(c)``; GRU ``r, z = sigmoid(gi + gh)``,
``n = tanh(gi_n + r (gh_n))``, ``h = (1 - z) n + z h``. With a complete structure the cell *is*
``torch.nn.RNN`` / ``LSTM`` / ``GRU`` (same weights, same outputs and gradients); with a sparse one
it is that module with its weights zeroed where no edge is.

How it runs. The topology is one :class:`~graphnets.core.structure.Structure`,
:attr:`GraphRNN.structure`: nodes ``0..n_in+H-1`` labelled by their ints, the inputs, the hidden
nodes as its outputs (activation ``tanh`` / ``relu`` for the RNN modes, ``identity`` for LSTM and
GRU, whose gates are not scalar neurons), the i2h edges first (delay 0), then the h2h edges
(delay 1). It validates the graph as it does a GraphNet's (node ids, duplicate edges, edges into
inputs, delay-0 self loops and cycles, each named by label); the cell adds only that h2h edges
start at hidden nodes. Edits replace it with a
:meth:`~graphnets.core.structure.Structure.subgraph`. The levels are those of
:func:`graphnets.core.levels.levels` over the delay-0 hidden → hidden edges, and the hidden nodes
are ordered by level. On the CPU (float32 / float64) a cell runs the C++ kernel of
:mod:`graphnets.kernels.recurrent`: the input part of every step is one matmul, then all steps
and levels in one call with a hand-written backward through time; the recurrent product is one
masked dense matmul per step, or per edge when the h2h edges are fewer than
:data:`SPARSE_RECURRENT` of ``H²``. The one exception is a one-level LSTM with dense h2h edges,
which runs torch's own fused layer (``torch._VF.lstm``) on the masked dense matrices: it is
faster there (``benchmarks/bench_cells.py``). Elsewhere (another device or dtype, no compiler,
or :attr:`GraphRNN.kernel` ``= "torch"``) the edge weights are scattered into torch-layout dense
matrices once per forward (autograd flows back to the edge parameters only); a structure without
hidden skip edges (one level) runs torch's own layer on them, one with skip edges does, per
step, one matmul for the recurrent part plus one per level in a Python loop. Memory is
``O(G·H·(n_in + H))`` whatever the sparsity.
The buffers ``edge_index`` and ``recurrent_edge_index`` mirror the structure's two kinds of edges:
they are what a state dict holds, and loading one rebuilds the structure from them.

Builders: :func:`complete`, :func:`from_torch`, :func:`from_prior` (a random DAG with the
recurrent connections of ``002_…`` Fig. 6c), :func:`watts_strogatz`, :func:`barabasi_albert`.
Edits: :meth:`GraphRNN.remove_edges`, :func:`magnitude_prune` (§4.2). :class:`SequenceClassifier`
puts a linear read-out on the last real step of zero-padded sequences.

Not checked: finiteness of weights; that ``SequenceClassifier`` inputs are padded at the end only.
Not done: multi-layer or bidirectional stacks (stack cells yourself), LSTM projections, dropout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import networkx as nx
import numpy as np
import torch
from torch import _VF, nn

from .._util.checks import amount as check_amount
from .._util.checks import positive_int
from .._util.params import replace_data
from .._util.seeds import generator as _generator
from .._util.signals import deferred_interrupt
from ..core.levels import levels as _levels
from ..core.structure import Structure
from ..kernels import recurrent as cell_kernel
from .edits import remap_optimizer_state
from .graphnet import GraphNet

__all__ = [
    "MODES",
    "GATES",
    "RECURRENT",
    "CELL_KERNELS",
    "SPARSE_RECURRENT",
    "GraphRNN",
    "check_mode",
    "magnitude_prune",
    "SequenceClassifier",
]

MODES = ("rnn_tanh", "rnn_relu", "lstm", "gru")
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
KINDS = ("i2h", "h2h")
RECURRENT = ("level", "self", "complete", "none")
#: The values of :attr:`GraphRNN.kernel`.
CELL_KERNELS = ("auto", "cpp", "torch")
#: h2h density under which the C++ kernel computes the recurrent product per edge rather than
#: as a masked dense matmul (``benchmarks/bench_cells.py``, the crossover table)
SPARSE_RECURRENT = 0.3


# ----------------------------------------------------------------------------- pure functions


def check_mode(mode: object) -> str:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(map(repr, MODES))}")
    return mode


def _check_kind(kind: object) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected 'i2h' or 'h2h'")
    return kind


def _as_edge_index(edges: object, name: str) -> torch.Tensor:
    """``[2, E]`` int64 on the CPU, from a tensor, array or nested list."""
    if edges is None:
        return torch.zeros(2, 0, dtype=torch.long)
    t = edges if isinstance(edges, torch.Tensor) else torch.as_tensor(np.asarray(edges))
    if t.numel() == 0:  # [] and np.asarray([]) (float64) both mean "no edges"
        return torch.zeros(2, 0, dtype=torch.long)
    if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
        raise TypeError(f"expected {name} to hold integer node ids, got dtype {t.dtype}")
    if t.dim() != 2 or t.shape[0] != 2:
        raise ValueError(f"expected {name} of shape [2, num_edges], got {list(t.shape)}")
    return t.detach().to("cpu", torch.long)


def _cell_structure(
    mode: str, num_inputs: int, num_hidden: int, edge_index: torch.Tensor, recurrent: torch.Tensor
) -> Structure:
    """The validated structure of a cell's graph (see :attr:`GraphRNN.structure`).

    The structure checks node ids, duplicates, edges into inputs, delay-0 self loops and
    delay-0 cycles; this adds the one rule of a cell beyond it: h2h edges leave hidden nodes.
    """
    n_in, N = num_inputs, num_inputs + num_hidden
    act = mode[4:] if mode.startswith("rnn") else "identity"
    E, R = edge_index.shape[1], recurrent.shape[1]
    structure = Structure(
        torch.cat([edge_index, recurrent], 1),
        range(N),
        range(n_in),
        range(n_in, N),
        ["identity"] * n_in + [act] * num_hidden,
        torch.cat([torch.zeros(E, dtype=torch.long), torch.ones(R, dtype=torch.long)]),
    )
    from_input = (recurrent[0] < n_in).nonzero().flatten()
    if from_input.numel():
        u, v = recurrent[:, int(from_input[0])].tolist()
        raise ValueError(
            f"recurrent_edge_index has the edge {u} -> {v} out of input node {u}; h2h edges "
            f"join hidden nodes ({n_in}..{N - 1}): feed inputs through edge_index"
        )
    return structure


def _drop_mask(kind: str, edges: object, num_edges: int) -> torch.Tensor:
    """``[num_edges]`` bool mask of the ``kind`` edges to remove, from a mask or ids."""
    t = edges if isinstance(edges, torch.Tensor) else torch.as_tensor(np.asarray(edges))
    t = t.to("cpu")
    if t.dtype == torch.bool:
        if list(t.shape) != [num_edges]:
            raise ValueError(f"expected a {kind} mask of shape [{num_edges}], got {list(t.shape)}")
        return t
    if t.dtype.is_floating_point or t.dtype.is_complex or t.dim() > 1:
        raise ValueError(
            f"expected {kind} edges as a bool mask or a 1-d list of ids, got "
            f"dtype {t.dtype} and shape {list(t.shape)}"
        )
    t = t.reshape(-1).long()
    bad = (t < 0) | (t >= num_edges)
    if bool(bad.any()):
        raise ValueError(
            f"the {kind} edges to remove has id {int(t[bad][0])}, expected ids in "
            f"0..{num_edges - 1}"
        )
    drop = torch.zeros(num_edges, dtype=torch.bool)
    drop[t] = True
    return drop


def _dense(values: torch.Tensor, flat: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """Scatter ``values [k, G]`` to the ``flat [G, k]`` positions of a zero ``[G*rows, cols]``."""
    G, rows, cols = shape
    # scatter, not index_put: its backward (a gather) is ~10x faster at these sizes
    out = values.new_zeros(G * rows * cols).scatter(0, flat.reshape(-1), values.t().reshape(-1))
    return out.view(G * rows, cols)


def _flat_index(
    rows: torch.Tensor, cols: torch.Tensor, G: int, n_rows: int, n_cols: int
) -> torch.Tensor:
    """``[G, k]`` positions of ``(rows, cols)`` in every gate block of a ``[G*n_rows, n_cols]``."""
    gate = torch.arange(G).view(G, 1) * (n_rows * n_cols)
    return gate + (rows * n_cols + cols).view(1, -1)


class _EditGuard(torch.autograd.Function):
    """Identity on a cell's parameters whose backward refuses a graph from before an edit.

    An edit swaps a parameter's data for data of another shape (``replace_data``); a ``loss``
    computed before it on the torch path would otherwise backpropagate gradients of the old
    shape into the new parameter, silently (a ``.grad`` of ``[E_old, G]`` on a ``[E_new, G]``
    weight). The C++ paths save the weights in their autograd Functions instead, so torch's
    own version check refuses such a graph at no cost per step.
    """

    @staticmethod
    def forward(ctx, cell, *params):  # type: ignore[override]
        ctx.cell, ctx.edits = cell, cell._edits
        # copies, not views: the edit's in-place swap of a view's base is torch's own error
        # (raised before this backward could say what happened); the parameters are small
        return tuple(p.clone() for p in params)

    @staticmethod
    def backward(ctx, *grads):  # type: ignore[override]
        if ctx.cell._edits != ctx.edits:
            raise RuntimeError(
                f"this graph was computed before the cell was edited ({ctx.cell._edits - ctx.edits}"
                " edit(s) since, remove_edges or magnitude_prune): its "
                "gradients have the old edge count; compute the loss again after the edit"
            )
        return (None, *grads)


class _Plan(NamedTuple):
    levels: torch.Tensor  # [H] level of every hidden node
    bounds: list[tuple[int, int]]  # per level, its slice of the level-sorted hidden nodes
    skip_levels: list[int]  # the levels that receive skip edges (the others skip their matmul)
    identity: bool  # whether the level order is the node order
    tensors: dict[str, torch.Tensor]  # the index tensors of the forward pass


def _plan(structure: Structure, num_inputs: int, num_hidden: int, num_gates: int) -> _Plan:
    """Levels of the hidden nodes and the index tensors of the forward pass (once per edit).

    The levels are the layer indices (``002_…`` §4.3) of the DAG of delay-0 hidden → hidden
    edges, hidden sources at 0; the structure has ruled out its cycles.
    """
    n_in, H, G = num_inputs, num_hidden, num_gates
    ff = structure.delay == 0
    src, dst = structure.edge_index[:, ff]
    rsrc, rdst = structure.edge_index[:, ~ff] - n_in
    hid = src >= n_in
    lv = torch.from_numpy(_levels((src[hid] - n_in).numpy(), (dst[hid] - n_in).numpy(), H))
    # hidden nodes sorted by level (stable): every level is a contiguous slice
    order = torch.argsort(lv, stable=True)
    pos = torch.empty_like(order)
    pos[order] = torch.arange(H)
    counts = torch.bincount(lv, minlength=1).tolist()
    bounds = np.concatenate([[0], np.cumsum(counts)]).tolist()
    in_ids = (~hid).nonzero().flatten()
    skip_ids = hid.nonzero().flatten()
    tensors = {
        "order": order,
        "pos": pos,
        "in_ids": in_ids,
        "in_flat": _flat_index(pos[dst[in_ids] - n_in], src[in_ids], G, H, n_in).contiguous(),
        "skip_ids": skip_ids,
        "skip_flat": _flat_index(pos[dst[skip_ids] - n_in], pos[src[skip_ids] - n_in], G, H, H),
        "rec_flat": _flat_index(pos[rdst], pos[rsrc], G, H, H).contiguous(),
    }
    # the skip edges as CSR by destination position, for the C++ kernel (kernels/recurrent.py)
    skip_dst = pos[dst[skip_ids] - n_in]
    by_dst = torch.argsort(skip_dst, stable=True)
    tensors["skip_sorted"] = skip_ids[by_dst]
    tensors["skip_src"] = pos[src[skip_ids] - n_in][by_dst].contiguous()
    tensors["skip_ptr"] = torch.cat(
        [torch.zeros(1, dtype=torch.long), torch.cumsum(torch.bincount(skip_dst, minlength=H), 0)]
    )
    # and the h2h edges, for the kernel's sparse recurrent product
    rec_dst = pos[rdst]
    by_dst = torch.argsort(rec_dst, stable=True)
    tensors["rec_sorted"] = by_dst
    tensors["rec_src"] = pos[rsrc][by_dst].contiguous()
    tensors["rec_ptr"] = torch.cat(
        [torch.zeros(1, dtype=torch.long), torch.cumsum(torch.bincount(rec_dst, minlength=H), 0)]
    )
    return _Plan(
        lv,
        list(zip(bounds[:-1], bounds[1:], strict=True)),
        sorted(set(lv[dst[skip_ids] - n_in].tolist())),
        bool((order == torch.arange(H)).all()),
        tensors,
    )


def _step(
    mode: str, gi: torch.Tensor, gh: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """torch's cell equations on ``gi, gh [B, G, n]`` and ``h, c [B, n]``.

    Gates are taken apart with ``unbind``/``squeeze``, not indexing: the backward of ``x[:, k]``
    allocates and fills a zero tensor of all of ``x`` per gate, ``unbind``'s stacks once.
    """
    if mode == "rnn_tanh":
        return torch.tanh((gi + gh).squeeze(1)), None
    if mode == "rnn_relu":
        return torch.relu((gi + gh).squeeze(1)), None
    if mode == "lstm":
        s = gi + gh
        i, f, _, o = torch.sigmoid(s).unbind(1)  # the g gate's sigmoid goes unused: one op
        c = f * c + i * torch.tanh(s.unbind(1)[2])
        return o * torch.tanh(c), c
    (gi_r, gi_z, gi_n), (gh_r, gh_z, gh_n) = gi.unbind(1), gh.unbind(1)
    r, z = torch.sigmoid(gi_r + gh_r), torch.sigmoid(gi_z + gh_z)
    n = torch.tanh(gi_n + r * gh_n)
    return n + z * (h - n), None


# ----------------------------------------------------------------------------- the module


class GraphRNN(nn.Module):
    r"""A recurrent layer (RNN-tanh, RNN-ReLU, LSTM or GRU) whose connectivity is a graph.

    See the module docstring for the maths and the edge / gate layout.

    Args:
        mode (str): ``"rnn_tanh"``, ``"rnn_relu"``, ``"lstm"`` or ``"gru"``.
        num_inputs (int): input features per step; node ids ``0..num_inputs-1``.
        num_hidden (int): hidden neurons; node ids ``num_inputs..num_inputs+num_hidden-1``.
        edge_index (LongTensor or array): ``[2, E]`` delay-0 i2h edges, src → dst.
        recurrent_edge_index (LongTensor or array, optional): ``[2, R]`` delay-1 h2h edges
            (default: ``None``, none).
        batch_first (bool): ``x`` is ``[B, T, n_in]`` instead of ``[T, B, n_in]``
            (default: ``False``).
        seed (int or torch.Generator, optional): randomness of the init, uniform in
            ``±1/sqrt(num_hidden)`` like torch's (default: ``None``).
        dtype (torch.dtype, optional): of the parameters (default: torch's default).

    Shapes:
        - **input:** ``x [T, B, n_in]`` (``[B, T, n_in]`` if ``batch_first``), optional ``state``
          ``h_0 [1, B, H]`` (LSTM: a tuple ``(h_0, c_0)``); zeros when not given.
        - **output:** ``(output [T, B, H], h_n [1, B, H])``, LSTM ``(output, (h_n, c_n))``,
          exactly like a one-layer torch module.

    Attributes:
        structure (Structure): the graph, the single source of truth of the topology: nodes
            ``0..n_in+H-1`` labelled by their ints, inputs ``0..n_in-1``, outputs the hidden
            nodes, the i2h edges (delay 0) then the h2h edges (delay 1). A hidden node's
            activation is ``"tanh"`` / ``"relu"`` for the RNN modes and ``"identity"`` for LSTM
            and GRU: their gates are not scalar neurons, so the cell equations run instead.
            Edits replace it; ``edge_index`` and ``recurrent_edge_index`` mirror its two kinds.

    Raises:
        ValueError: unknown mode, bad sizes, edge lists not of shape ``[2, *]``; from the
            structure, named by label: node ids out of range, an edge into an input, duplicate
            edges, a delay-0 self loop (its messages speak of the structure's ``edge_index``,
            the i2h edges followed by the h2h edges); an h2h edge out of an input.
        graphnets.CycleError: the hidden delay-0 edges contain a cycle (named by the
            structure).
        TypeError: non-integer edge lists.

    Example:
        >>> cell = GraphRNN("gru", 2, 3, [[0, 1, 2], [2, 3, 4]], [[2, 3], [2, 4]], seed=0)
        >>> cell  # doctest: +NORMALIZE_WHITESPACE
        GraphRNN(mode='gru', inputs=2, hidden=3, i2h=3 (2 from inputs, 1 skip), h2h=2, levels=2,
                 density=26.7%)
        >>> cell.structure, cell.structure.delay.tolist()
        (Structure(nodes=5, edges=5, delayed=2, inputs=2, outputs=3, levels=3), [0, 0, 0, 1, 1])
        >>> out, h_n = cell(torch.randn(5, 4, 2))
        >>> list(out.shape), list(h_n.shape)
        ([5, 4, 3], [1, 4, 3])
    """

    def __init__(
        self,
        mode: str,
        num_inputs: int,
        num_hidden: int,
        edge_index: torch.Tensor | Sequence,
        recurrent_edge_index: torch.Tensor | Sequence | None = None,
        *,
        batch_first: bool = False,
        seed: int | torch.Generator | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.mode = check_mode(mode)
        self.num_inputs = positive_int(num_inputs, "num_inputs")
        self.num_hidden = positive_int(num_hidden, "num_hidden")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first must be a bool, got {batch_first!r}")
        self.batch_first = batch_first
        self.kernel = "auto"
        self.num_gates = GATES[mode]
        ei = _as_edge_index(edge_index, "edge_index")
        rei = _as_edge_index(recurrent_edge_index, "recurrent_edge_index")
        structure = _cell_structure(mode, self.num_inputs, self.num_hidden, ei, rei)
        G, H = self.num_gates, self.num_hidden
        self.weight = nn.Parameter(torch.empty(ei.shape[1], G, dtype=dtype))
        self.recurrent_weight = nn.Parameter(torch.empty(rei.shape[1], G, dtype=dtype))
        self.bias = nn.Parameter(torch.empty(H, G, dtype=dtype))
        self.recurrent_bias = nn.Parameter(torch.empty(H, G, dtype=dtype))
        # the edge lists of a state dict (set from the structure, loaded into by load_state_dict)
        self.register_buffer("edge_index", None)
        self.register_buffer("recurrent_edge_index", None)
        self._set_structure(structure)
        # a loaded state_dict brings its own edge lists: rebuild the structure from them
        self.register_load_state_dict_post_hook(_rebuild)
        self.reset_parameters(seed)

    # -- structure -----------------------------------------------------------------------

    def _set_structure(self, structure: Structure, plan: _Plan | None = None) -> None:
        """Make ``structure`` the cell's: the edge buffers, levels and forward ``plan`` (computed
        here unless given) follow it."""
        if plan is None:
            plan = _plan(structure, self.num_inputs, self.num_hidden, self.num_gates)
        dev = self.weight.device
        ff = structure.delay == 0
        before = getattr(self, "structure", None)
        if before is None or before.num_edges != structure.num_edges:
            # the edit guard's generation: parameters change shape, old graphs must not backward
            self._edits = getattr(self, "_edits", -1) + 1
        self.structure = structure
        self.edge_index = structure.edge_index[:, ff].to(dev)
        self.recurrent_edge_index = structure.edge_index[:, ~ff].to(dev)
        self._levels, self._bounds, self._skip_levels = plan.levels, plan.bounds, plan.skip_levels
        self._identity = plan.identity
        for name, value in plan.tensors.items():
            self.register_buffer("_" + name, value.to(dev), persistent=False)

    @property
    def kernel(self) -> str:
        """How the cell runs.

        ``"auto"`` (the default): the C++ kernel of :mod:`graphnets.kernels.recurrent` (all
        steps and levels in one call, a hand-written backward through time) for float32 /
        float64 on the CPU where it is built, except a one-level LSTM with dense h2h edges
        (torch's own layer is faster there); else the torch path. ``"cpp"``: that kernel, or
        an error. ``"torch"``: the torch path, any device and dtype: torch's own layer on the
        masked matrices for one level, a Python loop over steps and levels otherwise. All give
        the same outputs and gradients (of any order).
        """
        return self._kernel

    @kernel.setter
    def kernel(self, value: str) -> None:
        if value not in CELL_KERNELS:
            raise ValueError(
                f"unknown kernel {value!r}; expected one of {', '.join(map(repr, CELL_KERNELS))}"
            )
        self._kernel = value

    @property
    def levels(self) -> torch.Tensor:
        """Layer index (``002_…`` §4.3) of every hidden node in the delay-0 hidden DAG, ``[H]``."""
        return self._levels.clone()

    @property
    def num_levels(self) -> int:
        return len(self._bounds)

    @property
    def num_edges(self) -> dict[str, int]:
        """``{"i2h": E, "h2h": R}``."""
        return {"i2h": self.edge_index.shape[1], "h2h": self.recurrent_edge_index.shape[1]}

    @torch.no_grad()
    def reset_parameters(self, seed: int | torch.Generator | None = None) -> None:
        """Uniform in ``±1/sqrt(num_hidden)`` for all four tensors, like torch's RNN modules."""
        gen = _generator(seed)
        k = 1.0 / math.sqrt(self.num_hidden)
        for p in (self.weight, self.recurrent_weight, self.bias, self.recurrent_bias):
            p.copy_(torch.rand(p.shape, generator=gen, dtype=p.dtype) * (2 * k) - k)

    # -- dense matrices --------------------------------------------------------------------

    def _guarded(self) -> tuple[torch.Tensor, ...]:
        """The four parameters through :class:`_EditGuard` while autograd records, for the
        torch path, whose indexing saves no weight that torch's version check could see."""
        params = (self.weight, self.recurrent_weight, self.bias, self.recurrent_bias)
        if torch.is_grad_enabled() and any(p.requires_grad for p in params):
            return _EditGuard.apply(self, *params)
        return params

    def _matrices(self, params: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """Differentiable torch-layout matrices in level-sorted node order."""
        G, H, n_in = self.num_gates, self.num_hidden, self.num_inputs
        weight, recurrent_weight, b_ih, b_hh = params
        w_ih = _dense(weight[self._in_ids], self._in_flat, (G, H, n_in))
        w_hh = _dense(recurrent_weight, self._rec_flat, (G, H, H))
        w_skip = (
            _dense(weight[self._skip_ids], self._skip_flat, (G, H, H))
            if self._skip_ids.numel()
            else None
        )
        if not self._identity:
            b_ih, b_hh = b_ih[self._order], b_hh[self._order]
        return w_ih, w_hh, w_skip, b_ih.t().reshape(-1), b_hh.t().reshape(-1)

    @torch.no_grad()
    def dense_weights(self) -> dict[str, torch.Tensor]:
        """The cell as torch-layout dense tensors, zeros where no edge is (in node order).

        Returns:
            dict: ``weight_ih [G*H, n_in]``, ``weight_hh [G*H, H]`` (delay-1 h2h edges),
            ``bias_ih [G*H]``, ``bias_hh [G*H]`` (torch's names for ``bias`` and
            ``recurrent_bias``), and ``weight_skip [G*H, H]``: the delay-0 hidden → hidden
            edges, row ``g*H + v`` column ``u`` for the edge ``u → v`` (hidden positions,
            ``node id - num_inputs``), which torch's modules have no place for; all zeros
            when the hidden DAG has one level. Gate blocks are stacked like torch's.
        """
        G, H, n_in = self.num_gates, self.num_hidden, self.num_inputs
        src, dst = self.edge_index
        rsrc, rdst = self.recurrent_edge_index - n_in
        hid = src >= n_in
        w_ih = _dense(
            self.weight[~hid], _flat_index(dst[~hid] - n_in, src[~hid], G, H, n_in), (G, H, n_in)
        )
        w_skip = _dense(
            self.weight[hid], _flat_index(dst[hid] - n_in, src[hid] - n_in, G, H, H), (G, H, H)
        )
        w_hh = _dense(self.recurrent_weight, _flat_index(rdst, rsrc, G, H, H), (G, H, H))
        return {
            "weight_ih": w_ih,
            "weight_hh": w_hh,
            "weight_skip": w_skip,
            "bias_ih": self.bias.t().reshape(-1).clone(),
            "bias_hh": self.recurrent_bias.t().reshape(-1).clone(),
        }

    # -- forward ---------------------------------------------------------------------------

    def _check_x(self, x: object) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected x to be a torch.Tensor, got {type(x).__name__}")
        layout = "[B, T, n_in]" if self.batch_first else "[T, B, n_in]"
        if x.dim() != 3 or x.shape[2] != self.num_inputs:
            raise ValueError(
                f"expected x of shape {layout} with n_in={self.num_inputs}, got {list(x.shape)}"
            )
        if x.dtype != self.weight.dtype:
            raise TypeError(
                f"expected x of dtype {self.weight.dtype} (the cell's), got {x.dtype}; "
                "convert x or the cell with .to(dtype)"
            )
        return x

    def _check_state(self, state: object, B: int, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        H = self.num_hidden
        if state is None:
            zero = x.new_zeros(B, H)
            return (zero, zero) if self.mode == "lstm" else (zero,)
        if self.mode == "lstm":
            if not isinstance(state, (tuple, list)) or len(state) != 2:
                raise TypeError(
                    f"expected the LSTM state as a tuple (h_0, c_0), got {type(state).__name__}"
                )
            parts, names = tuple(state), ("h_0", "c_0")
        else:
            parts, names = (state,), ("h_0",)
        out = []
        for s, name in zip(parts, names, strict=True):
            if not isinstance(s, torch.Tensor) or s.dtype != x.dtype:
                got = s.dtype if isinstance(s, torch.Tensor) else type(s).__name__
                raise TypeError(f"expected {name} to be a tensor of dtype {x.dtype}, got {got}")
            if list(s.shape) != [1, B, H]:
                raise ValueError(f"expected {name} of shape [1, {B}, {H}], got {list(s.shape)}")
            out.append(s[0])
        return tuple(out)

    def forward(self, x: torch.Tensor, state=None):
        x = self._check_x(x)
        if self.batch_first:
            x = x.transpose(0, 1)
        T, B, _ = x.shape
        state = self._check_state(state, B, x)
        params = (self.weight, self.recurrent_weight, self.bias, self.recurrent_bias)
        if self._use_kernel(x):
            # the kernel's autograd Functions save the weights: a graph from before an edit
            # fails torch's version check on backward (as a GraphNet's does)
            out, last = self._compiled(x, state, params)
        else:
            if not self._skip_ids.numel() and self._placeable(x):
                # one level on the CPU: the matrices in one C++ call, then torch's own layer
                w_ih, w_hh, b_ih, b_hh = cell_kernel.place_matrices(
                    self.mode,
                    self.num_inputs,
                    *params,
                    [getattr(self, "_" + name) for name in cell_kernel.PLAN],
                )
                w_skip = None
            else:
                w_ih, w_hh, w_skip, b_ih, b_hh = self._matrices(self._guarded())
            if w_skip is None:
                out, last = self._fused(x, state, w_ih, w_hh, b_ih, b_hh)
            else:
                out, last = self._levelwise(x, state, w_ih, w_hh, w_skip, b_ih, b_hh)
        if self.batch_first:
            out = out.transpose(0, 1)
        if self.mode == "lstm":
            return out, (last[0].unsqueeze(0), last[1].unsqueeze(0))
        return out, last[0].unsqueeze(0)

    def _placeable(self, x: torch.Tensor) -> bool:
        fits = x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
        return fits and self.kernel != "torch" and cell_kernel.available()

    def _use_kernel(self, x: torch.Tensor) -> bool:
        """Whether this forward runs the C++ cell kernel (:attr:`kernel` and where it runs)."""
        if self.kernel == "torch":
            return False
        if self.kernel == "auto" and not self._skip_ids.numel():
            # one level: torch's own LSTM is faster than the kernel with a dense recurrent
            # product (bench_cells.py); every other one-level cell is faster on the kernel
            if self.mode == "lstm" and self._dense_recurrent():
                return False
        fits = x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
        fits = fits and x.shape[0] > 0 and x.shape[1] > 0
        if self.kernel == "cpp":
            if not fits:
                raise RuntimeError(
                    f"kernel='cpp' runs float32 / float64 on the CPU with T, B >= 1, got "
                    f"{x.dtype} on {x.device}, x of shape {list(x.shape)}; use kernel='auto'"
                )
            if not cell_kernel.available():
                raise RuntimeError(
                    f"the recurrent cell C++ kernel is unavailable "
                    f"({cell_kernel.why_unavailable()}); use kernel='auto' or 'torch'"
                )
            return True
        return fits and cell_kernel.available()

    def _dense_recurrent(self) -> bool:
        """Whether the kernel runs the recurrent product dense (one matmul per step) or per
        edge: per edge when its h2h edges are under :data:`SPARSE_RECURRENT` of ``H²``."""
        return self.num_edges["h2h"] > SPARSE_RECURRENT * self.num_hidden**2

    def _compiled(self, x, state, params):
        """All steps and levels in one call of the C++ kernel, from the parameters."""
        out, h_n, c_n = cell_kernel.run_cell(
            self.mode,
            x,
            *params,
            state[0],
            state[1] if self.mode == "lstm" else None,
            [getattr(self, "_" + name) for name in cell_kernel.PLAN],
            dense=self._dense_recurrent(),
        )
        return out, ((h_n,) if c_n is None else (h_n, c_n))

    def _fused(self, x, state, w_ih, w_hh, b_ih, b_hh):
        """One level: torch's own layer (``torch._VF``, what ``nn.RNN`` / ``LSTM`` / ``GRU``
        call) with the masked matrices as its weights."""
        hx = tuple(s.unsqueeze(0) for s in state)
        run = {"rnn_tanh": _VF.rnn_tanh, "rnn_relu": _VF.rnn_relu, "lstm": _VF.lstm, "gru": _VF.gru}
        # (input, hx, weights, has_biases, num_layers, dropout, train, bidirectional, batch_first)
        out, *last = run[self.mode](
            x,
            hx if len(hx) == 2 else hx[0],
            [w_ih, w_hh, b_ih, b_hh],
            True,
            1,
            0.0,
            self.training,
            False,
            False,
        )
        return out, tuple(s[0] for s in last)

    def _levelwise(self, x, state, w_ih, w_hh, w_skip, b_ih, b_hh):
        """Skip edges: the time loop in Python, one matmul per level with incoming skips."""
        T, B, _ = x.shape
        G, H = self.num_gates, self.num_hidden
        # the input part does not depend on the state: all steps in one matmul
        gi_all = torch.addmm(b_ih, x.reshape(T * B, -1), w_ih.t()).view(T, B, G, H)
        skips = {}
        for l in self._skip_levels:
            a, b = self._bounds[l]
            skips[l] = w_skip.view(G, H, H)[:, a:b, :a].reshape(G * (b - a), a).t()
        order, pos = self._order, self._pos
        h, c = state[0][:, order], (state[1][:, order] if self.mode == "lstm" else None)
        w_hh_t = w_hh.t()
        # split / unbind once, not slice per step and level: a slice's backward fills a zero
        # tensor the size of what it was cut from, which dominated the run time
        sizes = [b - a for a, b in self._bounds]
        gi_steps = [part.unbind(0) for part in gi_all.split(sizes, dim=3)]  # [level][t]
        outs = []
        for t in range(T):
            gh = torch.addmm(b_hh, h, w_hh_t).view(B, G, H).split(sizes, dim=2)
            h_parts = h.split(sizes, dim=1)
            c_parts = c.split(sizes, dim=1) if c is not None else [None] * len(sizes)
            hs, cs = [], []
            for l, n_l in enumerate(sizes):
                gi = gi_steps[l][t]
                if l in skips:
                    prefix = torch.cat(hs, 1) if len(hs) > 1 else hs[0]
                    gi = gi + (prefix @ skips[l]).view(B, G, n_l)
                hl, cl = _step(self.mode, gi, gh[l], h_parts[l], c_parts[l])
                hs.append(hl)
                cs.append(cl)
            h = torch.cat(hs, 1)
            c = None if c is None else torch.cat(cs, 1)
            outs.append(h)
        out = torch.stack(outs)[:, :, pos]
        last = (h[:, pos],) if c is None else (h[:, pos], c[:, pos])
        return out, last

    # -- edits -----------------------------------------------------------------------------

    def remove_edges(
        self,
        kind: str,
        edges: torch.Tensor | Sequence[int],
        *,
        optimizer: torch.optim.Optimizer | None = None,
    ) -> torch.Tensor:
        """Remove i2h or h2h edges for good (all their gates); returns the kept edge ids.

        The new :attr:`structure` is a subgraph of the old one (``Structure.subgraph``); the
        edge buffers, levels and index plan follow it. Parameters are swapped
        with ``graphnets._util.params.replace_data`` (the Parameter objects stay, so an
        optimizer holding them keeps working, and a backward works after the edit even while
        a graph from before it is alive; that old graph's own backward raises a
        ``RuntimeError``, as its gradients have the old edge count); pass the
        ``optimizer`` to carry its per-edge state
        (momentum, Adam moments) over for the surviving edges. A ``.grad`` is sliced along.

        Args:
            kind (str): ``"i2h"`` (``edge_index``, ``weight``) or ``"h2h"``
                (``recurrent_edge_index``, ``recurrent_weight``).
            edges (BoolTensor or LongTensor or list): a ``[E_kind]`` mask of the edges to remove,
                or their ids.
            optimizer (torch.optim.Optimizer, optional): see above (default: ``None``).

        Returns:
            LongTensor: old ids of the kept edges, in their (unchanged) order.

        Raises:
            ValueError: unknown kind, a mask of the wrong length, ids out of range.

        Example:
            >>> from graphnets.cells import complete
            >>> cell = complete("rnn_tanh", 2, 2, seed=0)
            >>> cell.remove_edges("h2h", [0, 3]).tolist()
            [1, 2]
            >>> cell.num_edges
            {'i2h': 4, 'h2h': 2}
        """
        _check_kind(kind)
        w = self.weight if kind == "i2h" else self.recurrent_weight
        E = w.shape[0]
        drop = _drop_mask(kind, edges, E)
        keep = (~drop).nonzero().flatten()
        # the new structure and plan first: nothing changes if computing them fails
        s = self.structure
        of_kind = np.flatnonzero(s.delay.numpy() == (0 if kind == "i2h" else 1))
        keep_edges = np.ones(s.num_edges, dtype=bool)
        keep_edges[of_kind[drop.numpy()]] = False
        structure, _, _ = s.subgraph(keep_edges, np.ones(s.num_nodes, dtype=bool))
        plan = _plan(structure, self.num_inputs, self.num_hidden, self.num_gates)
        keep_dev = keep.to(w.device)
        grad = None if w.grad is None else w.grad[keep_dev]
        with deferred_interrupt():
            remap_optimizer_state(optimizer, w, E, keep_dev, keep.numel())
            replace_data(w, w.detach()[keep_dev])
            w.grad = grad
            self._set_structure(structure, plan)
        return keep

    # -- export ----------------------------------------------------------------------------

    def to_graphnet(self, *, kernel: str = "auto"):
        """This RNN-tanh / RNN-ReLU cell as a recurrent :class:`~graphnets.GraphNet`.

        The same neurons and edges: i2h edges at delay 0, h2h edges at delay 1, the hidden
        neurons the outputs (activation ``tanh`` / ``relu``), each bias the sum of the cell's
        two, weights copied (not shared). ``net.run(x)`` then equals ``cell(x)[0]`` and its
        final state ``h_n[0]`` when every hidden neuron has an h2h out-edge. Its step runs the
        net's fused kernel, one call per step whatever the number of levels, which is faster
        than the cell's level-by-level loop for deep priors (see :doc:`/recurrent`). LSTM and GRU
        gates are not single neurons, so those modes raise.

        Raises:
            TypeError: for ``lstm`` and ``gru`` cells.

        Example:
            >>> from graphnets.cells import watts_strogatz
            >>> cell = watts_strogatz("rnn_tanh", 3, 10, 4, 0.3, seed=0, dtype=torch.float64)
            >>> net = cell.to_graphnet()
            >>> x = torch.randn(6, 2, 3, dtype=torch.float64)
            >>> torch.allclose(net.run(x), cell(x)[0])
            True
        """
        if self.num_gates != 1:
            raise TypeError(
                f"a {self.mode} cell has {self.num_gates} gates per neuron, which a "
                "GraphNet's scalar neurons cannot express; only rnn_tanh and "
                "rnn_relu cells convert"
            )
        n_in, H = self.num_inputs, self.num_hidden
        bias = torch.zeros(n_in + H, dtype=self.weight.dtype)
        bias[n_in:] = (self.bias + self.recurrent_bias).detach().cpu()[:, 0]
        # the cell's own structure: its edges are in the order of [weight; recurrent_weight]
        net = GraphNet(
            self.structure,
            torch.cat([self.weight, self.recurrent_weight]).detach().cpu()[:, 0],
            bias,
            kernel=kernel,
        )
        return net.to(self.weight.device)

    def to_networkx(self) -> nx.MultiDiGraph:
        """The cell's graph: a ``MultiDiGraph`` (an i2h and an h2h edge may join the same pair).

        Nodes ``0..n_in+H-1`` with ``role`` (``"input"`` / ``"hidden"``) and, for hidden ones,
        ``level``; edges keyed by kind with attributes ``kind`` (``"i2h"`` / ``"h2h"``),
        ``delay`` (0 / 1) and ``weight`` (a list of ``G`` gate weights).

        Example:
            >>> from graphnets.cells import complete
            >>> g = complete("lstm", 1, 2, seed=0).to_networkx()
            >>> g.number_of_nodes(), g.number_of_edges(), g.edges[1, 1, "h2h"]["delay"]
            (3, 6, 1)
        """
        g = nx.MultiDiGraph(mode=self.mode)
        n_in = self.num_inputs
        g.add_nodes_from(range(n_in), role="input")
        for v, lv in enumerate(self._levels.tolist()):
            g.add_node(n_in + v, role="hidden", level=lv)
        s = self.structure
        weights = torch.cat([self.weight, self.recurrent_weight]).detach().tolist()
        for (u, v), delay, wt in zip(
            s.edge_index.t().tolist(), s.delay.tolist(), weights, strict=True
        ):
            kind = KINDS[delay]
            g.add_edge(u, v, key=kind, kind=kind, delay=delay, weight=wt)
        return g

    def extra_repr(self) -> str:
        src = self.edge_index[0]
        n_skip = int((src >= self.num_inputs).sum())
        E, R = self.num_edges["i2h"], self.num_edges["h2h"]
        # density: the share of a dense torch layer's weights that are edges here (skips aside)
        H = self.num_hidden
        density = (E - n_skip + R) / (H * (self.num_inputs + H))
        return (
            f"mode={self.mode!r}, inputs={self.num_inputs}, hidden={H}, "
            f"i2h={E} ({E - n_skip} from inputs, {n_skip} skip), h2h={R}, "
            f"levels={self.num_levels}, density={density:.1%}"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


def _rebuild(module: GraphRNN, incompatible_keys) -> None:
    ei, rei = module.edge_index.cpu(), module.recurrent_edge_index.cpu()
    module._set_structure(
        _cell_structure(module.mode, module.num_inputs, module.num_hidden, ei, rei)
    )


# ----------------------------------------------------------------------------- pruning


def magnitude_prune(
    cell: GraphRNN,
    amount: int | float,
    *,
    kind: str | Sequence[str] = ("i2h", "h2h"),
    optimizer: torch.optim.Optimizer | None = None,
) -> dict[str, torch.Tensor]:
    """Remove the edges of smallest magnitude, each kind with its own threshold (``002_…`` §4.2).

    §4.2 prunes ``p``% of a layer with the ``p``-th percentile of its absolute weights as the
    threshold; here the kinds are the layers (i2h and h2h weights of the cell), so that is the
    ``amount`` edges of smallest magnitude per kind. An edge's magnitude is the L2 norm of its
    gate weights, so one decision drops all gates of a connection. Ties go to the lower edge id.

    Args:
        cell (GraphRNN): pruned in place (:meth:`GraphRNN.remove_edges`).
        amount (int or float): per kind, a count of edges, or a fraction in ``[0, 1]`` of its
            current edges (rounded like ``torch.nn.utils.prune``).
        kind (str or tuple of str): ``"i2h"``, ``"h2h"`` or both (default: both).
        optimizer (torch.optim.Optimizer, optional): its per-edge state is carried over.

    Returns:
        dict: per pruned kind, the old ids of its kept edges.

    Raises:
        TypeError: ``cell`` is not a :class:`GraphRNN`, ``amount`` not a number.
        ValueError: ``amount`` out of range for a kind, unknown or repeated kinds.

    Example:
        >>> from graphnets.cells import complete
        >>> cell = complete("lstm", 4, 8, seed=0)
        >>> kept = magnitude_prune(cell, 0.5)
        >>> cell.num_edges
        {'i2h': 16, 'h2h': 32}
    """
    if not isinstance(cell, GraphRNN):
        raise TypeError(f"expected a graphnets.cells.GraphRNN, got {type(cell).__name__}")
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    for k in kinds:
        _check_kind(k)
    if not kinds or len(set(kinds)) != len(kinds):
        raise ValueError(f"expected kind to be 'i2h', 'h2h' or both once, got {kind!r}")
    counts = {k: check_amount(amount, cell.num_edges[k]) for k in kinds}  # validate before editing
    kept = {}
    for k in kinds:
        w = cell.weight if k == "i2h" else cell.recurrent_weight
        norms = w.detach().norm(dim=1)
        drop = torch.argsort(norms, stable=True)[: counts[k]]
        kept[k] = cell.remove_edges(k, drop, optimizer=optimizer)
    return kept


# ----------------------------------------------------------------------------- classifier


class SequenceClassifier(nn.Module):
    r"""A cell and a linear read-out of the hidden state at each sequence's last real step.

    Sequences are zero-padded at the end: a step is real when its input vector is nonzero (e.g.
    one-hot symbols), and a sequence's length is its number of real steps. It trains with
    :func:`graphnets.train.fit` on ``x [B, T, n_in]``; ``x`` may also be given flat,
    ``[B, T * n_in]``, and is then reshaped to ``[B, T, n_in]``.

    Args:
        cell (GraphRNN): the recurrent layer (its ``batch_first`` does not matter here).
        num_classes (int): outputs of the read-out.
        seed (int or torch.Generator, optional): init of the read-out (default: ``None``).

    Shapes:
        - **input:** ``x [B, T, n_in]`` or ``[B, T * n_in]``, batch first, zero-padded.
        - **output:** logits ``[B, num_classes]``.

    Raises:
        ValueError: bad shapes, or a sequence without a real step.

    Example:
        >>> from graphnets.cells import complete
        >>> net = SequenceClassifier(complete("gru", 3, 8, seed=0), 2, seed=0)
        >>> x = torch.eye(3)[torch.tensor([[0, 1, 2], [2, 0, 0]])]
        >>> x[1, 2] = 0  # the second sequence has two steps
        >>> net(x).shape
        torch.Size([2, 2])
    """

    def __init__(
        self, cell: GraphRNN, num_classes: int, *, seed: int | torch.Generator | None = None
    ) -> None:
        super().__init__()
        if not isinstance(cell, GraphRNN):
            raise TypeError(f"expected a graphnets.cells.GraphRNN, got {type(cell).__name__}")
        self.num_classes = positive_int(num_classes, "num_classes")
        self.cell = cell
        self.readout = nn.Linear(cell.num_hidden, self.num_classes, dtype=cell.weight.dtype)
        gen = _generator(seed)
        k = 1.0 / math.sqrt(cell.num_hidden)
        with torch.no_grad():
            for p in self.readout.parameters():
                p.copy_(torch.rand(p.shape, generator=gen, dtype=p.dtype) * (2 * k) - k)

    @property
    def num_outputs(self) -> int:
        return self.num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n_in = self.cell.num_inputs
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected x to be a torch.Tensor, got {type(x).__name__}")
        if x.dim() == 2:
            if x.shape[1] % n_in:
                raise ValueError(
                    f"expected a flat x [B, T * {n_in}], got {list(x.shape)}: "
                    f"{x.shape[1]} is not a multiple of {n_in}"
                )
            x = x.reshape(x.shape[0], -1, n_in)
        elif x.dim() != 3 or x.shape[2] != n_in:
            raise ValueError(f"expected x [B, T, {n_in}] or [B, T * {n_in}], got {list(x.shape)}")
        lengths = (x != 0).any(dim=2).sum(dim=1)
        if bool((lengths == 0).any()):
            i = int((lengths == 0).nonzero()[0, 0])
            raise ValueError(f"sequence {i} is all zeros; every sequence needs a real step")
        out, _ = self.cell(x if self.cell.batch_first else x.transpose(0, 1))
        if not self.cell.batch_first:
            out = out.transpose(0, 1)
        last = out[torch.arange(x.shape[0], device=x.device), lengths - 1]
        return self.readout(last)

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}"
