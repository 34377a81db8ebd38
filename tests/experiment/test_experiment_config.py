import json
import re

import pytest
from test_experiment import TINY

from graphnets.cli import build_parser, main
from graphnets.experiment import (
    ConfigError,
    default_config,
    load_config,
    merge,
    resolve,
    run,
    validate,
)
from graphnets.experiment.config import changes


def test_config_default_is_valid():
    c = validate(default_config())
    assert c["sample"]["priors"]["ws"]["k"] == [2, 4, 6, 8]
    assert c["measure"]["properties"] == "all"


@pytest.mark.parametrize(
    "override, message",
    [
        (
            {"train": {"epoch": 3}},
            r"^train\.epoch: unknown key; expected one of epochs, batch_size, lr, repeats in "
            r"\[train\]$",
        ),
        ({"colour": "red"}, r"^colour: unknown key; expected one of seed, data, sample"),
        ({"sample": {"priors": {"sw": {"k": [2]}}}}, r"^sample\.priors\.sw: unknown key"),
        ({"train": {"lr": "fast"}}, r"^train\.lr: expected a number > 0\.0, got 'fast'$"),
        (
            {"train": {"epochs": 2.5}},
            r"^train\.epochs: expected an int in \[1, 100000\], got 2\.5$",
        ),
        (
            {"train": {"epochs": True}},
            r"^train\.epochs: expected an int in \[1, 100000\], got True$",
        ),
        (
            {"train": {"epochs": 10**9}},
            r"^train\.epochs: expected an int in \[1, 100000\], got 1000000000$",
        ),
        (
            {"predict": {"gnn_epochs": 10**6}},
            r"^predict\.gnn_epochs: expected an int in \[1, 100000\]",
        ),
        ({"run": {"workers": 10**4}}, r"^run\.workers: expected an int in \[1, 1000\], got 10000$"),
        (
            {"sample": {"priors": {"ws": {"k": [3]}}}},
            r"^sample\.priors\.ws\.k: expected a non-empty list of even ints >= 2, got \[3\]$",
        ),
        (
            {"sample": {"hidden": [50, 20]}},
            r"^sample\.hidden: expected \[low, high\], ints with 2 <= low <= high <= 10000, got "
            r"\[50, 20\]$",
        ),
        (
            {"sample": {"priors": {"ws": {"p": [0.2, 1.5]}}}},
            r"^sample\.priors\.ws\.p: expected \[low, high\], numbers with 0\.0 <= low <= high "
            r"<= 1\.0, got \[0\.2, 1\.5\]$",
        ),
        (
            {"sample": {"hidden": [8, 30]}},
            r"^sample\.priors\.ws\.k: expected every k < the fewest hidden nodes "
            r"\(sample\.hidden = \[8, 30\]\), got \[2, 4, 6, 8\]$",
        ),
        (
            {"sample": {"priors": {"ws": {"weight": 0}, "ba": {"weight": 0}, "er": {"weight": 0}}}},
            r"^sample\.priors: expected at least one prior with weight > 0",
        ),
        (
            {"data": {"test_size": 1.0}},
            r"^data\.test_size: expected a number in \(0\.0, 1\.0\), got 1\.0$",
        ),
        (
            {"data": {"train_samples": 5}},
            r"^data\.train_samples: expected \"all\" or an int >= 10, got 5$",
        ),
        (
            {"measure": {"properties": ["nodes", "girth"]}},
            r"^measure\.properties: expected \"all\" or a non-empty list of layers, .*; got "
            r"\['nodes', 'girth'\] \('girth' is unknown\)$",
        ),
        (
            {"predict": {"predictors": ["gnn", "oracle"]}},
            r"^predict\.predictors: .*\('oracle' is unknown\)$",
        ),
        (
            {"predict": {"target": "accuracy"}},
            r"^predict\.target: expected one of 'test_acc', 'train_acc', 'loss', got 'accuracy'$",
        ),
        ({"predict": {"folds": 1}}, r"^predict\.folds: expected an int >= 2, got 1$"),
        (
            {"predict": {"top_k": 1.5}},
            r"^predict\.top_k: expected an int >= 1 or a fraction in \(0, 1\), got 1\.5$",
        ),
        (
            {"run": {"executor": "slurm"}},
            r"^run\.executor: expected one of 'local', 'ray', got 'slurm'$",
        ),
        ({"train": 5}, r"^train: expected a table, got 5$"),
        # sizes that cannot work fail at once, not after minutes of drawing or building
        (
            {"sample": {"graphs": 10**12}},
            r"^sample\.graphs: expected an int in \[1, 100000\], got 1000000000000$",
        ),
        (
            {"sample": {"hidden": [10**7, 10**7]}},
            r"^sample\.hidden: expected \[low, high\], ints with 2 <= low <= high <= 10000, "
            r"got \[10000000, 10000000\]$",
        ),
        (
            {"train": {"repeats": 1000}},
            r"^train\.repeats: expected an int in \[1, 100\], got 1000$",
        ),
        # scikit-learn's seeds are 32-bit: the split and the cross-validation folds
        (
            {"data": {"split_seed": 2**32}},
            r"^data\.split_seed: expected an int in \[0, 4294967295\], got 4294967296$",
        ),
        (
            {"predict": {"cv_seeds": [0, 2**32]}},
            r"^predict\.cv_seeds: expected a non-empty list of ints in \[0, 4294967295\], got "
            r"\[0, 4294967296\]$",
        ),
    ],
)
def test_config_bad_values_name_key_value_and_accepted(override, message):
    with pytest.raises(ConfigError, match=message):
        validate(merge(default_config(), override))


