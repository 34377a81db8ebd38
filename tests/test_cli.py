import re
import subprocess
import sys

import pytest

from graphnets.cli import COMMANDS, main

SMALL = ["--nodes", "40", "--k", "4", "--epochs", "1", "--no-progress"]


def _test_accuracy(out: str) -> float:
    match = re.search(r"^test accuracy: (\d\.\d+)", out, re.MULTILINE)
    assert match, out
    return float(match.group(1))


def test_cli_demo_prints_summary_epochs_and_accuracy(capsys):
    assert main(["demo", *SMALL]) == 0
    out, err = capsys.readouterr()
    assert "Watts–Strogatz prior: 40 hidden nodes, k=4, p=0.3, seed=0" in out
    assert "GraphNet(nodes=114," in out  # 64 inputs + 40 hidden + 10 outputs
    assert "level   nodes     edges  sources    fill  kernel" in out
    assert "parameters:" in out
    assert re.search(r"^epoch   1  loss \d+\.\d{4}  train acc", out, re.MULTILINE)
    assert 0.0 <= _test_accuracy(out) <= 1.0
    assert err == ""  # no progress bar asked for


def test_cli_demo_defaults_reach_90_percent(capsys):
    assert main(["demo", "--no-progress"]) == 0
    out, _ = capsys.readouterr()
    assert len(re.findall(r"^epoch ", out, re.MULTILINE)) == 10
    assert _test_accuracy(out) >= 0.9


def test_cli_demo_progress_bar_on_stderr(capsys):
    main(["demo", "--nodes", "40", "--k", "4", "--epochs", "1"])
    out, err = capsys.readouterr()
    assert "epoch 1/1" in err and "test accuracy:" in out


def test_cli_demo_kernel_option(capsys):
    main(["demo", *SMALL, "--kernel", "scatter"])
    out, _ = capsys.readouterr()
    assert "kernel=scatter[" in out


def test_cli_demo_same_seed_same_output(capsys):
    def run(seed):
        main(["demo", *SMALL, "--seed", seed])
        out = capsys.readouterr().out
        return re.sub(r"\(\d+\.\d+ s\)|; \d+\.\d+ s in all", "", out)

    assert run("3") == run("3") != run("4")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--p", "1.5"], "argument --p: expected a probability in [0, 1], got '1.5'"),
        (["--epochs", "0"], "argument --epochs: expected a positive int, got '0'"),
        (["--epochs", "two"], "argument --epochs: expected a positive int, got 'two'"),
        (["--lr", "-0.001"], "argument --lr: expected a positive finite number, got '-0.001'"),
        (["--batch-size", "0"], "argument --batch-size: expected a positive int, got '0'"),
        (["--seed", "-1"], "argument --seed: expected an int >= 0, got '-1'"),
        (["--kernel", "magic"], "argument --kernel: invalid choice: 'magic'"),
        (["--nodes", "10", "--k", "10"], "argument --k: expected 2 <= K < --nodes (10), got 10"),
        (["--k", "1"], "argument --k: expected 2 <= K < --nodes (200), got 1"),
    ],
)
def test_cli_demo_bad_values_exit_with_message(capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["demo", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: graphnets demo")
    assert message in err


def test_cli_without_command_or_unknown_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert "the following arguments are required: COMMAND" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["dmeo"])
    assert "invalid choice: 'dmeo'" in capsys.readouterr().err


def test_cli_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for cmd in COMMANDS:
        assert cmd.name in out and cmd.help.split()[0] in out


def test_cli_python_dash_m_runs_the_same_main():
    done = subprocess.run(
        [sys.executable, "-m", "graphnets", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0
    assert done.stdout.startswith("usage: graphnets")
    assert "demo" in done.stdout


# -- build-kernel -----------------------------------------------------------------------------
_KERNEL_CODE = """
import sys, torch
if sys.argv[1:] == ["other-torch"]:
    torch.__version__ = "0.0.1+other"  # a cache made for another torch must not load
from graphnets.kernels import fused
print(fused.built_path() is not None, fused.available())
"""


def _python(args, **env):
    import os

    return subprocess.run(
        [sys.executable, *args], env=dict(os.environ, **env), capture_output=True, text=True
    )


def test_cli_build_kernel_builds_or_finds_this_environments_kernel(capsys):
    from graphnets.kernels import fused, recurrent

    assert main(["build-kernel"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2, lines
    for line, what, module in zip(lines, ("fused", "recurrent"), (fused, recurrent), strict=True):
        assert re.fullmatch(
            rf"graphnets build-kernel: (the {what} C\+\+ kernel is already built|built the "
            rf"{what} C\+\+ kernel in \d+ s): .*\.so",
            line,
        ), line
        path = module.built_path()
        assert line.endswith(path) and path.endswith(f"{module.extension_name()}.so")
        assert module.available()


def test_cli_build_kernel_cache_of_another_torch_or_cpu_is_never_loaded():
    from graphnets.kernels import fused

    assert main(["build-kernel"]) == 0  # this environment's build exists
    assert fused.extension_name(torch_version="0.0.1+other") != fused.extension_name()
    assert fused.extension_name(cpu="another CPU") != fused.extension_name()
    # with no compiler, this torch's cache loads; another torch's name finds no build, and
    # graphnets falls back to its torch kernels with one line saying why
    same = _python(["-c", _KERNEL_CODE], CXX="/nonexistent/c++")
    assert same.stdout.split() == ["True", "True"] and same.stderr == ""
    other = _python(["-c", _KERNEL_CODE, "other-torch"], CXX="/nonexistent/c++")
    assert other.stdout.split() == ["False", "False"]
    assert other.stderr == (
        "graphnets: no C++ compiler ('/nonexistent/c++' is not on PATH): using the pure-torch "
        "kernels; install g++ (or set CXX) for the faster fused C++ kernel\n"
    )


def test_cli_build_kernel_without_compiler_one_line_exit_0(tmp_path):
    done = _python(
        ["-m", "graphnets", "build-kernel"],
        CXX="/nonexistent/c++",
        TORCH_EXTENSIONS_DIR=str(tmp_path),
    )
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == (
        "graphnets build-kernel: no C++ compiler ('/nonexistent/c++' is not on PATH): graphnets "
        "uses its pure-torch kernels; install g++ (or set CXX) and rerun this for the faster "
        "fused C++ kernel\n"
    )
    skipped = _python(["-m", "graphnets", "build-kernel"], GRAPHNETS_NO_CPP="1")
    assert skipped.returncode == 0 and skipped.stdout.startswith(
        "graphnets build-kernel: GRAPHNETS_NO_CPP is set, nothing to build"
    )


def test_cli_build_kernel_listed_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "build-kernel" in capsys.readouterr().out
