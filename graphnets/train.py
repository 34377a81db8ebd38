"""Train a classifier (any GraphNet, or any ``torch.nn.Module`` mapping ``x`` to logits).

:func:`fit` is a plain mini-batch loop: Adam, cross-entropy on the logits, one pass over a
shuffled training set per epoch, train and test accuracy after each epoch. It returns plain
data (one dict per epoch) and prints nothing itself; pass ``log`` to see the records as they
come, and ``progress=True`` for a tqdm bar per epoch (on stderr).

The shuffle of every epoch comes from one ``torch.Generator`` seeded with ``seed``, so the same
net, data and seed give the same records (apart from ``seconds``).

A run that diverges stops: a loss or a gradient that is NaN or infinite raises
``FloatingPointError`` before the optimizer step it would poison (carrying the finished epochs'
records as ``err.history``), and data with NaN or infinite features are refused up front.

Not done here: no learning-rate schedule, no early stopping, no device moves (put the net and
the data on one device first).
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["fit", "accuracy", "format_record"]

#: Batch size used to evaluate accuracy (large: evaluation needs no gradients).
_EVAL_BATCH = 4096


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _check_xy(x: object, y: object, what: str) -> None:
    """``x [B, F]`` (or ``[B, ...]``, e.g. sequences ``[B, T, F]``) and ``y [B]`` integer class
    labels, of one length."""
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        bad = type(x).__name__ if not isinstance(x, torch.Tensor) else type(y).__name__
        raise TypeError(f"expected x_{what} and y_{what} to be torch.Tensors, got {bad}")
    if x.dim() < 2:
        raise ValueError(f"expected x_{what} of shape [B, features], got {list(x.shape)}")
    if y.dim() != 1 or y.dtype.is_floating_point or y.dtype == torch.bool:
        raise ValueError(
            f"expected y_{what} to be a 1-d tensor of integer class labels, got shape "
            f"{list(y.shape)} and dtype {y.dtype}"
        )
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"expected as many labels as samples, got x_{what} with {x.shape[0]} rows and "
            f"y_{what} with {y.shape[0]} labels"
        )
    if x.shape[0] == 0:
        raise ValueError(f"expected at least one sample in x_{what}, got none")
    if x.is_floating_point():
        bad = ~torch.isfinite(x)
        if bool(bad.any()):
            where = bad.nonzero()[0].tolist()
            raise ValueError(
                f"x_{what} holds {float(x[tuple(where)])} at index {where}; features must be "
                "finite (drop or impute those samples first)"
            )


@torch.no_grad()
def _predict(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return torch.cat([net(x[i : i + _EVAL_BATCH]).argmax(1) for i in range(0, len(x), _EVAL_BATCH)])


def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of the samples whose largest logit is the label.

    Args:
        net (nn.Module): maps ``x [B, F]`` to logits ``[B, C]``.
        x (Tensor): ``[B, F]`` features.
        y (LongTensor): ``[B]`` labels in ``0..C-1``.

    Returns:
        float: accuracy in ``[0, 1]``.

    Raises:
        TypeError, ValueError: if ``x`` and ``y`` are not tensors of matching length.

    Example:
        >>> import torch, graphnets
        >>> net = graphnets.mlp([2, 2], seed=0)
        >>> with torch.no_grad():
        ...     _ = net.weight.copy_(torch.tensor([1.0, 0.0, 0.0, 1.0]))
        >>> accuracy(net, torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]))
        0.5
    """
    _check_xy(x, y, "eval")
    was_training = net.training
    net.eval()
    try:
        pred = _predict(net, x)
    finally:
        net.train(was_training)
    return int((pred == y.to(pred.device)).sum()) / y.shape[0]


