r"""Search strategies and the loop that runs them: :func:`run`.

:func:`run` asks a strategy for a batch of genotypes, evaluates them (in parallel if a ``map``
is given), records every ``(genotype, score)`` in evaluation order and tells the strategy the
results, until ``budget`` genotypes are evaluated. No genotype is evaluated twice: a strategy
only proposes genotypes whose :meth:`~graphnets.search.SearchSpace.key` is new.

Strategies (:data:`STRATEGIES`):

- :class:`RandomSearch`: independent samples of the space, the baseline every NAS method must beat.
- :class:`GeneticSearch`: a population, tournament or rank selection, crossover and mutation
  with given probabilities (a child that is neither crossed nor mutated is a fresh random
  sample: the "re-sampling" of ``002_…`` §4.4), elitism, and removal of the worst (with a
  probability) or else of the oldest member (aging, as in regularized evolution).
  :meth:`GeneticSearch.paper` is §4.4's setting: population 30, mutation probability 0.5,
  crossover probability 0, removal of the worst with probability 0.1.
- :class:`PredictorSearch`: after ``initial`` random evaluations, a predictor fitted on all
  results so far ranks a pool of proposals and only the best ``fraction`` of them is evaluated
  (the "architectural estimation fraction" of ``002_…``); it is refitted as results arrive.
  :meth:`PredictorSearch.neural_predictor` is the Neural Predictor (Wen et al., 2020): train on
  ``N`` random architectures, evaluate the top ``K`` of many random ones, no refit;
  :meth:`PredictorSearch.paper` proposes genetic children and evaluates half of them.

**Determinism and resume.** The randomness of step ``t`` (``t`` genotypes evaluated so far) comes
from ``numpy.random.default_rng([seed, t])``, and a strategy's state is a function of what it
was told. So the same seed and scores give the same history, and a run given the scores of an
interrupted one as ``cache`` proposes the same genotypes again, takes their scores from the
cache instead of evaluating them, and continues exactly where the first stopped (with the same
``batch_size``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from ..._util.checks import amount, positive_int
from ..._util.seeds import Seed, spawn
from .predictors import Predictor, default_predictor
from .spaces import Refused, SearchSpace

__all__ = [
    "Evaluation",
    "SearchResult",
    "Strategy",
    "RandomSearch",
    "GeneticSearch",
    "PredictorSearch",
    "STRATEGIES",
    "run",
]


@dataclass
class Evaluation:
    """One evaluated genotype: its place in the history, the genotype, its score, its key, and
    whether the score came from a ``cache`` rather than a call of ``evaluate``."""

    index: int
    genotype: nx.DiGraph
    score: float
    key: Hashable
    cached: bool = False


@dataclass
class SearchResult:
    """What :func:`run` returns: every evaluation in order, and the best."""

    strategy: str
    seed: int
    history: list[Evaluation] = field(default_factory=list)

    @property
    def best(self) -> Evaluation:
        """The evaluation with the highest score (the first of equal ones)."""
        return max(self.history, key=lambda e: e.score)

    @property
    def scores(self) -> np.ndarray:
        """The scores in evaluation order, ``float64 [budget]``."""
        return np.array([e.score for e in self.history], dtype=np.float64)

    def best_so_far(self) -> np.ndarray:
        """The best score after each evaluation, ``float64 [budget]``."""
        return np.maximum.accumulate(self.scores)

    def evaluations_to(self, target: float) -> int | None:
        """How many evaluations it took to reach a score ``>= target`` (``None``: never)."""
        hits = np.nonzero(self.scores >= target)[0]
        return int(hits[0]) + 1 if len(hits) else None

    def __repr__(self) -> str:
        best = f", best {self.best.score:.4g} at {self.best.index + 1}" if self.history else ""
        n = len(self.history)
        return f"SearchResult({self.strategy}, seed {self.seed}, {n} evaluations{best})"


class Strategy:
    """The interface of a strategy: :meth:`start`, then :meth:`ask` and :meth:`tell` in turns."""

    name = "strategy"

    def start(self, space: SearchSpace, budget: int) -> None:
        """Reset for a new search of ``budget`` evaluations in ``space``."""
        self.space = space
        self.budget = budget

    def ask(self, n: int, rng: np.random.Generator, seen: set) -> list[nx.DiGraph]:
        """Between 1 and ``n`` valid, distinct genotypes whose keys are not in ``seen``."""
        raise NotImplementedError

    def tell(self, evaluations: Sequence[Evaluation], rng: np.random.Generator) -> None:
        """The results of the last :meth:`ask`."""


def fresh(
    space: SearchSpace,
    make: Callable[[np.random.Generator], nx.DiGraph],
    n: int,
    rng: np.random.Generator,
    seen: set,
    *,
    tries: int = 20,
) -> list[nx.DiGraph]:
    """``n`` distinct genotypes from ``make(rng)`` whose keys are not in ``seen`` (which is not
    changed). After ``tries * n`` duplicates it draws ``space.sample`` instead, and for a space
    it can list (``space.all``) it picks among the genotypes not yet seen.

    Raises:
        RuntimeError: if the space has fewer than ``n`` unseen genotypes left.
    """
    out, keys = [], set()
    misses = 0
    while len(out) < n:
        g = make(rng) if misses < tries * n else space.sample(rng)
        k = space.key(g)
        if k in seen or k in keys:
            misses += 1
            if misses >= 2 * tries * n:
                break
            continue
        out.append(g)
        keys.add(k)
    if len(out) < n and hasattr(space, "all"):
        rest = [g for g in space.all() if space.key(g) not in seen and space.key(g) not in keys]
        for i in rng.permutation(len(rest))[: n - len(out)]:
            out.append(rest[int(i)])
    if len(out) < n:
        raise RuntimeError(
            f"could not find {n} genotypes not evaluated yet in {space!r} "
            f"(found {len(out)}); the space may be nearly exhausted"
        )
    return out


class RandomSearch(Strategy):
    """Independent uniform samples of the space (``space.sample``), never a duplicate."""

    name = "random"

    def __repr__(self) -> str:
        return "RandomSearch()"

    def ask(self, n, rng, seen):
        return fresh(self.space, self.space.sample, n, rng, seen)


def _probability(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


class GeneticSearch(Strategy):
    """A steady-state genetic algorithm (see the module docstring).

    Args:
        population (int): members kept (default: ``30``). The first ``population``
            evaluations are random samples.
        selection (str): ``"tournament"`` (the best of ``tournament`` random members) or
            ``"rank"`` (a member with probability proportional to its rank, the worst 1)
            (default: ``"tournament"``).
        tournament (int): members per tournament (default: ``3``).
        p_mutation (float): probability that a child is mutated (default: ``0.5``).
        p_crossover (float): probability that a child is the crossover of two parents
            (default: ``0.0``).
        p_remove_worst (float): probability that the worst member (rather than the oldest)
            leaves when the population is over size (default: ``0.1``).
        elitism (int): the best members that never leave (default: ``1``).

    Raises:
        ValueError: on a setting out of range or an unknown ``selection``.
    """

    name = "genetic"

    def __init__(
        self,
        *,
        population: int = 30,
        selection: str = "tournament",
        tournament: int = 3,
        p_mutation: float = 0.5,
        p_crossover: float = 0.0,
        p_remove_worst: float = 0.1,
        elitism: int = 1,
    ) -> None:
        self.population = positive_int(population, "population")
        if selection not in ("tournament", "rank"):
            raise ValueError(f"unknown selection {selection!r}; expected one of tournament, rank")
        self.selection = selection
        self.tournament = positive_int(tournament, "tournament")
        self.p_mutation = _probability(p_mutation, "p_mutation")
        self.p_crossover = _probability(p_crossover, "p_crossover")
        self.p_remove_worst = _probability(p_remove_worst, "p_remove_worst")
        if isinstance(elitism, bool) or not isinstance(elitism, int) or not 0 <= elitism:
            raise ValueError(f"elitism must be an int >= 0, got {elitism!r}")
        if elitism >= self.population:
            raise ValueError(
                f"elitism={elitism} keeps the whole population of {population}; choose "
                "elitism < population"
            )
        self.elitism = elitism
        self.members: list[Evaluation] = []

    @classmethod
    def paper(cls) -> GeneticSearch:
        """The setting of ``002_…`` §4.4: population 30, mutation 0.5, crossover 0, removal of
        the worst with probability 0.1 (tournament selection of 3, one elite: not stated there)."""
        return cls(population=30, p_mutation=0.5, p_crossover=0.0, p_remove_worst=0.1)

    def __repr__(self) -> str:
        return (
            f"GeneticSearch(population={self.population}, selection={self.selection!r}, "
            f"p_mutation={self.p_mutation}, p_crossover={self.p_crossover}, "
            f"p_remove_worst={self.p_remove_worst}, elitism={self.elitism})"
        )

    def start(self, space, budget):
        super().start(space, budget)
        self.members = []

    def select(self, rng: np.random.Generator) -> Evaluation:
        """One parent of the current population."""
        m = self.members
        if self.selection == "tournament":
            ids = rng.choice(len(m), size=min(self.tournament, len(m)), replace=False)
            return max((m[int(i)] for i in ids), key=lambda e: e.score)
        order = np.argsort([e.score for e in m], kind="stable")
        p = np.empty(len(m))
        p[order] = np.arange(1, len(m) + 1)
        return m[int(rng.choice(len(m), p=p / p.sum()))]

    def child(self, rng: np.random.Generator) -> nx.DiGraph:
        """One child: crossover and / or mutation of selected parents, else a random sample."""
        space = self.space
        g, changed = self.select(rng).genotype, False
        if rng.random() < self.p_crossover:
            try:
                g, changed = space.crossover(g, self.select(rng).genotype, rng), True
            except Refused:
                pass
        if rng.random() < self.p_mutation:
            try:
                g, changed = space.mutate(g, rng), True
            except Refused:
                pass
        return g if changed else space.sample(rng)

    def ask(self, n, rng, seen):
        if len(self.members) < self.population:
            return fresh(self.space, self.space.sample, n, rng, seen)

        def make(r):
            g = self.child(r)
            for _ in range(5):  # a known child: mutate it further
                if self.space.key(g) not in seen:
                    break
                try:
                    g = self.space.mutate(g, r)
                except Refused:
                    break
            return g

        return fresh(self.space, make, n, rng, seen)

    def tell(self, evaluations, rng):
        for e in evaluations:
            self.members.append(e)
            while len(self.members) > self.population:
                by_score = sorted(range(len(self.members)), key=lambda i: -self.members[i].score)
                elite = set(by_score[: self.elitism])
                if rng.random() < self.p_remove_worst:
                    out = next(i for i in reversed(by_score) if i not in elite)
                else:
                    out = next(i for i in range(len(self.members)) if i not in elite)
                del self.members[out]


class PredictorSearch(Strategy):
    """Predictor-assisted search (see the module docstring).

    Args:
        predictor: a :class:`~graphnets.search.Predictor` (default:
            :func:`~graphnets.search.default_predictor` of the space).
        initial (int or float): random evaluations before the first fit: a count (at most the
            budget), or a fraction of the budget (default: ``0.2``, at least 4).
        fraction (float): the share of the proposals that is evaluated, in ``(0, 1]``: each round
            ``ceil(n / fraction)`` proposals are ranked for ``n`` evaluations (default: ``0.05``).
        proposals: ``"random"`` (samples of the space), ``"genetic"`` (children of a
            :meth:`GeneticSearch.paper` population fed with every result) or a
            :class:`Strategy` to draw proposals from (default: ``"genetic"``).
        refit (str): ``"always"`` (before every round with new results) or ``"once"`` (after the
            initial evaluations only) (default: ``"always"``).

    Raises:
        ValueError: on a setting out of range.
    """

    name = "predictor"

    def __init__(
        self,
        *,
        predictor: Predictor | None = None,
        initial: int | float = 0.2,
        fraction: float = 0.05,
        proposals: str | Strategy = "genetic",
        refit: str = "always",
    ) -> None:
        self.predictor = predictor
        if isinstance(initial, bool) or not isinstance(initial, (int, float)):
            raise ValueError(
                f"initial must be an int (count) or a float (fraction), got {initial!r}"
            )
        self.initial = initial
        if not (isinstance(fraction, (int, float)) and 0 < fraction <= 1):
            raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
        self.fraction = float(fraction)
        if isinstance(proposals, str) and proposals not in ("random", "genetic"):
            raise ValueError(
                f"unknown proposals {proposals!r}; expected random, genetic or a Strategy"
            )
        self.proposals = proposals
        if refit not in ("always", "once"):
            raise ValueError(f"unknown refit {refit!r}; expected one of always, once")
        self.refit = refit

    @classmethod
    def neural_predictor(
        cls, *, initial: int | float = 0.5, fraction: float = 0.01, predictor=None
    ) -> PredictorSearch:
        """Wen et al.'s Neural Predictor: fit once on ``initial`` random architectures, then
        evaluate the best-predicted ``fraction`` of random proposals."""
        return cls(
            predictor=predictor,
            initial=initial,
            fraction=fraction,
            proposals="random",
            refit="once",
        )

    @classmethod
    def paper(cls, *, predictor=None) -> PredictorSearch:
        """``002_…`` §4.4: genetic proposals (:meth:`GeneticSearch.paper`) of which the
        predicted better half is evaluated (architectural estimation fraction 0.5), after a
        first population of 30 random evaluations."""
        return cls(predictor=predictor, initial=30, fraction=0.5, proposals="genetic")

    def __repr__(self) -> str:
        return (
            f"PredictorSearch(initial={self.initial}, fraction={self.fraction}, "
            f"proposals={self.proposals!r}, refit={self.refit!r}, predictor={self.model!r})"
        )

    @property
    def model(self):
        return getattr(self, "_model", self.predictor)

    def start(self, space, budget):
        super().start(space, budget)
        if isinstance(self.initial, float):
            self.n_initial = max(4, amount(self.initial, budget, "initial"))
        else:  # a count: at most the budget (a preset's 30 on a budget of 20 is all random)
            self.n_initial = amount(min(self.initial, budget), budget, "initial")
        self.n_initial = max(2, min(self.n_initial, budget))
        self._model = self.predictor if self.predictor is not None else default_predictor(space)
        if isinstance(self.proposals, Strategy):
            self.proposer: Strategy = self.proposals
        elif self.proposals == "genetic":
            self.proposer = GeneticSearch.paper()
        else:
            self.proposer = RandomSearch()
        self.proposer.start(space, budget)
        self.evaluated: list[Evaluation] = []
        self.fitted_on = 0

    def ask(self, n, rng, seen):
        if len(self.evaluated) < self.n_initial:
            m = min(n, self.n_initial - len(self.evaluated))
            return fresh(self.space, self.space.sample, m, rng, seen)
        due = self.fitted_on == 0 or (
            self.refit == "always" and self.fitted_on < len(self.evaluated)
        )
        if due:
            self._model.fit(
                [e.genotype for e in self.evaluated],
                [e.score for e in self.evaluated],
                seed=int(rng.integers(2**31)),
            )
            self.fitted_on = len(self.evaluated)
        pool = math.ceil(n / self.fraction)
        if self.space.size is not None:
            pool = min(pool, self.space.size - len(seen))
        candidates = self.proposer.ask(max(n, pool), rng, seen)
        predicted = np.asarray(self._model.predict(candidates), dtype=np.float64)
        top = np.argsort(-predicted, kind="stable")[:n]
        return [candidates[int(i)] for i in top]

    def tell(self, evaluations, rng):
        self.evaluated.extend(evaluations)
        self.proposer.tell(evaluations, rng)


#: Strategy names accepted by :func:`run`, and the classes they make.
STRATEGIES: dict[str, type[Strategy]] = {
    "random": RandomSearch,
    "genetic": GeneticSearch,
    "predictor": PredictorSearch,
}


def _sequential(evaluate: Callable, genotypes: Sequence) -> Iterator[tuple[int, float]]:
    for i, g in enumerate(genotypes):
        yield i, evaluate(g)


def run(
    space: SearchSpace,
    evaluate: Callable[[nx.DiGraph], float] | None = None,
    *,
    budget: int,
    strategy: str | Strategy = "random",
    seed: Seed = None,
    batch_size: int = 1,
    map: Callable[[Callable, Sequence], Iterable[tuple[int, float]]] | None = None,
    cache: Mapping[Hashable, float] | None = None,
    on_result: Callable[[Evaluation], object] | None = None,
    progress: bool = False,
    **options,
) -> SearchResult:
    """Search ``space`` for the genotype with the highest ``evaluate`` score.

    Args:
        space: a :class:`~graphnets.search.SearchSpace`.
        evaluate: ``genotype -> float``, higher is better (a training, a table lookup, ...). For a
            :class:`~graphnets.search.NeuronSpace` of 64 inputs and 10 outputs the default
            is :class:`~graphnets.search.TrainEvaluator` on digits; elsewhere it must be
            given.
        budget: number of genotypes to evaluate.
        strategy: a name of :data:`STRATEGIES` (made with ``**options``) or a :class:`Strategy`
            (default: ``"random"``).
        seed: makes the search repeatable (see the module docstring).
        batch_size: genotypes proposed (and evaluated, in parallel with ``map``) per step
            (default: ``1``).
        map: ``map(evaluate, genotypes)`` yielding ``(position, score)`` pairs in any order, e.g.
            over worker processes (default: one after the other in this process).
        cache: scores already known, by :meth:`~SearchSpace.key`; a proposed genotype found
            there is not evaluated again (this is how an interrupted search resumes).
        on_result: called with every new :class:`Evaluation` as soon as its score is known.
        progress: show a tqdm bar on stderr (default: ``False``).
        **options: settings of the named strategy (e.g. ``population=20``).

    Returns:
        SearchResult: ``history`` (``budget`` evaluations, in order, no key twice) and ``best``.

    Raises:
        ValueError: on a bad budget or batch size, a budget larger than the space, an unknown
            strategy, options given with a Strategy object, or a non-finite score (naming the
            genotype's place).
        RuntimeError: if the strategy proposes an invalid or a duplicate genotype.

    Example:
        >>> from graphnets.methods.search import CellSpace
        >>> space = CellSpace.nas_bench_201()
        >>> score = lambda g: sum(op == "nor_conv_3x3" for op in space.key(g))
        >>> result = run(space, score, budget=20, strategy="genetic", seed=0, population=8)
        >>> len(result.history), len({e.key for e in result.history})
        (20, 20)
        >>> bool(result.best.score == result.scores.max())
        True
    """
    if not isinstance(space, SearchSpace):
        raise TypeError(
            f"expected a SearchSpace (CellSpace, NeuronSpace), got {type(space).__name__}"
        )
    budget = positive_int(budget, "budget")
    batch_size = positive_int(batch_size, "batch_size")
    if space.size is not None and budget > space.size:
        raise ValueError(
            f"budget={budget} is more than the {space.size} genotypes of {space!r}; "
            f"choose budget <= {space.size}"
        )
    if evaluate is None:
        from .evaluate import TrainEvaluator
        from .neurons import NeuronSpace

        if not isinstance(space, NeuronSpace):
            raise ValueError(
                f"pass evaluate=(genotype -> score) for {space!r}; only a NeuronSpace has a "
                "default (training on digits)"
            )

        evaluate = TrainEvaluator(space)
    if not callable(evaluate):
        raise TypeError(
            f"evaluate must be callable (genotype -> float), got {type(evaluate).__name__}"
        )
    if isinstance(strategy, str):
        if strategy not in STRATEGIES:
            raise ValueError(
                f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}"
            )
        strategy = STRATEGIES[strategy](**options)
    elif not isinstance(strategy, Strategy):
        raise TypeError(f"strategy must be a name or a Strategy, got {type(strategy).__name__}")
    elif options:
        raise ValueError(
            f"options {sorted(options)} are for a strategy given by name; set them on the "
            f"{type(strategy).__name__} object instead"
        )
    (base,) = spawn(seed, 1)
    mapper = map if map is not None else _sequential
    result = SearchResult(strategy.name, int(base))
    seen: set = set()
    strategy.start(space, budget)

    from tqdm.auto import tqdm

    bar = tqdm(total=budget, desc=f"search ({strategy.name})", unit="eval", disable=not progress)
    with bar:
        while len(result.history) < budget:
            t = len(result.history)
            rng = np.random.default_rng([base, t])
            batch = strategy.ask(min(batch_size, budget - t), rng, seen)
            if not 1 <= len(batch) <= batch_size:
                raise RuntimeError(
                    f"{strategy!r} proposed {len(batch)} genotypes, asked for 1..{batch_size}"
                )
            keys = []
            for g in batch:
                reason = space.why_invalid(g)
                if reason is not None:
                    raise RuntimeError(f"{strategy!r} proposed an invalid genotype: {reason}")
                k = space.key(g)
                if k in seen or k in keys:
                    raise RuntimeError(
                        f"{strategy!r} proposed a genotype already evaluated ({k!r})"
                    )
                keys.append(k)
            scores: dict[int, float] = {}
            cached = set()
            for i, k in enumerate(keys):
                if cache is not None and k in cache:
                    scores[i] = float(cache[k])
                    cached.add(i)
            todo = [i for i in range(len(batch)) if i not in scores]
            for j, score in mapper(evaluate, [batch[i] for i in todo]):
                i = todo[j]
                scores[i] = _finite(score, t + i)
                if on_result is not None:
                    on_result(Evaluation(t + i, batch[i], scores[i], keys[i]))
                bar.update(1)
            bar.update(len(cached))
            evaluations = [
                Evaluation(t + i, g, _finite(scores[i], t + i), keys[i], i in cached)
                for i, g in enumerate(batch)
            ]
            result.history.extend(evaluations)
            seen.update(keys)
            strategy.tell(evaluations, np.random.default_rng([base, t, 1]))
            bar.set_postfix(best=f"{result.best.score:.4g}", refresh=False)
    return result


def _finite(score: object, index: int) -> float:
    try:
        value = float(score)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(
            f"evaluate returned {score!r} for genotype {index}; expected a float (higher is better)"
        ) from None
    if not math.isfinite(value):
        raise ValueError(
            f"evaluate returned {value} for genotype {index}; scores must be finite (return a low "
            "score such as 0.0 for a failed training)"
        )
    return value
