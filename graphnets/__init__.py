"""graphnets: neural networks as explicit directed graphs of neurons.

Build a net from any graph, evaluate it level by level, edit it, measure it.

The package is layered, imports pointing down only (``docs/architecture.md``): ``core`` (plain
data: structure, levels, schedule, activations) ← ``kernels`` (how a schedule runs) ← ``nn``
(GraphNet, edits, recurrence, cells) ← ``io`` and ``builders`` (conversions, mlp, priors, cells) ←
``methods`` (pruning, analysis, prediction) ← ``experiment`` and the command line. Everything a
user calls is re-exported here; the module paths of earlier versions (``graphnets.prune``,
``graphnets.schedule``, ...) still import.

Example:
    >>> import torch, graphnets
    >>> net = graphnets.mlp([4, 8, 3], seed=0)
    >>> net(torch.randn(2, 4)).shape
    torch.Size([2, 3])
"""

import importlib as _importlib
import sys as _sys

from . import data, plot, train
from ._util.version import VERSION
from .builders import cells, priors
from .builders.mlp import mlp
from .core.activations import ACTIVATIONS, parse_activation
from .core.levels import CycleError
from .core.schedule import Schedule
from .core.structure import Structure
from .io.convert import from_edges, from_igraph, from_networkx, from_torch
from .kernels import KERNELS, compile_schedule, reference
from .kernels.cudagraph import CudaGraphed
from .methods import analysis, predict, prune, rewire, search, urn
from .nn import edits, recurrent
from .nn.base import BaseGraphNet
from .nn.graphnet import GraphNet, load
from .nn.history import EditRecord, History
from .nn.unrolled import UnrolledNet, unroll

__version__ = VERSION

__all__ = [
    "ACTIVATIONS",
    "KERNELS",
    "BaseGraphNet",
    "CudaGraphed",
    "CycleError",
    "EditRecord",
    "GraphNet",
    "History",
    "Schedule",
    "Structure",
    "UnrolledNet",
    "analysis",
    "cells",
    "compare",
    "compile_schedule",
    "data",
    "edits",
    "from_edges",
    "from_igraph",
    "from_networkx",
    "from_torch",
    "load",
    "mlp",
    "parse_activation",
    "plot",
    "predict",
    "priors",
    "prune",
    "recurrent",
    "reference",
    "rewire",
    "search",
    "train",
    "unroll",
    "urn",
]

#: The module paths of the flat layout of graphnets 0.1 and where each now lives: registered
#: in ``sys.modules`` so that ``import graphnets.schedule`` and ``from graphnets.prune import
#: magnitude`` keep working.
OLD_PATHS = {
    "activations": "core.activations",
    "structure": "core.structure",
    "levels": "core.levels",
    "schedule": "kernels.planner",
    "graphnet": "nn.graphnet",
    "edits": "nn.edits",
    "recurrent": "nn.recurrent",
    "cells": "builders.cells",
    "priors": "builders.priors",
    "reference": "kernels.reference",
    "prune": "methods.prune",
    "analysis": "methods.analysis",
    "predict": "methods.predict",
    "compare": "methods.predict.compare",
}
#: The methods added since, under short public paths: ``from graphnets.rewire import RigL``,
#: ``import graphnets.urn``, ``from graphnets.search import CellSpace``.
SHORT_PATHS = {
    "rewire": "methods.rewire",
    "urn": "methods.urn",
    "search": "methods.search",
}
for _old, _new in {**OLD_PATHS, **SHORT_PATHS}.items():
    _sys.modules[f"{__name__}.{_old}"] = globals()[_old] = _importlib.import_module(
        f"{__name__}.{_new}"
    )
del _old, _new
