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

With ``stage="all"``, measure, predict and report are skipped when their inputs and settings
are those of their last run and the files they wrote are unchanged (``stages.json``); asking for
one stage by name always runs it, except in a read-only folder.

Before any of that, :func:`run` checks what the stages will need that the configuration alone
can tell (enough nets for the folds, a data split that holds ``data.train_samples``), then
takes the folder's lock (:meth:`.store.Store.open`): a bad setting fails before the folder is
touched or a net trains, and a second run on the same folder is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import time
from collections.abc import Callable, Mapping

import numpy as np

from ..methods.analysis import PROPERTIES
from ..nn.graphnet import load
from .config import ConfigError, validate
from .executors import run_tasks
from .measure import measure
from .ranking import (
    best_predictors,
    comparison,
    correlation_table,
    learning_curve,
    out_of_fold,
    proxy_batch,
)
from .report import (
    plot_curves,
    plot_predictions,
    plot_properties,
    plot_ranking_curve,
    write_report,
)
from .sample import specs as draw
from .store import FolderError, Store
from .tables import typed
from .tasks import check_data, load_data, one_thread, train_task

__all__ = ["STAGES", "StageError", "run", "results_table", "format_summary"]

#: The stages, in order; ``"all"`` runs them all.
STAGES = ("sample", "train", "measure", "predict", "report")

#: The tables the predict stage writes (each a CSV and a Parquet file), and those the report
#: stage reads.
PREDICT_TABLES = (
    "comparison",
    "comparison_folds",
    "predictions",
    "correlations",
    "ranking_curve",
)
PREDICT_FILES = tuple(f"{t}.{ext}" for t in PREDICT_TABLES for ext in ("csv", "parquet"))
MEASURE_FILES = ("properties.csv", "properties.parquet")
REPORT_INPUTS = (
    "results.csv",
    "curves.csv",
    "comparison.csv",
    "predictions.csv",
    "correlations.csv",
    "ranking_curve.csv",
)
PLOTS = {
    "properties": "plots/accuracy_vs_properties.png",
    "predictions": "plots/predicted_vs_actual.png",
    "curves": "plots/learning_curves.png",
    "ranking_curve": "plots/ranking_curve.png",
}


class StageError(RuntimeError):
    """A stage was asked for before the stages it needs had run, or on damaged runs."""


def _digest(values) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def _nets_digest(records: Mapping[int, Mapping], ids) -> str:
    """A fingerprint of the net files of ``ids`` (their recorded SHA-256)."""
    return _digest([[int(i), records[int(i)]["nets"]] for i in ids])


def _fresh(store: Store, stage: str, inputs, log, files=()) -> bool:
    try:
        return store.fresh(stage, inputs, files)
    except FolderError as err:  # a damaged stages.json only costs a rerun
        log(f"{stage}: {err}; running the stage again")
        return False


def _writable(store: Store, stage: str, what: str) -> None:
    """Fail before the work when ``stage`` has work to do that a read-only folder cannot keep."""
    if store.read_only:
        raise FolderError(
            f"{stage}: {store.out} is read-only and {what}; copy it to a writable place (or make "
            "it writable) to finish it"
        )


def _verified(store: Store, specs, stage: str) -> dict[int, dict]:
    """The finished runs; a stage other than train refuses damaged ones (train retrains)."""
    check = store.runs(specs)
    if check.damaged:
        problems = list(check.damaged.values())
        more = f"; and {len(problems) - 2} more" if len(problems) > 2 else ""
        raise StageError(
            f"{stage}: {len(problems)} damaged run(s): {'; '.join(problems[:2])}{more}; "
            f"retrain them with: graphnets experiment --out {shlex.quote(store.out)} "
            "--stage train"
        )
    return check.records


# -- tables -----------------------------------------------------------------------------------
def results_table(
    store: Store,
    specs: list[dict],
    config: Mapping,
    records: Mapping[int, Mapping] | None = None,
    *,
    types: bool = False,
):
    """One row per finished net: spec, seeds, training settings, metrics, timings, properties;
    and the per-epoch curves.

    ``records`` are the finished runs (default: those :meth:`.store.Store.runs` finds). With
    ``types``, the tables of the Parquet files: ints stay ints (``Int64`` where some nets lack
    the column), ``train_seeds`` a list; else those of the CSVs."""
    import pandas as pd

    if records is None:
        records = store.runs(specs).records
    rows, curves = [], []
    for s in specs:
        record = records.get(s["id"])
        if record is None:
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
            row["train_seeds"] = list(seeds) if types else " ".join(map(str, seeds))
        rows.append(row)
        curves += [{"id": s["id"], **h} for h in record["history"]]
    table = typed(rows) if types else pd.DataFrame(rows)
    if len(table):
        table = table.set_index("id")
        try:
            if types and os.path.exists(store.path("properties.parquet")):
                props = pd.read_parquet(store.path("properties.parquet"))
            else:
                props = store.read_csv("properties.csv", written_by="measure", index_col="id")
            table = table.join(props, how="left")
        except FileNotFoundError:
            pass
    return table, typed(curves) if types else pd.DataFrame(curves)