def fit(
    net: nn.Module,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-2,
    seed: int | torch.Generator | None = None,
    progress: bool = True,
    log: Callable[[dict], object] | None = None,
) -> list[dict]:
    """Train ``net`` as a classifier with Adam and cross-entropy; return one record per epoch.

    Every epoch shuffles the training set, takes one Adam step per mini-batch (the last batch
    may be smaller) and then measures :func:`accuracy` on both sets.

    Args:
        net (nn.Module): maps ``x [B, F]`` to logits ``[B, C]``, e.g. a GraphNet with ``C``
            linear outputs. Trained in place. ``x`` may have more dimensions, ``[B, ...]``
            (e.g. sequences ``[B, T, F]`` for :class:`graphnets.cells.SequenceClassifier`);
            samples are always indexed along the first.
        x_train, y_train (Tensor): ``[n, F]`` (or ``[n, ...]``) features and ``[n]`` labels in
            ``0..C-1``.
        x_test, y_test (Tensor): ``[m, F]`` features and ``[m]`` labels, only evaluated.
        epochs (int): passes over the training set (default: ``10``).
        batch_size (int): samples per step (default: ``64``).
        lr (float): Adam's learning rate (default: ``1e-2``).
        seed (int or torch.Generator, optional): randomness of the shuffles (default: ``None``,
            a fresh random order).
        progress (bool): show a tqdm bar per epoch on stderr (default: ``True``).
        log (callable, optional): called with each epoch's record as soon as it is done, e.g.
            ``lambda r: print(format_record(r))`` (default: ``None``).

    Returns:
        list of dict: per epoch ``{"epoch": int (from 1), "loss": float (mean training loss
        over the epoch), "train_acc": float, "test_acc": float, "seconds": float (wall time
        of the epoch, evaluation included)}``.

    Raises:
        TypeError: if ``net`` is not a ``torch.nn.Module``, the data are not tensors or
            ``seed`` has the wrong type.
        ValueError: on mismatched shapes, non-finite features, labels outside the net's
            classes, or a non-positive ``epochs``, ``batch_size`` or ``lr``.
        FloatingPointError: when the loss or a gradient becomes NaN or infinite (the run
            diverged). Raised before that step is taken, so the parameters are those of the
            last finite step; ``err.history`` holds the records of the finished epochs.

    Example:
        >>> import graphnets
        >>> from graphnets.data import digits
        >>> data = digits(seed=0)
        >>> net = graphnets.mlp([64, 32, 10], seed=0)
        >>> history = fit(net, *data, epochs=3, seed=0, progress=False)
        >>> [r["epoch"] for r in history], history[-1]["test_acc"] > 0.9
        ([1, 2, 3], True)
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"expected net to be a torch.nn.Module, got {type(net).__name__}")
    _check_xy(x_train, y_train, "train")
    _check_xy(x_test, y_test, "test")
    if x_train.dim() == 2 and x_train.shape[1] != x_test.shape[1]:
        raise ValueError(
            f"expected x_test with the {x_train.shape[1]} features of x_train, got "
            f"{x_test.shape[1]}"
        )
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(
            f"expected x_test of shape [B, {', '.join(map(str, x_train.shape[1:]))}] like "
            f"x_train, got {list(x_test.shape)}"
        )
    epochs = _positive_int(epochs, "epochs")
    batch_size = _positive_int(batch_size, "batch_size")
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive finite float, got {lr!r}")
    if log is not None and not callable(log):
        raise TypeError(f"log must be a callable taking a dict (or None), got {type(log).__name__}")
    gen = _shuffle_generator(seed)
    _check_classes(net, x_train, y_train, y_test)

    from tqdm.auto import tqdm

    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    n = x_train.shape[0]
    n_batches = -(-n // batch_size)
    history: list[dict] = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        net.train()
        perm = torch.randperm(n, generator=gen).to(x_train.device)
        total = 0.0
        bar = tqdm(
            total=n_batches,
            desc=f"epoch {epoch}/{epochs}",
            unit="batch",
            leave=False,
            disable=not progress,
            dynamic_ncols=True,
        )
        with bar:
            for batch, i in enumerate(range(0, n, batch_size), start=1):
                idx = perm[i : i + batch_size]
                loss = F.cross_entropy(net(x_train[idx]), y_train[idx])
                value = loss.item()
                optimizer.zero_grad(set_to_none=True)
                if math.isfinite(value):
                    loss.backward()
                what = _diverged(value, optimizer)
                if what is not None:
                    err = FloatingPointError(
                        f"training diverged at epoch {epoch}, batch {batch}: {what}; stopped "
                        f"before this step, so the parameters are those of the step before. "
                        f"Lower lr (now {lr}), or check the net's initial parameters"
                    )
                    err.history = history  # type: ignore[attr-defined]
                    raise err
                optimizer.step()
                total += value * idx.numel()
                bar.update(1)
                bar.set_postfix(loss=f"{value:.4f}", refresh=False)
        record = {
            "epoch": epoch,
            "loss": total / n,
            "train_acc": accuracy(net, x_train, y_train),
            "test_acc": accuracy(net, x_test, y_test),
            "seconds": time.perf_counter() - start,
        }
        history.append(record)
        if log is not None:
            log(record)
    return history


def _diverged(loss: float, optimizer: torch.optim.Optimizer) -> str | None:
    """What is not finite in this step (the loss, else a gradient), or ``None``."""
    if not math.isfinite(loss):
        return f"the loss is {loss}"
    grads = [p.grad for group in optimizer.param_groups for p in group["params"]]
    grads = [g for g in grads if g is not None]
    if grads and not bool(torch.stack([torch.isfinite(g).all() for g in grads]).all()):
        return f"the loss is {loss} but a gradient is NaN or infinite"
    return None


def format_record(record: dict) -> str:
    """One line for an epoch record of :func:`fit`.

    Example:
        >>> format_record({"epoch": 2, "loss": 0.25, "train_acc": 0.9, "test_acc": 0.875,
        ...                "seconds": 0.5})
        'epoch   2  loss 0.2500  train acc 0.9000  test acc 0.8750  (0.50 s)'
    """
    return (
        f"epoch {record['epoch']:>3}  loss {record['loss']:.4f}  "
        f"train acc {record['train_acc']:.4f}  test acc {record['test_acc']:.4f}  "
        f"({record['seconds']:.2f} s)"
    )


def _shuffle_generator(seed: int | torch.Generator | None) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    if seed is None:
        gen = torch.Generator()
        gen.seed()
        return gen
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be None, an int or a torch.Generator, got {seed!r}")
    return torch.Generator().manual_seed(int(seed))


def _check_classes(net: nn.Module, x_train: torch.Tensor, *ys: torch.Tensor) -> None:
    """Labels must index the net's logits: catch this before cross-entropy's opaque error."""
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            logits = net(x_train[:1])
    finally:
        net.train(was_training)
    if logits.dim() != 2:
        raise ValueError(
            f"expected net to map x [B, features] to logits [B, classes], got output shape "
            f"{list(logits.shape)}"
        )
    n_classes = logits.shape[1]
    for y, what in zip(ys, ("y_train", "y_test"), strict=True):
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= n_classes:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"{what} holds label {bad}, but the net has {n_classes} outputs (classes "
                f"0..{n_classes - 1}); give the net one output per class"
            )
