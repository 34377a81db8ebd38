"""The train stage's unit of work: one net, built from its spec and trained, as a pure function.

:func:`train_task` depends only on its arguments (a spec of :mod:`.sample` and the ``data`` and
``train`` sections of the configuration), reads no files of the experiment and writes none, so
the same call runs in this process, in a worker process or as a Ray task on another machine and
returns the same result. It runs torch on one thread (restored afterwards): results then do not
depend on the executor, and parallel workers do not oversubscribe the cores.

The trained net travels back as the bytes of :meth:`GraphNet.save`; the caller persists it.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import tempfile
import time
from collections.abc import Mapping

import torch

from ..data import digits
from ..train import accuracy, fit
from .config import ConfigError
from .sample import build

__all__ = ["load_data", "check_data", "train_task", "net_bytes", "one_thread"]


@functools.lru_cache(maxsize=4)
def _data(name: str, split_seed: int, test_size: float, train_samples: int | str):

    if name != "digits":  # validated by the config; a guard for direct callers
        raise ValueError(f"unknown data set {name!r}; expected 'digits'")
    x_train, y_train, x_test, y_test = digits(test_size=test_size, seed=split_seed)
    if train_samples != "all":
        x_train, y_train = x_train[:train_samples], y_train[:train_samples]
    return x_train, y_train, x_test, y_test


def load_data(data: Mapping) -> tuple[torch.Tensor, ...]:
    """``(x_train, y_train, x_test, y_test)`` of a ``[data]`` section (cached per process)."""
    return _data(data["name"], data["split_seed"], data["test_size"], data["train_samples"])


def check_data(data: Mapping) -> None:
    """Check that a ``[data]`` section can be loaded and holds ``train_samples``, before
    any net trains (the split is cached for the trainings in this process).

    Raises:
        ConfigError: naming the setting, its value and what the data allow.
    """
    try:
        x_train = _data(data["name"], data["split_seed"], data["test_size"], "all")[0]
    except ValueError as err:
        raise ConfigError(f"data: {err}") from None
    wanted, have = data["train_samples"], len(x_train)
    if wanted != "all" and wanted > have:
        raise ConfigError(
            f'data.train_samples: expected "all" or an int in [10, {have}] (the training '
            f"split of {data['name']} with test_size {data['test_size']} holds {have} "
            f"samples), got {wanted}"
        )


@contextlib.contextmanager
def one_thread():
    """Run torch on one thread inside the block (the previous setting is restored)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def net_bytes(net) -> bytes:
    """The file :meth:`GraphNet.save` writes, as bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "net.pt")
        net.save(path)
        with open(path, "rb") as f:
            return f.read()


def train_task(spec: Mapping, data: Mapping, train: Mapping) -> dict:
    """Build net ``spec`` and train it ``train["repeats"]`` times; return what to persist.

    Repeat 0 trains the spec's own weights (``graph_seed``); repeat ``r > 0`` re-initialises
    them from ``train_seeds[r]``. Repeat ``r`` shuffles with ``train_seeds[r]``.

    Returns:
        dict: ``{"id", "row": {metrics, means over repeats}, "history": [per-epoch records
        with a "repeat" key], "nets": [bytes of each trained net]}``.
    """

    with one_thread():
        x_train, y_train, x_test, y_test = load_data(data)
        n_classes = int(max(y_train.max(), y_test.max())) + 1
        start = time.perf_counter()
        finals, history, nets = [], [], []
        for r, shuffle_seed in enumerate(spec["train_seeds"]):
            net = build(spec, x_train.shape[1], n_classes, seed=None if r == 0 else shuffle_seed)
            try:
                records = fit(
                    net,
                    x_train,
                    y_train,
                    x_test,
                    y_test,
                    epochs=train["epochs"],
                    batch_size=train["batch_size"],
                    lr=train["lr"],
                    seed=shuffle_seed,
                    progress=False,
                )
            except FloatingPointError as err:
                # a training that diverges is a result of the sweep, not its failure: the net
                # as it was before the step that would have made it NaN, its loss NaN
                records = [
                    *err.history,
                    _diverged(net, len(err.history) + 1, x_train, y_train, x_test, y_test),
                ]
            history += [{"repeat": r, **rec} for rec in records]
            finals.append(records[-1])
            nets.append(net_bytes(net))
        seconds = time.perf_counter() - start
    mean = lambda key: sum(f[key] for f in finals) / len(finals)  # noqa: E731
    row = {
        "num_nodes": net.num_nodes,
        "num_edges": net.num_edges,
        "train_acc": mean("train_acc"),
        "test_acc": mean("test_acc"),
        "loss": mean("loss"),
        "test_acc_std": float(
            torch.tensor([f["test_acc"] for f in finals], dtype=torch.float64).std(unbiased=False)
        ),
        "diverged": sum(bool(f.get("diverged")) for f in finals),
        "train_seconds": seconds,
    }
    return {"id": spec["id"], "row": row, "history": history, "nets": nets}


def _diverged(net, epoch: int, x_train, y_train, x_test, y_test) -> dict:
    """The record of an epoch in which training diverged (see :func:`train_task`)."""
    return {
        "epoch": epoch,
        "loss": math.nan,
        "train_acc": accuracy(net, x_train, y_train),
        "test_acc": accuracy(net, x_test, y_test),
        "seconds": 0.0,
        "diverged": True,
    }