def _write_results(store: Store, specs, config, records=None) -> object:
    if records is None:
        records = store.runs(specs).records
    table, curves = results_table(store, specs, config, records)
    if len(table):
        table_t, curves_t = results_table(store, specs, config, records, types=True)
        store.write_table("results", table, typed=table_t)
        store.write_table("curves", curves, index=False, typed=curves_t)
    return table


# -- stages -----------------------------------------------------------------------------------
def _sample(store, config, specs, log):
    import pandas as pd

    table = pd.DataFrame(
        [{**s, "train_seeds": " ".join(map(str, s["train_seeds"]))} for s in specs]
    ).set_index("id")
    store.write_table("samples", table, typed=typed(specs).set_index("id"))
    counts = table["prior"].value_counts().to_dict()
    log(
        f"sample: {len(specs)} nets ("
        + ", ".join(f"{counts.get(p, 0)} {p}" for p in ("ws", "ba", "er"))
        + ")"
    )


def _train(store, config, specs, log, progress):
    from tqdm.auto import tqdm

    check = store.runs(specs)
    for i, problem in sorted({**check.damaged, **check.orphans}.items()):
        log(f"train: {problem}; training net {i} again")
    if check.unchecked:
        log(
            f"train: {len(check.unchecked)} runs have no checksums (written by an older "
            "graphnets): their net files are checked for presence only"
        )
    done = set(check.records)
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
    if todo:
        _writable(store, "train", f"{len(todo)} of its {len(specs)} nets are not trained")
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
    _write_results(store, specs, config, check.records if not todo else None)
    return {"trained": finished, "skipped": len(done)}


def _measure(store, config, specs, log, progress, forced):

    records = _verified(store, specs, "measure")
    ids = [s["id"] for s in specs if s["id"] in records]
    if not ids:
        raise StageError(f"measure: no trained nets in {store.out}; run --stage train first")
    inputs = {"properties": config["measure"]["properties"], "nets": _nets_digest(records, ids)}
    if not forced and _fresh(store, "measure", inputs, log, MEASURE_FILES):
        log(f"measure: properties of the {len(ids)} nets are up to date (skipped)")
        return
    _writable(store, "measure", "properties.csv is not up to date")
    log(f"measure: properties of {len(ids)} nets")
    paths = [(i, store.net_path(i)) for i in ids]
    table = measure(paths, config["measure"]["properties"], progress=progress)
    store.stamp("measure", inputs, store.write_table("properties", table))
    _write_results(store, specs, config, records)


def _predict(store, config, specs, log, progress, forced):

    records = _verified(store, specs, "predict")
    table = _write_results(store, specs, config, records)
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
    finite = np.isfinite(table[target].to_numpy(dtype=np.float64))
    if not finite.all():  # the loss of a training that diverged is NaN: nothing to predict
        log(
            f"predict: {int((~finite).sum())} nets whose {target} is not finite (their training "
            "diverged) are left out"
        )
        table = table[finite]
    if len(table) < 2 * settings["folds"]:
        raise StageError(
            f"predict: predict.folds = {settings['folds']} needs at least "
            f"{2 * settings['folds']} nets with a finite {target}, {store.out} has {len(table)}; "
            "train more (--graphs), lower train.lr, or use fewer folds"
        )
    y = table[target].to_numpy(dtype=np.float64)
    inputs = {
        "predict": settings,
        "nets": _nets_digest(records, table.index),
        "y": _digest(np.round(y, 12).tolist()),
        "properties": props,
    }
    if not forced and _fresh(store, "predict", inputs, log, PREDICT_FILES):
        log(f"predict: comparison of the {len(table)} nets is up to date (skipped)")
        return
    _writable(store, "predict", "its tables are not up to date")
    log(f"predict: {settings['folds']}-fold cross-validation of {len(table)} nets, target {target}")
    nets = [load(store.net_path(int(i))) for i in table.index]
    x_train, y_train, *_ = load_data(config["data"])
    batch = proxy_batch(x_train, y_train)
    # one thread: the GNN's small matrices gain nothing from more (measured 3-4x faster on
    # 2 busy cores), and its numbers do not depend on the machine's core count
    with one_thread():
        comp, per_fold, oof = comparison(nets, y, settings, batch=batch, progress=progress)
        preds = out_of_fold(oof, y, best_predictors(comp, 2), settings)
        others = [p for p in best_predictors(comp, len(comp)) if p != "gnn"]
        if "gnn" in comp.index and others:
            log(f"predict: ranking curve of gnn and {others[0]} (Kendall τ vs training nets)")
            curve = learning_curve(nets, y, settings, per_fold, others[0], batch=batch)
        else:  # the curve compares the GNN with the best baseline: both must be computed
            import pandas as pd

            curve = pd.DataFrame(columns=["predictor", "size", "fold", "kendall"])
    preds.insert(0, "id", table.index.to_numpy())
    comp.index.name = "predictor"
    store.write_table("comparison", comp)
    store.write_table("comparison_folds", per_fold, index=False)
    store.write_table("predictions", preds, index=False)
    store.write_table("correlations", correlation_table(table[props], y))
    store.write_table("ranking_curve", curve, index=False)
    store.stamp("predict", inputs, PREDICT_FILES)


