r"""How promising a missing edge is: one blocked product, exact or by nearest-neighbour search.

For a batch of ``B`` samples, let ``a [B, N]`` hold every node's activation and ``δ [B, N]``
every node's error ``∂L/∂z`` (:meth:`graphnets.kernels.trace.Trace.node_gradients`). A missing
edge ``u -> v`` would have had the gradient

.. math::
    \frac{\partial L}{\partial w_{uv}} = \sum_b a_{bu}\, \delta_{bv} = \langle a_u, \delta_v\rangle,

RigL's growth criterion (Evci et al. 2020). The thesis (``001_…`` Def. 4.6) ranks the same pair
by the cosine of the two columns,

.. math:: \operatorname{corr}(u, v) = \frac{\langle a_u, \delta_v\rangle}{\|a_u\|\,\|\delta_v\|},

since the new edge's weight absorbs any scale; the *centred* variant subtracts the batch means
first (after the bias adjustment of §4.4 a new edge acts through ``a_u - ā_u``). All three are
``|Aᵀ D|`` over transformed columns (:func:`columns`): one function, :func:`pair_scores`, and
for a block of sources and destinations one matrix product of at most ``max_pairs`` entries
(:func:`exact`). The whole net's ``[N, N]`` is never formed.

With unit columns, the best ``|cos|`` is a nearest-neighbour question (Prop. 4.7: for unit
vectors ``argmax ⟨u, v⟩ = argmin ‖u − v‖``; query ``u`` and ``−u`` for the absolute value):
:func:`approximate` answers it with an inverted-file index — sources clustered by spherical
k-means, every destination scoring only the sources of the ``probes`` clusters nearest to
``δ_v`` and the ``probes`` nearest to ``−δ_v``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

from ..._util.checks import choice, positive_int
from ..._util.seeds import Seed, generator
from .select import Scores
from .space import Block

__all__ = ["KINDS", "columns", "pair_scores", "exact", "approximate", "Index"]

#: What :func:`pair_scores` computes: ``"gradient"`` (RigL), ``"correlation"`` (Def. 4.6) or
#: ``"centred"`` (the correlation of the centred columns).
KINDS = ("gradient", "correlation", "centred")


def columns(a: torch.Tensor, delta: torch.Tensor, kind: str = "gradient"):
    """``a`` and ``delta`` (``[B, N]``) transformed so that ``|A[:, u] · D[:, v]|`` is the score
    of the pair ``u -> v``: as they are (``"gradient"``), as unit columns (``"correlation"``),
    or centred, then unit (``"centred"``). A zero column stays zero (score 0, not NaN)."""
    choice(kind, KINDS, "kind")
    if kind == "gradient":
        return a, delta
    if kind == "centred":
        a, delta = a - a.mean(0), delta - delta.mean(0)
    return _unit(a), _unit(delta)


def _unit(x: torch.Tensor) -> torch.Tensor:
    norm = x.norm(dim=0)
    return x / torch.where(norm > 0, norm, torch.ones_like(norm))


def pair_scores(
    a: torch.Tensor,
    delta: torch.Tensor,
    src: torch.Tensor,
    dst: torch.Tensor,
    *,
    kind: str = "gradient",
) -> torch.Tensor:
    r"""The score of every pair ``src[i] -> dst[j]``: ``|⟨a_u, δ_v⟩|`` or its cosine.

    Args:
        a (Tensor): ``[B, N]`` activations of every node on a batch.
        delta (Tensor): ``[B, N]`` errors ``∂L/∂z`` of every node on the same batch.
        src, dst (LongTensor): node ids.
        kind (str): ``"gradient"`` (the gradient a missing edge would have, RigL),
            ``"correlation"`` (its cosine, ``001_…`` Def. 4.6) or ``"centred"`` (the cosine of
            the centred columns) (default: ``"gradient"``).

    Shapes:
        - **a, delta:** ``[B, N]``
        - **output:** ``[len(src), len(dst)]``, non-negative

    Example:
        >>> a = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
        >>> d = torch.tensor([[0.5, 1.0], [1.0, -1.0]])
        >>> pair_scores(a, d, torch.tensor([0, 1]), torch.tensor([1]))
        tensor([[1.],
                [2.]])
        >>> pair_scores(a, d, torch.tensor([0, 1]), torch.tensor([1]), kind="correlation")
        tensor([[0.7071],
                [0.7071]])
    """
    A, D = columns(a, delta, kind)
    return (A[:, src.to(a.device)].T @ D[:, dst.to(a.device)]).abs()


def exact(A: torch.Tensor, D: torch.Tensor, max_pairs: int = 1 << 22) -> Scores:
    """Scores of whole blocks (``A``, ``D`` from :func:`columns`), at most ``max_pairs`` at a
    time: a block's destinations are cut into pieces.

    Example:
        >>> A, D = torch.randn(8, 6), torch.randn(8, 6)
        >>> pieces = list(exact(A, D, max_pairs=4)(Block(torch.arange(2), torch.arange(2, 6), 0)))
        >>> [tuple(S.shape) for _, _, S in pieces]  # 2 sources x 2 destinations at a time
        [(2, 2), (2, 2)]
    """

    def scores(block: Block) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        As = A[:, block.src.to(A.device)]
        step = max(1, max_pairs // max(1, block.src.numel()))
        for i in range(0, block.dst.numel(), step):
            d = block.dst[i : i + step]
            yield block.src, d, (As.T @ D[:, d.to(D.device)]).abs()

    return scores


class Index:
    """An inverted-file index of unit vectors (the rows of ``H [n, p]``): spherical k-means.

    Args:
        H (Tensor): ``[n, p]`` unit (or zero) rows.
        clusters (int): the number of clusters (at most ``n``).
        iterations (int): k-means iterations (default: ``4``).
        seed: the initial centroids, ``clusters`` rows drawn without replacement.

    Attributes:
        centroids: ``[c, p]`` unit rows.
        assign: ``LongTensor [n]``, the cluster of every row.

    Example:
        >>> H = torch.nn.functional.normalize(torch.randn(50, 8), dim=1)
        >>> index = Index(H, 5, seed=0)
        >>> index.centroids.shape, int(index.assign.max()) < 5
        (torch.Size([5, 8]), True)
    """

    def __init__(self, H: torch.Tensor, clusters: int, iterations: int = 4, seed: Seed = None):
        n = H.shape[0]
        c = max(1, min(int(clusters), n))
        pick = torch.randperm(n, generator=generator(seed))[:c].to(H.device)
        C = _unit_rows(H[pick].clone())
        for _ in range(iterations):
            assign = (H @ C.T).argmax(1)
            sums = torch.zeros_like(C).index_add_(0, assign, H)
            filled = sums.norm(dim=1) > 0
            C = torch.where(filled[:, None], _unit_rows(sums), C)
        self.centroids = C
        self.assign = (H @ C.T).argmax(1)


def _unit_rows(x: torch.Tensor) -> torch.Tensor:
    norm = x.norm(dim=1, keepdim=True)
    return x / torch.where(norm > 0, norm, torch.ones_like(norm))


def approximate(
    A: torch.Tensor,
    D: torch.Tensor,
    *,
    clusters: int | None = None,
    probes: int = 4,
    seed: Seed = None,
) -> Scores:
    """Scores of the pairs a nearest-neighbour search proposes (Prop. 4.7), block by block.

    ``A`` and ``D`` are unit columns (:func:`columns` with ``"correlation"`` or
    ``"centred"``). A block's sources are clustered (:class:`Index`, ``clusters`` default
    ``⌈√n_src⌉``); every destination ``v`` probes the ``probes`` clusters nearest to ``δ_v`` and
    the ``probes`` nearest to ``−δ_v``, and the pairs of its probed clusters are scored exactly.
    A pair in no probed cluster is never scored: the search may miss the best pair (its recall
    is measured in ``benchmarks/bench_rewire.py``).

    Example:
        >>> A, D = columns(torch.randn(16, 40), torch.randn(16, 40), "correlation")
        >>> pieces = approximate(A, D, clusters=4, probes=1, seed=0)(
        ...     Block(torch.arange(20), torch.arange(20, 40), 0))
        >>> sum(S.numel() for _, _, S in pieces) <= 20 * 20  # never more than the whole block
        True
    """
    probes = positive_int(probes, "probes")
    gen = generator(seed)

    def scores(block: Block) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        dev = A.device
        H = A[:, block.src.to(dev)].T.contiguous()
        Q = D[:, block.dst.to(dev)].T.contiguous()
        c = clusters if clusters is not None else math.ceil(math.sqrt(H.shape[0]))
        index = Index(H, c, seed=int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        P = Q @ index.centroids.T  # [n_dst, c]
        k = min(probes, P.shape[1])
        probe = torch.zeros_like(P, dtype=torch.bool)
        probe.scatter_(1, P.topk(k, dim=1).indices, True)  # nearest to δ_v ...
        probe.scatter_(1, (-P).topk(k, dim=1).indices, True)  # ... and to -δ_v
        order = torch.sort(index.assign, stable=True).indices
        counts = torch.bincount(index.assign, minlength=P.shape[1]).tolist()
        start = 0
        for j, size in enumerate(counts):
            members = order[start : start + size]
            start += size
            queries = probe[:, j].nonzero()[:, 0]
            if size == 0 or queries.numel() == 0:
                continue
            S = (H[members] @ Q[queries].T).abs()
            yield block.src[members.cpu()], block.dst[queries.cpu()], S

    return scores
