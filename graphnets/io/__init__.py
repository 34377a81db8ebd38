"""Conversions between nets and what other libraries hold: networkx, igraph, edge lists and
``torch.nn`` models (:mod:`~graphnets.io.convert`).

The writers (a net to networkx, igraph or a dense matrix) read a net and live with it in
:mod:`graphnets.nn.export`; they are re-exported here beside their readers.
"""

from ..nn.export import to_dense, to_igraph, to_networkx
from .convert import from_edges, from_igraph, from_networkx, from_torch

__all__ = [
    "from_networkx",
    "from_igraph",
    "from_edges",
    "from_torch",
    "to_networkx",
    "to_igraph",
    "to_dense",
]
