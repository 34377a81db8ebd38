"""The Unrestricted Recursive Network (URN) of ``004_…`` (Golkar) as a graph.

A URN is a complete directed graph of ``S`` neurons with delay-1 edges, iterated ``I`` times
(:class:`URN`). Trained under L1 regulators, most of its weights and neurons die; the weights
that reach exact zeros are removed as graph edits while it trains (:meth:`URN.sparsify`), and
what is left is read off as an ordinary feed-forward GraphNet (:func:`emerge`).
"""

from .emerge import Emergence, choose_threshold, direction_counts, emerge
from .fit import accuracy, fit
from .geometry import Geometry, grid
from .model import (
    RESIDUALS,
    URN,
    check_strength,
    complete_structure,
    iteration_structure,
    soft_threshold,
)
from .plots import emergence_figure, neuron_order

__all__ = [
    "URN",
    "emerge",
    "Emergence",
    "fit",
    "emergence_figure",
    "neuron_order",
    "accuracy",
    "check_strength",
    "choose_threshold",
    "direction_counts",
    "RESIDUALS",
    "Geometry",
    "grid",
    "complete_structure",
    "iteration_structure",
    "soft_threshold",
]
