r"""``graphnets search``: an architecture search through the experiment's results folder.

:func:`search` runs :func:`graphnets.search.run` with the folder machinery of the experiment
(:class:`~graphnets.experiment.store.Store`) and its executors
(``graphnets.experiment.run_tasks``):

Layout of a search folder ``OUT``::

    OUT/.lock              held while a search uses the folder (one at a time)
    OUT/search.json        the settings; a rerun with other settings is refused
    OUT/evals/<k>.json     one finished evaluation: its place, key, score and genotype
                           (networkx node-link JSON); written atomically as soon as it is known
    OUT/history.csv        every evaluation in order: index, score, best so far, key, cached
    OUT/history.parquet    the same, typed
    OUT/best.json          the best genotype and its score

**Resume.** A search is deterministic given its settings (see
:mod:`graphnets.methods.search.strategies`), so a rerun on the folder proposes the same
genotypes again; those with an ``evals`` file take their score from it instead of being
evaluated. After an interrupt (Ctrl-C, a killed job) every finished evaluation is already on
disk; rerunning the same command carries on, and its history is the one an uninterrupted
search would have written. ``history.csv`` and ``best.json`` are written when the search ends.

**Parallel.** Each batch of ``batch_size`` genotypes is evaluated by ``workers`` local processes
or as Ray tasks; results are saved as they complete. A pool is started per batch, which pays off
when an evaluation takes seconds (a training), not for table lookups.

Settings (:data:`DEFAULTS`): ``space`` (``"nas201"``: the NAS-Bench-201 cell scored by
:class:`~graphnets.search.SyntheticCellScore` with ``objective_seed``; ``"neurons"``: a
:class:`~graphnets.search.NeuronSpace` for digits with ``max_hidden``, ``max_edges``,
``max_depth``, scored by :class:`~graphnets.search.TrainEvaluator` with ``epochs`` on
``train_samples`` digits), ``strategy``, ``budget``, ``batch_size``, ``seed``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping

from .._util.files import TMP_PREFIX
from ..methods.search import (
    STRATEGIES,
    CellSpace,
    NeuronSpace,
    SyntheticCellScore,
    TrainEvaluator,
)
from ..methods.search import run as run_search
from .executors import run_tasks
from .store import FolderError, Store

__all__ = ["DEFAULTS", "SPACES", "search", "evaluate_task", "make_problem"]

#: Accepted ``space`` names.
SPACES: tuple[str, ...] = ("nas201", "neurons")

#: The default settings of a search.
DEFAULTS: dict = {
    "space": "nas201",
    "strategy": "genetic",
    "budget": 100,
    "batch_size": 10,
    "seed": 0,
    "objective_seed": 0,
    "max_hidden": 12,
    "max_edges": 200,
    "max_depth": 3,
    "epochs": 2,
    "train_samples": 800,
}


def make_problem(settings: Mapping):
    """The space and the evaluate callable that ``settings`` describe."""
    if settings["space"] == "nas201":
        space = CellSpace.nas_bench_201()
        return space, SyntheticCellScore(space, seed=settings["objective_seed"])
    from ..data import digits

    space = NeuronSpace(
        64,
        10,
        max_hidden=settings["max_hidden"],
        max_edges=settings["max_edges"],
        max_depth=settings["max_depth"],
    )
    x, y, _, _ = digits(seed=0)
    n = settings["train_samples"]
    if not 10 <= n <= len(x) - 100:
        raise ValueError(f"train_samples must be in 10..{len(x) - 100}, got {n}")
    data = (x[:n], y[:n], x[n : n + len(x) // 4], y[n : n + len(x) // 4])
    return space, TrainEvaluator(space, data=data, epochs=settings["epochs"])


def evaluate_task(evaluate: Callable, position: int, genotype) -> tuple[int, float]:
    """One evaluation, as a task of ``graphnets.experiment.run_tasks``."""
    return position, float(evaluate(genotype))


def _name(key) -> str:
    return hashlib.sha256(repr(key).encode()).hexdigest()[:20]


def check_settings(settings: Mapping) -> dict:
    """``settings`` over :data:`DEFAULTS`, checked; ``ValueError`` names a bad one."""
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown search settings {unknown}; expected some of {sorted(DEFAULTS)}")
    out = {**DEFAULTS, **settings}
    if out["space"] not in SPACES:
        raise ValueError(f"unknown space {out['space']!r}; expected one of {', '.join(SPACES)}")
    if out["strategy"] not in STRATEGIES:
        raise ValueError(
            f"unknown strategy {out['strategy']!r}; expected one of {', '.join(STRATEGIES)}"
        )
    for k, v in out.items():
        if k not in ("space", "strategy") and (isinstance(v, bool) or not isinstance(v, int)):
            raise ValueError(f"{k} must be an int, got {v!r}")
    return out


def search(
    out: str | os.PathLike,
    settings: Mapping,
    *,
    executor: str = "local",
    workers: int = 1,
    address: str = "",
    progress: bool = True,
    log: Callable[[str], object] = print,
):
    """Run (or resume) the search of ``settings`` in the folder ``out``; return its
    :class:`~graphnets.search.SearchResult`.

    Raises:
        ValueError: on bad settings, or settings other than those the folder was started with.
        graphnets.experiment.FolderError: if another search holds the folder, or a file
            cannot be written.
        KeyboardInterrupt: passed on, with every finished evaluation saved (rerun to resume).
    """
    import networkx as nx
    import pandas as pd

    settings = check_settings(settings)
    space, evaluate = make_problem(settings)
    store = Store(out)
    with store.open():
        if store.read_only:
            raise FolderError(f"{store.out} is read-only; a search needs to write its results")
        store.clean()
        path = store.path("search.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                old = json.load(f)
            diff = [k for k in sorted(set(old) | set(settings)) if old.get(k) != settings.get(k)]
            if diff:
                lines = ", ".join(
                    f"{k}: {old.get(k)!r} there, {settings.get(k)!r} now" for k in diff
                )
                raise ValueError(
                    f"{store.out} holds a search with other settings ({lines}); rerun with its "
                    "settings to resume, or use another --out folder"
                )
        store.write("search.json", json.dumps(settings, indent=2) + "\n")
        os.makedirs(store.path("evals"), exist_ok=True)
        cache = {}
        for name in sorted(os.listdir(store.path("evals"))):
            path = store.path("evals", name)
            if name.startswith(TMP_PREFIX):  # a write a killed run left unfinished
                os.unlink(path)
                continue
            if not name.endswith(".json"):
                continue
            try:
                with open(path, encoding="utf-8") as f:
                    record = json.load(f)
                genotype = space.check(nx.node_link_graph(record["genotype"], edges="edges"))
                score = float(record["score"])
            except (ValueError, KeyError, TypeError) as err:
                log(f"search: {path} is damaged ({err}); evaluating that genotype again")
                continue
            cache[space.key(genotype)] = score
        log(
            f"search: {len(cache)} of {settings['budget']} evaluations already in {store.out}; "
            f"{settings['strategy']} on {space!r}"
        )

        def save(e) -> None:
            record = {
                "index": e.index,
                "key": repr(e.key),
                "score": e.score,
                "genotype": nx.node_link_data(e.genotype, edges="edges"),
            }
            store.write(os.path.join("evals", _name(e.key) + ".json"), json.dumps(record) + "\n")
            saved.append(e)

        def parallel(fn, genotypes):
            calls = [(fn, i, g) for i, g in enumerate(genotypes)]
            yield from run_tasks(
                evaluate_task, calls, executor=executor, workers=workers, address=address
            )

        saved: list = []
        try:
            result = run_search(
                space,
                evaluate,
                budget=settings["budget"],
                strategy=settings["strategy"],
                seed=settings["seed"],
                batch_size=settings["batch_size"],
                map=parallel,
                cache=cache,
                on_result=save,
                progress=progress,
            )
        except KeyboardInterrupt:
            log(
                f"interrupted: {len(cache) + len(saved)} of {settings['budget']} evaluations are "
                "saved; rerun the same command to resume"
            )
            raise
        rows = pd.DataFrame(
            {
                "index": [e.index for e in result.history],
                "score": result.scores,
                "best_so_far": result.best_so_far(),
                "key": [repr(e.key) for e in result.history],
                "cached": [e.cached for e in result.history],
            }
        )
        store.write_table("history", rows, index=False)
        best = result.best
        store.write(
            "best.json",
            json.dumps(
                {
                    "index": best.index,
                    "score": best.score,
                    "key": repr(best.key),
                    "genotype": nx.node_link_data(best.genotype, edges="edges"),
                },
                indent=1,
            )
            + "\n",
        )
        log(
            f"search: best score {best.score:.4f} at evaluation {best.index + 1} of "
            f"{len(result.history)} ({len(saved)} evaluated now, "
            f"{sum(e.cached for e in result.history)} from the folder); "
            f"{store.path('history.csv')}"
        )
        return result
