"""graphnets: neural networks as explicit directed graphs of neurons.

Build a net from any graph, evaluate it level by level, edit it, measure it.

Example:
    >>> import torch, graphnets
    >>> net = graphnets.mlp([4, 8, 3], seed=0)
    >>> net(torch.randn(2, 4)).shape
    torch.Size([2, 3])
"""

from . import analysis, cells, compare, edits, predict, priors, prune, recurrent
from .activations import ACTIVATIONS, parse_activation
from .builders import from_edges, from_igraph, from_networkx, from_torch, mlp
from .graphnet import GraphNet, load
from .levels import CycleError
from .recurrent import UnrolledNet, unroll
from .schedule import KERNELS, Schedule, compile_schedule
from .structure import Structure

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "KERNELS",
    "CycleError",
    "GraphNet",
    "Schedule",
    "Structure",
    "UnrolledNet",
    "analysis",
    "cells",
    "compare",
    "compile_schedule",
    "edits",
    "from_edges",
    "from_igraph",
    "from_networkx",
    "from_torch",
    "load",
    "mlp",
    "parse_activation",
    "predict",
    "priors",
    "prune",
    "recurrent",
    "unroll",
]
