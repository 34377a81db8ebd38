"""benchmarks/recurrent_reber.py on a tiny setting: outputs exist and are consistent."""

import importlib.util
import os

import numpy as np
import pandas as pd
import pytest
import torch

from graphnets import cells
from graphnets.analysis import TABLE1
from graphnets.data import reber

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load():
    spec = importlib.util.spec_from_file_location(
        "recurrent_reber", os.path.join(ROOT, "benchmarks", "recurrent_reber.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rr = _load()
N_SEQ, HIDDEN, STEPS, NETS = 240, 8, 2, 2


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("recurrent_reber")
    argv = [
        "--sequences",
        str(N_SEQ),
        "--hidden",
        str(HIDDEN),
        "--seeds",
        "1",
        "--base-epochs",
        "1",
        "--retrain-epochs",
        "1",
        "--steps",
        str(STEPS),
        "--nets",
        str(NETS),
        "--prior-nodes",
        "5",
        "9",
        "--prior-epochs",
        "1",
        "--folds",
        "2",
        "--no-progress",
        "--out",
        str(out),
        "--pruning-fig",
        str(out / "pruning.png"),
        "--priors-fig",
        str(out / "priors.png"),
    ]
    torch_threads = torch.get_num_threads()
    try:
        result = rr.main(argv)
    finally:
        torch.set_num_threads(torch_threads)  # main sets 1 thread; leave the session as it was
    return out, argv, result


def test_recurrent_reber_files(run):
    out, _, _ = run
    for name in ("pruning.csv", "pruning.json", "priors.csv", "priors.json"):
        assert (out / name).stat().st_size > 0
    for name in ("pruning.png", "priors.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_recurrent_reber_pruning(run):
    out, _, result = run
    df = result["pruning"]
    assert len(df) == len(cells.MODES) * (1 + 3 * STEPS)
    assert pd.read_csv(out / "pruning.csv").shape == df.shape
    assert df[["before", "after", "base_acc"]].apply(lambda c: c.between(0, 1)).all().all()
    E_i2h, E_h2h = 7 * HIDDEN, HIDDEN * HIDDEN
    for row in df.itertuples():
        # magnitude_prune removes round(p * E) edges of each pruned kind, the rest is kept
        kept_i2h = E_i2h - round(row.fraction * E_i2h) if row.kind in ("i2h", "both") else E_i2h
        kept_h2h = E_h2h - round(row.fraction * E_h2h) if row.kind in ("h2h", "both") else E_h2h
        assert (row.i2h_edges, row.h2h_edges) == (kept_i2h, kept_h2h), row
    assert sorted(df[df["kind"] != "none"]["fraction"].unique()) == [0.5, 1.0]
    # an RNN without any edge computes a constant: it predicts one class for every string
    y_test = reber.dataset(N_SEQ, seed=0).y_test.float()
    shares = {round(float(y_test.mean()), 6), round(1 - float(y_test.mean()), 6)}
    empty = df[
        (df["kind"] == "both") & (df["fraction"] == 1.0) & df["mode"].isin(["rnn_tanh", "rnn_relu"])
    ]
    assert len(empty) == 2 and {round(a, 6) for a in empty["before"]} <= shares
    summary, grid = result["pruning_summary"], result["pruning_grid"]
    assert summary.count("\n") == 1 + 3 * len(cells.MODES)
    assert grid.splitlines()[0] == "| cell | kind | 50% | 100% |"


def test_recurrent_reber_priors(run):
    out, _, result = run
    df = result["priors"]
    assert len(df) == len(cells.MODES) * 2 * NETS  # one row per net
    assert pd.read_csv(out / "priors.csv").shape == df.shape
    assert df["test_acc"].between(0, 1).all()
    assert (df.groupby(["mode", "prior"]).size() == NETS).all()
    assert ((df["nodes"] == df["n"]) & df["n"].between(5, 9)).all()
    # the measured hidden graph is the prior: WS keeps n k / 2 edges, BA has m (n - m)
    ws, ba = df[df["prior"] == "watts_strogatz"], df[df["prior"] == "barabasi_albert"]
    assert (ws["edges"] == ws["n"] * ws["k"] // 2).all()
    assert (ba["edges"] == ba["m"] * (ba["n"] - ba["m"])).all()
    # ... and the cell's i2h edges are the inputs into its sources plus the DAG's edges
    assert (df["i2h_edges"] == 7 * df["source_nodes"] + df["edges"]).all()
    # the same graphs for every cell type
    per_mode = [
        g.sort_values("net")[["edges", "diameter"]].to_numpy() for _, g in df.groupby("mode")
    ]
    assert all(np.array_equal(per_mode[0], p, equal_nan=True) for p in per_mode)
    assert all(result["table1"].count(f"| {p} |") == 1 for p in TABLE1)
    assert result["r2"].count("\n") == 1 + len(cells.MODES)


def test_recurrent_reber_reads_cache(run, capsys):
    out, argv, result = run
    again = rr.main(argv + ["--part", "priors", "--priors-fig", ""])
    assert "read cached" in capsys.readouterr().out
    pd.testing.assert_frame_equal(again["priors"], pd.read_csv(out / "priors.csv"))


def test_trimmed_classifier_same_logits():
    x = reber.dataset(40, seed=1).x_train
    x = torch.cat([x, torch.zeros(x.shape[0], 5, 7)], dim=1)  # more padding
    full = cells.SequenceClassifier(cells.complete("lstm", 7, 6, seed=0), 2, seed=0)
    trimmed = rr.TrimmedClassifier(cells.complete("lstm", 7, 6, seed=0), 2, seed=0)
    assert torch.allclose(full(x), trimmed(x), atol=1e-6)
