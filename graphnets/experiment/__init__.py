"""The main job: a reproducible structure-vs-performance experiment.

Sample architectures from random-graph priors, train them, measure their structure, learn to
predict their performance and write a report, into one results folder that can be resumed,
extended and re-analysed stage by stage. ``graphnets experiment`` is the command line of
:func:`run`; ``docs/experiment.md`` is the guide (configuration schema, outputs, resuming, Ray).

Modules, one concept each: :mod:`.config` (schema, validation, merging), :mod:`.sample` (net
``i``'s spec from ``(seed, i)``), :mod:`.tasks` (the pure per-net training task),
:mod:`.executors` (in-process, worker processes, Ray), :mod:`.store` (the folder's lock,
atomic writes, checked runs, resuming), :mod:`.tables` (the Parquet copies of the tables, and
:func:`load`, which reads them as DataFrames), :mod:`.measure`, :mod:`.ranking`,
:mod:`.report` and :mod:`.pipeline` (the stages).

Example:
    >>> from graphnets.experiment import default_config
    >>> c = default_config()
    >>> c["sample"]["graphs"], c["train"]["epochs"], c["predict"]["folds"]
    (100, 5, 3)
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .config import ConfigError, default_config, load_config, merge, validate
from .executors import EXECUTORS, run_tasks
from .pipeline import STAGES, StageError, format_summary, run
from .sample import build, spec, specs
from .store import FolderError, Store
from .tables import TABLES, load
from .tasks import train_task

__all__ = [
    "ConfigError",
    "FolderError",
    "StageError",
    "STAGES",
    "EXECUTORS",
    "TABLES",
    "Store",
    "build",
    "default_config",
    "format_summary",
    "load",
    "load_config",
    "merge",
    "resolve",
    "run",
    "run_tasks",
    "spec",
    "specs",
    "train_task",
    "validate",
]


def resolve(
    out: str | os.PathLike,
    config_path: str | os.PathLike | None = None,
    overrides: Mapping | None = None,
) -> dict:
    """The configuration a run on ``out`` uses.

    With ``config_path`` the file is merged over the bundled defaults; without it, a folder
    that already holds results keeps its own ``config.json`` (so ``--out DIR`` alone resumes
    or extends it) and a new folder starts from the defaults. ``overrides`` (the flags) go on
    top. The result is validated.
    """
    stored = Store(out).config() if config_path is None else None
    return load_config(config_path, base=stored, overrides=overrides)
