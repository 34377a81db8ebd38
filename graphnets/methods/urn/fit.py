"""Train a URN under its regulators, sparsifying it as it goes.

:func:`fit` is the loop of ``004_…`` §2: Adam on the cross-entropy of ``ŷ`` plus the regulators
of Eq. 5 and 9. The activity term ``c_N`` is in the loss. The weight terms (``c_W``, ``c_syn``)
are applied either as a proximal step after every Adam step (``proximal=True``, the default:
:meth:`URN.proximal_step`, weights reach exact zeros) or, as in the paper, as a subgradient in
the loss (``proximal=False``: weights hover around zero and are never exactly zero). With
``sparsify_every=k`` the zero weights are removed every ``k`` steps (:meth:`URN.sparsify`, the
optimizer's state carried over), so the steps get cheaper as the URN thins out.

Records are plain dicts, one per epoch; ``seconds`` is the epoch's training time (steps,
proximal steps and sparsifications, not the evaluation), the figure the dense-to-sparse
benchmark compares between the first and the last epoch.

Not done here: no learning-rate schedule, no early stopping.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..._util.checks import positive_int
from ..._util.seeds import Seed, generator
from .model import URN, check_strength

__all__ = ["fit", "accuracy"]


def _check_data(urn: URN, x: object, y: object, what: str) -> None:
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"expected x_{what} and y_{what} to be torch.Tensors")
    if x.dim() != 2 or x.shape[1] != urn.d_in:
        raise ValueError(f"expected x_{what} of shape [B, {urn.d_in}], got {list(x.shape)}")
    if y.dim() != 1 or y.shape[0] != x.shape[0] or y.dtype.is_floating_point:
        raise ValueError(
            f"expected y_{what} to be [{x.shape[0]}] integer class labels, got shape "
            f"{list(y.shape)} and dtype {y.dtype}"
        )
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= urn.d_out):
        raise ValueError(
            f"y_{what} holds labels in {int(y.min())}..{int(y.max())}; a URN with d_out="
            f"{urn.d_out} outputs classifies labels 0..{urn.d_out - 1}"
        )


@torch.no_grad()
def accuracy(urn: URN, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 4096) -> float:
    """Fraction of samples whose label's output is the *unique* largest.

    A tie counts as an error: ReLU outputs are often exactly ``0`` together, and ``argmax``
    would then pick the first class for free.

    Example:
        >>> urn = URN(8, 2, 2, 2, seed=0)
        >>> x, y = torch.randn(10, 2), torch.randint(0, 2, (10,))
        >>> 0.0 <= accuracy(urn, x, y) <= 1.0
        True
    """
    _check_data(urn, x, y, "eval")
    right = 0
    for i in range(0, x.shape[0], batch_size):
        out = urn(x[i : i + batch_size])
        top = out.max(1, keepdim=True).values
        unique = (out == top).sum(1) == 1
        right += int(((out.argmax(1) == y[i : i + batch_size]) & unique).sum())
    return right / max(x.shape[0], 1)


def fit(
    urn: URN,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor | None = None,
    y_test: torch.Tensor | None = None,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    lr: float = 7e-4,
    c_W: float = 0.0,
    c_N: float = 0.0,
    c_syn: float = 0.0,
    gamma: float = 1.0,
    proximal: bool = True,
    sparsify_every: int | None = None,
    seed: Seed = None,
    log: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Train ``urn`` with Adam on cross-entropy plus the regulators; one record per epoch.

    Args:
        urn (URN): the net, trained in place.
        x_train, y_train (Tensor): ``[n, d_in]`` features and ``[n]`` labels ``0 … d_out-1``.
        x_test, y_test (Tensor, optional): evaluated after every epoch (default: none).
        epochs, batch_size (int): passes over the data and samples per step (default: 10, 32).
        lr (float): Adam's learning rate (default: ``7e-4``, the paper's).
        c_W, c_N, c_syn, gamma (float): the regulators (see :meth:`URN.penalty`).
        proximal (bool): weight terms as a proximal step (default) or a subgradient in the loss.
        sparsify_every (int, optional): remove zero weights every this many steps
            (default: ``None``, never).
        seed (int or torch.Generator, optional): the shuffles.
        log (callable, optional): called with every record as it is made.

    Returns:
        list of dict: ``epoch``, ``loss`` (mean cross-entropy), ``test_acc`` (with test data),
        ``edges``, ``density``, ``kernel``, ``seconds``.

    Raises:
        TypeError, ValueError: for malformed data or settings (named).
        FloatingPointError: when the loss turns NaN or infinite.

    Example:
        >>> from graphnets.data import shells
        >>> x, y, x_test, y_test = shells(200, seed=0)
        >>> urn = URN(40, 3, 10, 2, output_activation="identity", seed=0)
        >>> records = fit(urn, x, y, x_test, y_test, epochs=2, c_W=1e-3, sparsify_every=5,
        ...               seed=0)
        >>> [sorted(r) for r in records][0]
        ['density', 'edges', 'epoch', 'kernel', 'loss', 'seconds', 'test_acc']
        >>> records[-1]["edges"] < 1600
        True
    """
    if not isinstance(urn, URN):
        raise TypeError(f"expected a graphnets.urn.URN, got {type(urn).__name__}")
    _check_data(urn, x_train, y_train, "train")
    if (x_test is None) != (y_test is None):
        raise ValueError("pass both x_test and y_test, or neither")
    if x_test is not None:
        _check_data(urn, x_test, y_test, "test")
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < float("inf"):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if sparsify_every is not None:
        sparsify_every = positive_int(sparsify_every, "sparsify_every")
    c_N = check_strength(c_N, "c_N")
    urn.penalty(c_W=c_W, c_syn=c_syn, gamma=gamma)  # checks the strengths (and the geometry)
    gen = generator(seed)
    opt = torch.optim.Adam(urn.parameters(), lr=lr)
    dev = urn.net.weight.device
    records = []
    steps = 0
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(x_train.shape[0], generator=gen).to(dev)
        total, batches = 0.0, 0
        for i in range(0, x_train.shape[0], batch_size):
            idx = perm[i : i + batch_size]
            ce = F.cross_entropy(urn(x_train[idx]), y_train[idx])
            loss = ce + urn.penalty(c_N=c_N)
            if not proximal:
                loss = loss + urn.penalty(c_W=c_W, c_syn=c_syn, gamma=gamma)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"the loss is {float(loss)} at epoch {epoch}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if proximal and (c_W or c_syn):
                urn.proximal_step(opt, c_W=c_W, c_syn=c_syn, gamma=gamma)
            steps += 1
            if sparsify_every is not None and steps % sparsify_every == 0:
                urn.sparsify(optimizer=opt)
            total += float(ce.detach())
            batches += 1
        seconds = time.perf_counter() - t0
        record: dict = {"epoch": epoch, "loss": total / batches}
        if x_test is not None:
            record["test_acc"] = accuracy(urn, x_test, y_test)  # type: ignore[arg-type]
        record.update(edges=urn.num_edges, density=urn.density, kernel=urn.kernel, seconds=seconds)
        records.append(record)
        if log is not None:
            log(record)
    return records
