r"""SET, RigL and the thesis's rewiring: three ways to choose what a round drops and grows.

=============  ==================================  ====================================  ===========
method         drop (lowest first)                 grow                                  new weights
=============  ==================================  ====================================  ===========
:class:`SET`   ``|w|``                             uniformly random allowed pairs        0
:class:`RigL`  ``|w|``                             largest ``|Σ_b a_u δ_v|``             0
:class:`Thesis` ``Σ_window −w·∂L/∂w`` (Eq. 4.3)   largest ``|corr(u, v)|`` (Def. 4.6)   §4.4
=============  ==================================  ====================================  ===========

SET: Mocanu et al., "Scalable training of artificial neural networks with adaptive sparse
connectivity inspired by network science", Nature Communications 2018. RigL: Evci et al.,
"Rigging the lottery: making all tickets winners", ICML 2020. The thesis: ``001_…`` Chapter 4.
"""

from __future__ import annotations

import torch

from ..._util.checks import choice, positive_int
from ...kernels.trace import node_errors
from .base import Rewirer
from .scores import KINDS, approximate, columns, exact
from .select import Forbidden, Pool, random_pairs, top_pairs
from .space import Block
from .weights import least_squares

__all__ = ["SET", "RigL", "Thesis", "SEARCHES", "AUTO_SOURCES"]

#: How the thesis finds its candidate pairs.
SEARCHES = ("auto", "exact", "approximate")
#: ``search="auto"`` searches a block approximately from this many sources on (the crossover
#: measured by ``benchmarks/bench_rewire.py``, see ``docs/rewiring.md``).
AUTO_SOURCES = 2048


class SET(Rewirer):
    """Sparse Evolutionary Training: drop the smallest ``|w|``, grow uniformly random pairs.

    Args: those of :class:`Rewirer` (``net``, ``optimizer``, ``fraction``, ``every``, ``seed``,
    ``decay``, ``until``, ``in_degree``, ``allowed``, ``max_pairs``).

    New edges start at weight 0 (the issue's convention; the SET paper draws them at random).
    Growth needs nothing from the batch: the net carries no hook.

    Example:
        >>> import torch, graphnets
        >>> from graphnets.builders.sparse import sparse_mlp
        >>> net = sparse_mlp([8, 16, 4], 0.3, seed=0)
        >>> opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        >>> rewirer = SET(net, opt, fraction=0.3, every=2, seed=0)
        >>> x, y = torch.randn(32, 8), torch.randint(0, 4, (32,))
        >>> for _ in range(4):
        ...     loss = torch.nn.functional.cross_entropy(net(x), y)
        ...     opt.zero_grad(); loss.backward(); opt.step(); r = rewirer.step()
        >>> net.num_edges, [r.moved for r in rewirer.history]
        (57, [17, 17])
    """

    def grow(self, ctx: dict, forbidden: Forbidden, key, quota: torch.Tensor) -> Pool:
        return random_pairs(
            self.space.blocks(self.max_pairs),
            quota,
            forbidden,
            key,
            self.gen,
            occupied=ctx["occupied"],
        )


class RigL(Rewirer):
    r"""Rigged Lottery: drop the smallest ``|w|``, grow where ``|∂L/∂w|`` of a missing edge is
    largest.

    Args: those of :class:`Rewirer`.

    The gradient a missing edge ``u -> v`` would have had on the batch of the step that ends
    with the round is :math:`\sum_b a_{bu}\,\delta_{bv}`: the activations ``a`` and errors
    ``δ = ∂L/∂z`` come from that step's own forward and backward
    (``graphnets.methods.rewire.collect.Collector``), and the scores are taken block by
    block (``graphnets.methods.rewire.select.top_pairs``): a level pair's block is at most
    the ``[n_src, n_dst]`` a dense layer would hold, cut to ``max_pairs`` entries, with a running
    top-k; no dense matrix of the whole net is ever formed. New edges start at weight 0.

    Example:
        >>> import torch, graphnets
        >>> from graphnets.builders.sparse import sparse_mlp
        >>> net = sparse_mlp([8, 16, 4], 0.3, seed=0)
        >>> opt = torch.optim.Adam(net.parameters(), lr=0.01)
        >>> rewirer = RigL(net, opt, every=2, decay="cosine", until=3)
        >>> x, y = torch.randn(32, 8), torch.randint(0, 4, (32,))
        >>> for _ in range(4):
        ...     loss = torch.nn.functional.cross_entropy(net(x), y)
        ...     opt.zero_grad(); loss.backward(); opt.step(); r = rewirer.step()
        >>> [(r.step, r.moved) for r in rewirer.history], net.num_edges
        ([(2, 4)], 57)
    """

    needs_batch = True

    def grow(self, ctx: dict, forbidden: Forbidden, key, quota: torch.Tensor) -> Pool:
        A, D = columns(ctx["a"], ctx["delta"], "gradient")
        return self._grow_top(ctx, exact(A, D, self.max_pairs), forbidden, key, quota)


