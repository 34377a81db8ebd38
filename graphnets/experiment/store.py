"""The results folder: one writer at a time, atomic writes, checked runs, and stage stamps.

Layout of a results folder ``OUT`` (see ``docs/experiment.md``)::

    OUT/.lock                held by the run that uses the folder (one at a time)
    OUT/config.json          the resolved configuration of the last run
    OUT/samples.csv          one row per sampled net: prior, parameters, seeds
    OUT/runs/0007.json       net 7's spec, metrics, learning curve and the SHA-256 of its net
                             files and of itself; written last, so it marks net 7 finished
    OUT/nets/0007.pt         net 7 after training (GraphNet.save; repeat r > 0: 0007_r1.pt, ...)
    OUT/properties.csv       the measure stage
    OUT/results.csv          one row per finished net: spec, metrics, timings, properties
    OUT/curves.csv           per-epoch loss and accuracies of every training
    OUT/<table>.parquet      beside every <table>.csv, the same rows with their column types
                             (:mod:`.tables`; read them all with ``graphnets.experiment.load``)
    OUT/stages.json          what each of measure, predict and report last ran on, and the
                             SHA-256 of the files it wrote (to skip reruns)

**One writer.** :meth:`Store.open` holds an exclusive lock on ``OUT/.lock`` (``filelock``: an
``flock`` on Unix, which the system drops when the process dies, so a killed run leaves no
stale lock) while a run uses the folder; a second run is refused with :class:`FolderError`.
A folder that exists but cannot be written (a read-only disk) is opened read-only, without the
lock: no run can change it.

**Writes.** Every file is written to a temporary file in its folder and moved into place with
``os.replace``, so a kill leaves either the old file or the new one, never half of one; and
only when its content changes, so a run with nothing to do writes nothing. A write that fails
(a full or read-only disk, no permission) raises :class:`FolderError` naming the file.

**Runs.** A run counts as finished when ``runs/<id>.json`` reads back, matches its own
checksum, records the spec the configuration draws for that id, and every net file it names
has the recorded SHA-256. :meth:`Store.runs` reports every other one as damaged, naming the
file and what is wrong, and a net file without its json as an orphan. Runs written before
checksums were recorded are accepted if their net files exist (:attr:`RunCheck.unchecked`).

**Stamps.** A stage's stamp records its inputs and the SHA-256 of every file it wrote, and is
written after them; the stage is up to date only when both still match (:meth:`Store.fresh`),
so a kill between a table and its stamp, or an edited table, makes the stage run again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from .._util.files import TMP_PREFIX, atomic_write
from .config import ConfigError, changes

__all__ = ["Store", "FolderError", "RunCheck", "LOCK", "sha256", "write_file"]

#: The lock file's name in a results folder.
LOCK = ".lock"


class FolderError(RuntimeError):
    """A results folder that cannot be used as asked: in use by another run, or a file that
    cannot be written or read; the message names the folder or the file."""


def sha256(data: bytes) -> str:
    """The SHA-256 of ``data``, as 64 hex digits."""
    return hashlib.sha256(data).hexdigest()


def _reason(err: OSError) -> str:
    return err.strerror or str(err)


def _read(path: str) -> bytes | None:
    """The bytes of ``path``, or ``None`` if it does not exist."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise FolderError(f"cannot read {path}: {_reason(err)}") from err


def write_file(path: str, data: bytes | str) -> bool:
    """Write ``data`` to ``path`` atomically, unless ``path`` already holds exactly ``data``;
    return whether it wrote.

    Raises:
        FolderError: naming ``path`` and the reason (e.g. "No space left on device").
    """
    blob = data.encode("utf-8") if isinstance(data, str) else data
    with contextlib.suppress(OSError):  # missing or unreadable: (re)write it
        if os.path.getsize(path) == len(blob):
            with open(path, "rb") as f:
                if f.read() == blob:
                    return False
    try:
        atomic_write(path, blob)
    except OSError as err:
        raise FolderError(f"cannot write {path}: {_reason(err)}") from err
    return True


def _jsonable(value):
    """``value`` as it reads back from json (tuples become lists)."""
    return json.loads(json.dumps(value))


