import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

import graphnets
from graphnets.analysis import PROPERTIES, TABLE1
from graphnets.experiment import TABLES, ConfigError, StageError, default_config, load, merge, run
from graphnets.experiment.store import FolderError
from graphnets.experiment.tasks import load_data
from graphnets.train import accuracy

#: A tiny experiment: 6 nets of 10-20 hidden nodes, 1 epoch on 300 samples, 2-fold prediction.
TINY = merge(
    default_config(),
    {
        "sample": {
            "graphs": 6,
            "hidden": [10, 20],
            "priors": {"ws": {"k": [2, 4]}, "er": {"degree": [1.0, 4.0]}},
        },
        "data": {"train_samples": 300},
        "train": {"epochs": 1},
        "predict": {"folds": 2, "gnn_epochs": 1},
        "report": {"top_properties": 3},
    },
)

#: Columns that differ between identical runs (wall times).
TIMES = ["train_seconds", "measure_seconds"]

FILES = [
    "config.json",
    "samples.csv",
    "results.csv",
    "curves.csv",
    "properties.csv",
    "comparison.csv",
    "comparison_folds.csv",
    "predictions.csv",
    "correlations.csv",
    "report.md",
    "plots/accuracy_vs_properties.png",
    "plots/predicted_vs_actual.png",
    "plots/learning_curves.png",
    "ranking_curve.csv",
    "plots/ranking_curve.png",
] + [f"{name}.parquet" for name in TABLES]


def _quiet(lines):
    return lambda line: lines.append(line)


def _rows(out):
    return pd.read_csv(os.path.join(out, "results.csv"), index_col="id")


def _trained(out, config=TINY, **overrides):
    lines = []
    run(merge(config, overrides), out, stage="train", progress=False, log=_quiet(lines))
    return lines


def _same_rows(a, b):
    cols = [c for c in a.columns if c not in TIMES]
    # int columns turn float when other rows bring a nan (e.g. "m" once a BA net joins)
    pd.testing.assert_frame_equal(a[cols], b[cols], check_dtype=False)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("exp") / "tiny")
    lines = []
    summary = run(TINY, out, progress=False, log=_quiet(lines))
    return out, summary, lines