def _report(store, config, specs, log, timings, forced):

    missing = [f for f in REPORT_INPUTS if not os.path.exists(store.path(f))]
    if missing:
        raise StageError(
            f"report: {', '.join(missing)} missing in {store.out}; run the "
            "earlier stages first (--stage all)"
        )
    comp = store.read_csv("comparison.csv", written_by="predict", index_col="predictor")
    preds = store.read_csv("predictions.csv", written_by="predict", columns=["actual"])
    best = [c for c in preds.columns if c not in ("id", "actual", "fold")]
    inputs = {
        "tables": {name: store.checksum(name) for name in REPORT_INPUTS},
        "config": _digest({k: v for k, v in config.items() if k != "run"}),
    }
    if not forced and _fresh(store, "report", inputs, log):
        log(f"report: {store.path('report.md')} is up to date (skipped)")
        return {"best_predictor": best[0], "comparison": comp}
    _writable(store, "report", "report.md is not up to date")
    results = store.read_csv(
        "results.csv", written_by="train", columns=["prior", "test_acc"], index_col="id"
    )
    curves = store.read_csv("curves.csv", written_by="train")
    corr = store.read_csv("correlations.csv", written_by="predict", index_col="property")
    ranking_curve = store.read_csv("ranking_curve.csv", written_by="predict")
    target = config["predict"]["target"]
    plots = {
        "properties": plot_properties(
            results,
            corr,
            target,
            config["report"]["top_properties"],
            store.path(PLOTS["properties"]),
        ),
        "predictions": plot_predictions(preds, best, target, store.path(PLOTS["predictions"])),
        "curves": plot_curves(curves, results["prior"].to_dict(), store.path(PLOTS["curves"])),
        "ranking_curve": plot_ranking_curve(ranking_curve, store.path(PLOTS["ranking_curve"])),
    }
    path = write_report(
        store.path("report.md"),
        config=config,
        results=results,
        comparison=comp,
        correlations=corr,
        plots=plots,
        best=best,
        ranking_curve=ranking_curve,
        timings=timings,
    )
    store.stamp("report", inputs, ["report.md", *PLOTS.values()])
    log(f"report: {path}")
    return {"best_predictor": best[0], "comparison": comp}


# -- orchestration ----------------------------------------------------------------------------
def _preflight(config: Mapping, stages: tuple[str, ...]) -> None:
    """Check what ``stages`` will need that the configuration alone can tell, before the
    folder is touched or a net trains.

    Raises:
        ConfigError: naming the setting, its value and what would work.
    """
    graphs, folds = config["sample"]["graphs"], config["predict"]["folds"]
    if "train" in stages and "predict" in stages and graphs < 2 * folds:
        raise ConfigError(
            f"predict.folds = {folds} needs at least {2 * folds} nets, got sample.graphs = "
            f"{graphs}; use --graphs {2 * folds} or more, or fewer folds (predict.folds)"
        )
    if "train" in stages:
        check_data(config["data"])


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
        ConfigError: on a bad configuration, one the stages cannot run with (e.g. fewer nets
            than the folds need), or one that changes the settings that define the folder's
            rows (the message says what changed and how to start a new folder); all before
            any net trains.
        FolderError: if another run holds the folder's lock, or a file cannot be written
            (a full or read-only disk), naming it.
        StageError: if ``stage`` needs files an earlier stage has not written, or (a stage
            other than train) finds damaged runs.
        KeyboardInterrupt: after keeping every finished training (the log says how many).
    """
    if stage not in STAGES + ("all",):
        raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}, all")

    config = validate(config)
    stages = STAGES if stage == "all" else (stage,)
    _preflight(config, stages)
    store = Store(out)
    with store.open():
        if store.read_only:
            log(f"{store.out} is read-only: stages that are up to date are skipped")
        store.check(config)
        removed = [] if store.read_only else store.clean()
        if removed:
            log(f"removed {len(removed)} temporary file(s) of writes a killed run left unfinished")
        store.save_config(config)
        summary = _stages(
            store, config, stages, stage != "all" and not store.read_only, log, progress
        )
    return summary


def _stages(store, config, stages, forced, log, progress) -> dict:
    specs = draw(config)
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
            summary.update(_report(store, config, specs, log, timings, forced))
        timings[name] = time.perf_counter() - start
    summary["timings"] = timings
    if os.path.exists(store.path("results.csv")):
        results = store.read_csv(
            "results.csv", written_by="train", columns=["prior", "test_acc"], index_col="id"
        )
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