class Thesis(Rewirer):
    r"""The rewiring of ``001_…`` Chapter 4: drop by utility, grow by correlation, and give new
    edges the weights that change the net least.

    * **Drop** (§4.1): the edges of lowest utility :math:`-w\,\partial L/\partial w` (Eq. 4.3),
      summed over the last ``window`` optimizer steps before the round (read from the weights'
      gradients by an optimizer step pre-hook, on those steps only).
    * **Grow** (§4.3): the pairs of largest :math:`|\operatorname{corr}(u, v)|`, the cosine of
      ``u``'s activations and ``v``'s errors over the batch of the step that ends with the round
      (Def. 4.6), found by the blocked product of RigL on unit columns (``search="exact"``) or
      by nearest-neighbour search (Prop. 4.7, ``search="approximate"``); ``"auto"`` searches
      approximately the blocks of at least :data:`AUTO_SOURCES` sources.
    * **New weights** (§4.4): per node, the least-squares weights of Eq. 4.8 (and its
      many-edge form) with the bias moved so that the node's mean pre-activation on the batch is
      unchanged (:func:`~graphnets.rewire.least_squares`).

    Args:
        net, optimizer, fraction, every, seed, decay, until, allowed, max_pairs: as in
            :class:`Rewirer`.
        in_degree (bool): as in :class:`Rewirer` (default: ``True``: the thesis fixes the
            in-degree of every neuron, §4.6, and its strategy 1 of §4.3 regrows each freed
            in-edge at the node that lost it).
        window (int, optional): the optimizer steps whose utilities are summed, at most
            ``every`` (default: ``None``, every step since the last round).
        correlation (str): ``"correlation"`` (Def. 4.6) or ``"centred"`` (the cosine of the
            centred columns) (default: ``"correlation"``).
        search (str): ``"auto"``, ``"exact"`` or ``"approximate"`` (default: ``"auto"``).
        probes (int): clusters probed per query and sign by the approximate search
            (default: ``4``).
        weights (str): ``"least_squares"`` (§4.4) or ``"zero"`` (default:
            ``"least_squares"``).
        weight_bound (float, optional): clip each least-squares weight to this many times the
            largest ``|w|`` among its node's in-edges before the round (a trust region that
            the thesis does not have: unbounded, §4.4's weights of barely varying sources can
            be thousands of times the net's and training diverges, see ``docs/rewiring.md``);
            ``None`` for §4.4 as written (default: ``1.0``).
        reset_step (bool): reset the optimizer's step counters after every round, as §4.6 did
            with Adam's timestep (default: ``False``).

    Example:
        >>> import torch, graphnets
        >>> from graphnets.builders.sparse import sparse_mlp
        >>> net = sparse_mlp([8, 16, 4], 0.3, seed=0)
        >>> opt = torch.optim.Adam(net.parameters(), lr=0.01)
        >>> rewirer = Thesis(net, opt, fraction=0.1, every=2, window=1, seed=0)
        >>> x, y = torch.randn(32, 8), torch.randint(0, 4, (32,))
        >>> for _ in range(2):
        ...     loss = torch.nn.functional.cross_entropy(net(x), y)
        ...     opt.zero_grad(); loss.backward(); opt.step(); r = rewirer.step()
        >>> rewirer.history[0].moved, net.num_edges, net.history[-1].kind
        (6, 57, 'set_biases')
    """

    needs_batch = True

    def __init__(
        self,
        net,
        optimizer: torch.optim.Optimizer,
        *,
        fraction: float = 0.3,
        every: int = 100,
        seed=None,
        decay: str = "constant",
        until: int | None = None,
        in_degree: bool = True,
        allowed: str = "layers",
        max_pairs: int = 1 << 22,
        window: int | None = None,
        correlation: str = "correlation",
        search: str = "auto",
        probes: int = 4,
        weights: str = "least_squares",
        weight_bound: float | None = 1.0,
        reset_step: bool = False,
    ) -> None:
        every_ = positive_int(every, "every")
        self.window = every_ if window is None else positive_int(window, "window")
        if self.window > every_:
            raise ValueError(
                f"window must be at most every={every_} (the steps since the last round), got "
                f"{window}"
            )
        if choice(correlation, KINDS, "correlation") == "gradient":
            raise ValueError(
                "correlation must be 'correlation' or 'centred'; for the raw gradient use RigL"
            )
        self.correlation = correlation
        self.search = choice(search, SEARCHES, "search")
        self.probes = positive_int(probes, "probes")
        self.weights = choice(weights, ("least_squares", "zero"), "weights")
        if weight_bound is not None and (
            isinstance(weight_bound, bool)
            or not isinstance(weight_bound, (int, float))
            or not weight_bound > 0
        ):
            raise ValueError(f"weight_bound must be a positive float or None, got {weight_bound!r}")
        self.weight_bound = None if weight_bound is None else float(weight_bound)
        if not isinstance(reset_step, bool):
            raise TypeError(f"reset_step must be True or False, got {reset_step!r}")
        self.reset_step = reset_step
        self._utility: torch.Tensor | None = None
        self._steps = 0
        self._hook = None
        super().__init__(
            net,
            optimizer,
            fraction=fraction,
            every=every,
            seed=seed,
            decay=decay,
            until=until,
            in_degree=in_degree,
            allowed=allowed,
            max_pairs=max_pairs,
        )

    # -- utility over a window ---------------------------------------------------------------
    def _arm(self, step: int) -> None:
        super()._arm(step)
        nxt = -(-step // self.every) * self.every  # the next step that may end with a round
        inside = self.due(nxt) and nxt - step < self.window
        if inside and self._hook is None:
            self._hook = self.optimizer.register_step_pre_hook(self._accumulate)
        elif not inside and self._hook is not None:
            self._hook.remove()
            self._hook = None

    def _accumulate(self, optimizer, args, kwargs) -> None:
        w = self.net.weight
        if w.grad is None:
            return
        u = -(w.detach() * w.grad.detach())
        if self._utility is None or self._utility.shape != u.shape:
            self._utility, self._steps = torch.zeros_like(u), 0
        self._utility += u
        self._steps += 1

    def close(self) -> None:
        super().close()
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def collect(self) -> dict:
        batch = self._collector.batch if self._collector is not None else None
        ctx = super().collect()
        ctx["x"] = None if batch is None else batch.x
        return ctx

    def drop_scores(self, ctx: dict) -> torch.Tensor:
        if self._utility is None or self._steps == 0:
            raise RuntimeError(
                "no utility to drop by: the thesis sums -w * dL/dw over the optimizer steps "
                "before a round; call rewirer.step() after optimizer.step() on every step"
            )
        if self._utility.numel() != self.net.num_edges:
            raise RuntimeError("the net was edited since the utilities were summed")
        return self._utility

    # -- growth ------------------------------------------------------------------------------
    def grow(self, ctx: dict, forbidden: Forbidden, key, quota: torch.Tensor) -> Pool:
        A, D = columns(ctx["a"], ctx["delta"], self.correlation)
        whole = exact(A, D, self.max_pairs)
        near = approximate(A, D, probes=self.probes, seed=self.gen)

        def scores(block: Block):
            many = block.src.numel() >= AUTO_SOURCES
            if self.search == "approximate" or (self.search == "auto" and many):
                return near(block)
            return whole(block)

        pool = self._grow_top(ctx, scores, forbidden, key, quota)
        short = torch.bincount(pool.key, minlength=quota.numel()) < quota
        if not bool(short.any()):
            return pool
        # the probed clusters of some key held too few free sources: search those exactly
        keep = ~short[pool.key]
        again = []
        for b in self.space.blocks(self.max_pairs):
            cols = short[key(b.dst, b.group)]
            if bool(cols.any()):
                again.append(Block(b.src, b.dst[cols], b.group))
        limit = torch.where(short, quota, torch.zeros_like(quota))
        extra = top_pairs(again, whole, forbidden, key, limit)
        merged = [
            torch.cat([f[keep], g]) for f, g in zip(pool.fields(), extra.fields(), strict=True)
        ]
        return Pool(*merged)

    def new_weights(self, ctx: dict, pool: Pool, drop):
        net = self.net
        if self.weights == "zero":
            return torch.zeros(pool.src.numel(), dtype=net.weight.dtype), None
        a = node_errors(net, ctx["x"])[0]  # what the edited nodes see now, on the same batch
        src, dst = net.structure.edge_index
        gone = torch.from_numpy(drop)
        w = net.weight.detach()
        bound = None
        if self.weight_bound is not None:  # the largest |w| into each node, before the round
            largest = torch.zeros(net.num_nodes, dtype=w.dtype, device=w.device)
            largest.scatter_reduce_(0, dst.to(w.device), w.abs(), "amax")
            bound = self.weight_bound * largest[pool.dst.to(w.device)]
        weight, nodes, change = least_squares(
            a, pool.src, pool.dst, src[gone], dst[gone], w[gone.to(w.device)], bound
        )
        return weight.cpu(), (nodes, change)

    def _round(self):
        record = super()._round()
        self._utility, self._steps = None, 0
        if self.reset_step:
            for state in self.optimizer.state.values():
                step = state.get("step")
                if isinstance(step, torch.Tensor):
                    step.zero_()
                elif step is not None:
                    state["step"] = 0
        return record
