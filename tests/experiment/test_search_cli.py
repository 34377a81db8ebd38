"""``graphnets search``: the results folder, refusing other settings, and interrupt + resume
giving the history of an uninterrupted search."""

from __future__ import annotations

import json
import os
import signal

import pandas as pd
import pytest

import graphnets.experiment.search as search_module
from graphnets._util.files import TMP_PREFIX
from graphnets.cli import main
from graphnets.experiment.search import check_settings, search

pytestmark = pytest.mark.usefixtures("one_thread")


def test_search_folder_holds_history_best_and_evaluations(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["search", "--out", str(out), "--budget", "25", "--no-progress"]) == 0
    history = pd.read_csv(out / "history.csv")
    assert len(history) == 25 and history["key"].is_unique
    assert len(os.listdir(out / "evals")) == 25
    best = json.loads((out / "best.json").read_text())
    assert best["score"] == pytest.approx(history["score"].max())
    assert "best score" in capsys.readouterr().out
    # a rerun evaluates nothing and writes the same history
    assert main(["search", "--out", str(out), "--budget", "25", "--no-progress"]) == 0
    assert "0 evaluated now, 25 from the folder" in capsys.readouterr().out
    assert pd.read_csv(out / "history.csv").equals(history.assign(cached=True))


def test_search_refuses_other_settings(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["search", "--out", str(out), "--budget", "5", "--no-progress"]) == 0
    assert main(["search", "--out", str(out), "--budget", "6", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "holds a search with other settings (budget: 5 there, 6 now)" in err
    with pytest.raises(ValueError, match=r"unknown space 'cifar'; expected one of nas201, neurons"):
        check_settings({"space": "cifar"})
    with pytest.raises(ValueError, match=r"unknown search settings \['epoch'\]"):
        check_settings({"epoch": 3})


def _cli(out) -> list[str]:
    return [
        "search", "--out", str(out), "--space", "neurons", "--strategy", "genetic",
        "--budget", "10", "--batch-size", "2", "--epochs", "1", "--train-samples", "200",
        "--max-hidden", "6", "--max-edges", "100", "--no-progress",
    ]  # fmt: skip


def _saved(folder) -> int:
    """Finished evaluation files (not the temporary files of writes in progress)."""
    names = os.listdir(folder) if folder.is_dir() else []
    return len([n for n in names if n.endswith(".json") and not n.startswith(TMP_PREFIX)])


def test_search_interrupted_and_resumed_equals_uninterrupted(tmp_path, capsys, monkeypatch):
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert main(_cli(whole)) == 0
    # Ctrl-C (a real SIGINT to this process) as the fifth evaluation starts, once three or more
    # are on disk: at a fixed point of the search, where a thread polling the folder depended on
    # when it was scheduled
    started = []
    real_task = search_module.evaluate_task

    def interrupting_task(evaluate, position, genotype):
        started.append(position)
        if len(started) == 5:
            assert _saved(part / "evals") >= 3
            os.kill(os.getpid(), signal.SIGINT)
        return real_task(evaluate, position, genotype)

    monkeypatch.setattr(search_module, "evaluate_task", interrupting_task)
    # Ctrl-C raises KeyboardInterrupt, as in a terminal: a shell that starts the tests in the
    # background (nohup, CI) ignores SIGINT for them, and the signal would be lost
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = main(_cli(part))
    finally:
        signal.signal(signal.SIGINT, previous)
    monkeypatch.setattr(search_module, "evaluate_task", real_task)
    assert code == 130
    assert "rerun the same command to resume" in capsys.readouterr().out
    done = _saved(part / "evals")
    assert 3 <= done < 10
    assert not (part / "history.csv").exists()
    assert main(_cli(part)) == 0
    assert f"{done} of 10 evaluations already in" in capsys.readouterr().out
    a, b = pd.read_csv(whole / "history.csv"), pd.read_csv(part / "history.csv")
    assert a["key"].tolist() == b["key"].tolist()
    assert a["score"].tolist() == b["score"].tolist()
    assert b["cached"].sum() == done


def test_search_skips_leftover_and_damaged_evaluation_files(tmp_path):
    out = tmp_path / "s"
    logs: list[str] = []
    first = search(out, {"budget": 6}, progress=False, log=logs.append)
    names = sorted(os.listdir(out / "evals"))
    (out / "evals" / names[0]).write_text("{not json")
    (out / "evals" / f"{TMP_PREFIX}abc.json").write_text('{"half": ')
    logs.clear()
    again = search(out, {"budget": 6}, progress=False, log=logs.append)
    assert any("is damaged" in line for line in logs)
    assert f"{TMP_PREFIX}abc.json" not in os.listdir(out / "evals")
    assert [e.key for e in again.history] == [e.key for e in first.history]
    assert sum(not e.cached for e in again.history) == 1  # only the damaged one again


def test_search_in_worker_processes_matches_in_process(tmp_path):
    settings = {"budget": 4, "batch_size": 4, "strategy": "random"}
    one = search(tmp_path / "one", settings, progress=False, log=lambda s: None)
    two = search(tmp_path / "two", settings, workers=2, progress=False, log=lambda s: None)
    assert [e.key for e in one.history] == [e.key for e in two.history]
    assert one.scores.tolist() == two.scores.tolist()
