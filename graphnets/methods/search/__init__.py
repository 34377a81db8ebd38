r"""Architecture search over graphs: search spaces, strategies, and the loop that runs them.

- Spaces (:mod:`~graphnets.methods.search.spaces`, :mod:`~graphnets.methods.search.neurons`):
  :class:`CellSpace` (a fixed cell whose edges or nodes each take one op, NAS-Bench-201's shape
  as :meth:`CellSpace.nas_bench_201`) and :class:`NeuronSpace` (neuron-level DAGs within depth,
  node and edge budgets, changed by graph edits and crossed over as in ``002_…`` §4.4).
  Genotypes are ``networkx.DiGraph`` objects; operators return a valid genotype or raise
  :class:`Refused`.
- Strategies (:mod:`~graphnets.methods.search.strategies`): :func:`run` with ``"random"``,
  ``"genetic"`` (:class:`GeneticSearch`, the paper's setting as :meth:`GeneticSearch.paper`) or
  ``"predictor"`` (:class:`PredictorSearch`, with the Neural Predictor's and the paper's presets).
- Predictors (:mod:`~graphnets.methods.search.predictors`): the small interface predictor-assisted
  search uses, with :class:`~graphnets.predict.GraphRegressor` behind it for neuron genotypes.
- Score functions (:mod:`~graphnets.methods.search.evaluate`): :class:`TrainEvaluator` (train on
  digits, validation accuracy) and :class:`SyntheticCellScore` (a known landscape).

The guide is ``docs/search.md``; ``graphnets search`` runs a search through the experiment's
results folder (resume, workers, Ray).

Example:
    >>> import graphnets
    >>> space = graphnets.search.CellSpace.nas_bench_201()
    >>> score = graphnets.search.SyntheticCellScore(space, seed=0)
    >>> result = graphnets.search.run(space, score, budget=30, strategy="random", seed=0)
    >>> len(result.history), result.best.score <= score.optimum
    (30, True)
"""

from .evaluate import SyntheticCellScore, TrainEvaluator
from .neurons import CROSSOVERS, MUTATIONS, NeuronSpace
from .predictors import CellOneHotPredictor, Predictor, RegressorPredictor, default_predictor
from .spaces import NAS_BENCH_201_OPS, CellSpace, Refused, SearchSpace
from .strategies import (
    STRATEGIES,
    Evaluation,
    GeneticSearch,
    PredictorSearch,
    RandomSearch,
    SearchResult,
    Strategy,
    fresh,
    run,
)

__all__ = [
    "SearchSpace",
    "CellSpace",
    "NeuronSpace",
    "Refused",
    "NAS_BENCH_201_OPS",
    "MUTATIONS",
    "CROSSOVERS",
    "run",
    "STRATEGIES",
    "Strategy",
    "RandomSearch",
    "GeneticSearch",
    "PredictorSearch",
    "Evaluation",
    "SearchResult",
    "fresh",
    "Predictor",
    "RegressorPredictor",
    "CellOneHotPredictor",
    "default_predictor",
    "TrainEvaluator",
    "SyntheticCellScore",
]