def _record_sum(record: Mapping) -> str:
    """The checksum a run record carries of its other keys (canonical json)."""
    body = {k: v for k, v in record.items() if k != "sha256"}
    return sha256(json.dumps(body, sort_keys=True).encode("utf-8"))


@dataclass
class RunCheck:
    """What :meth:`Store.runs` found: finished runs, damaged ones, unchecked old ones."""

    #: id -> run record (``spec``, ``row``, ``history``, ``nets``: file name -> SHA-256)
    records: dict[int, dict] = field(default_factory=dict)
    #: id -> what is wrong, naming the file; such a net must be trained again
    damaged: dict[int, str] = field(default_factory=dict)
    #: id -> a net file without its run's json (a kill between the two writes, or a deleted
    #: json): not finished, and said so
    orphans: dict[int, str] = field(default_factory=dict)
    #: ids of finished runs without recorded checksums (written by an older graphnets)
    unchecked: list[int] = field(default_factory=list)


class Store:
    """A results folder (created by :meth:`open`).

    Args:
        out: the folder.
    """

    def __init__(self, out: str | os.PathLike) -> None:
        self.out = os.fspath(out)
        #: set by :meth:`open` when the folder cannot be written
        self.read_only = False

    def __repr__(self) -> str:
        return f"Store({self.out!r}{', read-only' if self.read_only else ''})"

    def path(self, *parts: str) -> str:
        return os.path.join(self.out, *parts)

    # -- the lock -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def open(self) -> Iterator[Store]:
        """Create the folder if needed and hold its lock inside the block.

        A folder that exists but cannot be written is opened read-only (:attr:`read_only`),
        without the lock.

        Raises:
            FolderError: if another run holds the lock, or the folder cannot be created.
        """
        if os.path.isdir(self.out) and not os.access(self.out, os.W_OK):
            self.read_only = True
            yield self
            return
        if os.path.exists(self.out) and not os.path.isdir(self.out):
            raise FolderError(f"{self.out} is a file; --out expects a folder")
        try:
            os.makedirs(self.out, exist_ok=True)
        except OSError as err:
            raise FolderError(f"cannot create the folder {self.out}: {_reason(err)}") from err
        import filelock

        lock = filelock.FileLock(self.path(LOCK), timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise FolderError(
                f"{self.out} is in use by another graphnets experiment (it holds "
                f"{self.path(LOCK)}); wait for that run to finish, or use another --out folder"
            ) from None
        except OSError as err:
            raise FolderError(f"cannot lock {self.path(LOCK)}: {_reason(err)}") from err
        try:
            yield self
        finally:
            lock.release()

    # -- configuration ------------------------------------------------------------------------
    def config(self) -> dict | None:
        """The folder's stored configuration, or ``None`` for a new folder.

        Raises:
            ConfigError: if ``config.json`` is not a JSON object (naming the file).
        """
        path = self.path("config.json")
        blob = _read(path)
        if blob is None:
            return None
        try:
            config = json.loads(blob.decode("utf-8"))
        except ValueError as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            config = err
        if not isinstance(config, dict):
            raise ConfigError(
                f"{path}: expected the folder's settings as a JSON object, got "
                + (f"invalid JSON ({config})" if isinstance(config, ValueError) else repr(config))
                + "; restore it, or start a new folder with --out NEW_DIR"
            )
        return config

    def check(self, config: Mapping) -> None:
        """Refuse ``config`` if it changes a setting that defines the folder's rows.

        Raises:
            ConfigError: naming every changed setting, its old and new value, and what to do.
        """
        old = self.config()
        if old is None:
            return
        diff = changes(old, config)
        if diff:
            lines = "\n".join(f"  {k}: {a!r} in this folder, {b!r} now" for k, a, b in diff)
            raise ConfigError(
                f"{self.out} holds results of other settings:\n{lines}\n"
                "Rows trained with different settings are not comparable. Start a new folder "
                "with --out NEW_DIR, or rerun with the folder's settings (omit --config and the "
                "flags above: the folder's config.json is used)."
            )

    def save_config(self, config: Mapping) -> None:
        self.write("config.json", json.dumps(config, indent=2) + "\n")

    # -- files --------------------------------------------------------------------------------
    def write(self, name: str, data: bytes | str) -> str:
        """Write the file ``name`` (relative to the folder) if its content changes (see
        :func:`write_file`); return its path."""
        path = self.path(name)
        write_file(path, data)
        return path

    def write_csv(self, name: str, table, **options) -> str:
        return self.write(name, table.to_csv(**options))

    def write_table(self, name: str, table, *, index: bool = True, typed=None) -> list[str]:
        """Write the table ``name`` twice: ``name.csv`` from ``table`` and ``name.parquet``
        from ``typed`` (the same rows with their types kept; default: ``table``); return the
        two file names, for :meth:`stamp`."""
        from .tables import parquet_bytes

        self.write_csv(f"{name}.csv", table, index=index)
        self.write(f"{name}.parquet", parquet_bytes(table if typed is None else typed, index=index))
        return [f"{name}.csv", f"{name}.parquet"]

    def read_csv(self, name: str, *, written_by: str, columns: Sequence[str] = (), **options):
        """Read the table ``name`` back with ``pandas.read_csv(**options)``; a file that is not
        a table, or lacks one of ``columns``, is a :class:`FolderError` that names it and says
        to rerun ``written_by``, the stage that writes it (instead of pandas' traceback)."""
        import pandas as pd

        path = self.path(name)
        try:
            table = pd.read_csv(path, **options)
        except (ValueError, UnicodeDecodeError) as err:  # ParserError, EmptyDataError, index
            why = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise FolderError(
                f"{path} cannot be read as a table ({why}): it is damaged or was edited; "
                f"rerun the stage that writes it (--stage {written_by}) or --stage all"
            ) from None
        lacking = [c for c in columns if c not in table.columns]
        if lacking:
            raise FolderError(
                f"{path} has no column {', '.join(map(repr, lacking))}: it is damaged or was "
                f"edited; rerun the stage that writes it (--stage {written_by}) or --stage all"
            )
        return table

    def checksum(self, name: str) -> str | None:
        """The SHA-256 of the file ``name`` (relative to the folder), or ``None`` if missing."""
        blob = _read(self.path(name))
        return None if blob is None else sha256(blob)

    def clean(self) -> list[str]:
        """Remove the temporary files of writes a killed run left unfinished; return their
        paths. Call it only while holding the lock (another run's files are not leftovers)."""
        removed = []
        for folder in (self.out, self.path("runs"), self.path("nets"), self.path("plots")):
            try:
                names = os.listdir(folder)
            except FileNotFoundError:
                continue
            for name in sorted(names):
                if name.startswith(TMP_PREFIX):
                    path = os.path.join(folder, name)
                    try:
                        os.unlink(path)
                    except OSError as err:
                        raise FolderError(f"cannot remove {path}: {_reason(err)}") from err
                    removed.append(path)
        return removed

    # -- runs ---------------------------------------------------------------------------------
    def net_path(self, i: int, repeat: int = 0) -> str:
        return self.path("nets", f"{i:04d}.pt" if repeat == 0 else f"{i:04d}_r{repeat}.pt")

    def run_path(self, i: int) -> str:
        return self.path("runs", f"{i:04d}.json")

    def save_run(self, spec: Mapping, result: Mapping) -> None:
        """Persist one finished training: its nets first, then its json (the 'done' mark),
        which records their checksums and its own."""
        nets = {}
        for r, blob in enumerate(result["nets"]):
            path = self.net_path(spec["id"], r)
            write_file(path, blob)
            nets[os.path.basename(path)] = sha256(blob)
        record = {
            "spec": dict(spec),
            "row": result["row"],
            "history": result["history"],
            "nets": nets,
        }
        record["sha256"] = _record_sum(_jsonable(record))
        write_file(self.run_path(spec["id"]), json.dumps(record) + "\n")

    def runs(self, specs: Sequence[Mapping]) -> RunCheck:
        """Check the run of every spec: finished, not yet run, or damaged (see the module
        docstring). Reads every run's json and net files."""
        check = RunCheck()
        for s in specs:
            i = s["id"]
            outcome = self._check_run(s)
            if isinstance(outcome, str):
                check.damaged[i] = outcome
            elif outcome is None:
                net = self.net_path(i)
                if os.path.exists(net):
                    check.orphans[i] = (
                        f"{self.run_path(i)}: missing, but {net} exists (a kill between the "
                        "two writes, or a deleted record)"
                    )
            else:
                record, unchecked = outcome
                check.records[i] = record
                if unchecked:
                    check.unchecked.append(i)
        return check

    def _check_run(self, spec: Mapping) -> tuple[dict, bool] | str | None:
        """``(record, unchecked)`` of a finished run, ``None`` for one not run, or what is
        wrong with it."""
        i = spec["id"]
        path = self.run_path(i)
        try:
            blob = _read(path)
        except FolderError as err:
            return str(err)
        if blob is None:
            return None
        try:
            record = json.loads(blob.decode("utf-8"))
        except ValueError as err:
            return f"{path}: not valid JSON ({err})"
        if not isinstance(record, dict) or not {"spec", "row", "history"} <= set(record):
            return f"{path}: not a run record (expected the keys spec, row, history)"
        unchecked = "sha256" not in record and "nets" not in record
        if not unchecked and record.get("sha256") != _record_sum(record):
            return f"{path}: its content does not match its checksum (edited or damaged)"
        if record["spec"] != _jsonable(spec):
            other = record["spec"].get("id") if isinstance(record["spec"], dict) else None
            if other != i:
                return f"{path}: holds the run of net {other!r}, not of net {i}"
            return f"{path}: its spec is not the one these settings draw for net {i}"
        names = [os.path.basename(self.net_path(i, r)) for r in range(len(spec["train_seeds"]))]
        recorded = record.get("nets")
        if not unchecked and (not isinstance(recorded, dict) or sorted(recorded) != names):
            return f"{path}: records the nets {recorded!r}, expected {', '.join(names)}"
        sums = {}
        for name in names:
            net = self.path("nets", name)
            try:
                data = _read(net)
            except FolderError as err:
                return str(err)
            if data is None:
                return f"{net}: missing"
            sums[name] = sha256(data)
            if not unchecked and sums[name] != recorded[name]:
                return (
                    f"{net}: does not match the checksum in {path} (truncated, replaced or damaged)"
                )
        record["nets"] = sums
        return record, unchecked

    # -- stage stamps -------------------------------------------------------------------------
    def stamps(self) -> dict:
        """``stages.json``: stage -> ``{"inputs", "files": name -> SHA-256}``.

        Raises:
            FolderError: if it is not a JSON object (naming the file).
        """
        path = self.path("stages.json")
        blob = _read(path)
        if blob is None:
            return {}
        try:
            stamps = json.loads(blob.decode("utf-8"))
        except ValueError as err:
            raise FolderError(f"{path}: not valid JSON ({err})") from None
        if not isinstance(stamps, dict):
            raise FolderError(f"{path}: expected a JSON object, got {stamps!r}")
        return stamps

    def fresh(self, stage: str, inputs: object, files: Sequence[str] = ()) -> bool:
        """Whether ``stage`` last ran on ``inputs``, wrote every one of ``files`` (a stamp of
        an older graphnets may lack some), and the files it wrote are unchanged."""
        stamp = self.stamps().get(stage)
        if not isinstance(stamp, dict) or stamp.get("inputs") != _jsonable(inputs):
            return False
        written = stamp.get("files")
        return (
            isinstance(written, dict)
            and bool(written)
            and set(files) <= set(written)
            and all(self.checksum(name) == digest for name, digest in written.items())
        )

    def stamp(self, stage: str, inputs: object, files: Sequence[str]) -> None:
        """Record that ``stage`` ran on ``inputs`` and wrote ``files`` (names relative to the
        folder), after it wrote them. A damaged ``stages.json`` is replaced (its other stages
        then run again)."""
        try:
            stamps = self.stamps()
        except FolderError:
            stamps = {}
        stamps[stage] = {
            "inputs": _jsonable(inputs),
            "files": {name: self.checksum(name) for name in files},
        }
        self.write("stages.json", json.dumps(stamps, indent=2) + "\n")
