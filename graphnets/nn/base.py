"""``BaseGraphNet``: what every module that evaluates a graph of neurons shares.

A subclass provides ``structure`` (a :class:`~graphnets.core.structure.Structure`) and the
tensors ``weight [E]`` and ``bias [N]`` in its order; the base compiles and caches the schedule,
runs ``forward`` through the kernels, and offers the read-only views (labels, levels, edges),
the exports and the summaries. :class:`~graphnets.nn.graphnet.GraphNet` owns its parameters and
edits them; :class:`~graphnets.nn.unrolled.UnrolledNet` gathers them from the recurrent net it
was unrolled from.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from ..core.schedule import Schedule
from ..core.structure import Structure
from ..kernels import check_kernel, compile_schedule, run
from . import export, serialize, summary

__all__ = ["BaseGraphNet"]


class BaseGraphNet(nn.Module):
    """Base of :class:`~graphnets.GraphNet` and :class:`~graphnets.UnrolledNet` (see the module
    docstring); not built directly."""

    structure: Structure
    weight: torch.Tensor
    bias: torch.Tensor
    _kernel: str
    _schedule: Schedule | None

    # -- schedule ---------------------------------------------------------------------------
    def _reference(self) -> torch.Tensor:
        """A parameter whose dtype and device the net computes in (without gathering)."""
        return next(self.parameters())

    def compile(self, kernel: str = "auto") -> BaseGraphNet:
        """(Re)compile the schedule with ``kernel`` and return ``self``.

        Args:
            kernel: ``"auto"`` (``"fused"`` for small or deep narrow graphs on CPU, else
                ``"levelwise"``), ``"levelwise"`` (per level by density and size), or force one
                of ``"dense"``, ``"sparse"``, ``"scatter"``, ``"fused"`` for every level. All
                give the same outputs and gradients.
        """
        check_kernel(kernel)
        w = self._reference()
        sched = compile_schedule(self.structure.feedforward()[0], kernel, w.device, w.dtype)
        self._kernel, self._schedule = kernel, sched
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
        :mod:`graphnets.nn.recurrent`.
        """
        structure = self.structure  # first: an unrolled net may unroll again here
        w = self._reference()
        sched = self._schedule
        if sched is None or sched.device != w.device or sched.dtype != w.dtype:
            sched = compile_schedule(structure.feedforward()[0], self._kernel, w.device, w.dtype)
            self._schedule = sched
        return sched

    # -- evaluation -------------------------------------------------------------------------
    def _check_x(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` if it is a ``[B, n_inputs]`` (or ``[n_inputs]``) tensor of the net's dtype and
        device, else the error that says what to change."""
        n_in = self.structure.inputs.numel()
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"expected x to be a torch.Tensor of shape [B, {n_in}], got {type(x).__name__}"
            )
        w = self._reference()
        if x.dim() not in (1, 2) or x.shape[-1] != n_in:
            raise ValueError(
                f"expected x of shape [B, {n_in}] (one column per input node), got {list(x.shape)}"
            )
        if x.dtype != w.dtype:
            if not (x.is_floating_point() or x.is_complex()):
                raise TypeError(
                    f"expected x of dtype {w.dtype} (the network's parameters), got {x.dtype}; "
                    f"convert x with x.to({w.dtype})"
                )
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
        :meth:`GraphNet.step`, :meth:`GraphNet.run` and :func:`graphnets.unroll`.
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
        y = run(x, self.weight, self.bias, self.schedule)
        return y[0] if single else y

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
        return dict(zip(self.structure.labels, self.structure.activations, strict=True))

    @property
    def delay(self) -> torch.Tensor:
        """``[E]`` delay of every edge (``0``: feed-forward), in the order of ``weight``."""
        return self.structure.delay

    @property
    def is_recurrent(self) -> bool:
        """Whether the net has delayed edges (then use ``step`` / ``run``)."""
        return self.structure.is_recurrent

    def edges(self) -> list[tuple]:
        """The ``(src, dst)`` label pairs, in the order of ``weight``."""
        lab = self.structure.labels
        src, dst = self.structure.edge_index.tolist()
        return [(lab[s], lab[d]) for s, d in zip(src, dst, strict=True)]

    @property
    def levels(self) -> list[list]:
        """Labels per level (level 0: inputs and other sources), each in node-index order."""
        s = self.structure
        order = np.argsort(s.level, kind="stable")
        bounds = np.searchsorted(s.level[order], np.arange(s.num_levels + 1))
        lab = s.labels
        return [
            [lab[i] for i in order[a:b].tolist()]
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]

    @property
    def depth(self) -> int:
        """Number of levels: the most nodes on one path (Definition 3.16 of ``001_…``)."""
        return self.structure.num_levels

    @property
    def order(self) -> list:
        """Labels in schedule order (inputs first, then level by level): the rows of
        :meth:`to_dense`."""
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
        from_inputs, to_outputs, hidden = s.reach()
        return [s.labels[i] for i in np.flatnonzero(hidden & ~(from_inputs & to_outputs)).tolist()]

    def _edge_name(self, e: int) -> str:
        s, d = self.structure.edge_index[:, e].tolist()
        return f"edge {self.structure.labels[s]!r} -> {self.structure.labels[d]!r}"

    # -- summaries (graphnets.nn.summary) ----------------------------------------------------
    def level_table(self) -> list[dict]:
        """One dict per level: nodes, in-edges, distinct sources, fill, kernel, activations."""
        return summary.level_table(self)

    def summary(self) -> str:
        """A table of the levels: nodes, in-edges, distinct sources, fill, kernel, activation."""
        return summary.summary(self)

    def extra_repr(self) -> str:
        return summary.describe(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    # -- exports (graphnets.nn.export) -------------------------------------------------------
    def to_networkx(self):
        """A ``networkx.DiGraph`` with the same labels and the parameters as attributes; see
        :func:`graphnets.nn.export.to_networkx`."""
        return export.to_networkx(self)

    def to_igraph(self):
        """An ``igraph.Graph`` (directed), vertex ``i`` node ``i``, edge ``e`` edge ``e``; see
        :func:`graphnets.nn.export.to_igraph`."""
        return export.to_igraph(self)

    def to_dense(self, delay: int = 0) -> torch.Tensor:
        """The ``[N, N]`` weight matrix ``W[dst, src]`` with rows and columns in :attr:`order`;
        see :func:`graphnets.nn.export.to_dense`."""
        return export.to_dense(self, delay)

    # -- saving (graphnets.nn.serialize) ------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Save structure and parameters in one file (``torch.save`` format), atomically: a
        kill mid-save leaves the previous file whole. Read it back with
        :func:`graphnets.load`; see :func:`graphnets.nn.serialize.save`.

        Raises:
            TypeError: for a label that is not an int, float, string, bool, ``None`` or a tuple
                of these.
        """
        serialize.save(self, path)
