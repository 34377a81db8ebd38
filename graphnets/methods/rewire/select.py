"""Choosing the edges of a round: which to drop, and which allowed pairs to grow.

* :func:`drop_mask`: the ``round(fraction · E_g)`` lowest-scored edges of every group ``g``.
* :class:`Forbidden`: the pairs a round may not grow: self loops, the edges that stay, pairs
  that would close a cycle (``allowed="acyclic"``) and pairs banned during the round.
* :func:`top_pairs`: the best-scored allowed pairs, block by block with a running top per
  quota key, so no more than one block of scores (``max_pairs``, 4M by default) is ever held,
  never the ``[N, N]`` matrix of the whole net.
* :func:`random_pairs`: allowed pairs drawn uniformly (SET), by rejection: a draw is uniform
  over a key's blocks, and a forbidden or repeated draw is drawn again.
* :func:`greedy_acyclic`: with ``allowed="acyclic"``, new edges that are each safe can still
  close a cycle together; candidates are accepted best first, each only if it closes no cycle
  with the graph and the candidates accepted before it (the descendant bitsets are updated as
  edges are accepted).

A *key* says whose count a new edge fills: its group, or with a fixed in-degree, its
destination within its group (``key = dst · G + group``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch

from .space import Block, reach_mask, reaches

__all__ = [
    "drop_mask",
    "Forbidden",
    "Pool",
    "top_pairs",
    "random_pairs",
    "greedy_acyclic",
    "Scores",
    "KeyFn",
]

#: :class:`Forbidden` answers membership from a bitset of every pair up to this many nodes
#: squared (32 MiB: 16,384 nodes; 1.7 MiB for the 3,794 of the SET-MLP), else by binary search.
TABLE_MAX_PAIRS = 1 << 28

#: Scores of a block: yields ``(src_ids, dst_ids, scores [n_src, n_dst])`` for the pairs scored.
Scores = Callable[[Block], Iterable[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]]
#: The quota key of every destination of a block: ``key(dst_ids, group) -> LongTensor [n_dst]``.
KeyFn = Callable[[torch.Tensor, int], torch.Tensor]


def drop_mask(scores: torch.Tensor, groups: np.ndarray, fraction: float) -> np.ndarray:
    """The ``round(fraction · E_g)`` edges of lowest score in every group ``g`` (``bool [E]``).

    Ties go to the lower edge id. Rounding is half to even, as Python's ``round``.

    Raises:
        ValueError: for a NaN score (a diverged net).

    Example:
        >>> drop_mask(torch.tensor([3.0, 1.0, 2.0, 5.0]), np.array([0, 0, 1, 1]), 0.5).tolist()
        [False, True, True, False]
    """
    s = scores.detach().cpu()
    # float32 scores as they are: widening is exact and keeps their order, so the partitions
    # below pick the same edges from half the bytes and no copy
    s = (s if s.dtype in (torch.float32, torch.float64) else s.double()).numpy()
    with np.errstate(over="ignore", invalid="ignore"):  # a NaN makes the sum NaN (±inf may)
        suspect = bool(np.isnan(s.sum()))
    if suspect and np.isnan(s).any():
        e = int(np.flatnonzero(np.isnan(s))[0])
        raise ValueError(f"the drop score of edge {e} is NaN (has the net diverged?)")
    groups = np.asarray(groups, dtype=np.int64)
    mask = np.zeros(s.size, dtype=bool)
    if s.size == 0:
        return mask
    # a partition per group, not a sort of all scores: O(E), and a round's largest cost once
    sizes = np.bincount(groups)
    small = groups.astype(np.int16) if sizes.size <= 1 << 15 else groups  # radix-sorted
    by_group = np.argsort(small, kind="stable")  # edge ids ascending within a group
    ends = np.cumsum(sizes)
    counts = np.round(fraction * sizes).astype(np.int64)
    for g in np.flatnonzero(counts).tolist():
        ids = by_group[ends[g] - sizes[g] : ends[g]]
        k = int(counts[g])
        if k >= ids.size:
            mask[ids] = True
            continue
        v = s[ids]
        kth = np.partition(v, k - 1)[k - 1]  # the k-th lowest score; below it all go ...
        below = v < kth
        mask[ids[below]] = True
        tied = ids[v == kth]  # ... and of the ties at it, the lowest edge ids
        mask[tied[: k - int(below.sum())]] = True
    return mask


class Forbidden:
    """The pairs a round may not grow, for a graph with the edges ``src -> dst`` (the ones that
    stay) on ``num_nodes`` nodes.

    Args:
        num_nodes (int): the number of nodes.
        src, dst (ndarray): the edges that stay.
        bits (ndarray, optional): :func:`~graphnets.methods.rewire.space.descendants` of the
            graph of those edges; given, a pair ``u -> v`` with ``v ⇝ u`` is forbidden.

    Example:
        >>> f = Forbidden(3, np.array([0]), np.array([1]))  # the edge 0 -> 1 stays
        >>> f.pairs(np.array([0, 0, 2]), np.array([1, 2, 2])).tolist()  # an edge, free, a loop
        [True, False, True]
    """

    def __init__(
        self, num_nodes: int, src: np.ndarray, dst: np.ndarray, bits: np.ndarray | None = None
    ) -> None:
        self.num_nodes = n = int(num_nodes)
        self._src = np.asarray(src, dtype=np.int64)
        self._dst = np.asarray(dst, dtype=np.int64)
        self._by_dst: tuple[np.ndarray, np.ndarray] | None = None  # built by block()
        keys = self._src * n + self._dst
        # membership of a pair: a bitset of all n² pairs where it is small (one lookup per
        # query), else a binary search in the sorted keys (random queries miss the cache)
        self._table: np.ndarray | None = None
        self._keys: np.ndarray | None = None
        if n * n <= TABLE_MAX_PAIRS:
            self._table = _bitset(keys, n * n)
        else:
            self._keys = np.sort(keys)
        self.bits = bits
        self.banned = np.zeros(0, dtype=np.int64)

    def ban(self, src, dst) -> None:
        """Forbid the pairs ``src[k] -> dst[k]`` (or one pair) from now on."""
        src = np.asarray(src, dtype=np.int64).reshape(-1)
        dst = np.asarray(dst, dtype=np.int64).reshape(-1)
        self.banned = np.concatenate([self.banned, src * self.num_nodes + dst])

    def pairs(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Whether each pair ``src[k] -> dst[k]`` is forbidden (``bool [k]``)."""
        src, dst = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
        key = src * self.num_nodes + dst
        out = src == dst
        if self._table is not None:
            out |= ((self._table[key >> 3] >> (key & 7).astype(np.uint8)) & 1).astype(bool)
        elif self._keys is not None and self._keys.size:
            at = np.minimum(np.searchsorted(self._keys, key), self._keys.size - 1)
            out |= self._keys[at] == key
        if self.banned.size:
            out |= np.isin(key, self.banned)
        if self.bits is not None:
            out |= reaches(self.bits, dst, src)
        return out

    def block(self, src_ids: torch.Tensor, dst_ids: torch.Tensor) -> np.ndarray:
        """``bool [n_src, n_dst]``: whether each pair of ``src_ids × dst_ids`` is forbidden."""
        s_ids, d_ids = src_ids.numpy(), dst_ids.numpy()
        mask = s_ids[:, None] == d_ids[None, :]
        pos = np.full(self.num_nodes, -1, dtype=np.int64)
        pos[s_ids] = np.arange(s_ids.size)
        if self._by_dst is None:  # the edges grouped by destination
            ptr = np.zeros(self.num_nodes + 1, dtype=np.int64)
            np.cumsum(np.bincount(self._dst, minlength=self.num_nodes), out=ptr[1:])
            self._by_dst = ptr, self._src[np.argsort(self._dst, kind="stable")]
        ptr, in_src = self._by_dst
        # the edges into the block's destinations, from the destination-sorted edge list
        starts, stops = ptr[d_ids], ptr[d_ids + 1]
        counts = stops - starts
        col = np.repeat(np.arange(d_ids.size), counts)
        e = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        row = pos[in_src[e]]
        ok = row >= 0
        mask[row[ok], col[ok]] = True
        if self.banned.size:
            pos_d = np.full(self.num_nodes, -1, dtype=np.int64)
            pos_d[d_ids] = np.arange(d_ids.size)
            r, c = pos[self.banned // self.num_nodes], pos_d[self.banned % self.num_nodes]
            ok = (r >= 0) & (c >= 0)
            mask[r[ok], c[ok]] = True
        if self.bits is not None:
            mask |= reach_mask(self.bits, s_ids, d_ids)
        return mask


@dataclass
class Pool:
    """Candidate pairs sorted by key, then by score (best first).

    Attributes:
        src, dst, key: ``LongTensor [k]``.
        score: ``[k]`` (float64).
    """

    src: torch.Tensor
    dst: torch.Tensor
    key: torch.Tensor
    score: torch.Tensor

    @classmethod
    def empty(cls) -> Pool:
        z = torch.zeros(0, dtype=torch.long)
        return cls(z, z, z, torch.zeros(0, dtype=torch.float64))

    def merged(self, other: Pool, limit: torch.Tensor) -> Pool:
        """Both pools together, keeping the best ``limit[key]`` of every key."""
        cat = Pool(*(torch.cat([a, b]) for a, b in zip(self.fields(), other.fields(), strict=True)))
        return cat.trimmed(limit)

    def fields(self) -> tuple[torch.Tensor, ...]:
        return self.src, self.dst, self.key, self.score

    def trimmed(self, limit: torch.Tensor) -> Pool:
        """Sorted by key and score, at most ``limit[key]`` per key."""
        order = torch.sort(self.score, descending=True, stable=True).indices
        order = order[torch.sort(self.key[order], stable=True).indices]
        key = self.key[order]
        keep = _rank_in_key(key) < limit[key]
        order = order[keep]
        return Pool(self.src[order], self.dst[order], self.key[order], self.score[order])

    def usable(self, forbidden: Forbidden | None = None) -> torch.Tensor:
        """The keys of the candidates that are not banned by ``forbidden``."""
        return self.key[self._usable(forbidden)]

    def _usable(self, forbidden: Forbidden | None) -> torch.Tensor:
        if forbidden is None or not forbidden.banned.size:
            return torch.arange(self.src.numel())
        pair = self.src.numpy() * forbidden.num_nodes + self.dst.numpy()
        return torch.from_numpy(np.flatnonzero(~np.isin(pair, forbidden.banned)))

    def select(self, quota: torch.Tensor, forbidden: Forbidden | None = None) -> Pool | None:
        """The best ``quota[key]`` pairs of every key that are not banned by ``forbidden``, or
        ``None`` if some key has too few."""
        idx = self._usable(forbidden)
        key = self.key[idx]
        idx = idx[_rank_in_key(key) < quota[key]]
        got = torch.bincount(self.key[idx], minlength=quota.numel())
        if not torch.equal(got, quota):
            return None
        return Pool(self.src[idx], self.dst[idx], self.key[idx], self.score[idx])


def _rank_in_key(key: torch.Tensor) -> torch.Tensor:
    """The position of every entry within its run of equal ``key`` (``key`` sorted)."""
    if key.numel() == 0:
        return key.clone()
    first = torch.ones(key.numel(), dtype=torch.bool)
    first[1:] = key[1:] != key[:-1]
    start = torch.cummax(torch.where(first, torch.arange(key.numel()), 0), 0).values
    return torch.arange(key.numel()) - start


def top_pairs(
    blocks: Iterable[Block],
    scores: Scores,
    forbidden: Forbidden,
    key: KeyFn,
    limit: torch.Tensor,
) -> Pool:
    """The ``limit[key]`` best-scored allowed pairs of every key, block by block.

    Each block's scores come from ``scores(block)`` (a dense ``[n_src, n_dst]`` tensor per
    piece, on any device); forbidden pairs are masked, the block's best candidates are taken
    (``topk`` of the whole block when its destinations share one key, of every column
    otherwise) and merged into a running pool trimmed to ``limit`` per key. Peak memory: one
    piece of scores plus the pool, never the ``[N, N]`` matrix.

    Args:
        blocks: the blocks of the allowed space.
        scores: see :data:`Scores` (higher is better; forbidden pairs need no special value).
        forbidden: the pairs not to grow.
        key: see :data:`KeyFn`.
        limit: ``LongTensor [K]``, how many candidates to keep per key.

    Returns:
        Pool: sorted by key, then by score (best first).

    Example:
        >>> from graphnets.methods.rewire.space import Block
        >>> S = torch.tensor([[0.1, 0.9], [0.5, 0.2]])  # scores of sources 0, 1 -> 2, 3
        >>> pool = top_pairs([Block(torch.tensor([0, 1]), torch.tensor([2, 3]), 0)],
        ...                  lambda b: [(b.src, b.dst, S)], Forbidden(4, [0], [3]),
        ...                  lambda d, g: torch.zeros(len(d), dtype=torch.long), torch.tensor([2]))
        >>> list(zip(pool.src.tolist(), pool.dst.tolist()))  # 0 -> 3 is an edge already
        [(1, 2), (1, 3)]
    """
    pool = Pool.empty()
    pending: list[Pool] = []
    size, budget = 0, 2 * int(limit.sum()) + 1024
    for block in blocks:
        for src_ids, dst_ids, S in scores(block):
            keys = key(dst_ids, block.group)
            lim = limit[keys]
            if int(lim.max()) == 0:
                continue
            mask = torch.from_numpy(forbidden.block(src_ids, dst_ids)).to(S.device)
            S = S.masked_fill(mask, float("-inf"))
            n_src, n_dst = S.shape
            if bool((keys == keys[0]).all()):
                vals, flat = S.reshape(-1).topk(min(int(lim[0]), S.numel()))
                rows, cols = flat // n_dst, flat % n_dst
            else:
                vals, rows = S.topk(min(int(lim.max()), n_src), dim=0)
                ok = torch.arange(vals.shape[0], device=S.device)[:, None] < lim.to(S.device)
                cols = torch.arange(n_dst, device=S.device).expand_as(rows)[ok]
                vals, rows = vals[ok], rows[ok]
            fin = torch.isfinite(vals)
            vals, rows, cols = vals[fin].cpu(), rows[fin].cpu(), cols[fin].cpu()
            pending.append(Pool(src_ids[rows], dst_ids[cols], keys[cols], vals.double()))
            size += rows.numel()
            if size > budget:  # trim now and then: a sort per piece would dominate
                pool = pool.merged(_concat(pending), limit)
                pending, size = [], pool.src.numel()
    return pool.merged(_concat(pending), limit) if pending else pool.trimmed(limit)


def _concat(pools: list[Pool]) -> Pool:
    return Pool(*(torch.cat(f) for f in zip(*(p.fields() for p in pools), strict=True)))


def random_pairs(
    blocks: Iterable[Block],
    need: torch.Tensor,
    forbidden: Forbidden,
    key: KeyFn,
    gen: torch.Generator | None,
    *,
    occupied: torch.Tensor | None = None,
    draws: int = 16,
) -> Pool:
    """``need[key]`` allowed pairs of every key, uniformly at random (SET's growth).

    A draw picks a pair of the key's blocks uniformly (a block in proportion to its pairs, then
    a source and a destination of the key); forbidden pairs and repeats are drawn again, which
    keeps the result a uniform sample of the allowed pairs without replacement. A key that
    needs more than half of its free pairs (its pairs less ``occupied[key]``, the edges that
    stay), such as a dense level, and every key still short after ``draws`` rounds of drawing,
    has its allowed pairs listed and sampled directly.

    Returns:
        Pool: the pairs (``score`` is ``-``draw order: earlier draws first).

    A key with fewer allowed pairs than it needs gets all of them.

    Example:
        >>> from graphnets.methods.rewire.space import Block
        >>> blocks = [Block(torch.arange(3), torch.tensor([3, 4]), 0)]
        >>> pool = random_pairs(blocks, torch.tensor([4]), Forbidden(5, [0, 1], [3, 3]),
        ...                     lambda d, g: torch.zeros(len(d), dtype=torch.long),
        ...                     torch.Generator().manual_seed(0))
        >>> sorted(zip(pool.src.tolist(), pool.dst.tolist()))  # all 4 free pairs
        [(0, 4), (1, 4), (2, 3), (2, 4)]
    """
    blocks = list(blocks)
    n = forbidden.num_nodes
    # one entry per (block, destination): its key, destination and sources
    ent_key, ent_dst, ent_base, ent_n, srcs = [], [], [], [], []
    base = 0
    for b in blocks:
        ent_key.append(key(b.dst, b.group))
        ent_dst.append(b.dst)
        ent_base.append(torch.full((b.dst.numel(),), base, dtype=torch.long))
        ent_n.append(torch.full((b.dst.numel(),), b.src.numel(), dtype=torch.long))
        srcs.append(b.src)
        base += b.src.numel()
    k_all = torch.cat(ent_key)
    order = torch.sort(k_all, stable=True).indices
    ek, ed = k_all[order].numpy(), torch.cat(ent_dst)[order].numpy()
    eb, en = torch.cat(ent_base)[order].numpy(), torch.cat(ent_n)[order].numpy()
    all_src = torch.cat(srcs).numpy()
    end = np.cumsum(en)  # the entries' pairs, laid end to end in key order
    start = end - en
    K = need.numel()
    size = np.bincount(ek, weights=en, minlength=K).astype(np.int64)
    key_start = np.zeros(K, dtype=np.int64)
    np.cumsum(size[:-1], out=key_start[1:])
    remaining = np.minimum(need.numpy().astype(np.int64), size)
    # where all the entries of a key have as many sources (a level pair's block), a draw's entry
    # is a division away; else a binary search in the entries' ends
    first_entry = np.searchsorted(ek, np.arange(K))
    uniform = np.zeros(K, dtype=np.int64)  # the common size of a key's entries, 0 if none
    present = np.flatnonzero(np.bincount(ek, minlength=K))
    if present.size:
        seg = first_entry[present]
        low, high = np.minimum.reduceat(en, seg), np.maximum.reduceat(en, seg)
        same = (low == high) & (low > 0)
        uniform[present[same]] = low[same]
    got_s: list[np.ndarray] = []
    got_d: list[np.ndarray] = []
    got_k: list[np.ndarray] = []
    taken = np.zeros(0, dtype=np.int64)  # the pairs chosen, sorted when next read
    fresh: list[np.ndarray] = []  # chosen since then (a last draw is not sorted for nothing)

    def chosen() -> np.ndarray:
        nonlocal taken
        if fresh:
            taken = np.sort(np.concatenate([taken, *fresh]))
            fresh.clear()
        return taken

    listed = np.zeros(K, dtype=bool)
    if occupied is not None:  # nearly full keys: drawing would mostly hit edges
        listed = 2 * remaining > size - occupied.numpy()
    for _ in range(draws):
        ks = np.flatnonzero((remaining > 0) & ~listed)
        if ks.size == 0:
            break
        # a quarter more draws than needed (+8): in a sparse net few draws hit an edge, and a
        # key left short draws again (twice as many draws cost twice the checks and sorts)
        slot_key = np.repeat(ks, remaining[ks] + remaining[ks] // 4 + 8)
        u = torch.rand(slot_key.size, generator=gen, dtype=torch.float64).numpy()
        r = np.minimum((u * size[slot_key]).astype(np.int64), size[slot_key] - 1)
        flat = key_start[slot_key] + r
        per = uniform[slot_key]
        if per.all():
            e = first_entry[slot_key] + r // per
        else:
            e = np.searchsorted(end, flat, side="right")
        s = all_src[eb[e] + flat - start[e]]
        d = ed[e]
        pair = s * n + d
        ok = ~forbidden.pairs(s, d) & ~_member(chosen(), pair)
        # in draw order; slot_key is sorted, so is idx's key
        idx = np.flatnonzero(ok & _first_draws(pair))
        sk = slot_key[idx]
        idx = idx[_rank_in_run(sk) < remaining[sk]]
        got_s.append(s[idx])
        got_d.append(d[idx])
        got_k.append(slot_key[idx])
        fresh.append(pair[idx])
        remaining -= np.bincount(slot_key[idx], minlength=K)
    for k in np.flatnonzero(remaining > 0).tolist():
        # nearly full: list the key's allowed pairs and sample them
        es = np.flatnonzero(ek == k)
        s = np.concatenate([all_src[eb[i] : eb[i] + en[i]] for i in es])
        d = np.concatenate([np.full(en[i], ed[i]) for i in es])
        ok = ~forbidden.pairs(s, d) & ~_member(chosen(), s * n + d)
        s, d = s[ok], d[ok]
        pick = torch.randperm(s.size, generator=gen)[: remaining[k]].numpy()
        got_s.append(s[pick])
        got_d.append(d[pick])
        got_k.append(np.full(pick.size, k))
        fresh.append(s[pick] * n + d[pick])
        remaining[k] = 0
    src = np.concatenate(got_s) if got_s else np.zeros(0, np.int64)
    dst = np.concatenate(got_d) if got_d else np.zeros(0, np.int64)
    keys = np.concatenate(got_k) if got_k else np.zeros(0, np.int64)
    # by key, draws in order within one (a stable radix sort on int16 where keys fit)
    order = np.argsort(keys.astype(np.int16) if K <= 1 << 15 else keys, kind="stable")
    return Pool(
        torch.from_numpy(src.take(order)),
        torch.from_numpy(dst.take(order)),
        torch.from_numpy(keys.take(order)),
        torch.from_numpy(-order.astype(np.float64)),
    )


def _bitset(keys: np.ndarray, size: int) -> np.ndarray:
    """A little-endian bitset (``uint8 [⌈size/8⌉]``) with the bits ``keys`` set: one unbuffered
    OR per key (``ufunc.at``, fast since numpy 1.25: 4-5x a sort of the keys), no table of
    ``size`` bytes."""
    out = np.zeros((size + 7) // 8, dtype=np.uint8)
    if keys.size == 0:
        return out
    np.bitwise_or.at(out, keys >> 3, np.left_shift(1, keys & 7).astype(np.uint8))
    return out


def _rank_in_run(sorted_keys: np.ndarray) -> np.ndarray:
    """The position of every entry within its run of equal values (``sorted_keys`` sorted)."""
    k = sorted_keys.size
    head = np.ones(k, dtype=bool)
    head[1:] = sorted_keys[1:] != sorted_keys[:-1]
    return np.arange(k) - np.maximum.accumulate(np.where(head, np.arange(k), 0))


def _member(sorted_keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Whether each of ``query`` is in ``sorted_keys`` (``np.isin`` without its hashing)."""
    if sorted_keys.size == 0:
        return np.zeros(query.size, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, query), sorted_keys.size - 1)
    return sorted_keys[at] == query


def _first_draws(pair: np.ndarray) -> np.ndarray:
    """Whether each entry is the first of its value in ``pair`` (``bool [k]``), by one sort of
    ``pair · k + index`` (a plain sort: far faster than a stable one or ``np.unique``)."""
    k = pair.size
    first = np.zeros(k, dtype=bool)
    if k == 0:
        return first
    if int(pair.max()) >= np.iinfo(np.int64).max // k - 1:  # would overflow: sort stably
        order = np.argsort(pair, kind="stable")
        s = pair[order]
    else:
        key = np.sort(pair * k + np.arange(k))
        order, s = key % k, key // k
    head = np.ones(k, dtype=bool)
    head[1:] = s[1:] != s[:-1]
    first[order[head]] = True
    return first


def greedy_acyclic(pool: Pool, need: torch.Tensor, bits: np.ndarray) -> tuple[Pool, Pool]:
    """The best candidates of ``pool`` (``need[key]`` per key) that keep the graph acyclic.

    Candidates are taken by score, best first; one is accepted if its key still needs edges and
    its destination does not reach its source in the graph of ``bits``
    (:func:`~graphnets.methods.rewire.space.descendants`) *with the edges accepted so far*:
    accepting ``u -> v`` adds ``v`` and its descendants to the descendants of ``u`` and of every
    node that reaches ``u`` (``bits`` is updated in place).

    Returns:
        ``(accepted, rejected)``: the rejected candidates would have closed a cycle.

    Example:
        >>> import graphnets
        >>> from graphnets.methods.rewire.space import descendants
        >>> net = graphnets.from_edges(torch.tensor([[0, 1], [1, 2]]), 4, [0], [3])
        >>> bits = descendants(net.structure)  # 0 -> 1 -> 2, and 3 alone
        >>> pool = Pool(torch.tensor([2, 3]), torch.tensor([3, 1]), torch.tensor([0, 0]),
        ...             torch.tensor([2.0, 1.0]))  # 2 -> 3 first: then 3 -> 1 closes a cycle
        >>> ok, refused = greedy_acyclic(pool, torch.tensor([2]), bits)
        >>> ok.src.tolist(), refused.src.tolist()
        ([2], [3])
    """
    order = torch.sort(pool.score, descending=True, stable=True).indices.tolist()
    left = need.clone().numpy()
    src, dst, key = pool.src.numpy(), pool.dst.numpy(), pool.key.numpy()
    ok, bad = [], []
    one = np.uint64(1)
    for i in order:
        k = key[i]
        if left[k] == 0:
            continue
        u, v = int(src[i]), int(dst[i])
        if (bits[v, u >> 6] >> np.uint64(u & 63)) & one:
            bad.append(i)
            continue
        ok.append(i)
        left[k] -= 1
        if not (bits[u, v >> 6] >> np.uint64(v & 63)) & one:  # u did not reach v yet
            reach = bits[v].copy()
            reach[v >> 6] |= one << np.uint64(v & 63)
            above = (bits[:, u >> 6] >> np.uint64(u & 63)) & one
            above[u] = 1
            bits[above.astype(bool)] |= reach
    pick = torch.tensor(sorted(ok), dtype=torch.long)
    drop = torch.tensor(sorted(bad), dtype=torch.long)
    return (
        Pool(*(f[pick] for f in pool.fields())),
        Pool(*(f[drop] for f in pool.fields())),
    )
