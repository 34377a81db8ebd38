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
