r"""The Unrestricted Recursive Network of ``004_…`` (Golkar): one dense recursive net of ``S``
neurons, iterated ``I`` times, as a complete directed graph with delay-1 edges.

The model (§2). The input ``x [B, d_in]`` is embedded in the first ``d_in`` neurons (Eq. 2),
``N^{(0)} = (x, 0, …, 0)``; every iteration applies one dense update (Eq. 3)

.. math::
    N^{(l+1)} = \phi(W N^{(l)} + b), \qquad l = 0, …, I - 1,

and the outputs are read from the last ``d_out`` neurons, ``ŷ = N^{(I)}_{S-d_out:}`` (Eq. 4;
``y[:, k]`` is neuron ``S - d_out + k``). Two variants let the number of effective layers differ
from ``I``: residual *output* neurons accumulate, ``N^{(l+1)}_o = N^{(l)}_o + φ(·)_o`` (Eq. 6),
and residual *input* neurons are fed the input at every iteration,
``N^{(l+1)}_i = x_i + φ(·)_i`` (Eq. 7).

As a graph. ``urn.net`` is an ordinary recurrent :class:`~graphnets.GraphNet`: neurons ``0 …
S-1`` (labels ``0 … S-1``, activation ``φ``), every ordered pair ``u → v`` (self loops included)
one edge of delay 1 whose weight is ``W[v, u]``, edges in destination-major order so that
``weight.view(S, S)`` *is* ``W``; the last ``d_out`` neurons are its outputs. The input enters as
the state of the first step (Eq. 2), not through an edge: the net's ``d_in`` input nodes
``("x", k)`` carry no edges (a GraphNet needs inputs; paths from them are not the URN's paths,
so ask :func:`~graphnets.urn.emerge` for the feed-forward graph that computes ``ŷ``).
The residual additions are the URN's rule between iterations, not edges.

How it runs. One iteration is the step graph of ``urn.net``: ``S`` state inputs (the neurons'
values at ``l``), ``S`` computed neurons and the ``E`` edges, compiled once into a schedule of
one level. While ``W`` is dense that level is a *complete* dense block whose weights are a free
view of ``net.weight``: one ``addmm`` per iteration, the work of a hand-written ``W @ N`` loop.
:meth:`URN.sparsify` removes the weights that are exactly zero as a real edit
(``net.remove_edges``, optimizer state carried over), and the level is re-planned from the
surviving edges (``graphnets.kernels.restrict_schedule``), so once the level is sparse
enough the planner runs it on the sparse kernel and every epoch costs what its edges cost.

Regulators (Eq. 5, 9). :meth:`URN.penalty` gives ``c_W Σ|W|``, ``c_N Σ_l mean_b Σ_i |N_i^{(l)}|``
over the last forward's iterations ``l = 1 … I``, and ``c_syn Σ |W_ij| d_ij^γ`` over a
:class:`~graphnets.methods.urn.geometry.Geometry`. The weight terms can instead be applied as a
proximal (soft-threshold) step after the optimizer's step (:meth:`URN.proximal_step`), which
puts weights at exact zeros, where :meth:`URN.sparsify` can remove them.

Memory and time at ``S = 5000`` (25M edges): the net's structure holds ``edge_index`` and
``delay`` (600 MB of int64), the step graph and its schedule about 1.4 GB more, the weights and
their gradient 100 MB each, Adam's moments 200 MB; building it all takes about 10 s on 2 cores
(validation and the edge sort of 25M edges), and a sparsification a few seconds (see
``docs/urn.md``).

Not done here: no weight sharing, no recurrent use of the outputs beyond ``I`` iterations.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..._util.checks import positive_int
from ..._util.seeds import Seed, generator
from ...core.activations import parse_activation
from ...core.schedule import Schedule
from ...core.structure import Structure
from ...kernels import compile_schedule, restrict_schedule, run
from ...nn.graphnet import GraphNet
from ...nn.history import EditRecord
from .geometry import Geometry

__all__ = [
    "RESIDUALS",
    "URN",
    "check_strength",
    "complete_structure",
    "iteration_structure",
    "soft_threshold",
]

#: The update rules: ``None`` (Eq. 3), residual ``"output"`` (Eq. 6) or ``"input"`` (Eq. 7).
RESIDUALS: tuple[str | None, ...] = (None, "output", "input")


def complete_structure(
    S: int, d_in: int, d_out: int, activation: str = "relu", output_activation: str | None = None
) -> Structure:
    """The structure of a URN: ``S`` neurons, all ``S²`` ordered pairs as delay-1 edges.

    Edge ``v · S + u`` is ``u → v`` (destination-major), so a weight vector in edge order viewed
    as ``[S, S]`` is ``W[dst, src]``. Nodes ``0 … S-1`` are the neurons (activation
    ``activation``), the last ``d_out`` of them the outputs (activation ``output_activation``,
    default ``activation``); nodes ``S … S+d_in-1`` are the input nodes ``("x", k)``, without
    edges (the input is the first step's state).

    Example:
        >>> s = complete_structure(3, 1, 1)
        >>> s.num_edges, s.edge_index[:, :4].tolist(), s.labels[-1]
        (9, [[0, 1, 2, 0], [0, 0, 0, 1]], ('x', 0))
    """
    spec = parse_activation(activation).spec
    out_spec = spec if output_activation is None else parse_activation(output_activation).spec
    dst = torch.arange(S).repeat_interleave(S)
    src = torch.arange(S).repeat(S)
    labels = [*range(S), *(("x", k) for k in range(d_in))]
    return Structure(
        torch.stack([src, dst]),
        labels,
        list(range(S, S + d_in)),
        list(range(S - d_out, S)),
        [spec] * (S - d_out) + [out_spec] * d_out + ["identity"] * d_in,
        delay=torch.ones(S * S, dtype=torch.long),
    )


def iteration_structure(structure: Structure, S: int) -> Structure:
    """One iteration of a URN as a feed-forward structure: the step graph of ``structure``.

    Nodes ``0 … S-1`` are the neurons at iteration ``l + 1`` (all outputs, in neuron order),
    nodes ``S … 2S-1`` inputs (the neurons' values at ``l``); every delay-1 edge ``u → v`` of
    ``structure`` becomes ``S + u → v``, in the same order, so the weights line up. The neurons
    come first so that the schedule keeps them in index order (it groups a level's nodes by
    activation in order of first appearance): the hidden activation, then the outputs'.

    Raises:
        ValueError: if ``structure`` has an edge that is not a delay-1 edge between neurons
            (``0 … S-1``), which a URN's update rule does not have.

    Example:
        >>> it = iteration_structure(complete_structure(3, 1, 1), 3)
        >>> it.num_nodes, it.num_edges, it.num_levels
        (6, 9, 2)
    """
    src, dst = structure.edge_index
    bad = (src >= S) | (dst >= S) | (structure.delay != 1)
    if bool(bad.any()):
        e = int(bad.nonzero()[0, 0])
        lab = structure.labels
        raise ValueError(
            f"edge {lab[int(src[e])]!r} -> {lab[int(dst[e])]!r} (delay {int(structure.delay[e])}) "
            f"is not a URN edge; a URN has delay-1 edges between its neurons 0..{S - 1} only"
        )
    acts = structure.activations
    return Structure(
        torch.stack([src + S, dst]),
        range(2 * S),
        range(S, 2 * S),
        range(S),
        list(acts[:S]) + ["identity"] * S,
    )


def check_strength(value: object, name: str) -> float:
    """``value`` as a float if it is a finite number ``>= 0`` (a regulator's strength), else
    ``ValueError`` naming it.

    Example:
        >>> check_strength(1e-5, "c_W")
        1e-05
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if not 0 <= value < float("inf"):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def soft_threshold(w: torch.Tensor, threshold: torch.Tensor | float) -> torch.Tensor:
    """The proximal operator of ``t·|w|``: ``sign(w) · max(|w| − t, 0)``, elementwise.

    Args:
        w (Tensor): values.
        threshold (Tensor or float): ``t >= 0``, a number or one per value (broadcast).

    Returns:
        Tensor: like ``w``; entries with ``|w| <= t`` are exactly ``0``.

    Example:
        >>> soft_threshold(torch.tensor([-2.0, -0.5, 0.3, 1.5]), 1.0).tolist()
        [-1.0, 0.0, 0.0, 0.5]
    """
    # w - clamp(w, -t, t): w ∓ t beyond the threshold, and w - w = +0.0 (never -0.0) within it
    if isinstance(threshold, torch.Tensor):
        return w - torch.clamp(w, -threshold, threshold)
    return w - w.clamp(-threshold, threshold)


class URN(nn.Module):
    r"""An Unrestricted Recursive Network (``004_…`` §2): ``S`` neurons, ``I`` iterations of
    ``N ← φ(W N + b)``, its structure a complete graph of delay-1 edges (``urn.net``).

    Args:
        S (int): number of neurons.
        iterations (int): ``I``, applications of the update rule.
        d_in (int): input neurons, the first ``d_in`` (Eq. 2).
        d_out (int): output neurons, the last ``d_out`` (Eq. 4); ``d_in + d_out <= S``.
        residual (str, optional): ``None`` (Eq. 3), ``"output"`` (Eq. 6: output neurons
            accumulate) or ``"input"`` (Eq. 7: the input is added to the input neurons at every
            iteration) (default: ``None``).
        activation (str): ``φ``, any graphnets activation (default: ``"relu"``).
        output_activation (str, optional): the output neurons' activation, at every iteration
            (default: ``None``, ``φ`` as every neuron, Eq. 3; ``"identity"`` keeps ReLU outputs
            from dying, see ``docs/urn.md``).
        geometry (Geometry, optional): positions of the ``S`` neurons, for the synaptic-length
            regulator (Eq. 8, 9) (default: ``None``).
        seed (int or torch.Generator, optional): the He-normal initialisation,
            ``W ~ N(0, g²/S)`` with ``g`` the activation's gain (``√2`` for ReLU); biases zero.
        dtype (torch.dtype, optional): parameter dtype (default: torch's default dtype).
        history (int, optional): edit records kept in ``net.history`` (default: ``8``: each
            sparsification records the edges it removed).

    Shapes:
        - **input:** ``x [B, d_in]`` (or ``[d_in]``)
        - **output:** ``[B, d_out]``; :meth:`activities`: ``[I + 1, B, S]``

    Raises:
        ValueError: for sizes that are not positive ints, ``d_in + d_out > S``, an unknown
            ``residual`` or a geometry with another number of neurons.

    Example:
        >>> import torch
        >>> urn = URN(20, 3, 4, 2, seed=0)
        >>> urn
        URN(S=20, iterations=3, d_in=4, d_out=2, edges=400, density=1.000, kernel=dense)
        >>> x = torch.randn(5, 4)
        >>> urn(x).shape, urn.activities(x).shape
        (torch.Size([5, 2]), torch.Size([4, 5, 20]))
    """

    def __init__(
        self,
        S: int,
        iterations: int,
        d_in: int,
        d_out: int,
        *,
        residual: str | None = None,
        activation: str = "relu",
        output_activation: str | None = None,
        geometry: Geometry | None = None,
        seed: Seed = None,
        dtype: torch.dtype | None = None,
        history: int | None = 8,
    ) -> None:
        super().__init__()
        S = positive_int(S, "S")
        self.iterations = positive_int(iterations, "iterations")
        self.d_in = positive_int(d_in, "d_in")
        self.d_out = positive_int(d_out, "d_out")
        if self.d_in + self.d_out > S:
            raise ValueError(
                f"d_in + d_out must be at most S (input and output neurons are disjoint), got "
                f"d_in={d_in}, d_out={d_out}, S={S}; use more neurons"
            )
        if residual is not None and residual not in ("output", "input"):
            raise ValueError(f"unknown residual {residual!r}; expected None, 'output' or 'input'")
        self.residual = residual
        act = parse_activation(activation)
        if output_activation is not None:
            output_activation = parse_activation(output_activation).spec
        if geometry is not None:
            if not isinstance(geometry, Geometry):
                raise TypeError(
                    f"geometry must be a graphnets.urn.Geometry (see graphnets.urn.grid), got "
                    f"{type(geometry).__name__}"
                )
            if geometry.num_neurons != S:
                raise ValueError(
                    f"geometry places {geometry.num_neurons} neurons, but the URN has S={S}; "
                    "build the geometry for S neurons"
                )
        self.geometry = geometry
        structure = complete_structure(S, self.d_in, self.d_out, act.spec, output_activation)
        self.net = GraphNet(structure, kernel="levelwise", dtype=dtype, history=history, seed=0)
        with torch.no_grad():
            w = torch.randn(S * S, generator=generator(seed), dtype=torch.float64)
            self.net.weight.copy_(w * (act.gain / math.sqrt(S)))
        self._plan: tuple | None = None  # (structure, device, dtype, iteration structure, sched)
        self._lengths: tuple | None = None  # (structure, gamma, device, dtype, d^γ [E])
        self._last: list[torch.Tensor] | None = None  # N^(1..I) of the last forward

    # -- structure ------------------------------------------------------------------------
    @property
    def S(self) -> int:
        """Number of neurons."""
        return self.net.num_nodes - self.d_in

    @property
    def num_edges(self) -> int:
        """Number of weights still in the graph (``S²`` until :meth:`sparsify`)."""
        return self.net.num_edges

    @property
    def density(self) -> float:
        """Edges kept, as a fraction of the ``S²`` of the complete graph."""
        return self.num_edges / self.S**2

    @property
    def activation(self) -> str:
        """``φ``, the neurons' activation."""
        return self.net.structure.activations[0]

    @property
    def output_activation(self) -> str:
        """The output neurons' activation (``φ`` unless set)."""
        return self.net.structure.activations[self.S - 1]

    def weight_matrix(self) -> torch.Tensor:
        """``W [S, S]`` (``W[dst, src]``, removed edges ``0``), differentiable.

        Example:
            >>> urn = URN(3, 1, 1, 1, seed=0)
            >>> torch.equal(urn.weight_matrix().view(-1), urn.net.weight)
            True
        """
        S, w = self.S, self.net.weight
        if w.numel() == S * S and self._dense_order():
            return w.view(S, S)
        src, dst = self.net.edge_index.to(w.device)
        return w.new_zeros(S, S).index_put((dst, src), w)

    def _dense_order(self) -> bool:
        ei = self.net.edge_index
        S = self.S
        return bool(torch.equal(ei[1] * S + ei[0], torch.arange(S * S)))

    def schedule(self) -> Schedule:
        """The compiled schedule of one iteration (see the module docstring), cached."""
        s, w = self.net.structure, self.net.weight
        plan = self._plan
        if plan is None or plan[0] is not s or plan[1] != w.device or plan[2] != w.dtype:
            it = iteration_structure(s, self.S)
            plan = (s, w.device, w.dtype, it, compile_schedule(it, "levelwise", w.device, w.dtype))
            self._plan = plan
        return plan[4]

    @property
    def kernel(self) -> str:
        """The kernel the iteration's level runs on now: ``"dense"``, ``"sparse"``,
        ``"scatter"`` or ``"bias"`` (no edges left)."""
        kinds = self.schedule().kinds()
        return kinds[-1]

    # -- evaluation -----------------------------------------------------------------------
    def _check_x(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` if it is ``[B, d_in]`` (or ``[d_in]``) of the URN's dtype and device."""
        w = self.net.weight
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"expected x to be a torch.Tensor of shape [B, {self.d_in}], got {type(x).__name__}"
            )
        if x.dim() not in (1, 2) or x.shape[-1] != self.d_in:
            raise ValueError(
                f"expected x of shape [B, {self.d_in}] (one column per input neuron), got "
                f"{list(x.shape)}"
            )
        if x.dtype != w.dtype or x.device != w.device:
            raise TypeError(
                f"expected x of dtype {w.dtype} on {w.device} (the URN's parameters), got "
                f"{x.dtype} on {x.device}; convert x with x.to(...)"
            )
        return x

    def _iterate(self, x: torch.Tensor, weight: torch.Tensor | None = None) -> list[torch.Tensor]:
        """``[N^(0), …, N^(I)]``, each ``[B, S]``, through the iteration's schedule."""
        x = self._check_x(x)
        if x.dim() == 1:
            x = x[None]
        S, w, b = self.S, self.net.weight, self.net.bias
        if weight is not None:
            if not isinstance(weight, torch.Tensor) or weight.shape != w.shape:
                raise ValueError(
                    f"expected weight of shape [{w.numel()}] (one per edge, in the order of "
                    f"net.weight), got "
                    f"{list(weight.shape) if isinstance(weight, torch.Tensor) else weight!r}"
                )
            w = weight.to(w.device, w.dtype)
        sched = self.schedule()
        b_step = torch.cat([b[:S], b.new_zeros(S)])  # the state inputs take no bias
        N = torch.nn.functional.pad(x, (0, S - self.d_in))
        values = [N]
        embedded = N
        o = S - self.d_out
        for _ in range(self.iterations):
            A = run(N, w, b_step, sched)
            if self.residual == "input":
                N = A + embedded
            elif self.residual == "output":
                N = torch.cat([A[:, :o], A[:, o:] + N[:, o:]], 1)
            else:
                N = A
            values.append(N)
        if weight is None:
            self._last = values[1:]
        return values

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``ŷ = N^{(I)}`` of the output neurons, ``[B, d_out]`` (or ``[d_out]`` for ``[d_in]``).

        Also keeps the iterations' values for :meth:`penalty`.
        """
        y = self._iterate(x)[-1][:, self.S - self.d_out :]
        return y[0] if x.dim() == 1 else y

    def activities(self, x: torch.Tensor, *, weight: torch.Tensor | None = None) -> torch.Tensor:
        """The value of every neuron at every iteration, ``[I + 1, B, S]`` (``[0]``: the
        embedded input ``N^{(0)}``), differentiable.

        ``weight`` (``[E]``, in the order of ``net.weight``) evaluates the URN with other
        weights on the same edges, e.g. some of them zeroed (default: ``net.weight``); only a
        call without it is kept for :meth:`penalty`.

        Example:
            >>> urn = URN(10, 2, 3, 2, seed=0)
            >>> x = torch.randn(4, 3)
            >>> a = urn.activities(x)
            >>> torch.equal(a[0, :, :3], x), torch.equal(a[-1, :, -2:], urn(x))
            (True, True)
        """
        return torch.stack(self._iterate(x, weight))

    # -- regulators -----------------------------------------------------------------------
    def synapse_lengths(self, gamma: float = 1.0) -> torch.Tensor:
        """``d_e^γ [E]`` of every edge under the geometry (Eq. 8), in the order of ``weight``.

        Raises:
            ValueError: if the URN has no geometry, or ``gamma`` is not a finite number ``> 0``.
        """
        if self.geometry is None:
            raise ValueError(
                "this URN has no geometry, so synapses have no length; build it with "
                "geometry=graphnets.urn.grid(...) to use c_syn"
            )
        gamma = float(gamma)
        if not (0 < gamma < float("inf")):
            raise ValueError(f"gamma must be a finite number > 0, got {gamma}")
        s, w = self.net.structure, self.net.weight
        cached = self._lengths
        if cached is None or cached[0] is not s or cached[1:4] != (gamma, w.device, w.dtype):
            src, dst = s.edge_index
            d = self.geometry.distance(src, dst).pow(gamma).to(w.device, w.dtype)
            cached = self._lengths = (s, gamma, w.device, w.dtype, d)
        return cached[4]

    def penalty(
        self, *, c_W: float = 0.0, c_N: float = 0.0, c_syn: float = 0.0, gamma: float = 1.0
    ) -> torch.Tensor:
        r"""The regulators of Eq. 5 and 9, differentiable:

        .. math::
            c_W \sum_{ij} |W_{ij}| + c_N \sum_{l=1}^{I} \tfrac{1}{B} \sum_{b,i} |N^{(l)}_{bi}|
            + c_{syn} \sum_{ij} |W_{ij}|\, d_{ij}^{\gamma}

        The activity term reads the values of the last forward (:meth:`forward` or
        :meth:`activities`) and averages over its batch, as the cross-entropy does.

        Args:
            c_W, c_N, c_syn (float): strengths ``>= 0`` (default: ``0``).
            gamma (float): the power of the synapse length (default: ``1``).

        Returns:
            Tensor: a scalar.

        Raises:
            ValueError: for a negative or non-finite strength, ``c_N > 0`` before any forward,
                or ``c_syn > 0`` without a geometry.

        Example:
            >>> urn = URN(6, 2, 2, 1, seed=0)
            >>> _ = urn(torch.randn(3, 2))
            >>> p = urn.penalty(c_W=1e-3, c_N=1e-2)
            >>> p.shape, bool(p > 0)
            (torch.Size([]), True)
        """
        c_W, c_N = check_strength(c_W, "c_W"), check_strength(c_N, "c_N")
        c_syn = check_strength(c_syn, "c_syn")
        w = self.net.weight
        total = w.new_zeros(())
        if c_W:
            total = total + c_W * w.abs().sum()
        if c_syn:
            total = total + c_syn * (w.abs() * self.synapse_lengths(gamma)).sum()
        if c_N:
            if self._last is None:
                raise ValueError("c_N needs the neuron values of a forward: call urn(x) first")
            B = self._last[0].shape[0]
            total = total + c_N * sum(N.abs().sum() for N in self._last) / B
        return total

    @torch.no_grad()
    def proximal_step(
        self,
        step: float | torch.optim.Optimizer,
        *,
        c_W: float = 0.0,
        c_syn: float = 0.0,
        gamma: float = 1.0,
    ) -> int:
        r"""Soft-threshold the weights: the proximal step of the weight regulators.

        After an optimizer step on the rest of the loss, ``w ← sign(w)·max(|w| − t, 0)`` with
        ``t_e = η_e (c_W + c_syn d_e^γ)``, the proximal operator of the weight terms of Eq. 5
        and 9 for the step ``η_e`` just taken; weights that the loss does not hold up land on
        exact zeros, where :meth:`sparsify` can remove them.

        ``step`` is the step size ``η`` (a number), or the optimizer whose step this follows:
        its learning rate for ``net.weight``, and for Adam / AdamW (and AMSGrad) the per-weight
        factor it scaled that step by, ``η_e = lr / (√v̂_e + ε)`` with ``v̂`` the bias-corrected
        second moment: the threshold is then the one of the metric Adam steps in, so a weight
        whose gradient stays below ``c_W`` goes to zero, as the fixed point of the L1 problem
        requires.

        Returns:
            int: the number of weights that are exactly zero afterwards.

        Raises:
            ValueError: for a negative strength or step, or an optimizer without ``net.weight``.

        Example:
            >>> urn = URN(4, 1, 1, 1, seed=0)
            >>> urn.proximal_step(0.5, c_W=1.0)  # t = 0.5: the 5 weights with |w| <= 0.5 become 0
            5
        """
        c_W, c_syn = check_strength(c_W, "c_W"), check_strength(c_syn, "c_syn")
        w = self.net.weight
        t = self.step_sizes(step)
        if c_syn:
            t = t * (c_W + c_syn * self.synapse_lengths(gamma))
        elif isinstance(t, torch.Tensor):
            t.mul_(c_W)  # a fresh tensor: scaled in place
        else:
            t = t * c_W
        # soft_threshold(w, t) = w - clamp(w, -t, t), written into w
        w.sub_(torch.clamp(w, -t, t) if isinstance(t, torch.Tensor) else w.clamp(-t, t))
        return int((w == 0).sum())

    def step_sizes(self, step: float | torch.optim.Optimizer) -> torch.Tensor | float:
        """The step ``η`` (a number) or ``η_e [E]`` an optimizer took on every weight (see
        :meth:`proximal_step`)."""
        w = self.net.weight
        if not isinstance(step, torch.optim.Optimizer):
            if isinstance(step, bool) or not isinstance(step, (int, float)) or not step >= 0:
                raise ValueError(
                    f"step must be a step size >= 0 or the torch.optim.Optimizer of net.weight, "
                    f"got {step!r}"
                )
            return float(step)
        group = next((g for g in step.param_groups if any(p is w for p in g["params"])), None)
        if group is None:
            raise ValueError(
                "the optimizer does not optimise urn.net.weight; pass the optimizer built on "
                "urn.parameters()"
            )
        lr = float(group["lr"])
        state = step.state.get(w, {})
        if "exp_avg_sq" not in state:
            return lr
        v = state["max_exp_avg_sq"] if group.get("amsgrad") else state["exp_avg_sq"]
        beta2 = group["betas"][1]
        correction = 1 - beta2 ** float(state["step"])
        return (v / correction).sqrt_().add_(group["eps"]).reciprocal_().mul_(lr)

    # -- dense to sparse ------------------------------------------------------------------
    def sparsify(self, *, optimizer: torch.optim.Optimizer | None = None) -> EditRecord | None:
        """Remove the edges whose weight is exactly zero, as an edit of ``net``.

        The removal is ``net.remove_edges`` (so ``optimizer``'s state of the surviving weights,
        their gradients and ``net.history`` follow, see ``docs/edits.md``); the iteration's
        schedule is re-planned from the surviving edges without re-sorting them
        (``graphnets.kernels.restrict_schedule``), so the level switches from the dense
        kernel to the sparse one once it is sparse enough.

        Returns:
            EditRecord or None: the edit's record, or ``None`` when no weight is zero.

        Example:
            >>> urn = URN(4, 1, 1, 1, seed=0)
            >>> _ = urn.proximal_step(0.5, c_W=1.0)
            >>> urn.sparsify()
            EditRecord(remove_edges, removed_edges=5)
            >>> urn.num_edges, urn.kernel
            (11, 'sparse')
        """
        w = self.net.weight
        zero = (w.detach() == 0).cpu().numpy()
        if not zero.any():
            return None
        sched = self.schedule()
        it = self._plan[3]  # type: ignore[index]
        new_it, edge_map, _ = it.subgraph(~zero, np.ones(it.num_nodes, dtype=bool))
        new_sched = restrict_schedule(sched, new_it, edge_map)
        record = self.net.remove_edges(torch.from_numpy(zero), optimizer=optimizer)
        self._plan = (self.net.structure, w.device, w.dtype, new_it, new_sched)
        return record

    def __getstate__(self) -> dict:
        # the last forward's values are part of an autograd graph, which neither pickles nor
        # deep-copies; a copy starts without them (penalty(c_N=...) needs a forward first)
        state = self.__dict__.copy()
        state["_last"] = None
        return state

    def extra_repr(self) -> str:
        parts = [
            f"S={self.S}",
            f"iterations={self.iterations}",
            f"d_in={self.d_in}",
            f"d_out={self.d_out}",
        ]
        if self.residual is not None:
            parts.append(f"residual={self.residual!r}")
        if self.activation != "relu":
            parts.append(f"activation={self.activation!r}")
        if self.output_activation != self.activation:
            parts.append(f"output_activation={self.output_activation!r}")
        if self.geometry is not None:
            parts.append("geometry")
        parts += [f"edges={self.num_edges}", f"density={self.density:.3f}", f"kernel={self.kernel}"]
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"URN({self.extra_repr()})"
