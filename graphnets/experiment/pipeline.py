"""The experiment's stages, in order: sample → train → measure → predict → report.

:func:`run` runs one stage or all of them on a results folder (:class:`~.store.Store`). Each
stage reads what the earlier ones wrote, so any stage can be rerun alone:

- **sample** draws every net's spec (:mod:`.sample`) and writes ``samples.csv``;
- **train** trains the nets not yet finished (:func:`.tasks.train_task` through
  :func:`.executors.run_tasks`), persisting each one the moment it returns; finished nets are
  skipped, so rerunning resumes;
- **measure** computes graph properties of the trained nets (:mod:`.measure`);
- **predict** cross-validates the predictors and correlates properties with the target
  (:mod:`.predict`);
- **report** draws the plots and writes ``report.md`` (:mod:`.report`).

With ``stage="all"``, measure and predict are skipped when their inputs and settings are those
of their last run (``stages.json``); asking for one stage by name always runs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping

import numpy as np

from ..methods.analysis import PROPERTIES
from ..nn.graphnet import load
from .config import validate
from .executors import run_tasks
from .measure import measure
from .ranking import best_predictors, comparison, correlation_table, out_of_fold
from .report import plot_curves, plot_predictions, plot_properties, write_report
from .sample import specs as draw
from .store import Store
from .tasks import one_thread, train_task

__all__ = ["STAGES", "run", "results_table", "format_summary"]

#: The stages, in order; ``"all"`` runs them all.
STAGES = ("sample", "train", "measure", "predict", "report")


class StageError(RuntimeError):
    """A stage was asked for before the stages it needs had run."""


def _digest(values) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


# -- tables -----------------------------------------------------------------------------------
def results_table(store: Store, specs: list[dict], config: Mapping):
    """One row per finished net: spec, seeds, training settings, metrics, timings, properties."""
    import pandas as pd

    rows, curves = [], []
    for s in specs:
        record = store.run(s["id"])
        if record is None or record["spec"] != json.loads(json.dumps(s)):
            continue
        spec = dict(s)
        seeds = spec.pop("train_seeds")
        row = {
            **spec,
            "train_seed": seeds[0],
            "seed": config["seed"],
            "epochs": config["train"]["epochs"],
            "batch_size": config["train"]["batch_size"],
            "lr": config["train"]["lr"],
            "repeats": config["train"]["repeats"],
            **record["row"],
        }
        if len(seeds) > 1:
            row["train_seeds"] = " ".join(map(str, seeds))
        rows.append(row)
        curves += [{"id": s["id"], **h} for h in record["history"]]
    table = pd.DataFrame(rows)
    if len(table):
        table = table.set_index("id")
        try:
            props = pd.read_csv(store.path("properties.csv"), index_col="id")
            table = table.join(props, how="left")
        except FileNotFoundError:
            pass
    return table, pd.DataFrame(curves)


def _write_results(store: Store, specs, config) -> object:
    table, curves = results_table(store, specs, config)
    if len(table):
        store.write_csv("results.csv", table)
        store.write_csv("curves.csv", curves, index=False)
    return table


# -- stages -----------------------------------------------------------------------------------
def _sample(store, config, specs, log):
    import pandas as pd

    table = pd.DataFrame(
        [{**s, "train_seeds": " ".join(map(str, s["train_seeds"]))} for s in specs]
    ).set_index("id")
    store.write_csv("samples.csv", table)
    counts = table["prior"].value_counts().to_dict()
    log(
        f"sample: {len(specs)} nets ("
        + ", ".join(f"{counts.get(p, 0)} {p}" for p in ("ws", "ba", "er"))
        + ")"
    )


def _train(store, config, specs, log, progress):
    from tqdm.auto import tqdm

    store.clean()
    done = set(store.finished(specs))
    todo = [s for s in specs if s["id"] not in done]
    run = config["run"]
    where = (
        "in this process"
        if run["workers"] == 1 and run["executor"] == "local"
        else (
            f"on {run['workers']} local worker processes"
            if run["executor"] == "local"
            else f"as Ray tasks ({run['ray_address'] or 'local runtime'})"
        )
    )
    log(
        f"train: {len(done)} of {len(specs)} nets already trained (skipped); training "
        f"{len(todo)} {where}"
    )
    by_id = {s["id"]: s for s in todo}
    calls = [(s, config["data"], config["train"]) for s in todo]
    finished = 0
    bar = tqdm(
        total=len(todo),
        desc="train",
        unit="net",
        disable=not progress or not todo,
        dynamic_ncols=True,
    )
    try:
        with bar:
            for result in run_tasks(
                train_task,
                calls,
                executor=run["executor"],
                workers=run["workers"],
                address=run["ray_address"],
            ):
                store.save_run(by_id[result["id"]], result)
                finished += 1
                bar.update(1)
                bar.set_postfix(test_acc=f"{result['row']['test_acc']:.3f}", refresh=False)
    except KeyboardInterrupt:
        log(
            f"interrupted: {len(done) + finished} of {len(specs)} nets are trained and saved; "
            "rerun the same command to resume"
        )
        _write_results(store, specs, config)
        raise
    _write_results(store, specs, config)
    return {"trained": finished, "skipped": len(done)}


def _finished_paths(store, specs):
    ids = store.finished(specs)
    return ids, [(i, store.net_path(i)) for i in ids]


def _measure(store, config, specs, log, progress, forced):

    ids, paths = _finished_paths(store, specs)
    if not ids:
        raise StageError(f"measure: no trained nets in {store.out}; run --stage train first")
    stamp = {"properties": config["measure"]["properties"], "ids": _digest(ids)}
    if (
        not forced
        and store.stamps().get("measure") == stamp
        and os.path.exists(store.path("properties.csv"))
    ):
        log(f"measure: properties of the {len(ids)} nets are up to date (skipped)")
        return
    log(f"measure: properties of {len(ids)} nets")
    table = measure(paths, config["measure"]["properties"], progress=progress)
    store.write_csv("properties.csv", table)
    store.stamp("measure", stamp)
    _write_results(store, specs, config)


def _predict(store, config, specs, log, progress, forced):

    table = _write_results(store, specs, config)
    props = [p for p in PROPERTIES if p in table.columns]
    if not len(table) or not props or table[props].isna().all(axis=1).any():
        raise StageError(
            f"predict: properties of some trained nets in {store.out} are missing; "
            "run --stage measure first"
        )
    settings = config["predict"]
    if len(table) < 2 * settings["folds"]:
        raise StageError(
            f"predict: predict.folds = {settings['folds']} needs at least "
            f"{2 * settings['folds']} trained nets, {store.out} has {len(table)}; "
            "train more (--graphs) or use fewer folds"
        )
    target = settings["target"]
    y = table[target].to_numpy(dtype=np.float64)
    stamp = {
        "predict": settings,
        "ids": _digest(list(map(int, table.index))),
        "y": _digest(np.round(y, 12).tolist()),
        "properties": props,
    }
    files = ("comparison.csv", "comparison_folds.csv", "predictions.csv", "correlations.csv")
    if (
        not forced
        and store.stamps().get("predict") == json.loads(json.dumps(stamp))
        and all(os.path.exists(store.path(f)) for f in files)
    ):
        log(f"predict: comparison of the {len(table)} nets is up to date (skipped)")
        return
    log(f"predict: {settings['folds']}-fold cross-validation of {len(table)} nets, target {target}")
    nets = [load(store.net_path(int(i))) for i in table.index]
    # one thread: the GNN's small matrices gain nothing from more (measured 3-4x faster on
    # 2 busy cores), and its numbers do not depend on the machine's core count
    with one_thread():
        comp, per_fold, oof = comparison(nets, y, settings, progress=progress)
        preds = out_of_fold(oof, y, best_predictors(comp, 2), settings)
    preds.insert(0, "id", table.index.to_numpy())
    comp.index.name = "predictor"
    store.write_csv("comparison.csv", comp)
    store.write_csv("comparison_folds.csv", per_fold, index=False)
    store.write_csv("predictions.csv", preds, index=False)
    store.write_csv("correlations.csv", correlation_table(table[props], y))
    store.stamp("predict", stamp)


def _report(store, config, specs, log, timings):
    import pandas as pd

    needed = ("results.csv", "curves.csv", "comparison.csv", "predictions.csv", "correlations.csv")
    missing = [f for f in needed if not os.path.exists(store.path(f))]
    if missing:
        raise StageError(
            f"report: {', '.join(missing)} missing in {store.out}; run the "
            "earlier stages first (--stage all)"
        )
    results = pd.read_csv(store.path("results.csv"), index_col="id")
    curves = pd.read_csv(store.path("curves.csv"))
    comp = pd.read_csv(store.path("comparison.csv"), index_col="predictor")
    preds = pd.read_csv(store.path("predictions.csv"))
    corr = pd.read_csv(store.path("correlations.csv"), index_col="property")
    target = config["predict"]["target"]
    best = [c for c in preds.columns if c not in ("id", "actual", "fold")]
    plots = {
        "properties": plot_properties(
            results,
            corr,
            target,
            config["report"]["top_properties"],
            store.path("plots", "accuracy_vs_properties.png"),
        ),
        "predictions": plot_predictions(
            preds, best, target, store.path("plots", "predicted_vs_actual.png")
        ),
        "curves": plot_curves(
            curves, results["prior"].to_dict(), store.path("plots", "learning_curves.png")
        ),
    }
    path = write_report(
        store.path("report.md"),
        config=config,
        results=results,
        comparison=comp,
        correlations=corr,
        plots=plots,
        best=best,
        timings=timings,
    )
    log(f"report: {path}")
    return {"best_predictor": best[0], "comparison": comp}


# -- orchestration ----------------------------------------------------------------------------
def run(
    config: Mapping,
    out: str | os.PathLike,
    *,
    stage: str = "all",
    progress: bool = True,
    log: Callable[[str], object] = print,
) -> dict:
    """Run ``stage`` (or all stages) of the experiment ``config`` in the folder ``out``.

    Args:
        config: a full configuration (see :mod:`.config`; validated here).
        out: the results folder; created if needed, resumed if it holds results.
        stage: one of :data:`STAGES` or ``"all"`` (default: ``"all"``).
        progress: tqdm bars with ETA on stderr (default: ``True``).
        log: called with one line per step (default: ``print``).

    Returns:
        dict: the summary (see :func:`format_summary`).

    Raises:
        ConfigError: on a bad configuration, or one that changes the settings that define the
            folder's rows (the message says what changed and how to start a new folder).
        StageError: if ``stage`` needs files an earlier stage has not written.
        KeyboardInterrupt: after keeping every finished training (the log says how many).
    """
    if stage not in STAGES + ("all",):
        raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}, all")

    config = validate(config)
    store = Store(out)
    store.check(config)
    os.makedirs(store.out, exist_ok=True)
    store.save_config(config)
    specs = draw(config)
    stages = STAGES if stage == "all" else (stage,)
    forced = stage != "all"
    timings: dict[str, float] = {}
    summary: dict = {"out": store.out, "nets": len(specs), "stages": stages}
    for name in stages:
        start = time.perf_counter()
        if name == "sample":
            _sample(store, config, specs, log)
        elif name == "train":
            summary.update(_train(store, config, specs, log, progress))
        elif name == "measure":
            _measure(store, config, specs, log, progress, forced)
        elif name == "predict":
            _predict(store, config, specs, log, progress, forced)
        else:
            timings[name] = time.perf_counter() - start
            summary.update(_report(store, config, specs, log, timings))
        timings[name] = time.perf_counter() - start
    summary["timings"] = timings
    if os.path.exists(store.path("results.csv")):
        import pandas as pd

        results = pd.read_csv(store.path("results.csv"), index_col="id")
        summary["finished"] = len(results)
        best = results["test_acc"].idxmax()
        summary["best_net"] = {
            "id": int(best),
            "prior": results.loc[best, "prior"],
            "test_acc": float(results.loc[best, "test_acc"]),
            "path": store.net_path(int(best)),
        }
        acc = results["test_acc"]
        summary["test_acc"] = {
            "mean": acc.mean(),
            "std": acc.std(ddof=0),
            "min": acc.min(),
            "max": acc.max(),
        }
    if os.path.exists(store.path("report.md")):
        summary["report"] = store.path("report.md")
    return summary


def format_summary(summary: Mapping) -> str:
    """The one-screen summary the command line prints at the end."""
    lines = [
        "",
        f"experiment in {summary['out']}: {summary.get('finished', 0)} of "
        f"{summary['nets']} nets trained",
    ]
    if "trained" in summary:
        lines.append(
            f"  this run: {summary['trained']} trained, {summary['skipped']} skipped (already done)"
        )
    if "test_acc" in summary:
        t = summary["test_acc"]
        lines.append(
            f"  test accuracy: mean {t['mean']:.3f}, std {t['std']:.3f}, "
            f"min {t['min']:.3f}, max {t['max']:.3f}"
        )
        b = summary["best_net"]
        lines.append(
            f"  best net: #{b['id']} ({b['prior']}), test accuracy {b['test_acc']:.3f}: {b['path']}"
        )
    if "comparison" in summary:
        comp = summary["comparison"]
        best = summary["best_predictor"]
        lines.append(
            f"  best predictor (Kendall τ): {best}: τ {comp.loc[best, 'kendall_mean']:.3f}"
            f", Spearman {comp.loc[best, 'spearman_mean']:.3f}, R² "
            f"{comp.loc[best, 'r2_mean']:.3f}"
        )
        lines.append(
            "  " + ", ".join(f"{p} τ {comp.loc[p, 'kendall_mean']:.2f}" for p in comp.index)
        )
    times = summary.get("timings", {})
    if times:
        lines.append("  time: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
    if "report" in summary:
        lines.append(f"  report: {summary['report']}")
    return "\n".join(lines)