def test_experiment_writes_every_file(finished):
    out, summary, lines = finished
    for name in FILES:
        assert os.path.isfile(os.path.join(out, name)), name
    for name in FILES:
        if name.endswith(".png"):
            with open(os.path.join(out, name), "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(os.path.join(out, "nets"))) == [f"{i:04d}.pt" for i in range(6)]
    assert sorted(os.listdir(os.path.join(out, "runs"))) == [f"{i:04d}.json" for i in range(6)]
    assert not [f for f in os.listdir(out) if f.startswith(".tmp-")]
    assert summary["finished"] == 6 and summary["trained"] == 6 and summary["skipped"] == 0
    assert summary["report"] == os.path.join(out, "report.md")
    assert lines[0].startswith("sample: 6 nets (")


def test_experiment_results_one_row_per_net_with_promised_columns(finished):
    rows = _rows(finished[0])
    assert list(rows.index) == list(range(6))
    expected = {
        "prior",
        "hidden",
        "k",
        "p",
        "m",
        "degree",
        "graph_seed",
        "train_seed",
        "seed",
        "epochs",
        "batch_size",
        "lr",
        "num_nodes",
        "num_edges",
        "train_acc",
        "test_acc",
        "loss",
        "train_seconds",
        "measure_seconds",
        *PROPERTIES,
    }
    assert expected <= set(rows.columns)
    assert set(rows["prior"]) <= {"ws", "ba", "er"}
    assert rows["test_acc"].between(0, 1).all() and (rows["epochs"] == 1).all()
    ws = rows[rows.prior == "ws"]
    assert ws["k"].notna().all() and ws["m"].isna().all()
    curves = pd.read_csv(os.path.join(finished[0], "curves.csv"))
    assert len(curves) == 6 and set(curves.columns) >= {"id", "repeat", "epoch", "loss", "test_acc"}


def test_experiment_nets_reload_to_recorded_accuracy(finished):
    out = finished[0]
    rows = _rows(out)
    _, _, x_test, y_test = load_data(TINY["data"])
    for i in rows.index:
        net = graphnets.load(os.path.join(out, "nets", f"{i:04d}.pt"))
        assert net.num_edges == rows.loc[i, "num_edges"]
        assert accuracy(net, x_test, y_test) == rows.loc[i, "test_acc"]


def test_experiment_repeats_average_fresh_trainings(tmp_path):
    out = str(tmp_path / "rep")
    _trained(out, train={"repeats": 2}, sample={"graphs": 2})
    rows = _rows(out)
    _, _, x_test, y_test = load_data(TINY["data"])
    for i in rows.index:
        accs = [
            accuracy(graphnets.load(os.path.join(out, "nets", name)), x_test, y_test)
            for name in (f"{i:04d}.pt", f"{i:04d}_r1.pt")
        ]
        assert rows.loc[i, "test_acc"] == pytest.approx(sum(accs) / 2, abs=1e-12)
        assert rows.loc[i, "test_acc_std"] == pytest.approx(abs(accs[0] - accs[1]) / 2, abs=1e-12)
        assert len(rows.loc[i, "train_seeds"].split()) == 2
    # repeat 0 trains the sampled weights: the same net as an experiment without repeats
    _trained(str(tmp_path / "one"), sample={"graphs": 2})
    single = _rows(tmp_path / "one")
    acc0 = accuracy(graphnets.load(os.path.join(out, "nets", "0000.pt")), x_test, y_test)
    assert acc0 == single.loc[0, "test_acc"]
    curves = pd.read_csv(os.path.join(out, "curves.csv"))
    assert sorted(set(curves["repeat"])) == [0, 1]
    # the Parquet tables keep the seeds of both trainings as a list of ints
    config = merge(TINY, {"train": {"repeats": 2}, "sample": {"graphs": 2}})
    run(config, out, stage="sample", progress=False, log=_quiet([]))
    tables = load(out, ["samples", "results"])
    for name, table in tables.items():
        seeds = table["train_seeds"].tolist()
        assert [len(s) for s in seeds] == [2, 2], name
        assert all(type(v) is int for s in seeds for v in s), name
        assert [s[0] for s in seeds] == rows["train_seed"].tolist()
        assert [" ".join(map(str, s)) for s in seeds] == rows["train_seeds"].tolist()


def test_experiment_parquet_tables_keep_their_types(finished):
    out = finished[0]
    tables = load(out)
    assert sorted(tables) == sorted(TABLES)
    for name, table in tables.items():
        csv = pd.read_csv(os.path.join(out, f"{name}.csv"))
        index = [table.index.name] if table.index.name else []
        assert list(csv.columns) == index + list(table.columns), name
        assert len(csv) == len(table), name
    results, samples = tables["results"], tables["samples"]
    assert results.index.name == "id" and results.index.dtype == "int64"
    # k is a Watts–Strogatz parameter, m a Barabási–Albert one: the CSV reads them back as
    # floats (the other priors leave gaps), the Parquet table keeps them ints
    csv = _rows(out)
    for col in ("k", "m"):
        assert csv[col].dtype == "float64"
        assert results[col].dtype == "Int64" and samples[col].dtype == "Int64"
        assert results[col].isna().tolist() == csv[col].isna().tolist()
        assert results[col].dropna().tolist() == csv[col].dropna().astype(int).tolist()
    for col in ("hidden", "num_edges", "graph_seed", "depth", "layers"):
        assert results[col].dtype == "int64", col
    assert all(type(s) is list and type(s[0]) is int for s in samples["train_seeds"])
    assert samples["train_seeds"].str[0].tolist() == csv["train_seed"].tolist()
    assert tables["curves"]["epoch"].dtype == "int64"
    assert tables["comparison"].index.name == "predictor"
    assert tables["comparison"]["n"].dtype == "int64"
    assert tables["correlations"].index.name == "property"
    assert results["prior"].tolist() == csv["prior"].tolist()
    pd.testing.assert_series_equal(results["test_acc"], csv["test_acc"])
    # the stages stamp their Parquet files like their CSVs
    stamps = json.load(open(os.path.join(out, "stages.json")))
    assert {"properties.csv", "properties.parquet"} <= set(stamps["measure"]["files"])
    assert {"comparison.parquet", "correlations.parquet"} <= set(stamps["predict"]["files"])


def test_experiment_load_errors(finished, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no tables in .*run graphnets experiment --out"):
        load(tmp_path)
    with pytest.raises(ValueError, match=r"unknown table 'result'; expected some of samples, "):
        load(finished[0], ["result"])
    out = str(tmp_path / "copy")
    shutil.copytree(finished[0], out)
    os.remove(os.path.join(out, "properties.parquet"))
    with pytest.raises(FileNotFoundError, match=r"properties.parquet: missing; the measure stage"):
        load(out, ["properties"])
    assert "properties" not in load(out)


def test_experiment_stamp_without_parquet_reruns_the_stage(finished, tmp_path):
    # a folder of an older graphnets: the stamps name the CSVs only, no Parquet file exists
    out = str(tmp_path / "old")
    shutil.copytree(finished[0], out)
    path = os.path.join(out, "stages.json")
    stamps = json.load(open(path))
    for stage in ("measure", "predict"):
        stamps[stage]["files"] = {
            k: v for k, v in stamps[stage]["files"].items() if not k.endswith(".parquet")
        }
    json.dump(stamps, open(path, "w"))
    for name in ("properties", "comparison", "correlations"):
        os.remove(os.path.join(out, f"{name}.parquet"))
    csv = open(os.path.join(out, "comparison.csv"), "rb").read()
    lines = []
    run(TINY, out, progress=False, log=_quiet(lines))
    assert lines[2].startswith("measure: properties of 6 nets")
    assert lines[3].startswith("predict: 2-fold cross-validation")
    assert sorted(load(out)) == sorted(TABLES)
    assert open(os.path.join(out, "comparison.csv"), "rb").read() == csv


def test_experiment_tables_and_report(finished):
    out = finished[0]
    comp = pd.read_csv(os.path.join(out, "comparison.csv"), index_col="predictor")
    # "all": every row but the opt-in nested search; the digits batch brings the proxies
    rows = [p for p in graphnets.compare.PREDICTORS if p != "gnn_search"]
    assert list(comp.index) == rows
    assert (comp["n"] == 2).all()
    corr = pd.read_csv(os.path.join(out, "correlations.csv"), index_col="property")
    assert list(corr.index[:12]) == list(TABLE1)
    preds = pd.read_csv(os.path.join(out, "predictions.csv"))
    assert len(preds) == 6 and set(preds["fold"]) == {0, 1}
    assert (
        preds[[c for c in preds.columns if c not in ("id", "actual", "fold")]].notna().all().all()
    )
    report = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    for ref in (
        "plots/accuracy_vs_properties.png",
        "plots/predicted_vs_actual.png",
        "plots/learning_curves.png",
        "plots/ranking_curve.png",
        "Kendall τ of gnn vs",
        "results.csv",
        "comparison.csv",
        "| gnn |",
        "| layers |",
        "Best by Kendall",
    ):
        assert ref in report, ref


def test_experiment_ranking_curve_is_the_comparison_at_full_size(finished):
    out = finished[0]
    curve = pd.read_csv(os.path.join(out, "ranking_curve.csv"))
    folds = pd.read_csv(os.path.join(out, "comparison_folds.csv"))
    comp = pd.read_csv(os.path.join(out, "comparison.csv"), index_col="predictor")
    best_baseline = comp.drop(index="gnn")["kendall_mean"].fillna(-np.inf).idxmax()
    assert list(dict.fromkeys(curve.predictor)) == ["gnn", best_baseline]
    # 6 nets in 2 folds: 3 training nets, below every subset size, so only the full size
    assert set(curve["size"]) == {3}
    for row in curve.itertuples():
        ref = folds[(folds.predictor == row.predictor) & (folds.fold == row.fold)].kendall
        np.testing.assert_equal(row.kendall, float(ref.iloc[0]))


def test_experiment_each_stage_alone(finished, tmp_path):
    out = str(tmp_path / "copy")
    shutil.copytree(finished[0], out)
    before = {
        n: open(os.path.join(out, n), "rb").read()
        for n in ("properties.csv", "comparison.csv", "correlations.csv")
    }
    os.remove(os.path.join(out, "report.md"))
    for stage in ("sample", "train", "measure", "predict", "report"):
        lines = []
        summary = run(TINY, out, stage=stage, progress=False, log=_quiet(lines))
        assert summary["stages"] == (stage,)
        assert lines and lines[0].startswith(stage), lines
    assert "8 nets" not in lines[0]
    assert os.path.isfile(os.path.join(out, "report.md"))
    after = pd.read_csv(os.path.join(out, "properties.csv"), index_col="id")
    old = pd.read_csv(finished[0] + "/properties.csv", index_col="id")
    _same_rows(old, after)  # re-measured: same properties
    for name in ("comparison.csv", "correlations.csv"):  # refitted: same numbers
        assert open(os.path.join(out, name), "rb").read() == before[name]


def test_cli_experiment_resumes_a_folder_with_its_own_settings(finished, tmp_path, capsys):
    from graphnets.cli import main

    out = str(tmp_path / "cli")
    shutil.copytree(finished[0], out)
    assert main(["experiment", "--out", out, "--no-progress"]) == 0  # no --config: config.json
    stdout, stderr = capsys.readouterr()
    assert stderr == ""
    for line in (
        "train: 6 of 6 nets already trained (skipped); training 0 in this process",
        "measure: properties of the 6 nets are up to date (skipped)",
        "predict: comparison of the 6 nets is up to date (skipped)",
        f"experiment in {out}: 6 of 6 nets trained",
        "  this run: 0 trained, 6 skipped (already done)",
        f"  report: {os.path.join(out, 'report.md')}",
    ):
        assert line in stdout.splitlines(), line
    assert "  best predictor (Kendall τ): " in stdout and "  best net: #" in stdout
    # a flag that changes a row-defining setting is refused, naming it
    assert main(["experiment", "--out", out, "--epochs", "3", "--no-progress"]) == 1
    assert "train.epochs: 1 in this folder, 3 now" in capsys.readouterr().err


def test_experiment_stage_needs_earlier_stages(tmp_path):
    out = str(tmp_path / "new")
    run(TINY, out, stage="sample", progress=False, log=_quiet([]))
    with pytest.raises(StageError, match=r"measure: no trained nets in .*; run --stage train"):
        run(TINY, out, stage="measure", progress=False, log=_quiet([]))
    with pytest.raises(
        StageError,
        match=r"report: results\.csv, curves\.csv, comparison\.csv, "
        r"predictions\.csv, correlations\.csv, ranking_curve\.csv missing",
    ):
        run(TINY, out, stage="report", progress=False, log=_quiet([]))
    with pytest.raises(ValueError, match=r"unknown stage 'fit'; expected one of sample, train"):
        run(TINY, out, stage="fit")


@pytest.mark.parametrize(
    ("table", "stage", "content"),
    [
        ("results", "train", 'garbage\x01,,\n"unclosed'),
        ("results", "train", ""),
        ("comparison", "predict", 'x\n"unclosed'),
        ("curves", "train", 'a,b\n"unclosed'),
    ],
)
def test_experiment_report_on_a_damaged_table_names_it(finished, tmp_path, table, stage, content):
    # a table that is not one any more was pandas' traceback; now one line naming the file and
    # the stage that writes it, and that stage (or --stage all) repairs the folder
    out = str(tmp_path / "damaged")
    shutil.copytree(finished[0], out)
    with open(os.path.join(out, f"{table}.csv"), "w") as f:
        f.write(content)
    with pytest.raises(
        FolderError, match=rf"{table}\.csv cannot be read as a table .*--stage {stage}"
    ):
        run(TINY, out, stage="report", progress=False, log=_quiet([]))
    run(TINY, out, progress=False, log=_quiet([]))
    pd.testing.assert_frame_equal(
        pd.read_csv(os.path.join(out, f"{table}.csv")),
        pd.read_csv(os.path.join(finished[0], f"{table}.csv")),
        check_exact=False,
    )


def test_experiment_report_on_a_table_without_its_columns(finished, tmp_path):
    out = str(tmp_path / "columns")
    shutil.copytree(finished[0], out)
    rows = pd.read_csv(os.path.join(out, "results.csv"))
    rows.drop(columns=["test_acc"]).to_csv(os.path.join(out, "results.csv"), index=False)
    with pytest.raises(FolderError, match=r"results\.csv has no column 'test_acc'.*--stage train"):
        run(TINY, out, stage="report", progress=False, log=_quiet([]))


def test_experiment_same_seed_same_rows_other_seed_other_rows(finished, tmp_path):
    _trained(str(tmp_path / "again"))
    _same_rows(_rows(finished[0])[_rows(tmp_path / "again").columns], _rows(tmp_path / "again"))
    _trained(str(tmp_path / "seed1"), seed=1)
    assert not _rows(tmp_path / "seed1")["graph_seed"].equals(_rows(finished[0])["graph_seed"])


def test_experiment_growing_graphs_trains_only_new_nets(finished, tmp_path):
    out = str(tmp_path / "grow")
    shutil.copytree(finished[0], out)
    stat = {
        f: os.stat(os.path.join(out, "runs", f)).st_mtime_ns
        for f in os.listdir(os.path.join(out, "runs"))
    }
    lines = _trained(out, sample={"graphs": 8})
    assert lines[0] == "train: 6 of 8 nets already trained (skipped); training 2 in this process"
    for f, mtime in stat.items():
        assert os.stat(os.path.join(out, "runs", f)).st_mtime_ns == mtime
    rows = _rows(out)
    assert list(rows.index) == list(range(8))
    _same_rows(_rows(finished[0])[rows.columns].loc[:5], rows.loc[:5])
    # the new nets are those a fresh 8-net experiment draws
    _trained(str(tmp_path / "fresh8"), sample={"graphs": 8})
    fresh = _rows(tmp_path / "fresh8")
    _same_rows(fresh.loc[6:], rows[fresh.columns].loc[6:])


def test_experiment_changed_config_refused(finished):
    with pytest.raises(
        ConfigError,
        match=r"(?s)holds results of other settings:\n  "
        r"train\.epochs: 1 in this folder, 2 now\n.*"
        r"Start a new folder with --out NEW_DIR",
    ):
        run(merge(TINY, {"train": {"epochs": 2}}), finished[0], progress=False)
    with pytest.raises(ConfigError, match=r"seed: 0 in this folder, 5 now"):
        run(merge(TINY, {"seed": 5}), finished[0], progress=False)


def test_experiment_predict_settings_rerun_only_predict(finished, tmp_path):
    out = str(tmp_path / "refit")
    shutil.copytree(finished[0], out)
    lines = []
    run(
        merge(TINY, {"predict": {"predictors": ["edges", "nodes"]}}),
        out,
        progress=False,
        log=_quiet(lines),
    )
    assert lines[1].startswith("train: 6 of 6 nets already trained (skipped); training 0")
    assert lines[2] == "measure: properties of the 6 nets are up to date (skipped)"
    assert lines[3].startswith("predict: 2-fold cross-validation of 6 nets")
    comp = pd.read_csv(os.path.join(out, "comparison.csv"), index_col="predictor")
    assert list(comp.index) == ["edges", "nodes"]


def test_experiment_predict_needs_two_nets_per_fold(finished, tmp_path):
    out = str(tmp_path / "folds")
    shutil.copytree(finished[0], out)
    with pytest.raises(
        StageError,
        match=r"predict: predict\.folds = 4 needs at least 8 trained "
        r"nets, .* has 6; train more \(--graphs\)",
    ):
        run(
            merge(TINY, {"predict": {"folds": 4}}),
            out,
            stage="predict",
            progress=False,
            log=_quiet([]),
        )


def test_experiment_two_workers_equal_one(finished, tmp_path):
    out = str(tmp_path / "w2")
    lines = _trained(out, run={"workers": 2})
    assert lines[0].endswith("training 6 on 2 local worker processes")
    _same_rows(_rows(finished[0])[_rows(out).columns], _rows(out))


# -- kill and resume ----------------------------------------------------------------------------
#: Big enough that the first nets finish while later ones still train.
KILLED = """\
[sample]
graphs = 20
hidden = [40, 100]
[train]
epochs = 2
"""


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    from graphnets.experiment import load_config

    path = tmp_path_factory.mktemp("cfg") / "killed.toml"
    path.write_text(KILLED)
    out = str(tmp_path_factory.mktemp("exp") / "uninterrupted")
    run(load_config(path), out, stage="train", progress=False, log=_quiet([]))
    return path, _rows(out)


def _cli(config, out, *args):
    return [
        sys.executable,
        "-m",
        "graphnets",
        "experiment",
        "--config",
        str(config),
        "--out",
        out,
        "--stage",
        "train",
        "--no-progress",
        *args,
    ]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_experiment_killed_run_resumes_without_retraining(sig, uninterrupted, tmp_path):
    config, reference = uninterrupted
    out = str(tmp_path / "killed")
    runs = os.path.join(out, "runs")
    proc = subprocess.Popen(
        _cli(config, out),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell that starts the tests in the background ignores Ctrl-C for them, and a child
        # inherits that: give the child Ctrl-C back, as a user's terminal does
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while not (
        os.path.isdir(runs) and any(re.fullmatch(r"\d{4}\.json", f) for f in os.listdir(runs))
    ):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(sig)
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == (-signal.SIGKILL if sig == signal.SIGKILL else 130)
    # a kill can leave a temporary file of an unfinished atomic write (.tmp-*): not a run
    done = sorted(f for f in os.listdir(runs) if re.fullmatch(r"\d{4}\.json", f))
    assert 1 <= len(done) < 20
    if sig == signal.SIGINT:
        assert (
            f"interrupted: {len(done)} of 20 nets are trained and saved; rerun the same "
            "command to resume" in stdout
        )
    kept = {}
    for f in done:
        i = f[:4]
        paths = [os.path.join(runs, f), os.path.join(out, "nets", f"{i}.pt")]
        kept.update({p: (os.stat(p).st_mtime_ns, open(p, "rb").read()) for p in paths})

    again = subprocess.run(_cli(config, out), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert (
        f"train: {len(done)} of 20 nets already trained (skipped); training "
        f"{20 - len(done)} in this process" in again.stdout
    )
    assert f"this run: {20 - len(done)} trained, {len(done)} skipped" in again.stdout
    for p, (mtime, content) in kept.items():
        assert os.stat(p).st_mtime_ns == mtime and open(p, "rb").read() == content
    _same_rows(reference, _rows(out))
    for folder in (runs, os.path.join(out, "nets")):  # leftovers of the kill are cleaned up
        assert not [f for f in os.listdir(folder) if f.startswith(".tmp-")]
    assert not [f for f in os.listdir(out) if f.startswith(".tmp-")]


def _stamped(out, stage):
    try:
        with open(os.path.join(out, "stages.json")) as f:
            return stage in json.load(f)
    except (FileNotFoundError, ValueError):
        return False


@pytest.mark.parametrize("stage", ["measure", "predict", "report"])
def test_experiment_killed_in_a_later_stage_resumes(stage, finished, tmp_path):
    """SIGKILL while measure, predict or report runs (their stamps removed, so all three run
    again); the rerun finishes the folder as an uninterrupted run did, and a third run finds
    everything up to date and writes nothing."""
    out = str(tmp_path / "killed")
    shutil.copytree(finished[0], out)
    os.remove(os.path.join(out, "stages.json"))
    cli = [sys.executable, "-m", "graphnets", "experiment", "--out", out, "--no-progress"]
    proc = subprocess.Popen(cli, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if stage == "report":  # it logs when done: wait for the stamp of the stage before it
        deadline = time.monotonic() + 60
        while not _stamped(out, "predict"):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.005)
    else:
        for line in proc.stdout:
            if line.startswith(f"{stage}: "):
                break
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    again = subprocess.run(cli, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    ran = [line.split(":")[0] for line in again.stdout.splitlines() if "up to date" not in line]
    assert stage in ran, again.stdout
    _same_rows(_rows(finished[0]), _rows(out))
    for name in ("comparison.csv", "comparison_folds.csv", "predictions.csv", "correlations.csv"):
        with (
            open(os.path.join(out, name), "rb") as a,
            open(os.path.join(finished[0], name), "rb") as b,
        ):
            assert a.read() == b.read(), name
    for sub in ("", "plots", "runs", "nets"):
        assert not [f for f in os.listdir(os.path.join(out, sub)) if f.startswith(".tmp-")]
    stamps = {f: os.stat(os.path.join(out, f)).st_mtime_ns for f in os.listdir(out) if f != ".lock"}
    lines = []
    run(TINY, out, progress=False, log=_quiet(lines))
    assert all("up to date" in line for line in lines[2:]), lines
    assert {
        f: os.stat(os.path.join(out, f)).st_mtime_ns for f in os.listdir(out) if f != ".lock"
    } == stamps


def test_experiment_a_diverging_training_is_recorded_not_fatal(tmp_path):
    # lr = 1e20 makes Adam's second step produce a NaN loss: train.fit stops before it
    config = merge(TINY, {"train": {"lr": 1e20}, "predict": {"target": "loss"}})
    lines = []
    with pytest.raises(StageError, match=r"needs at least 4 nets with a finite loss"):
        run(config, tmp_path / "out", progress=False, log=_quiet(lines))
    rows = _rows(tmp_path / "out")
    diverged = rows["diverged"] > 0
    assert diverged.sum() >= 3 and (rows["loss"].isna() == diverged).all()
    assert rows["test_acc"].between(0, 1).all()  # the net before the step that would be NaN
    left_out = f"{diverged.sum()} nets whose loss is not finite (their training diverged)"
    assert any(left_out in line for line in lines)
    # with the default target (test accuracy, finite) the sweep runs to its report
    run(
        merge(config, {"predict": {"target": "test_acc"}}),
        tmp_path / "acc",
        progress=False,
        log=_quiet([]),
    )
    assert os.path.exists(tmp_path / "acc" / "report.md")
