"""graphnets.search.run: histories without duplicates, determinism, resume from a cache, the
strategies against random search on a known landscape, and a tiny search on digits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from graphnets.search import (
    CellOneHotPredictor,
    CellSpace,
    GeneticSearch,
    NeuronSpace,
    PredictorSearch,
    RandomSearch,
    RegressorPredictor,
    SyntheticCellScore,
    TrainEvaluator,
    default_predictor,
    run,
)

pytestmark = pytest.mark.usefixtures("one_thread")


SPACE = CellSpace.nas_bench_201()
SCORE = SyntheticCellScore(SPACE, seed=0)


def make(name: str, space=SPACE):
    """A strategy by name; predictor-assisted with the fast random-forest predictor (the GNN,
    the default, has its own tests below)."""
    if name == "predictor":
        return PredictorSearch(predictor=CellOneHotPredictor(space, trees=30))
    return name


@pytest.mark.parametrize("strategy", ["random", "genetic", "predictor"])
def test_run_history_has_budget_distinct_genotypes(strategy):
    result = run(SPACE, SCORE, budget=40, strategy=make(strategy), seed=1, batch_size=4)
    keys = [e.key for e in result.history]
    assert len(keys) == 40 and len(set(keys)) == 40
    assert [e.index for e in result.history] == list(range(40))
    assert all(e.score == pytest.approx(SCORE(e.genotype)) for e in result.history)
    assert result.best.score == result.scores.max()
    assert np.all(np.diff(result.best_so_far()) >= 0)


def test_run_same_seed_same_history():
    a = run(SPACE, SCORE, budget=30, strategy="genetic", seed=3, population=10)
    b = run(SPACE, SCORE, budget=30, strategy="genetic", seed=3, population=10)
    c = run(SPACE, SCORE, budget=30, strategy="genetic", seed=4, population=10)
    assert [e.key for e in a.history] == [e.key for e in b.history]
    assert [e.key for e in a.history] != [e.key for e in c.history]


@pytest.mark.parametrize("strategy", ["genetic", "predictor"])
def test_run_resumes_from_a_cache_without_evaluating_again(strategy):
    full = run(SPACE, SCORE, budget=40, strategy=make(strategy), seed=7, batch_size=5)
    calls, cache = [], {}

    def interrupted(g):  # stops in the middle of the fourth batch
        if len(calls) == 17:
            raise KeyboardInterrupt
        calls.append(SPACE.key(g))
        return SCORE(g)

    with pytest.raises(KeyboardInterrupt):
        run(
            SPACE, interrupted, budget=40, strategy=make(strategy), seed=7, batch_size=5,
            on_result=lambda e: cache.update({e.key: e.score}),
        )  # fmt: skip
    assert len(cache) == 17
    calls.clear()
    resumed = run(
        SPACE, lambda g: calls.append(SPACE.key(g)) or SCORE(g), budget=40,
        strategy=make(strategy),
        seed=7, batch_size=5, cache=cache,
    )  # fmt: skip
    assert [e.key for e in resumed.history] == [e.key for e in full.history]
    assert [e.score for e in resumed.history] == [e.score for e in full.history]
    assert len(calls) == 23 and not set(calls) & set(cache)
    assert [e.cached for e in resumed.history] == [True] * 17 + [False] * 23


def test_run_on_result_sees_every_new_evaluation_once():
    seen = []
    run(SPACE, SCORE, budget=12, strategy="random", seed=0, batch_size=5, on_result=seen.append)
    assert sorted(e.index for e in seen) == list(range(12))


def test_run_parallel_map_any_completion_order():
    def backwards(evaluate, genotypes):
        for i in reversed(range(len(genotypes))):
            yield i, evaluate(genotypes[i])

    a = run(SPACE, SCORE, budget=20, strategy="genetic", seed=2, batch_size=4, population=8)
    b = run(
        SPACE, SCORE, budget=20, strategy="genetic", seed=2, batch_size=4, population=8,
        map=backwards,
    )  # fmt: skip
    assert [e.key for e in a.history] == [e.key for e in b.history]


def test_genetic_keeps_the_elite():
    strategy = GeneticSearch(population=8, elitism=2, p_remove_worst=0.0)
    result = run(SPACE, SCORE, budget=40, strategy=strategy, seed=0)
    assert len(strategy.members) == 8
    top2 = sorted(result.scores)[-2:]
    assert sorted(e.score for e in strategy.members)[-2:] == top2


def test_strategies_beat_random_on_the_known_landscape():
    # mean over 5 seeds of the best score after 150 evaluations, as a fraction of the way from
    # the space's median to its optimum
    median, best = float(np.median(SCORE.table())), SCORE.optimum

    def progress(strategy):
        found = [
            run(SPACE, SCORE, budget=150, strategy=strategy, seed=s, batch_size=15).best.score
            for s in range(5)
        ]
        return (np.mean(found) - median) / (best - median)

    rand = progress(RandomSearch())
    assert progress(GeneticSearch(population=20)) > rand
    forest = CellOneHotPredictor(SPACE, trees=30)
    assert progress(PredictorSearch(predictor=forest, initial=30, fraction=0.05)) > rand


def test_run_errors():
    with pytest.raises(ValueError, match=r"budget=20000 is more than the 15625 genotypes"):
        run(SPACE, SCORE, budget=20000)
    with pytest.raises(ValueError, match=r"unknown strategy 'annealing'; expected one of random"):
        run(SPACE, SCORE, budget=5, strategy="annealing")
    with pytest.raises(ValueError, match=r"options \['population'\] are for a strategy given by"):
        run(SPACE, SCORE, budget=5, strategy=GeneticSearch(), population=3)
    with pytest.raises(ValueError, match=r"evaluate returned nan for genotype 0; scores must be"):
        run(SPACE, lambda g: math.nan, budget=5)
    with pytest.raises(ValueError, match=r"evaluate returned 'x' for genotype 0; expected a float"):
        run(SPACE, lambda g: "x", budget=5)
    with pytest.raises(ValueError, match=r"budget must be a positive int, got 0"):
        run(SPACE, SCORE, budget=0)
    with pytest.raises(TypeError, match=r"expected a SearchSpace"):
        run("nas201", SCORE, budget=3)
    with pytest.raises(ValueError, match=r"unknown selection 'roulette'"):
        GeneticSearch(selection="roulette")
    with pytest.raises(ValueError, match=r"p_mutation must be a probability in \[0, 1\], got 2"):
        GeneticSearch(p_mutation=2)
    with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\], got 0"):
        PredictorSearch(fraction=0)
    with pytest.raises(ValueError, match=r"pass evaluate=\(genotype -> score\) for CellSpace"):
        run(CellSpace([(0, 1)], ["a", "b"]), budget=1)
    with pytest.raises(ValueError, match=r"the data have 64 features and 10 classes, the space 3"):
        TrainEvaluator(NeuronSpace(3, 2))


def test_exhausted_space_is_searched_to_the_last_genotype():
    small = CellSpace([(0, 1), (1, 2)], ["a", "b", "c"])  # 9 genotypes
    score = SyntheticCellScore(small, seed=0)
    for strategy in ("random", "genetic", "predictor"):
        result = run(small, score, budget=9, strategy=make(strategy, small), seed=0, batch_size=2)
        assert len({e.key for e in result.history}) == 9
        assert result.best.score == pytest.approx(score.optimum)


def test_predictor_search_on_digits_with_the_graph_regressor():
    # a tiny real search: nets trained for one epoch on 400 digits, the GNN ranks proposals
    import graphnets

    x, y, _, _ = graphnets.data.digits(seed=0)
    data = (x[:400], y[:400], x[400:700], y[400:700])
    space = NeuronSpace(64, 10, max_hidden=8, max_edges=120, max_depth=3)
    evaluate = TrainEvaluator(space, data=data, epochs=1)
    predictor = RegressorPredictor(space, hidden=8, epochs=20)
    strategy = PredictorSearch(predictor=predictor, initial=5, fraction=0.25, proposals="random")
    result = run(space, evaluate, budget=8, strategy=strategy, seed=0, batch_size=3)
    assert len({e.key for e in result.history}) == 8
    assert all(0.0 <= e.score <= 1.0 for e in result.history)
    assert bool(predictor.model.fitted) and len(predictor.model.history["train"]) <= 20
    # the default predictor of a neuron space is the GNN
    assert isinstance(default_predictor(space), RegressorPredictor)


def test_predictor_search_on_cells_with_the_graph_regressor():
    # the default predictor reads the cells themselves: their "op" attributes, one-hot
    strategy = PredictorSearch(
        predictor=RegressorPredictor(SPACE, hidden=8, epochs=20), initial=10, fraction=0.2
    )
    result = run(SPACE, SCORE, budget=20, strategy=strategy, seed=0, batch_size=5)
    assert len({e.key for e in result.history}) == 20
    assert isinstance(default_predictor(SPACE), RegressorPredictor)
    predicted = strategy.model.predict([e.genotype for e in result.history[:10]])
    assert predicted.shape == (10,) and np.isfinite(predicted).all()


def test_predictor_preset_on_a_budget_below_its_initial_count():
    # the paper preset starts with 30 random evaluations: a budget of 12 is all random
    strategy = PredictorSearch.paper(predictor=CellOneHotPredictor(SPACE, trees=5))
    result = run(SPACE, SCORE, budget=12, strategy=strategy, seed=0, batch_size=4)
    assert len(result.history) == 12 and strategy.n_initial == 12
    with pytest.raises(ValueError, match=r"initial must be a count in \[0, 12\], got -1"):
        run(SPACE, SCORE, budget=12, strategy=PredictorSearch(initial=-1))
