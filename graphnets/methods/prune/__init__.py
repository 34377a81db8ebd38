r"""Pruning: **scores** × **selection** × **schedule**, three parts that combine freely.

Pruning consists of a selection method and a strategy (``002_…`` §2). Here it is split in three
modules:

1. :mod:`~graphnets.methods.prune.scores` (lower = less useful = pruned first), one per edge and
   aligned with ``net.weight``: :func:`random_scores`, :func:`magnitude` ``|w|``, :func:`obd`
   (optimal brain damage, ``½·w²·H_ii``) and :func:`taylor` (``−w·∂L/∂w``, Eq. 4.3 of
   ``001_…``). Any ``[E]`` tensor works too. :func:`node_scores` sums edge scores per node, for
   neuron pruning.
2. :mod:`~graphnets.methods.prune.select` of ``k`` elements, a boolean mask:
   :func:`select_blinded` (the ``k`` smallest overall), :func:`select_uniform` (the same
   fraction from every class) and :func:`select_distributed` (per class a threshold ``λ·σ_c``).
   A class is a level (the level of an edge's destination, i.e. one weight matrix of an MLP)
   unless ``groups`` says otherwise.
3. :mod:`~graphnets.methods.prune.schedules` that score, select and remove, with a
   ``retrain(net, step)`` callback after every step: :func:`one_shot`, :func:`fixed_size`,
   :func:`relative` and :func:`bucket`. Each returns one plain record per step.

Edges are removed for good (``net.remove_edges``), not masked: ``net.num_edges`` drops, and an
optimizer passed as ``optimizer=`` keeps the state of the surviving edges
(:func:`graphnets.nn.optim.remapped_state`).

Not done here: no masking or re-growing (see :meth:`graphnets.GraphNet.add_edges`), no optimal
brain surgeon (full Hessian).
"""

from .schedules import SELECTIONS, UNITS, bucket, fixed_size, one_shot, prune_step, relative
from .scores import hessian_diagonal, magnitude, node_scores, obd, random_scores, taylor
from .select import (
    check_amount,
    edge_groups,
    node_groups,
    select_blinded,
    select_distributed,
    select_uniform,
)

__all__ = [
    "random_scores",
    "magnitude",
    "taylor",
    "obd",
    "hessian_diagonal",
    "node_scores",
    "edge_groups",
    "node_groups",
    "check_amount",
    "select_blinded",
    "select_uniform",
    "select_distributed",
    "prune_step",
    "one_shot",
    "fixed_size",
    "relative",
    "bucket",
    "SELECTIONS",
    "UNITS",
]
