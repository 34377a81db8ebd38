"""Builders of nets: from a graph or a torch model (the readers of :mod:`graphnets.io.convert`,
re-exported here), dense layered nets (:mod:`~graphnets.builders.mlp`), random-graph priors
(:mod:`~graphnets.builders.priors`), sparse layered nets (:mod:`~graphnets.builders.sparse`) and
graph-structured recurrent cells (:mod:`~graphnets.builders.cells`).

This is also the module path ``graphnets.builders`` of graphnets 0.1, whose names it keeps.
"""

from ..io.convert import from_edges, from_igraph, from_networkx, from_torch
from .mlp import mlp
from .sparse import sparse_mlp

__all__ = ["from_networkx", "from_edges", "from_igraph", "from_torch", "mlp", "sparse_mlp"]
