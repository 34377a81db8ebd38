"""``GraphNet``: a neural network that is an explicit directed graph of neurons.

Semantics (``../shared/DESIGN.md``, Definition 3.20 of ``001_…``): for input nodes ``a_i = x_i``
(never activated); for every other node ``z_i = b_i + Σ_{j→i} w_ji a_j`` and ``a_i = act_i(z_i)``.
Output nodes have the activation ``output_activation`` (``identity`` unless asked), so by default
``y`` holds their pre-activations; an edge leaving an output node carries that same value.

One private method, ``_swap``, writes the structure and the parameter values (as the ``graph``
setter of ``torch.fx.GraphModule`` does): every edit computes its result first
(:mod:`graphnets.nn.edits`) and hands it to ``_swap``, which carries optimizer state and
gradients over and commits everything in one step that a Ctrl-C cannot split.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Hashable, Sequence

import torch
from torch import nn

from .._util.checks import check_finite
from .._util.params import replace_data
from .._util.seeds import Seed
from .._util.signals import deferred_interrupt
from ..core.init import fan_in_init
from ..core.schedule import Schedule
from ..core.structure import Structure
from ..kernels import check_kernel, compile_schedule
from . import edits, optim, recurrent, serialize
from .base import BaseGraphNet
from .history import EditRecord, History

__all__ = ["GraphNet", "load"]


class GraphNet(BaseGraphNet):
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
        dtype (torch.dtype, optional): the parameters' dtype (default: that of a floating
            ``weight`` or ``bias``, else torch's default dtype).
        device (torch.device or str, optional): the parameters' device (default: CPU).
        history (int, optional): keep only the records of the last ``history`` edits in
            :attr:`history` (default: ``None``, keep all).

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
        seed: Seed = None,
        kernel: str = "auto",
        weight_given: torch.Tensor | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        history: int | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(structure, Structure):
            raise TypeError(f"expected a graphnets Structure, got {type(structure).__name__}")
        check_kernel(kernel)
        if dtype is None:  # given float64 parameters keep their precision
            dtype = next(
                (
                    t.dtype
                    for t in (weight, bias)
                    if isinstance(t, torch.Tensor) and t.is_floating_point()
                ),
                torch.get_default_dtype(),
            )
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
        self.structure = structure
        n, e = structure.num_nodes, structure.num_edges
        self.weight = nn.Parameter(torch.empty(e, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(n, dtype=dtype))
        self.reset_parameters(seed=seed)
        with torch.no_grad():
            if weight is not None:
                self._set_given(weight, weight_given)
            if bias is not None:
                self._set_bias(bias)
        if device is not None:
            self.to(device)
        self._kernel = kernel
        self._schedule: Schedule | None = None
        self._optimizers: list[weakref.ref] = []
        #: The :class:`~graphnets.nn.history.EditRecord` of every edit, oldest first.
        self.history = History(maxlen=history)
        self.compile(kernel)

    def _set_given(self, weight: torch.Tensor, given: torch.Tensor | None) -> None:
        e = self.structure.num_edges
        # a list of Python floats is read in float64, not torch's default dtype: given values
        # are kept exactly (then rounded once, to the net's dtype)
        weight = _tensor(weight)
        if weight.numel() != e:
            raise ValueError(f"expected {e} weights (one per edge), got {weight.numel()}")
        ids = torch.arange(e) if given is None else given.nonzero()[:, 0]
        check_finite(weight[ids], lambda i: f"weight of {self._edge_name(int(ids[i]))}")
        self.weight[ids] = weight[ids].to(self.weight.dtype)

    def _set_bias(self, bias: torch.Tensor) -> None:
        s = self.structure
        bias = _tensor(bias)
        if bias.numel() != s.num_nodes:
            raise ValueError(f"expected {s.num_nodes} biases (one per node), got {bias.numel()}")
        check_finite(bias, lambda i: f"bias of node {s.labels[i]!r}")
        nz = bias[s.inputs] != 0
        if bool(nz.any()):
            i = int(s.inputs[nz.nonzero()[0, 0]])
            raise ValueError(
                f"input node {s.labels[i]!r} has bias {float(bias[i])}; input nodes take x as "
                "it is, so their bias must be 0"
            )
        self.bias.copy_(bias.to(self.bias.dtype))

    def reset_parameters(self, seed: Seed = None) -> None:
        """Fan-in (Kaiming-style) initialisation: ``w ~ U(-√3·g/√fan_in, √3·g/√fan_in)``.

        ``g`` is the gain of the destination node's activation (``torch.nn.init.calculate_gain``:
        √2 for ReLU, 5/3 for tanh, 1 for identity/sigmoid), so activations keep their scale
        through deep sparse graphs whatever the fan-in of a node
        (:func:`graphnets.core.init.fan_in_init`). Biases start at zero.
        """
        w = fan_in_init(self.structure, seed)
        with torch.no_grad():
            self.weight.copy_(w.to(self.weight.dtype))
            self.bias.zero_()

    # -- the one writer ---------------------------------------------------------------------
    def _swap(self, edit: edits.Edit, optimizer: torch.optim.Optimizer | None = None) -> EditRecord:
        """Swap an edit's structure and parameters in, carrying optimizer state and gradients.

        Everything that can fail is computed first (schedule, new optimizer state, new
        gradients); then one block that cannot fail, and that a Ctrl-C waits for, commits it.
        """
        w, b = self.weight, self.bias
        weight = edit.weight.to(w.device, w.dtype)
        bias = edit.bias.to(b.device, b.dtype)
        schedule = edit.schedule
        if schedule is None:
            schedule = compile_schedule(
                edit.structure.feedforward()[0], self._kernel, w.device, w.dtype
            )
        if optimizer is not None and all(r() is not optimizer for r in self._optimizers):
            self._optimizers.append(weakref.ref(optimizer))
        known = [opt for opt in (r() for r in self._optimizers) if opt is not None]
        states = []
        for opt in known:
            for p, index, size in (
                (w, edit.edge_source, weight.numel()),
                (b, edit.node_source, bias.numel()),
            ):
                new_state = optim.remapped_state(opt, p, index, size)
                if new_state is not None:
                    states.append((opt, p, new_state))
        grads = [
            None if p.grad is None else optim.carry(p.grad, index.to(p.device), size)
            for p, index, size in (
                (w, edit.edge_source, weight.numel()),
                (b, edit.node_source, bias.numel()),
            )
        ]
        with deferred_interrupt():
            self.structure = edit.structure
            self._schedule = schedule
            replace_data(w, weight)
            replace_data(b, bias)
            w.grad, b.grad = grads
            for opt, p, new_state in states:
                opt.state[p] = new_state
            self._optimizers = [weakref.ref(opt) for opt in known]
            self.history.append(edit.record)
            optim.mark_edited(w)
            optim.mark_edited(b)
        return edit.record

    # -- edits (graphnets.nn.edits) ---------------------------------------------------------
    def remove_edges(self, edges, *, optimizer: torch.optim.Optimizer | None = None) -> EditRecord:
        """Remove edges (a mask over edges, edge ids, or ``(src, dst)`` label pairs).

        Surviving edges keep their order, weights, gradients and (with ``optimizer=``)
        optimizer state. Returns the :class:`~graphnets.nn.history.EditRecord` (also appended
        to :attr:`history`).

        Example:
            >>> import graphnets
            >>> net = graphnets.mlp([2, 3, 1], seed=0)
            >>> net.remove_edges([((0, 0), (1, 0))]).removed_edges
            [((0, 0), (1, 0))]
            >>> net.num_edges
            8
        """
        optim.check_optimizer(self, optimizer)
        return self._swap(edits.remove_edges(self, edges), optimizer)

    def add_edges(
        self,
        src: Sequence[Hashable],
        dst: Sequence[Hashable],
        weight=None,
        *,
        delay=0,
        optimizer: torch.optim.Optimizer | None = None,
        seed: Seed = None,
    ) -> EditRecord:
        """Add edges ``src[k] -> dst[k]`` (labels), appended after the existing ones.

        ``weight`` gives their weights (default: fan-in initialisation with ``seed``);
        ``delay`` (an int, or one per edge) makes them recurrent (default: ``0``). An edge
        that would close a feed-forward cycle raises :class:`~graphnets.CycleError` naming the
        cycle, and the net is left unchanged; so are duplicates, self loops and edges into
        inputs (``ValueError``). New edges start with zero optimizer state and gradient.
        """
        optim.check_optimizer(self, optimizer)
        return self._swap(edits.add_edges(self, src, dst, weight, seed, delay), optimizer)

    def replace_edges(
        self,
        edges,
        src,
        dst,
        weight=None,
        *,
        optimizer: torch.optim.Optimizer | None = None,
        seed: Seed = None,
    ) -> EditRecord:
        """Remove ``edges`` and add ``src[k] -> dst[k]`` (node ids) in one edit: a rewiring round.

        The same result as :meth:`remove_edges` then :meth:`add_edges` (survivors keep their
        order, weights, gradients and optimizer state; new edges follow them with zero state and
        gradient, and ``weight`` or a fan-in initialisation with ``seed``), with the same checks
        (:class:`~graphnets.CycleError`, duplicates, self loops, edges into inputs: the net is
        left unchanged), but one schedule update and one record (kind ``"replace_edges"``).
        ``edges`` is what :meth:`remove_edges` takes; ``src`` and ``dst`` are node ids (ints, an
        integer array or tensor; ``net.structure.index`` maps labels to ids). When every new
        edge goes from a lower level to a higher one (SET and RigL on a layered net) the levels
        are kept and only the levels whose edges changed are re-planned, so the cost follows the
        moved edges rather than the net.

        Example:
            >>> import graphnets
            >>> net = graphnets.mlp([2, 3, 1], seed=0)
            >>> i = net.structure.index
            >>> net.replace_edges([0], [i[(0, 0)]], [i[(2, 0)]])  # a skip edge in its place
            EditRecord(replace_edges, removed_edges=1, added_edges=1)
            >>> net.num_edges
            9
        """
        optim.check_optimizer(self, optimizer)
        return self._swap(edits.replace_edges(self, edges, src, dst, weight, seed), optimizer)

    def remove_nodes(
        self, nodes: Sequence[Hashable], *, optimizer: torch.optim.Optimizer | None = None
    ) -> EditRecord:
        """Remove hidden nodes (labels) with all their edges; inputs and outputs stay."""
        optim.check_optimizer(self, optimizer)
        return self._swap(edits.remove_nodes(self, nodes), optimizer)

    def add_nodes(
        self,
        labels: Sequence[Hashable],
        *,
        activation: str = "relu",
        bias=None,
        optimizer: torch.optim.Optimizer | None = None,
    ) -> EditRecord:
        """Add hidden nodes without edges (connect them with :meth:`add_edges`)."""
        optim.check_optimizer(self, optimizer)
        return self._swap(edits.add_nodes(self, labels, activation, bias), optimizer)

    def set_weights(self, edges, values) -> EditRecord:
        """Set the weights of the given edges (in the order given) to ``values``."""
        ids, values, record = edits.set_weights(self, edges, values)
        with deferred_interrupt(), torch.no_grad():
            self.weight[ids] = values
            self.history.append(record)
        return record

    def set_biases(self, nodes: Sequence[Hashable], values) -> EditRecord:
        """Set the biases of computed nodes (labels, in the order given) to ``values``.

        Inputs have no bias (``ValueError``). Like :meth:`set_weights`, this changes values, not
        the structure: gradients and optimizer state stay as they are.

        Example:
            >>> import graphnets
            >>> net = graphnets.mlp([2, 2, 1], seed=0)
            >>> net.set_biases([(1, 0), (2, 0)], [0.5, -1.0])
            EditRecord(set_biases, set=2)
            >>> net.bias.tolist()
            [0.0, 0.0, 0.5, 0.0, -1.0]
        """
        ids, values, record = edits.set_biases(self, nodes, values)
        with deferred_interrupt(), torch.no_grad():
            self.bias[ids] = values
            self.history.append(record)
        return record

    def prune_dead(self, *, optimizer: torch.optim.Optimizer | None = None) -> EditRecord:
        """Remove :meth:`dead_nodes` and their edges without changing what the net computes.

        A hidden node that no input reaches computes a constant; where it feeds a node that
        stays, that contribution is added to the node's bias first. Nodes with no path to an
        output change nothing. (In a recurrent net, where such constants start at zero through
        delayed edges, only the nodes with no path to an output are removed.)

        Example:
            >>> import networkx as nx, graphnets, torch
            >>> G = nx.DiGraph([("x", "h"), ("h", "y"), ("c", "y")])  # c: a constant
            >>> G.nodes["c"]["bias"] = 0.5
            >>> net = graphnets.from_networkx(G, ["x"], ["y"], seed=0)
            >>> x = torch.randn(4, 1)
            >>> before = net(x)
            >>> net.prune_dead().removed_nodes, torch.allclose(net(x), before)
            (['c'], True)
        """
        optim.check_optimizer(self, optimizer)
        return self._swap(edits.prune_dead(self), optimizer)

    # -- time (graphnets.nn.recurrent) ------------------------------------------------------
    def step(
        self, x: torch.Tensor, state: torch.Tensor | float | None = None
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
        return recurrent.step(self, x, state)

    def run(
        self,
        x: torch.Tensor,
        state: torch.Tensor | float | None = None,
        *,
        batch_first: bool = False,
        return_state: bool = False,
    ):
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
        return recurrent.run(self, x, state, batch_first=batch_first, return_state=return_state)

    def initial_state(self, batch_size: int, value: float = 0.0) -> torch.Tensor:
        """A state ``[batch_size, S]`` filled with ``value`` (see :attr:`state_labels`)."""
        return recurrent.initial_state(self, batch_size, value)

    @property
    def state_labels(self) -> list[tuple]:
        """``(label, lag)`` of every state column: the value of ``label`` ``lag`` steps back.

        Ordered by node index, then lag; every node with delayed out-edges keeps lags ``1`` to
        its largest outgoing delay. Empty for a feed-forward net.
        """
        return recurrent.state_labels(self.structure)

    # -- pickling: optimizers are remembered weakly, and weak references do not pickle -------
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_optimizers"] = []
        state.pop("_step", None)  # a cache of graphnets.nn.recurrent
        return state


def _tensor(values) -> torch.Tensor:
    """Given parameter values as a flat CPU tensor; Python numbers are read in float64."""
    if isinstance(values, torch.Tensor):
        return values.detach().reshape(-1).cpu()
    return torch.as_tensor(values, dtype=torch.float64).reshape(-1)


def load(path: str | os.PathLike, *, map_location: str | torch.device | None = None) -> GraphNet:
    """Load a GraphNet saved with :meth:`GraphNet.save` (``torch.load(weights_only=True)``).

    Every field of the file is checked before the net is built — presence, type, dtype, shape,
    index range, against the structure (:func:`graphnets.nn.serialize.read`). Files of format 1
    (feed-forward) and 2 (recurrent) load.

    Raises:
        FileNotFoundError: if there is no such file.
        ValueError: if the file is not a valid saved GraphNet (the message names the field).
    """
    saved = serialize.read(path)
    net = GraphNet(saved.structure, kernel=saved.kernel, dtype=saved.weight.dtype)
    with torch.no_grad():  # values as saved, even non-finite ones (a diverged run)
        net.weight.copy_(saved.weight)
        net.bias.copy_(saved.bias)
    if map_location is not None:
        net = net.to(map_location)
    return net
