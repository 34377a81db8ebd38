"""``GraphNet``: a neural network that is an explicit directed graph of neurons.

Semantics (``../shared/DESIGN.md``, Definition 3.20 of ``001_…``): for input nodes ``a_i = x_i``
(never activated); for every other node ``z_i = b_i + Σ_{j→i} w_ji a_j`` and ``a_i = act_i(z_i)``.
Output nodes have the activation ``output_activation`` (``identity`` unless asked), so by default
``y`` holds their pre-activations; an edge leaving an output node carries that same value.
"""

from __future__ import annotations

import math
import os
from collections.abc import Hashable, Sequence

import numpy as np
import torch
from torch import nn

from . import kernels
from .activations import parse_activation
from .levels import reachable
from .schedule import KERNELS, Schedule, compile_schedule
from .structure import Structure

__all__ = ["GraphNet", "load"]

_FORMAT = "graphnets.GraphNet"
# 2: edges carry delays. A feed-forward net is still written as format 1, which readers from
# before delays existed load correctly; a recurrent one needs a reader that knows delays.
_FORMAT_VERSION = 2


def _generator(seed: int | torch.Generator | None) -> torch.Generator | None:
    if seed is None or isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be None, an int or a torch.Generator, got {seed!r}")
    return torch.Generator().manual_seed(int(seed))


def _check_finite(values: torch.Tensor, what: str, name_of) -> None:
    bad = ~torch.isfinite(values)
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise ValueError(
            f"{what} of {name_of(i)} is {float(values[i])}; weights and biases must be finite"
        )


