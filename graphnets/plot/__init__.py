"""Pictures: a net's graph, weight matrix, activity and levels; learning, pruning and
prediction curves.

Every function takes what it draws (a net, a table, arrays) and ``ax=``, a matplotlib ``Axes``
to draw into (default: a new figure), and returns the ``Axes``, so pictures compose into any
figure::

    import matplotlib.pyplot as plt
    from graphnets import plot

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    plot.graph(net, ax=left)
    plot.weights(net, ax=right)
    fig.savefig("net.png")

- of a net (:mod:`.nets`): :func:`graph`, :func:`weights`, :func:`activity`, :func:`levels`;
- of results (:mod:`.curves`): :func:`learning_curves`, :func:`compression`, :func:`scatter`,
  :func:`predictions`; ``graphnets experiment``'s report and the pruning benchmarks draw
  through these.

matplotlib is imported on first use (:func:`~graphnets.plot.pyplot`), with the Agg
backend where there is no display. The guide with the pictures is ``docs/plots.md``.
"""

from .curves import compression, learning_curves, predictions, scatter
from .figure import axes, pyplot
from .nets import EDGE_KINDS, KERNEL_COLOURS, activity, graph, levels, weights

__all__ = [
    "EDGE_KINDS",
    "KERNEL_COLOURS",
    "activity",
    "axes",
    "compression",
    "graph",
    "learning_curves",
    "levels",
    "predictions",
    "pyplot",
    "scatter",
    "weights",
]
