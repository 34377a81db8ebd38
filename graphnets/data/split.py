"""The checks and the stratified split that every bundled image data set shares."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["check_split", "stratified_split"]


def check_split(
    test_size: object, seed: object, dtype: object, *, samples: int, classes: int, unit: str
) -> None:
    """Refuse a ``test_size``, ``seed`` or ``dtype`` that cannot split ``samples`` items of
    ``classes`` classes so that both parts hold every class; ``unit`` names the items.

    Raises:
        TypeError: if ``test_size`` is not a number, ``seed`` not ``None`` or an int, or
            ``dtype`` not a floating ``torch.dtype``.
        ValueError: if ``test_size`` leaves a part without some class.

    Example:
        >>> check_split(0.25, 0, torch.float32, samples=100, classes=10, unit="images")
        >>> try:
        ...     check_split(95, 0, torch.float32, samples=100, classes=10, unit="images")
        ... except ValueError as err:
        ...     print(str(err)[:46])
        test_size must be a number of images in 10..90
    """
    lo, hi = classes, samples - classes
    one = unit[:-1] if unit.endswith("s") else unit
    numbers = (int, float, np.integer, np.floating)
    if isinstance(test_size, bool) or not isinstance(test_size, numbers):
        raise TypeError(
            f"test_size must be a float in (0, 1) or an int in {lo}..{hi}, got {test_size!r}"
        )
    if isinstance(test_size, (int, np.integer)):
        if not lo <= test_size <= hi:
            raise ValueError(
                f"test_size must be a number of {unit} in {lo}..{hi} (every class needs a test "
                f"and a training {one}), got {test_size}"
            )
    elif not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size}")
    else:
        n_test = int(np.ceil(test_size * samples))
        if not lo <= n_test <= hi:
            raise ValueError(
                f"test_size {test_size} gives {n_test} test {unit}; every class needs a test and "
                f"a training {one}, so choose a fraction giving {lo}..{hi} {unit}"
            )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be None or an int, got {seed!r}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"dtype must be a floating torch.dtype such as torch.float32, got {dtype!r}"
        )


def stratified_split(
    x: np.ndarray, y: np.ndarray, test_size: float | int, seed: int | None, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x_train, y_train, x_test, y_test)``: ``sklearn``'s ``train_test_split`` stratified by
    ``y``, the same for the same ``seed`` (``None``: a fresh split); ``x`` as ``dtype``, ``y``
    as ``int64``."""
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=None if seed is None else int(seed)
    )
    return (
        torch.as_tensor(x_train, dtype=dtype),
        torch.as_tensor(y_train, dtype=torch.long),
        torch.as_tensor(x_test, dtype=dtype),
        torch.as_tensor(y_test, dtype=torch.long),
    )
