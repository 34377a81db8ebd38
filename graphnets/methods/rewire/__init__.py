r"""Rewiring while training: SET, RigL and the thesis's method as real graph edits.

A rewirer keeps a sparse net's edge budget while moving edges: every ``every`` optimizer steps
it drops a fraction of the edges and grows as many elsewhere, through one
``net.replace_edges`` (whose cost follows the moved edges, not the net). The net stays truly
sparse (no masks, no dense weight matrix), and gets faster as it gets sparser. Plug it into
any loop, after ``optimizer.step()``::

    rewirer = graphnets.rewire.RigL(net, optimizer, fraction=0.3, every=100)
    for x, y in batches:
        loss = loss_fn(net(x), y)
        optimizer.zero_grad(); loss.backward(); optimizer.step(); rewirer.step()

* :class:`SET`, :class:`RigL`, :class:`Thesis` (``graphnets.methods.rewire.methods``), on
  the base :class:`Rewirer` (``graphnets.methods.rewire.base``), each round logged as a
  :class:`Round` in ``rewirer.history``;
* where new edges may go (``graphnets.methods.rewire.space``): the same level pairs
  (``"layers"``), any forward pair (``"forward"``) or any acyclic pair (``"acyclic"``);
* the scores of missing edges (``graphnets.methods.rewire.scores``): RigL's gradient and
  the thesis's correlation are one blocked product, exact or by nearest-neighbour search;
* the least-squares weights of new edges (``graphnets.methods.rewire.weights``, §4.4);
* sparse starting nets: :func:`sparse_mlp` with uniform, Erdős–Rényi or ERK densities
  (``graphnets.builders.sparse``), or any net of :mod:`graphnets.priors`.

The guide, with the maths, every option and measurements: ``docs/rewiring.md``.

Not done here: recurrent nets (the rewired graph is the feed-forward one), node growth or
removal, a mask-based mode.
"""

from ...builders.sparse import DISTRIBUTIONS, level_densities, sparse_mlp
from .base import DECAYS, Rewirer, Round, drop_fraction
from .methods import AUTO_SOURCES, SEARCHES, SET, RigL, Thesis
from .scores import KINDS, pair_scores
from .space import ALLOWED
from .weights import least_squares

__all__ = [
    "SET",
    "RigL",
    "Thesis",
    "Rewirer",
    "Round",
    "ALLOWED",
    "DECAYS",
    "SEARCHES",
    "AUTO_SOURCES",
    "KINDS",
    "DISTRIBUTIONS",
    "drop_fraction",
    "pair_scores",
    "least_squares",
    "sparse_mlp",
    "level_densities",
]
