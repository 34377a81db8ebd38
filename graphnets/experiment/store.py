"""The results folder: atomic writes, finished runs, resuming, and the comparability check.

Layout of a results folder ``OUT`` (see ``docs/experiment.md``)::

    OUT/config.json          the resolved configuration of the last run
    OUT/samples.csv          one row per sampled net: prior, parameters, seeds
    OUT/runs/0007.json       net 7's spec, metrics and learning curve; written last, so its
                             presence means net 7 is finished
    OUT/nets/0007.pt         net 7 after training (GraphNet.save; repeat r > 0: 0007_r1.pt, ...)
    OUT/properties.csv       the measure stage
    OUT/results.csv          one row per finished net: spec, metrics, timings, properties
    OUT/curves.csv           per-epoch loss and accuracies of every training
    OUT/stages.json          what the measure and predict stages last ran on (to skip reruns)

Every file is written to a temporary file in its directory and moved into place with
``os.replace``, so a crash or a kill leaves either the old file or the new one, never half of
one. A run's net files are written before its ``runs/*.json``; a run counts as finished only
when its json exists and its spec equals the one the configuration draws.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from .._util.files import atomic_write
from .config import ConfigError, changes

__all__ = ["Store", "atomic_write"]


class Store:
    """A results folder (created on first write).

    Args:
        out: the folder.
    """

    def __init__(self, out: str | os.PathLike) -> None:
        self.out = os.fspath(out)

    def __repr__(self) -> str:
        return f"Store({self.out!r})"

    def path(self, *parts: str) -> str:
        return os.path.join(self.out, *parts)

    # -- configuration ------------------------------------------------------------------------
    def config(self) -> dict | None:
        """The folder's stored configuration, or ``None`` for a new folder."""
        try:
            with open(self.path("config.json"), encoding="utf-8") as f:
                return json.load(f)
        except FileNotFoundError:
            return None

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
        atomic_write(self.path("config.json"), json.dumps(config, indent=2) + "\n")

    # -- runs ---------------------------------------------------------------------------------
    def net_path(self, i: int, repeat: int = 0) -> str:
        return self.path("nets", f"{i:04d}.pt" if repeat == 0 else f"{i:04d}_r{repeat}.pt")

    def run_path(self, i: int) -> str:
        return self.path("runs", f"{i:04d}.json")

    def save_run(self, spec: Mapping, result: Mapping) -> None:
        """Persist one finished training: its nets first, then its json (the 'done' mark)."""
        for r, blob in enumerate(result["nets"]):
            atomic_write(self.net_path(spec["id"], r), blob)
        record = {"spec": dict(spec), "row": result["row"], "history": result["history"]}
        atomic_write(self.run_path(spec["id"]), json.dumps(record) + "\n")

    def clean(self) -> list[str]:
        """Remove temporary files that a killed run left in ``runs/`` and ``nets/``; return
        their paths. (Only one run may use a folder at a time.)"""
        removed = []
        for folder in (self.path("runs"), self.path("nets")):
            if os.path.isdir(folder):
                for name in os.listdir(folder):
                    if name.startswith(".tmp-"):
                        os.unlink(os.path.join(folder, name))
                        removed.append(os.path.join(folder, name))
        return removed

    def run(self, i: int) -> dict | None:
        """Net ``i``'s run record, or ``None`` if it is not finished."""
        try:
            with open(self.run_path(i), encoding="utf-8") as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def finished(self, specs: list[Mapping]) -> list[int]:
        """Ids of ``specs`` whose run is finished with exactly that spec."""
        done = []
        for s in specs:
            record = self.run(s["id"])
            if record is not None and record["spec"] == _jsonable(s):
                done.append(s["id"])
        return done

    # -- stage stamps -------------------------------------------------------------------------
    def stamps(self) -> dict:
        try:
            with open(self.path("stages.json"), encoding="utf-8") as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def stamp(self, stage: str, value: object) -> None:
        stamps = self.stamps()
        stamps[stage] = _jsonable(value)
        atomic_write(self.path("stages.json"), json.dumps(stamps, indent=2) + "\n")

    def write_csv(self, name: str, table, **options) -> str:
        path = self.path(name)
        atomic_write(path, table.to_csv(**options))
        return path


def _jsonable(value):
    """``value`` as it reads back from json (tuples become lists)."""
    return json.loads(json.dumps(value))
