"""benchmarks/prune_digits.py runs in a small setting, prints its table and writes its plot."""

import importlib.util
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def _load():
    spec = importlib.util.spec_from_file_location(
        "benchmarks_prune_digits", ROOT / "benchmarks" / "prune_digits.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_prune_example_small_setting(tmp_path, capsys):
    out = tmp_path / "p.png"
    res = _load().main(
        [
            "--archs",
            "100",
            "--repeats",
            "1",
            "--steps",
            "2",
            "--base-epochs",
            "3",
            "--retrain-epochs",
            "1",
            "--score-samples",
            "64",
            "--out",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert out.stat().st_size > 10_000 and out.read_bytes()[:4] == b"\x89PNG"
    assert np.allclose(res["compression"], [0.0, 0.475, 0.95], atol=1e-3)
    methods = ["random", "blinded", "uniform", "distributed", "obd", "taylor"]
    assert list(res["acc"]["100"]) == methods
    for m in methods:
        acc = res["acc"]["100"][m]
        assert acc.shape == (1, 3) and ((acc >= 0) & (acc <= 1)).all()
        assert f"     100 {m:>11}" in text
    # every method starts from the same trained net
    assert len({float(res["acc"]["100"][m][0, 0]) for m in methods}) == 1
    assert res["acc"]["100"]["blinded"][0, 0] > 0.5  # trained: chance is 0.1


def test_prune_docs_page_examples_are_correct():
    import doctest

    result = doctest.testfile(
        str(ROOT / "docs" / "pruning.md"), module_relative=False, optionflags=doctest.ELLIPSIS
    )
    assert result.attempted >= 8
    assert result.failed == 0
