"""The results folder defends itself: its lock, checked runs, stamps that change with their
tables, leftovers of kills, permissions, read-only and full disks (graphnets.experiment.store).

The read-only and full-disk tests run the command line in a new user and mount namespace
(``unshare --map-root-user --mount``), where a read-only bind mount and a small tmpfs are real
read-only and full file systems; they are skipped where the system does not allow that.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
from test_experiment import TINY, _quiet, _rows, _same_rows, _trained, finished  # noqa: F401

from graphnets.experiment import (
    ConfigError,
    FolderError,
    StageError,
    load_config,
    merge,
    run,
    specs,
    validate,
)
from graphnets.experiment.store import LOCK, Store

#: TINY as a config file, for the command line.
TINY_TOML = """\
[data]
train_samples = 300
[sample]
graphs = 6
hidden = [10, 20]
[sample.priors.ws]
k = [2, 4]
[sample.priors.er]
degree = [1.0, 4.0]
[train]
epochs = 1
[predict]
folds = 2
gnn_epochs = 1
[report]
top_properties = 3
"""


def test_tiny_toml_is_tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML)
    assert load_config(path) == validate(TINY)


def _copy(finished, tmp_path, name="copy"):  # noqa: F811
    out = str(tmp_path / name)
    shutil.copytree(finished[0], out)
    return out


def _cli(out, *args):
    return [sys.executable, "-m", "graphnets", "experiment", "--out", out, "--no-progress", *args]


def _files(out):
    """Every file under ``out`` -> (mtime, bytes)."""
    found = {}
    for folder, _, names in os.walk(out):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, out)] = (os.stat(path).st_mtime_ns, f.read())
    return found


# -- the lock -----------------------------------------------------------------------------------
def test_store_lock_refuses_a_second_run(finished, tmp_path):  # noqa: F811
    out = _copy(finished, tmp_path)
    with Store(out).open():
        with pytest.raises(
            FolderError,
            match=rf"^{re.escape(out)} is in use by another graphnets experiment \(it holds "
            rf"{re.escape(os.path.join(out, LOCK))}\); wait for that run to finish, or use "
            r"another --out folder$",
        ):
            run(TINY, out, stage="sample", progress=False, log=_quiet([]))
    lines = []  # released with the block: the folder is usable again
    run(TINY, out, stage="sample", progress=False, log=_quiet(lines))
    assert lines == ["sample: 6 nets (1 ws, 1 ba, 4 er)"]


def test_cli_second_run_refused_while_first_trains_then_resumes(tmp_path):
    """The first run is frozen (SIGSTOP) while it holds the lock, so the refusal does not
    depend on timing; then it is killed (SIGKILL) and a rerun resumes: a kill leaves no lock."""
    config = tmp_path / "two.toml"
    config.write_text(TINY_TOML.replace("epochs = 1", "epochs = 2"))
    out = str(tmp_path / "shared")
    runs = os.path.join(out, "runs")
    first = subprocess.Popen(
        _cli(out, "--config", str(config), "--stage", "train"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (
        os.path.isdir(runs) and any(re.fullmatch(r"\d{4}\.json", f) for f in os.listdir(runs))
    ):
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.01)
    first.send_signal(signal.SIGSTOP)
    try:
        # the same command: without the lock it would train the same nets at the same time
        # (and two runs started together with other settings would both pass the settings
        # check, the last one's config.json describing the other's nets); it writes nothing
        before = _files(out)
        second = subprocess.run(
            _cli(out, "--config", str(config), "--stage", "train"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 1, second.stdout + second.stderr
        assert second.stderr == (
            f"graphnets experiment: error: {out} is in use by another graphnets experiment (it "
            f"holds {os.path.join(out, LOCK)}); wait for that run to finish, or use another "
            "--out folder\n"
        )
        assert _files(out) == before
    finally:
        first.kill()
        first.communicate(timeout=60)
    again = subprocess.run(
        _cli(out, "--config", str(config), "--stage", "train"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert re.search(r"train: [1-5] of 6 nets already trained \(skipped\)", again.stdout)
    assert json.load(open(os.path.join(out, "config.json")))["train"]["epochs"] == 2
    reference = str(tmp_path / "reference")
    _trained(reference, train={"epochs": 2})
    _same_rows(_rows(reference), _rows(out))


# -- checked runs -------------------------------------------------------------------------------
def _halve(path):
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])


def _edit_run(path):
    with open(path) as f:
        record = json.load(f)
    record["row"]["test_acc"] = 0.99
    with open(path, "w") as f:
        json.dump(record, f)


def _swap(a, b):
    os.replace(a, a + ".swap")
    os.replace(b, a)
    os.replace(a + ".swap", b)


def _run(out, i):
    return os.path.join(out, "runs", f"{i:04d}.json")


def _net(out, i):
    return os.path.join(out, "nets", f"{i:04d}.pt")


#: name -> (damage done to net 3 of a finished folder, what the log says, nets retrained)
DAMAGE = {
    "run_truncated": (
        lambda out: _halve(_run(out, 3)),
        r"runs/0003\.json: not valid JSON \(.*\)",
        [3],
    ),
    "run_edited": (
        lambda out: _edit_run(_run(out, 3)),
        r"runs/0003\.json: its content does not match its checksum \(edited or damaged\)",
        [3],
    ),
    "runs_swapped": (
        lambda out: _swap(_run(out, 3), _run(out, 4)),
        r"runs/0003\.json: holds the run of net 4, not of net 3",
        [3, 4],
    ),
    "net_truncated": (
        lambda out: _halve(_net(out, 3)),
        r"nets/0003\.pt: does not match the checksum in .*runs/0003\.json \(truncated, "
        r"replaced or damaged\)",
        [3],
    ),
    "net_deleted": (lambda out: os.remove(_net(out, 3)), r"nets/0003\.pt: missing", [3]),
    "run_deleted": (
        lambda out: os.remove(_run(out, 3)),
        r"runs/0003\.json: missing, but .*nets/0003\.pt exists \(a kill between the two "
        r"writes, or a deleted record\)",
        [3],
    ),
    "nets_swapped": (
        lambda out: _swap(_net(out, 3), _net(out, 4)),
        r"nets/0003\.pt: does not match the checksum in .*runs/0003\.json \(truncated, "
        r"replaced or damaged\)",
        [3, 4],
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_experiment_damaged_run_named_and_trained_again(damage, finished, tmp_path):  # noqa: F811
    out = _copy(finished, tmp_path)
    nets = {i: open(_net(out, i), "rb").read() for i in range(6)}
    harm, said, again = DAMAGE[damage]
    harm(out)
    lines = _trained(out)
    assert re.fullmatch(rf"train: {re.escape(out)}/{said}; training net 3 again", lines[0]), lines
    assert lines[len(again)] == (
        f"train: {6 - len(again)} of 6 nets already trained (skipped); training {len(again)} "
        "in this process"
    )
    # trained again, from the same seeds: the same nets and rows as before the damage
    assert {i: open(_net(out, i), "rb").read() for i in range(6)} == nets
    _same_rows(_rows(finished[0])[_rows(out).columns], _rows(out))
    check = Store(out).runs(specs(TINY))
    assert sorted(check.records) == list(range(6)) and not check.damaged


def test_experiment_stage_refuses_damaged_runs_with_the_fix(finished, tmp_path):  # noqa: F811
    out = _copy(finished, tmp_path)
    os.remove(_net(out, 3))
    _halve(_run(out, 5))
    for stage in ("measure", "predict"):
        with pytest.raises(
            StageError,
            match=rf"^{stage}: 2 damaged run\(s\): {re.escape(_net(out, 3))}: missing; "
            rf"{re.escape(_run(out, 5))}: not valid JSON .*; retrain them with: graphnets "
            rf"experiment --out {re.escape(out)} --stage train$",
        ):
            run(TINY, out, stage=stage, progress=False, log=_quiet([]))


def test_experiment_runs_without_checksums_are_accepted(finished, tmp_path):  # noqa: F811
    """Runs of an older graphnets (no checksums) stay finished if their nets exist."""
    out = _copy(finished, tmp_path)
    for i in range(6):
        with open(_run(out, i)) as f:
            record = json.load(f)
        del record["nets"], record["sha256"]
        with open(_run(out, i), "w") as f:
            json.dump(record, f)
    os.remove(_net(out, 2))
    lines = _trained(out)
    assert lines[0] == f"train: {_net(out, 2)}: missing; training net 2 again"
    assert lines[1] == (
        "train: 5 runs have no checksums (written by an older graphnets): their net files are "
        "checked for presence only"
    )
    assert lines[2].startswith("train: 5 of 6 nets already trained (skipped); training 1")


# -- stamps change with their tables ------------------------------------------------------------
def test_experiment_table_and_stamp_change_together(finished, tmp_path):  # noqa: F811
    """What a kill between a stage's tables and its stamp leaves: comparison.csv of a 3-fold
    run beside the other tables and the stamp of the 2-fold run. The stage runs again."""
    out = _copy(finished, tmp_path)
    three = _copy(finished, tmp_path, "three")
    run(merge(TINY, {"predict": {"folds": 3}}), three, stage="predict", progress=False)
    shutil.copy(os.path.join(three, "comparison.csv"), os.path.join(out, "comparison.csv"))
    lines = []
    run(TINY, out, progress=False, log=_quiet(lines))
    assert "predict: 2-fold cross-validation of 6 nets, target test_acc" in lines
    for name in ("comparison.csv", "comparison_folds.csv", "predictions.csv"):
        assert (
            open(os.path.join(out, name), "rb").read()
            == open(os.path.join(finished[0], name), "rb").read()
        ), name
    # the tables are those the report was drawn from again
    assert lines[-1] == f"report: {os.path.join(out, 'report.md')} is up to date (skipped)"


def test_experiment_edited_properties_measured_again(finished, tmp_path):  # noqa: F811
    out = _copy(finished, tmp_path)
    path = os.path.join(out, "properties.csv")
    text = open(path).read()
    with open(path, "w") as f:
        f.write(text.replace("\n0,", "\n0,9", 1))
    lines = []
    run(TINY, out, progress=False, log=_quiet(lines))
    assert "measure: properties of 6 nets" in lines
    _same_rows(_rows(finished[0]), _rows(out))


def test_experiment_damaged_stamps_rerun_their_stages(finished, tmp_path):  # noqa: F811
    out = _copy(finished, tmp_path)
    _halve(os.path.join(out, "stages.json"))
    lines = []
    run(TINY, out, progress=False, log=_quiet(lines))
    path = os.path.join(out, "stages.json")
    assert re.fullmatch(
        rf"measure: {re.escape(path)}: not valid JSON \(.*\); running the stage again", lines[2]
    ), lines
    assert lines[3] == "measure: properties of 6 nets"
    assert lines[4].startswith("predict: 2-fold cross-validation")
    assert set(json.load(open(path))) == {"measure", "predict", "report"}


# -- nothing to do, nothing written ---------------------------------------------------------------
def test_experiment_rerun_with_nothing_to_do_writes_nothing(finished, tmp_path):  # noqa: F811
    out = _copy(finished, tmp_path)
    before = _files(out)
    lines = []
    summary = run(TINY, out, progress=False, log=_quiet(lines))
    assert _files(out) == before
    assert lines[-1] == f"report: {os.path.join(out, 'report.md')} is up to date (skipped)"
    assert summary["best_predictor"] in summary["comparison"].index
    assert summary["report"] == os.path.join(out, "report.md")


def test_experiment_leftover_temporary_files_removed(finished, tmp_path):  # noqa: F811
    out = _copy(finished, tmp_path)
    leftovers = [
        os.path.join(out, sub, ".tmp-x1y2" + name)
        for sub, name in (
            ("", "results.csv"),
            ("", "stages.json"),
            ("plots", "learning_curves.png"),
            ("runs", "0001.json"),
            ("nets", "0001.pt"),
        )
    ]
    for path in leftovers:
        with open(path, "w") as f:
            f.write("half")
    lines = []
    run(TINY, out, stage="report", progress=False, log=_quiet(lines))
    assert lines[0] == "removed 5 temporary file(s) of writes a killed run left unfinished"
    assert not [p for p in leftovers if os.path.exists(p)]


def test_experiment_files_get_the_usual_permissions(tmp_path):
    out = str(tmp_path / "modes")
    mask = os.umask(0o027)
    try:
        run(merge(TINY, {"sample": {"graphs": 2}}), out, stage="sample", log=_quiet([]))
        _trained(out, sample={"graphs": 2})
    finally:
        os.umask(mask)
    modes = {name: os.stat(os.path.join(out, name)).st_mode & 0o777 for name in _files(out)}
    assert {"config.json", "samples.csv", "results.csv", "runs/0001.json", "nets/0001.pt"} <= set(
        modes
    )
    assert {name: mode for name, mode in modes.items() if mode != 0o640} == {}


def test_experiment_out_is_a_file(tmp_path):
    out = tmp_path / "file"
    out.write_text("not a folder")
    with pytest.raises(FolderError, match=rf"^{re.escape(str(out))} is a file; --out expects"):
        run(TINY, out, stage="sample", log=_quiet([]))


def test_experiment_damaged_config_json_named(finished, tmp_path):  # noqa: F811
    out = _copy(finished, tmp_path)
    _halve(os.path.join(out, "config.json"))
    with pytest.raises(
        ConfigError,
        match=rf"^{re.escape(os.path.join(out, 'config.json'))}: expected the folder's settings "
        r"as a JSON object, got invalid JSON \(.*\); restore it, or start a new folder",
    ):
        run(TINY, out, log=_quiet([]))


# -- read-only and full disks ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def namespace():
    """``argv(script)``: run the shell ``script`` where it may mount (or skip the test)."""
    argv = lambda script: ["unshare", "--map-root-user", "--mount", "sh", "-c", script]  # noqa: E731
    probe = "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d && umount $d && rmdir $d"
    if not shutil.which("unshare"):
        pytest.skip("needs unshare (util-linux) to mount a read-only or full file system")
    done = subprocess.run(argv(probe), capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"this system does not let tests mount file systems: {done.stderr.strip()}")
    return argv


def _quote(argv):
    return " ".join(f"'{a}'" for a in argv)


def test_cli_read_only_finished_folder_opens(namespace, finished, tmp_path):  # noqa: F811
    out = _copy(finished, tmp_path)
    before = _files(out)
    mount = f"mount --bind -o ro '{out}' '{out}'"
    for args, status in (((), 0), (("--stage", "report"), 0), (("--graphs", "8"), 1)):
        done = subprocess.run(
            namespace(f"{mount} && exec {_quote(_cli(out, *args))}"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == status, done.stdout + done.stderr
        if status:  # a run that must write says what and where, in one line
            assert done.stderr == (
                f"graphnets experiment: error: cannot write {os.path.join(out, 'config.json')}: "
                "Read-only file system\n"
            )
            continue
        assert done.stderr == ""
        lines = done.stdout.splitlines()
        assert lines[0] == f"{out} is read-only: stages that are up to date are skipped"
        assert f"report: {os.path.join(out, 'report.md')} is up to date (skipped)" in lines
        assert f"experiment in {out}: 6 of 6 nets trained" in lines
    assert _files(out) == before
    # a damaged run cannot be trained again there: said before any training, in one line
    os.remove(_net(out, 3))
    done = subprocess.run(
        namespace(f"{mount} && exec {_quote(_cli(out))}"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"train: {_net(out, 3)}: missing; training net 3 again" in done.stdout.splitlines()
    assert done.stderr == (
        f"graphnets experiment: error: train: {out} is read-only and 1 of its 6 nets are not "
        "trained; copy it to a writable place (or make it writable) to finish it\n"
    )


def test_cli_full_disk_one_line_error(namespace, tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_TOML)
    disk = tmp_path / "disk"
    disk.mkdir()
    out = str(disk / "out")
    cli = _cli(out, "--config", str(config), "--stage", "train")
    done = subprocess.run(
        namespace(f"mount -t tmpfs -o size=48k tmpfs '{disk}' && exec {_quote(cli)}"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.fullmatch(
        rf"graphnets experiment: error: cannot write {re.escape(out)}/\S+: No space left on "
        r"device\n",
        done.stderr,
    ), done.stderr
