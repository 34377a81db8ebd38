r"""Predicting a net's performance from its structure with a graph neural network.

:mod:`~graphnets.methods.predict.encode` turns any architecture graph (a GraphNet, a
networkx DiGraph with node or edge attributes, a PyG ``Data``) into GNN input;
:mod:`~graphnets.methods.predict.features` turns a net into a ``torch_geometric`` graph with
structural node features; :mod:`~graphnets.methods.predict.regressor` holds the GNN
(:class:`GraphRegressor`) that maps such graphs to one number each; and
:mod:`~graphnets.compare` cross-validates it against property regressors and
single-number baselines (:func:`compare`); :func:`tune` picks a GraphRegressor configuration
by cross-validation inside the graphs it is given; :mod:`~graphnets.methods.predict.zero_cost`
holds the zero-cost proxies.

Convention: a **higher target is better**; :meth:`GraphRegressor.rank` puts the highest
prediction first. To rank by a loss or an error, fit on its negation.
"""

from .compare import (
    METRICS,
    PREDICTORS,
    compare,
    default_predictors,
    features,
    fit_predict,
    kendall,
    r2,
    spearman,
    top_k_precision,
)
from .dag import DagEncoder
from .encode import GRAPH_FEATURES, KINDS, GraphEncoder
from .features import FEATURES, to_pyg
from .regressor import (
    CONVS,
    LOSSES,
    POOLS,
    SCALES,
    GraphRegressor,
    listwise_loss,
    normal_scores,
    rank_loss,
)
from .tune import CANDIDATES, tune
from .zero_cost import PROXIES, grad_norm, jacob_cov, snip, synflow

__all__ = [
    "FEATURES",
    "CONVS",
    "LOSSES",
    "POOLS",
    "SCALES",
    "normal_scores",
    "to_pyg",
    "GraphRegressor",
    "rank_loss",
    "listwise_loss",
    "GraphEncoder",
    "GRAPH_FEATURES",
    "KINDS",
    "DagEncoder",
    "compare",
    "tune",
    "CANDIDATES",
    "default_predictors",
    "fit_predict",
    "features",
    "PREDICTORS",
    "METRICS",
    "synflow",
    "snip",
    "grad_norm",
    "jacob_cov",
    "PROXIES",
    "r2",
    "kendall",
    "spearman",
    "top_k_precision",
]
