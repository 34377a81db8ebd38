"""The ``torch.nn`` layer: modules that evaluate a graph of neurons, and the edits that change them.

:class:`~graphnets.nn.graphnet.GraphNet` (parameters, edits, time steps) and
:class:`~graphnets.nn.unrolled.UnrolledNet` (a recurrent net unrolled, weights tied) share
:class:`~graphnets.nn.base.BaseGraphNet`; :mod:`~graphnets.nn.edits` computes edits,
:mod:`~graphnets.nn.history` records them, :mod:`~graphnets.nn.recurrent` steps through time,
:mod:`~graphnets.nn.cells` holds the graph-structured LSTM / GRU / RNN cells, and
:mod:`~graphnets.nn.summary`, :mod:`~graphnets.nn.export` and :mod:`~graphnets.nn.serialize`
describe, export and save a net.
"""

from .base import BaseGraphNet
from .edits import remap_optimizer_state
from .graphnet import GraphNet, load
from .history import EditRecord, History
from .unrolled import UnrolledNet, unroll

__all__ = [
    "BaseGraphNet",
    "GraphNet",
    "UnrolledNet",
    "EditRecord",
    "History",
    "load",
    "unroll",
    "remap_optimizer_state",
]