class GraphNet(nn.Module):
    r"""A neural network given as a directed graph of neurons, evaluated level by level.

    .. math::
        a_i = x_i \ (i \in I), \qquad z_i = b_i + \sum_{j \to i} w_{ji}\, a_j, \qquad
        a_i = \mathrm{act}_i(z_i), \qquad y = (a_o)_{o \in O}

    Usually built with :func:`graphnets.from_networkx`, :func:`graphnets.from_edges`,
    :func:`graphnets.mlp`, :func:`graphnets.from_torch` or :mod:`graphnets.priors`.

    Args:
        structure (Structure): the validated topology.
        weight (Tensor, optional): ``[E]`` edge weights, in the order of ``structure.edge_index``.
            A floating tensor sets the parameters' dtype (so float64 weights stay float64).
            (default: fan-in initialisation, see :meth:`reset_parameters`)
        bias (Tensor, optional): ``[N]`` node biases (default: zeros). Input nodes are never
            computed, so their entries must be 0 here; they stay unused (gradient 0) after.
        seed (int or torch.Generator, optional): randomness of the initialisation.
        kernel (str): kernel choice, see :meth:`compile` (default: ``"auto"``).
        weight_given (BoolTensor, optional): ``[E]``, which entries of ``weight`` to take; the
            others keep their initialisation (default: all).

    Shapes:
        - **input:** ``x [B, n_inputs]`` (or ``[n_inputs]`` for one sample)
        - **output:** ``[B, n_outputs]`` (or ``[n_outputs]``)

    Example:
        >>> import graphnets, torch
        >>> net = graphnets.mlp([4, 8, 3], seed=0)
        >>> net(torch.randn(5, 4)).shape
        torch.Size([5, 3])
    """

    def __init__(
        self,
        structure: Structure,
        weight: torch.Tensor | None = None,
        bias: torch.Tensor | None = None,
        *,
        seed: int | torch.Generator | None = None,
        kernel: str = "auto",
        weight_given: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(structure, Structure):
            raise TypeError(f"expected a graphnets Structure, got {type(structure).__name__}")
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}; expected one of {', '.join(KERNELS)}")
        self.structure = structure
        n, e = structure.num_nodes, structure.num_edges
        # Given float64 parameters keep their precision: the net takes their dtype.
        dtype = next((t.dtype for t in (weight, bias)
                      if isinstance(t, torch.Tensor) and t.is_floating_point()),
                     torch.get_default_dtype())
        self.weight = nn.Parameter(torch.empty(e, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(n, dtype=dtype))
        self.reset_parameters(seed=seed)
        with torch.no_grad():
            if weight is not None:
                weight = torch.as_tensor(weight, dtype=dtype).reshape(-1)
                if weight.numel() != e:
                    raise ValueError(f"expected {e} weights (one per edge), got {weight.numel()}")
                given = torch.ones(e, dtype=torch.bool) if weight_given is None else weight_given
                ids = given.nonzero()[:, 0]
                _check_finite(weight[ids], "weight", lambda i: self._edge_name(int(ids[i])))
                self.weight[ids] = weight[ids]
            if bias is not None:
                bias = torch.as_tensor(bias, dtype=dtype).reshape(-1)
                if bias.numel() != n:
                    raise ValueError(f"expected {n} biases (one per node), got {bias.numel()}")
                _check_finite(bias, "bias", lambda i: f"node {structure.labels[i]!r}")
                nz = bias[structure.inputs] != 0
                if bool(nz.any()):
                    lab = structure.labels[int(structure.inputs[nz.nonzero()[0, 0]])]
                    raise ValueError(
                        f"input node {lab!r} has bias {float(bias[structure.index[lab]])}; input "
                        "nodes take x as it is, so their bias must be 0"
                    )
                self.bias.copy_(bias)
        self._kernel = kernel
        self._schedule: Schedule | None = None
        #: The :class:`~graphnets.edits.EditRecord` of every edit, oldest first.
        self.history: list = []
        self.compile(kernel)

    # -- parameters -------------------------------------------------------------------------
    def reset_parameters(self, seed: int | torch.Generator | None = None) -> None:
        """Fan-in (Kaiming-style) initialisation: ``w ~ U(-√3·g/√fan_in, √3·g/√fan_in)``.

        ``g`` is the gain of the destination node's activation (``torch.nn.init.calculate_gain``:
        √2 for ReLU, 5/3 for tanh, 1 for identity/sigmoid), so activations keep their scale
        through deep sparse graphs whatever the fan-in of a node. Biases start at zero.
        """
        gen = _generator(seed)
        s = self.structure
        dst = s.edge_index[1]
        fan_in = torch.bincount(dst, minlength=s.num_nodes).clamp(min=1).to(torch.float64)
        gains = {a: _gain(a) for a in set(s.activations)}
        gain = torch.tensor([gains[a] for a in s.activations], dtype=torch.float64)
        bound = (math.sqrt(3.0) * gain / fan_in.sqrt())[dst]
        u = torch.rand(s.num_edges, generator=gen, dtype=torch.float64)
        with torch.no_grad():
            self.weight.copy_(((2 * u - 1) * bound).to(self.weight.dtype))
            self.bias.zero_()

    # -- schedule ---------------------------------------------------------------------------
    def compile(self, kernel: str = "auto") -> GraphNet:
        """(Re)compile the schedule with ``kernel`` and return ``self``.

        Args:
            kernel: ``"auto"`` (``"fused"`` for small or deep narrow graphs on CPU, else
                ``"levelwise"``), ``"levelwise"`` (per level by density and size), or force one
                of ``"dense"``, ``"sparse"``, ``"scatter"``, ``"fused"`` for every level. All
                give the same outputs and gradients.
        """
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}; expected one of {', '.join(KERNELS)}")
        self._kernel = kernel
        self._schedule = compile_schedule(
            self.structure.feedforward()[0], kernel, self.weight.device, self.weight.dtype
        )
        return self

    @property
    def kernel(self) -> str:
        """The requested kernel (see :meth:`compile`)."""
        return self._kernel

    @property
    def schedule(self) -> Schedule:
        """The compiled schedule for the parameters' device and dtype (recompiled on a change).

        For a recurrent net it is the schedule of the delay-0 edges (what :attr:`levels`,
        :meth:`summary` and :meth:`to_dense` describe); a time step runs on the step graph of
        :mod:`graphnets.recurrent`.
        """
        w = self.weight
        sched = self._schedule
        if sched is None or sched.device != w.device or sched.dtype != w.dtype:
            self._schedule = compile_schedule(self.structure.feedforward()[0], self._kernel,
                                              w.device, w.dtype)
        return self._schedule

    # -- evaluation -------------------------------------------------------------------------
    def _check_x(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` if it is a ``[B, n_inputs]`` (or ``[n_inputs]``) tensor of the net's dtype and
        device, else the error that says what to change."""
        n_in = self.structure.inputs.numel()
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected x to be a torch.Tensor of shape [B, {n_in}], got "
                            f"{type(x).__name__}")
        # the weight parameter (an unrolled net's is its source's): its dtype and device,
        # without the gather an unrolled net's ``weight`` costs
        w = next(self.parameters())
        if x.dim() not in (1, 2) or x.shape[-1] != n_in:
            raise ValueError(
                f"expected x of shape [B, {n_in}] (one column per input node), got "
                f"{list(x.shape)}"
            )
        if x.dtype != w.dtype:
            raise TypeError(
                f"expected x of dtype {w.dtype} (the network's parameters), got {x.dtype}; "
                f"convert x with x.to({w.dtype}) or the net with net.to({x.dtype})"
            )
        if x.device != w.device:
            raise ValueError(
                f"expected x on device {w.device} (the network's parameters), got {x.device}; "
                f"move x with x.to('{w.device}') or the net with net.to('{x.device}')"
            )
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate the network on ``x [B, n_inputs]``; returns ``[B, n_outputs]``.

        A recurrent net (one with delayed edges) needs a time step and a state instead: see
        :meth:`step`, :meth:`run` and :func:`graphnets.unroll`.
        """
        x = self._check_x(x)
        if self.structure.is_recurrent:
            k = int((self.structure.delay > 0).sum())
            raise ValueError(
                f"this net has {k} delayed (recurrent) edge{'s' if k > 1 else ''}, so it needs "
                "a time step and a state: use net.step(x_t, state), net.run(x_seq) or "
                "graphnets.unroll(net, steps)"
            )
        single = x.dim() == 1
        if single:
            x = x[None]
        y = kernels.run(x, self.weight, self.bias, self.schedule)
        return y[0] if single else y

    # -- time (graphnets.recurrent) ---------------------------------------------------------
    def step(self, x: torch.Tensor, state: torch.Tensor | float | None = None
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """One time step of a recurrent net: ``(y_t, next_state)``.

        Every delayed edge ``u -> v`` of delay ``d`` feeds ``v`` the value ``a_u`` had ``d``
        steps before; the state holds those past values (see :attr:`state_labels`). A
        feed-forward net has an empty state and its step is :meth:`forward`.

        Args:
            x (Tensor): ``[B, n_inputs]`` (or ``[n_inputs]``), the inputs at this step.
            state (Tensor or float, optional): ``[B, S]`` (or ``[S]``, broadcast) past values;
                a number fills the state with it (default: ``None``, zeros: the first step).

        Returns:
            ``y_t [B, n_outputs]`` and the state ``[B, S]`` for the next step.

        Example:
            >>> import torch, graphnets
            >>> ei = torch.tensor([[0, 1, 1], [1, 1, 2]])  # 1 -> 1 is recurrent (delay 1)
            >>> net = graphnets.from_edges(ei, 3, [0], [2], delay=[0, 1, 0], seed=0)
            >>> net.state_labels
            [(1, 1)]
            >>> y, state = net.step(torch.ones(5, 1))
            >>> y, state = net.step(torch.ones(5, 1), state)
            >>> y.shape, state.shape
            (torch.Size([5, 1]), torch.Size([5, 1]))
        """
        from . import recurrent

        return recurrent.step(self, x, state)

    def run(self, x: torch.Tensor, state: torch.Tensor | float | None = None, *,
            batch_first: bool = False, return_state: bool = False):
        """Run a sequence through the net, one :meth:`step` per time step.

        Args:
            x (Tensor): ``[T, B, n_inputs]`` (``[B, T, n_inputs]`` with ``batch_first``).
            state (Tensor or float, optional): the initial state as in :meth:`step`
                (default: zeros).
            batch_first (bool): whether ``x`` and the result are batch-major, as in
                ``torch.nn.RNN`` (default: ``False``).
            return_state (bool): also return the final state (default: ``False``).

        Returns:
            ``y [T, B, n_outputs]`` (or ``[B, T, n_outputs]``), and the final state ``[B, S]``
            if ``return_state``.
        """
        from . import recurrent

        return recurrent.run(self, x, state, batch_first=batch_first, return_state=return_state)

    def initial_state(self, batch_size: int, value: float = 0.0) -> torch.Tensor:
        """A state ``[batch_size, S]`` filled with ``value`` (see :attr:`state_labels`)."""
        from . import recurrent

        return recurrent.initial_state(self, batch_size, value)

    @property
    def state_labels(self) -> list[tuple]:
        """``(label, lag)`` of every state column: the value of ``label`` ``lag`` steps back.

        Ordered by node index, then lag; every node with delayed out-edges keeps lags ``1`` to
        its largest outgoing delay. Empty for a feed-forward net.
        """
        from .recurrent import _state_layout

        lab = self.structure.labels
        return [(lab[u], int(k)) for u, k in _state_layout(self.structure)[0].tolist()]

    @property
    def delay(self) -> torch.Tensor:
        """``[E]`` delay of every edge (``0``: feed-forward), in the order of ``weight``."""
        return self.structure.delay

    @property
    def is_recurrent(self) -> bool:
        """Whether the net has delayed edges (then use :meth:`step` / :meth:`run`)."""
        return self.structure.is_recurrent

    # -- edits (graphnets.edits) -----------------------------------------------------------
    def _record(self, record):
        self.history.append(record)
        return record

    def remove_edges(self, edges, *, optimizer=None):
        """Remove edges (a mask over edges, edge ids, or ``(src, dst)`` label pairs).

        Surviving edges keep their order, weights and (with ``optimizer=``) optimizer state.
        Returns the :class:`~graphnets.edits.EditRecord` (also appended to :attr:`history`).

        Example:
            >>> import graphnets
            >>> net = graphnets.mlp([2, 3, 1], seed=0)
            >>> net.remove_edges([((0, 0), (1, 0))]).removed_edges
            [((0, 0), (1, 0))]
            >>> net.num_edges
            8
        """
        from . import edits

        return self._record(edits.remove_edges(self, edges, optimizer))

    def add_edges(self, src, dst, weight=None, *, delay=0, optimizer=None, seed=None):
        """Add edges ``src[k] -> dst[k]`` (labels), appended after the existing ones.

        ``weight`` gives their weights (default: fan-in initialisation with ``seed``);
        ``delay`` (an int, or one per edge) makes them recurrent (default: ``0``). An edge
        that would close a feed-forward cycle raises :class:`~graphnets.CycleError` naming the
        cycle, and the net is left unchanged; so are duplicates, self loops and edges into
        inputs (``ValueError``). New edges start with zero optimizer state.
        """
        from . import edits

        return self._record(edits.add_edges(self, src, dst, weight, optimizer, seed, delay))

    def remove_nodes(self, nodes, *, optimizer=None):
        """Remove hidden nodes (labels) with all their edges; inputs and outputs stay."""
        from . import edits

        return self._record(edits.remove_nodes(self, nodes, optimizer))

    def add_nodes(self, labels, *, activation: str = "relu", bias=None, optimizer=None):
        """Add hidden nodes without edges (connect them with :meth:`add_edges`)."""
        from . import edits

        return self._record(edits.add_nodes(self, labels, activation, bias, optimizer))

    def set_weights(self, edges, values):
        """Set the weights of the given edges (in the order given) to ``values``."""
        from . import edits

        return self._record(edits.set_weights(self, edges, values))

    def prune_dead(self, *, optimizer=None):
        """Remove :meth:`dead_nodes` (no path from an input or to an output) and their edges."""
        return self.remove_nodes(self.dead_nodes(), optimizer=optimizer)

    # -- introspection ----------------------------------------------------------------------
    @property
    def num_nodes(self) -> int:
        return self.structure.num_nodes

    @property
    def num_edges(self) -> int:
        return self.structure.num_edges

    @property
    def edge_index(self) -> torch.Tensor:
        """``[2, E]`` source and destination node indices, in the order of ``weight``."""
        return self.structure.edge_index

    @property
    def labels(self) -> list:
        """Node labels, in node-index order (the order of ``bias``)."""
        return list(self.structure.labels)

    @property
    def inputs(self) -> list:
        """Input labels, in the order of ``x``'s columns."""
        return [self.structure.labels[i] for i in self.structure.inputs.tolist()]

    @property
    def outputs(self) -> list:
        """Output labels, in the order of ``y``'s columns."""
        return [self.structure.labels[i] for i in self.structure.outputs.tolist()]

    @property
    def activations(self) -> dict:
        """Label → activation spec of every node."""
        return dict(zip(self.structure.labels, self.structure.activations))

    def edges(self) -> list[tuple]:
        """The ``(src, dst)`` label pairs, in the order of ``weight``."""
        lab = self.structure.labels
        src, dst = self.structure.edge_index.tolist()
        return [(lab[s], lab[d]) for s, d in zip(src, dst)]

    @property
    def levels(self) -> list[list]:
        """Labels per level (level 0: inputs and other sources), each in node-index order."""
        s = self.structure
        order = np.argsort(s.level, kind="stable")
        bounds = np.searchsorted(s.level[order], np.arange(s.num_levels + 1))
        lab = s.labels
        return [[lab[i] for i in order[a:b].tolist()] for a, b in zip(bounds[:-1], bounds[1:])]

    @property
    def depth(self) -> int:
        """Number of levels: the most nodes on one path (Definition 3.16 of ``001_…``)."""
        return self.structure.num_levels

    @property
    def order(self) -> list:
        """Labels in schedule order (inputs first, then level by level): rows of :meth:`to_dense`."""
        lab = self.structure.labels
        return [lab[i] for i in self.schedule.order.tolist()]

    def dead_nodes(self) -> list:
        """Hidden nodes with no path from any input or no path to any output (never dropped here).

        Example:
            >>> import networkx as nx, graphnets
            >>> G = nx.DiGraph([("x", "h"), ("h", "y"), ("x", "y"), ("z", "y"), ("h", "q")])
            >>> graphnets.from_networkx(G, ["x"], ["y"], seed=0).dead_nodes()
            ['z', 'q']
        """
        s = self.structure
        src, dst = s.edge_index.numpy()
        n = s.num_nodes
        fwd = reachable(src, dst, n, s.inputs.numpy())
        bwd = reachable(dst, src, n, s.outputs.numpy())
        hidden = np.ones(n, dtype=bool)
        hidden[s.inputs.numpy()] = False
        hidden[s.outputs.numpy()] = False
        return [s.labels[i] for i in np.flatnonzero(hidden & ~(fwd & bwd)).tolist()]

    def _edge_name(self, e: int) -> str:
        s, d = self.structure.edge_index[:, e].tolist()
        return f"edge {self.structure.labels[s]!r} -> {self.structure.labels[d]!r}"

    def level_table(self) -> list[dict]:
        """One dict per level: nodes, in-edges, distinct sources, fill, kernel, activations."""
        sched = self.schedule
        rows = []
        kinds = sched.kinds()
        n_in = sched.num_inputs
        for ell, lv in enumerate(sched.levels):
            n_dst = lv.stop - lv.start
            e = lv.estop - lv.estart
            n_src = len(set(sched.src_pos[lv.estart : lv.estop].tolist())) if e else 0
            rows.append({
                "level": ell,
                "nodes": n_dst + (n_in if ell == 0 else 0),
                "edges": e,
                "sources": n_src,
                "fill": e / (n_dst * n_src) if e else 0.0,
                "kernel": "input" if ell == 0 and e == 0 and n_dst == 0 else kinds[ell],
                "activations": ",".join(sorted({g[0].spec for g in lv.groups})) or "-",
            })
        return rows

    def summary(self) -> str:
        """A table of the levels: nodes, in-edges, distinct sources, fill, kernel, activation."""
        rows = self.level_table()
        head = f"{'level':>5} {'nodes':>7} {'edges':>9} {'sources':>8} {'fill':>7}  kernel   activations"
        lines = [repr(self), head, "-" * len(head)]
        shown = rows if len(rows) <= 24 else rows[:10] + [None] + rows[-10:]
        for r in shown:
            if r is None:
                lines.append(f"{'...':>5}  ({len(rows) - 20} more levels)")
                continue
            lines.append(
                f"{r['level']:>5} {r['nodes']:>7} {r['edges']:>9} {r['sources']:>8} "
                f"{r['fill']:>7.2%}  {r['kernel']:<8} {r['activations']}"
            )
        n_par = self.weight.numel() + self.bias.numel() - len(self.structure.inputs)
        lines.append(f"parameters: {n_par:,} ({self.num_edges:,} weights, "
                     f"{self.num_nodes - len(self.structure.inputs):,} biases)")
        if self.structure.is_recurrent:
            d = self.structure.delay
            lines.append(f"recurrent: {int((d > 0).sum()):,} delayed edges (delays "
                         f"1..{int(d.max())}, not in the table), state of "
                         f"{len(self.state_labels):,} values")
        dead = self.dead_nodes()
        if dead:
            lines.append(f"dead nodes: {len(dead)} (see dead_nodes())")
        return "\n".join(lines)

    def extra_repr(self) -> str:
        s = self.structure
        kinds = self.schedule.kinds() if self._schedule is not None else []
        counts: dict[str, int] = {}
        for k, lv in zip(kinds, self.schedule.levels if kinds else []):
            if lv.stop > lv.start:  # level 0 often holds only inputs: nothing to run
                counts[k] = counts.get(k, 0) + 1
        plan = ",".join(f"{k}x{v}" for k, v in counts.items())
        rec = f", delayed={int((s.delay > 0).sum())}" if s.is_recurrent else ""
        return (
            f"nodes={s.num_nodes}, edges={s.num_edges}{rec}, inputs={len(s.inputs)}, "
            f"outputs={len(s.outputs)}, levels={s.num_levels}, kernel={self._kernel}[{plan}]"
        )

    def __repr__(self) -> str:
        return f"GraphNet({self.extra_repr()})"

    # -- exports ----------------------------------------------------------------------------
    def to_networkx(self):
        """A ``networkx.DiGraph`` with the same labels and the parameters as attributes.

        Nodes carry ``bias``, ``activation`` and ``role`` (``input``/``hidden``/``output``), edges
        carry ``weight`` (and ``delay`` in a recurrent net);
        ``G.graph["inputs"]``/``["outputs"]`` hold the ordered labels, so
        ``from_networkx(net.to_networkx())`` rebuilds the same function. networkx lists edges
        grouped by source node, so the rebuilt net's ``weight`` may be in another order than
        this one's (compare edges by their label pairs, :meth:`edges`).
        """
        import networkx as nx

        s = self.structure
        G = nx.DiGraph(inputs=self.inputs, outputs=self.outputs)
        role = self._roles()
        bias = self.bias.detach().cpu().tolist()
        for i, lab in enumerate(s.labels):
            G.add_node(lab, bias=bias[i], activation=s.activations[i], role=role[i])
        w = self.weight.detach().cpu().tolist()
        if not s.is_recurrent:
            G.add_weighted_edges_from((u, v, wi) for (u, v), wi in zip(self.edges(), w))
            return G
        d = s.delay.tolist()
        for (u, v), wi, di in zip(self.edges(), w, d):
            if G.has_edge(u, v):
                raise ValueError(
                    f"edge {u!r} -> {v!r} exists with delays {G.edges[u, v]['delay']} and {di}; "
                    "a networkx.DiGraph holds one edge per pair (use to_igraph() or "
                    "net.edges() with net.delay)"
                )
            G.add_edge(u, v, weight=wi, delay=di)
        return G

    def _roles(self) -> list[str]:
        s = self.structure
        role = ["hidden"] * s.num_nodes
        for i in s.inputs.tolist():
            role[i] = "input"
        for i in s.outputs.tolist():
            role[i] = "output"
        return role

    def to_igraph(self):
        """An ``igraph.Graph`` (directed): vertex ``i`` is node ``i``, edge ``e`` is edge ``e``.

        Vertex attributes ``label`` (the original label), ``name`` (``str(label)``), ``bias``,
        ``activation``, ``role``; edge attributes ``weight`` and ``delay``; graph attributes
        ``inputs`` and ``outputs`` (vertex indices, in order).
        """
        import igraph as ig

        s = self.structure
        g = ig.Graph(n=s.num_nodes, edges=s.edge_index.T.tolist(), directed=True)
        g.vs["label"] = list(s.labels)
        g.vs["name"] = [str(lab) for lab in s.labels]
        g.vs["bias"] = self.bias.detach().cpu().tolist()
        g.vs["activation"] = list(s.activations)
        g.vs["role"] = self._roles()
        g.es["weight"] = self.weight.detach().cpu().tolist()
        g.es["delay"] = s.delay.tolist()
        g["inputs"] = s.inputs.tolist()
        g["outputs"] = s.outputs.tolist()
        return g

    def to_dense(self, delay: int = 0) -> torch.Tensor:
        """The ``[N, N]`` weight matrix ``W[dst, src]`` with rows and columns in :attr:`order`.

        Inputs come first and levels follow in order, so a layered net gives the block
        sub-diagonal matrix of Eq. (1) of ``004_…``: ``z = W a + b`` for every node at once.
        Differentiable with respect to ``weight``. ``delay`` picks the edges of one delay: a
        recurrent net is ``z(t) = Σ_d W_d a(t - d) + b`` with ``W_d = to_dense(delay=d)``
        (default: ``0``, the feed-forward edges: all edges of a feed-forward net).
        """
        if isinstance(delay, bool) or not isinstance(delay, (int, np.integer)) or delay < 0:
            raise ValueError(f"delay must be an int >= 0, got {delay!r}")
        sched = self.schedule
        pos = sched.position
        ids = (self.structure.delay == delay).nonzero()[:, 0]
        src, dst = self.structure.edge_index[:, ids].to(pos.device)
        W = self.weight.new_zeros(self.num_nodes, self.num_nodes)
        W = W.index_put((pos[dst], pos[src]), self.weight[ids.to(self.weight.device)])
        return W

    # -- saving -----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Save structure and parameters; read back with :func:`graphnets.load`.

        Labels must be ints, floats, strings, bools, ``None`` or tuples of those (what
        ``torch.load(weights_only=True)`` can read); other labels raise ``TypeError``.
        """
        for lab in self.structure.labels:
            if not _safe_label(lab):
                raise TypeError(
                    f"cannot save node label {lab!r} of type {type(lab).__name__}: labels must be "
                    "int, float, str, bool, None or tuples of these (relabel, e.g. with "
                    "networkx.relabel_nodes, before saving)"
                )
        s = self.structure
        state = {
            "format": _FORMAT,
            "version": 2 if s.is_recurrent else 1,
            "labels": list(s.labels),
            "edge_index": s.edge_index.clone(),
            "inputs": s.inputs.clone(),
            "outputs": s.outputs.clone(),
            "activations": list(s.activations),
            "delay": s.delay.clone(),
            "weight": self.weight.detach().cpu().clone(),
            "bias": self.bias.detach().cpu().clone(),
            "kernel": self._kernel,
        }
        torch.save(state, os.fspath(path))


def _safe_label(lab: Hashable) -> bool:
    if lab is None or isinstance(lab, (bool, int, float, str)):
        return True
    return isinstance(lab, tuple) and all(_safe_label(x) for x in lab)


def _gain(spec: str) -> float:
    act = parse_activation(spec)
    if act.name in ("relu", "gelu", "silu", "elu", "softplus"):
        return math.sqrt(2.0)
    if act.name == "leaky_relu":
        return math.sqrt(2.0 / (1 + act.params[0] ** 2))
    if act.name == "tanh":
        return 5.0 / 3
    return 1.0


def load(path: str | os.PathLike, *, map_location: str | torch.device | None = None) -> GraphNet:
    """Load a GraphNet saved with :meth:`GraphNet.save` (``torch.load(weights_only=True)``).

    Raises:
        ValueError: if the file is not a saved GraphNet.
    """
    try:
        state = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # not a torch file at all: unpickler KeyError, EOFError, ...
        raise ValueError(
            f"{os.fspath(path)!r} is not a saved GraphNet (torch.load failed: "
            f"{type(err).__name__})"
        ) from err
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise ValueError(f"{os.fspath(path)!r} is not a saved GraphNet (no '{_FORMAT}' header)")
    if state["version"] > _FORMAT_VERSION:
        raise ValueError(
            f"{os.fspath(path)!r} was saved by a newer graphnets (format {state['version']}, "
            f"this one reads up to {_FORMAT_VERSION}); upgrade graphnets"
        )
    labels = [tuple(x) if isinstance(x, list) else x for x in state["labels"]]
    structure = Structure(
        state["edge_index"], labels, state["inputs"], state["outputs"], state["activations"],
        state.get("delay"),  # files written before delays existed hold feed-forward nets
    )
    w, b = state["weight"], state["bias"]
    net = GraphNet(structure, kernel=state["kernel"])
    with torch.no_grad():
        net.weight.data = w.clone()
        net.bias.data = b.clone()
    if map_location is not None:
        net = net.to(map_location)
    return net