def test_config_canonical_order_of_subsets():
    c = validate(merge(default_config(), {"predict": {"predictors": ["synflow", "gnn"]}}))
    assert c["predict"]["predictors"] == ["gnn", "synflow"]


def test_config_file_merged_over_defaults(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("seed = 3\n[train]\nepochs = 2\n[sample.priors.ws]\nk = [2]\n")
    c = load_config(path)
    assert (c["seed"], c["train"]["epochs"], c["sample"]["priors"]["ws"]["k"]) == (3, 2, [2])
    assert c["train"]["lr"] == default_config()["train"]["lr"]


def test_config_file_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nepochs = 2\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load_config(bad)
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.toml")
    latin = tmp_path / "latin.toml"
    latin.write_bytes("# caf\u00e9\nseed = 1\n".encode("latin-1"))
    with pytest.raises(
        ConfigError,
        match=rf"^{re.escape(str(latin))}: not UTF-8 text \(byte 0xe9 at offset 5\); a TOML file "
        "must be UTF-8$",
    ):
        load_config(latin)
    with pytest.raises(
        ConfigError, match=rf"^{re.escape(str(tmp_path))}: cannot read it as a TOML file \(Is a "
    ):
        load_config(tmp_path)


@pytest.mark.parametrize("kind", ["latin-1", "folder", "missing"])
def test_cli_experiment_unreadable_config_one_line(kind, tmp_path, capsys):
    path = tmp_path / "c.toml"
    if kind == "latin-1":
        path.write_bytes("# caf\u00e9\n".encode("latin-1"))
    elif kind == "folder":
        path.mkdir()
    out = tmp_path / "out"
    assert main(["experiment", "--out", str(out), "--config", str(path), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("graphnets experiment: error: ") and err.count("\n") == 1, err
    assert str(path) in err and not out.exists()


# -- guards: what the run will need is checked before the first net trains ----------------------
@pytest.mark.parametrize(
    "override, message",
    [
        (
            {"sample": {"graphs": 3}},
            r"^predict\.folds = 2 needs at least 4 nets, got sample\.graphs = 3; use --graphs 4 "
            r"or more, or fewer folds \(predict\.folds\)$",
        ),
        (
            {"data": {"train_samples": 5000}},
            r'^data\.train_samples: expected "all" or an int in \[10, 1347\] \(the training '
            r"split of digits with test_size 0\.25 holds 1347 samples\), got 5000$",
        ),
        ({"data": {"test_size": 0.001}}, r"^data: test_size 0\.001 gives 2 test samples; every"),
        ({"predict": {"cv_seeds": [2**32]}}, r"^predict\.cv_seeds: expected a non-empty list"),
    ],
)
def test_experiment_guards_fail_before_the_folder_is_touched(override, message, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match=message):
        run(merge(TINY, override), out, progress=False, log=lambda line: None)
    assert not out.exists()


def test_experiment_guard_on_folds_only_when_predict_runs(tmp_path):
    config = merge(TINY, {"sample": {"graphs": 3}})
    summary = run(config, tmp_path / "out", stage="train", progress=False, log=lambda line: None)
    assert summary["trained"] == 3


def test_config_changes_lists_row_settings_only():
    a = default_config()
    b = merge(
        a,
        {
            "seed": 1,
            "sample": {"graphs": 500, "priors": {"ba": {"m": [1, 2]}}},
            "predict": {"folds": 5},
            "run": {"workers": 2},
        },
    )
    assert changes(a, b) == [("seed", 0, 1), ("sample.priors.ba.m", [1, 5], [1, 2])]


def test_config_resolve_prefers_folder_config(tmp_path):
    stored = merge(default_config(), {"train": {"epochs": 2}})
    (tmp_path / "config.json").write_text(json.dumps(stored))
    assert resolve(tmp_path)["train"]["epochs"] == 2
    assert resolve(tmp_path, overrides={"sample": {"graphs": 9}})["train"]["epochs"] == 2
    assert resolve(tmp_path / "new")["train"]["epochs"] == 5


def _show(capsys, *args):
    assert main(["experiment", "--show-config", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_flags_override_config(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text("seed = 3\n[sample]\ngraphs = 12\n[train]\nepochs = 2\n")
    out = str(tmp_path / "out")
    c = _show(capsys, "--out", out, "--config", str(path))
    assert (c["seed"], c["sample"]["graphs"], c["train"]["epochs"]) == (3, 12, 2)
    c = _show(
        capsys,
        "--out",
        out,
        "--config",
        str(path),
        "--epochs",
        "7",
        "--seed",
        "4",
        "--graphs",
        "20",
        "--workers",
        "2",
        "--executor",
        "ray",
        "--ray-address",
        "auto",
    )
    assert (c["seed"], c["sample"]["graphs"], c["train"]["epochs"]) == (4, 20, 7)
    assert c["run"] == {"workers": 2, "executor": "ray", "ray_address": "auto"}


def test_cli_experiment_bad_config_exits_1(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text("[sample.priors.ws]\nk = [3]\n")
    assert main(["experiment", "--out", str(tmp_path / "o"), "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert "error: sample.priors.ws.k: expected a non-empty list of even ints >= 2, got [3]" in err


@pytest.mark.parametrize(
    "args", [["--graphs", "0"], ["--executor", "slurm"], ["--stage", "fit"], ["--seed", "-1"]]
)
def test_cli_experiment_bad_flags_exit_2(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(["experiment", *args])
    assert info.value.code == 2
    assert args[0] in capsys.readouterr().err


def test_cli_experiment_help_mentions_every_option():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["experiment"]
    text = sub.format_help()
    options = [o for a in sub._actions for o in a.option_strings if o.startswith("--")]
    assert {
        "--out",
        "--config",
        "--graphs",
        "--epochs",
        "--seed",
        "--workers",
        "--executor",
        "--stage",
        "--ray-address",
    } <= set(options)
    for option in options:
        assert option in text
    for word in ("Resuming", "resumes", "docs/experiment.md", "new --out folder", "report.md"):
        assert word in text
    assert re.search(r"\{sample,train,measure,predict,report,all\}", text)
