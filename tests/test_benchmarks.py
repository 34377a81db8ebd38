"""Every benchmark script answers ``--help`` (its options, no work): a ``%`` in a help string once
made ``bench_rewire.py --help`` a traceback, and nothing else runs the scripts' parsers."""

import importlib
import os
import sys

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
SCRIPTS = sorted(f[:-3] for f in os.listdir(ROOT) if f.endswith(".py") and f not in ("common.py",))


@pytest.fixture(scope="module", autouse=True)
def _benchmarks_on_path():
    sys.path.insert(0, ROOT)
    yield
    sys.path.remove(ROOT)


def test_every_script_is_listed():
    assert "bench_deep" in SCRIPTS and "run_all" in SCRIPTS and len(SCRIPTS) >= 20


@pytest.mark.parametrize("name", SCRIPTS)
def test_benchmark_help(name, capsys):
    module = importlib.import_module(name)
    with pytest.raises(SystemExit) as exit_:
        module.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage:") and "--help" in out


def test_bench_prune_speed_plot(tmp_path):
    # The figure of the pruning rows: drawn from the (name, edges kept, ratio, target) rows the
    # script collects, with a line per pruning kind, the targets and the floors.
    module = importlib.import_module("bench_prune_speed")
    points = [
        ("dense", 1.0, 1.02, 1.05),
        ("magnitude 50%", 0.5, 0.9, 1.0),
        ("magnitude 99%", 0.01, 0.08, 0.1),
        ("random 99%", 0.01, 0.07, 0.1),
        ("floor: the loss alone", 0.0, 0.02, None),
    ]
    path = tmp_path / "prune_speed.png"
    module.plot(points, str(path), "1 thread(s), windows of 10")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000
