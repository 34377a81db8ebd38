r"""The rewirer: counts optimizer steps and, every ``every`` steps, moves a fraction of the edges.

A round (:meth:`Rewirer.step` on a step ``t`` with ``t % every == 0`` and ``t <= until``):

1. every edge gets a *drop score* (lower = dropped first: ``|w|`` for SET and RigL, the
   utility ``−w·∂L/∂w`` for the thesis), and the ``round(f_t · E_g)`` lowest of every group
   ``g`` go (:func:`~graphnets.methods.rewire.select.drop_mask`);
2. as many allowed pairs grow, per group or, with ``in_degree=True``, per destination
   (each node keeps its in-degree, ``001_…`` §4.6), chosen by the method among the pairs that
   are not edges after the drop (a just-dropped pair may come back, as a new edge);
3. the net is edited: one ``net.replace_edges`` (and for the thesis one ``net.set_biases``),
   with ``optimizer=``: surviving edges keep their optimizer state, new ones start from zero
   state and their own weight. New edges of ``"layers"`` and ``"forward"`` go from a lower
   level to a higher one, so the edit keeps the levels and re-plans only the levels it
   changed: its cost follows the moved edges, not the net.

The fraction ``f_t`` is constant or decays as RigL's cosine,
:math:`f_t = \tfrac{f}{2}\,(1 + \cos(\pi t / T_{\text{end}}))` with :math:`T_{\text{end}}` =
``until``; after ``until`` the structure is frozen. The edge count of every group is the same
after every round, so the net's edge budget is exact.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..._util.checks import choice, positive_int
from ..._util.seeds import Seed, generator
from ...nn.graphnet import GraphNet
from .collect import Collector
from .select import Forbidden, Pool, Scores, drop_mask, greedy_acyclic, top_pairs
from .space import ALLOWED, Space, descendants

__all__ = ["Rewirer", "Round", "DECAYS", "drop_fraction"]

#: Schedules of the drop fraction.
DECAYS = ("constant", "cosine")

# In "acyclic", how many times a round may ask the method for more candidates.
MAX_PROPOSALS = 50


@dataclass(frozen=True)
class Round:
    """What one round did.

    Attributes:
        step: the optimizer step it followed.
        fraction: the drop fraction ``f_t``.
        moved: how many edges were removed (and as many added).
        regrown: how many of the added were pairs just removed (new edges all the same).
        seconds: the whole round; split into ``collect_seconds`` (the batch's activations and
            errors), ``select_seconds`` (scores, drop, growth, new weights) and
            ``edit_seconds`` (the edits of the net).
    """

    step: int
    fraction: float
    moved: int
    regrown: int
    seconds: float
    collect_seconds: float
    select_seconds: float
    edit_seconds: float

    def __repr__(self) -> str:
        return (
            f"Round(step={self.step}, fraction={self.fraction:.3g}, moved={self.moved}, "
            f"regrown={self.regrown}, {self.seconds * 1e3:.1f} ms)"
        )


def drop_fraction(step: int, fraction: float, decay: str = "constant", until=None) -> float:
    r"""The drop fraction at ``step``: ``fraction``, or RigL's cosine decay
    :math:`\tfrac{f}{2}(1 + \cos(\pi\,t/T_{\text{end}}))` with ``T_end = until``.

    Example:
        >>> drop_fraction(50, 0.3, "cosine", until=100)
        0.15
    """
    if decay == "constant":
        return float(fraction)
    return 0.5 * fraction * (1.0 + math.cos(math.pi * min(step, until) / until))


def _check_fraction(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"fraction must be a float in (0, 1], got {value!r}")
    if not 0.0 < float(value) <= 1.0:
        raise ValueError(f"fraction must be a float in (0, 1], got {value!r}")
    return float(value)


class Rewirer:
    """Rewire a GraphNet while it trains: the base of :class:`SET`, :class:`RigL` and
    :class:`Thesis`.

    Call :meth:`step` once per training step, right after ``optimizer.step()``.

    Args:
        net (GraphNet): a feed-forward net, edited in place.
        optimizer (torch.optim.Optimizer): the optimizer of ``net``'s parameters, any kind; its
            state follows every edit.
        fraction (float): the drop fraction ``f`` in ``(0, 1]`` (default: ``0.3``).
        every (int): rewire every ``every`` steps (default: ``100``).
        seed (int or torch.Generator, optional): randomness of the method (default: torch's
            global generator).
        decay (str): ``"constant"`` or ``"cosine"`` (RigL) (default: ``"constant"``).
        until (int, optional): the last step that may rewire; the structure is frozen after it.
            Required by ``decay="cosine"`` (its ``T_end``) (default: ``None``, never frozen).
        in_degree (bool): keep every node's in-degree: each node grows as many edges as it
            lost (``001_…`` §4.6) (default: ``False``: counts are kept per group).
        allowed (str): where new edges may go: ``"layers"``, ``"forward"`` or ``"acyclic"``
            (see ``graphnets.methods.rewire.space``) (default: ``"layers"``).
        max_pairs (int): the most pair scores held at a time (default: ``2**22``).

    Attributes:
        t: the number of steps so far.
        history: the :class:`Round` of every round so far.

    Raises:
        TypeError: for a net that is not a GraphNet, an optimizer that is not one, or a
            fraction that is not a float.
        ValueError: for a recurrent net, an optimizer of other parameters, or any option out of
            range (the message names it).

    Example:
        >>> import torch, graphnets
        >>> net = graphnets.rewire.sparse_mlp([4, 8, 2], 0.5, seed=0)
        >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
        >>> r = graphnets.rewire.SET(net, opt, every=10, decay="cosine", until=25)
        >>> [t for t in range(1, 40) if r.due(t)], round(r.fraction_at(20), 3)
        ([10, 20], 0.029)
    """

    #: Whether the method reads the activations and errors of the step that ends with a round.
    needs_batch = False

    def __init__(
        self,
        net: GraphNet,
        optimizer: torch.optim.Optimizer,
        *,
        fraction: float = 0.3,
        every: int = 100,
        seed: Seed = None,
        decay: str = "constant",
        until: int | None = None,
        in_degree: bool = False,
        allowed: str = "layers",
        max_pairs: int = 1 << 22,
    ) -> None:
        if not isinstance(net, GraphNet):
            raise TypeError(f"expected a graphnets.GraphNet, got {type(net).__name__}")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(
                f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
            )
        params = {id(p) for group in optimizer.param_groups for p in group["params"]}
        if id(net.weight) not in params:
            raise ValueError(
                "optimizer does not optimise this net's weight; pass the optimizer built on "
                "net.parameters()"
            )
        self.fraction = _check_fraction(fraction)
        self.every = positive_int(every, "every")
        self.decay = choice(decay, DECAYS, "decay")
        self.until = None if until is None else positive_int(until, "until")
        if self.decay == "cosine" and self.until is None:
            raise ValueError(
                "decay='cosine' needs until=T_end, the step where the fraction reaches 0 and "
                "the structure freezes (RigL uses 75% of the training steps)"
            )
        if not isinstance(in_degree, bool):
            raise TypeError(f"in_degree must be True or False, got {in_degree!r}")
        self.in_degree = in_degree
        choice(allowed, ALLOWED, "allowed")
        self.max_pairs = positive_int(max_pairs, "max_pairs")
        self.net = net
        self.optimizer = optimizer
        self.space = Space(net.structure, allowed)
        self.gen = generator(seed)
        self.t = 0
        self.history: list[Round] = []
        self._collector = Collector(net) if self.needs_batch else None
        self._arm(1)

    # -- the schedule ------------------------------------------------------------------------
    @property
    def allowed(self) -> str:
        return self.space.allowed

    def fraction_at(self, step: int) -> float:
        """The drop fraction of a round at ``step``."""
        return drop_fraction(step, self.fraction, self.decay, self.until)

    def due(self, step: int) -> bool:
        """Whether ``step`` ends with a round."""
        return step % self.every == 0 and (self.until is None or step <= self.until)

    def step(self) -> Round | None:
        """Count one training step; rewire if it is due. Returns the round's :class:`Round`
        (also appended to :attr:`history`), or ``None``."""
        self.t += 1
        out = self._round() if self.due(self.t) else None
        self._arm(self.t + 1)
        return out

    def _arm(self, step: int) -> None:
        """Collect on ``step`` what its round needs (nothing when none is due)."""
        if self._collector is not None:
            if self.due(step):
                self._collector.arm()
            else:
                self._collector.disarm()

    def close(self) -> None:
        """Remove the rewirer's hooks from the net and the optimizer (it rewires no more)."""
        if self._collector is not None:
            self._collector.disarm()
        self.until = self.t

    # -- what a method defines ---------------------------------------------------------------
    def collect(self) -> dict:
        """What the round needs from the batch (default: the kept batch's ``a`` and ``delta``
        for methods with :attr:`needs_batch`)."""
        if self._collector is None:
            return {}
        a, delta = self._collector.values()
        self._collector.batch = None
        return {"a": a, "delta": delta}

    def drop_scores(self, ctx: dict) -> torch.Tensor:
        """``[E]``, lower = dropped first (default: ``|w|``)."""
        return self.net.weight.detach().abs()

    def grow(self, ctx: dict, forbidden: Forbidden, key, quota: torch.Tensor) -> Pool:
        """Exactly ``quota[key]`` allowed pairs of every key (see :mod:`.select`)."""
        raise NotImplementedError

    def _grow_top(
        self, ctx: dict, scores: Scores, forbidden: Forbidden, key, quota: torch.Tensor
    ) -> Pool:
        """The best-scored ``quota[key]`` allowed pairs of every key (RigL, the thesis)."""
        return top_pairs(self.space.blocks(self.max_pairs), scores, forbidden, key, quota)

    def new_weights(self, ctx: dict, pool: Pool, drop: np.ndarray):
        """The weights of the new edges, and ``(nodes, bias changes)`` or ``None``
        (default: zero weights, biases unchanged)."""
        return torch.zeros(pool.src.numel(), dtype=self.net.weight.dtype), None

    # -- a round -----------------------------------------------------------------------------
    def _grow_all(
        self, ctx: dict, forbidden: Forbidden, quota: torch.Tensor, acyclic: bool
    ) -> Pool:
        """Exactly ``quota[key]`` new pairs per key. In ``"acyclic"``, the method proposes half
        as many again, :func:`~.select.greedy_acyclic` accepts the best that close no cycle
        together, and the shortfall is proposed again without the pairs already tried."""
        need = quota.clone()
        chosen = []
        for _ in range(MAX_PROPOSALS):
            ask = need + (need + 1) // 2 if acyclic else need
            pool = self.grow(ctx, forbidden, self._key, ask)
            if acyclic and forbidden.bits is not None:
                pool, rejected = greedy_acyclic(pool, need, forbidden.bits)
                forbidden.ban(rejected.src.numpy(), rejected.dst.numpy())
            chosen.append(pool)
            need = need - torch.bincount(pool.key, minlength=need.numel())
            if not acyclic or int(need.sum()) == 0:
                break
            forbidden.ban(pool.src.numpy(), pool.dst.numpy())  # edges now: not proposed again
        if len(chosen) > 1:
            pool = Pool(*(torch.cat(f) for f in zip(*(p.fields() for p in chosen), strict=True)))
        got = torch.bincount(pool.key, minlength=quota.numel())
        if not torch.equal(got, quota):  # the budget must stay exact
            k = int((got != quota).nonzero()[0, 0])
            raise RuntimeError(
                f"{type(self).__name__} found {int(got[k])} of the {int(quota[k])} new edges "
                f"quota key {k} needs among the allowed pairs (allowed={self.allowed!r}); the "
                "edge budget would change"
            )
        if bool((pool.key[1:] >= pool.key[:-1]).all()):  # one proposal comes sorted by key
            return pool
        order = torch.sort(pool.key, stable=True).indices
        return Pool(*(f[order] for f in pool.fields()))

    def _key(self, dst_ids: torch.Tensor, group: int) -> torch.Tensor:
        if self.in_degree:
            return dst_ids * self.space.num_groups + group
        return torch.full((dst_ids.numel(),), group, dtype=torch.long)

    def _round(self) -> Round:
        t0 = time.perf_counter()
        net, space = self.net, self.space
        s = net.structure
        groups = space.groups(s)
        ctx = self.collect()
        t1 = time.perf_counter()
        f = self.fraction_at(self.t)
        drop = drop_mask(self.drop_scores(ctx), groups, f)
        src, dst = s.edge_index.numpy()
        G, N = space.num_groups, s.num_nodes
        keys = groups + (dst * G if self.in_degree else 0)
        K = N * G if self.in_degree else G
        kept, gone = np.flatnonzero(~drop), np.flatnonzero(drop)  # ids: gathers, not masks
        quota = torch.from_numpy(np.bincount(keys.take(gone), minlength=K))
        ctx["occupied"] = torch.from_numpy(np.bincount(keys.take(kept), minlength=K))
        acyclic = space.allowed == "acyclic"
        bits = descendants(s.subgraph(~drop, np.ones(N, dtype=bool))[0]) if acyclic else None
        forbidden = Forbidden(N, src.take(kept), dst.take(kept), bits)
        pool = self._grow_all(ctx, forbidden, quota, acyclic)
        weight, bias = self.new_weights(ctx, pool, drop)
        t2 = time.perf_counter()
        moved = gone.size
        dropped = src.take(gone) * N + dst.take(gone)
        regrown = _count_common(dropped, pool.src.numpy() * N + pool.dst.numpy())
        if moved:
            net.replace_edges(drop, pool.src, pool.dst, weight, optimizer=self.optimizer)
            # the survivors in order, then the new edges: their groups are known (a key is the
            # group, or dst * G + group with in_degree)
            grown_in = pool.key.numpy() % G if self.in_degree else pool.key.numpy()
            space.remember(net.structure, np.concatenate([groups.take(kept), grown_in]))
        if bias is not None and bias[0].numel():
            nodes, change = bias
            net.set_biases([s.labels[i] for i in nodes.tolist()], net.bias.detach()[nodes] + change)
        t3 = time.perf_counter()
        record = Round(self.t, f, moved, regrown, t3 - t0, t1 - t0, t2 - t1, t3 - t2)
        self.history.append(record)
        return record

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(fraction={self.fraction}, every={self.every}, "
            f"decay={self.decay!r}, until={self.until}, allowed={self.allowed!r}, "
            f"in_degree={self.in_degree}, step={self.t}, rounds={len(self.history)})"
        )


def _count_common(a: np.ndarray, b: np.ndarray) -> int:
    """How many of the distinct ints ``b`` are among the distinct ints ``a``: the equal
    neighbours of both sorted together (one sort; a binary search of every entry of ``b`` in
    the sorted ``a`` costs more than sorting ``b`` too)."""
    if a.size == 0 or b.size == 0:
        return 0
    both = np.sort(np.concatenate([a, b]))
    return int(np.count_nonzero(both[1:] == both[:-1]))
