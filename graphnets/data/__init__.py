"""Small real data sets for examples, tests and the demo, loaded without a network connection.

:func:`digits` is scikit-learn's bundled copy of the UCI handwritten digits (1,797 images of
8×8 pixels, 10 classes), so it works offline and loads in a few milliseconds.
:mod:`graphnets.data.reber` generates the Reber grammar strings and the valid/invalid
classification data set of the recurrent experiments. :mod:`graphnets.data.cell_space`
generates architecture cells (networkx graphs with an operation per edge or per node) with a
known hidden score, to test architecture rankers.

Not done here: no augmentation, no normalisation beyond scaling pixels to ``[0, 1]``.
"""

from __future__ import annotations

import numpy as np
import torch

from . import cell_space, reber

__all__ = ["digits", "reber", "cell_space"]

#: Number of samples and classes of the digits data (for validating split sizes).
_DIGITS_SAMPLES = 1797
_DIGITS_CLASSES = 10


def digits(
    *,
    test_size: float | int = 0.25,
    seed: int | None = 0,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The digits data (``sklearn.datasets.load_digits``) as a stratified train/test split.

    Pixels (0..16) are divided by 16, so features lie in ``[0, 1]``. The split keeps the class
    proportions in both parts (``sklearn.model_selection.train_test_split(stratify=y)``) and
    is the same for the same ``seed``.

    Args:
        test_size (float or int): fraction of the samples in the test set, in ``(0, 1)``, or
            their number, from 10 to 1787 (both parts must hold every class) (default: ``0.25``).
        seed (int, optional): seed of the split; ``None`` draws a fresh split (default: ``0``).
        dtype (torch.dtype): floating dtype of the features (default: ``torch.float32``).

    Shapes:
        - **x_train:** ``[n_train, 64]``, **y_train:** ``[n_train]`` (``int64`` labels 0..9)
        - **x_test:** ``[n_test, 64]``, **y_test:** ``[n_test]``

    Returns:
        tuple: ``(x_train, y_train, x_test, y_test)``.

    Raises:
        TypeError: if ``test_size``, ``seed`` or ``dtype`` has the wrong type.
        ValueError: if ``test_size`` is out of range.

    Example:
        >>> x_train, y_train, x_test, y_test = digits(seed=0)
        >>> x_train.shape, x_test.shape, y_train.dtype
        (torch.Size([1347, 64]), torch.Size([450, 64]), torch.int64)
        >>> float(x_train.min()), float(x_train.max())
        (0.0, 1.0)
    """
    _check_test_size(test_size)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be None or an int, got {seed!r}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"dtype must be a floating torch.dtype such as torch.float32, got {dtype!r}"
        )

    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = data.data / 16.0
    y = data.target
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=None if seed is None else int(seed)
    )
    return (
        torch.as_tensor(x_train, dtype=dtype),
        torch.as_tensor(y_train, dtype=torch.long),
        torch.as_tensor(x_test, dtype=dtype),
        torch.as_tensor(y_test, dtype=torch.long),
    )


def _check_test_size(test_size: float | int) -> None:
    lo, hi = _DIGITS_CLASSES, _DIGITS_SAMPLES - _DIGITS_CLASSES
    numbers = (int, float, np.integer, np.floating)
    if isinstance(test_size, bool) or not isinstance(test_size, numbers):
        raise TypeError(
            f"test_size must be a float in (0, 1) or an int in {lo}..{hi}, got {test_size!r}"
        )
    if isinstance(test_size, (int, np.integer)):
        if not lo <= test_size <= hi:
            raise ValueError(
                f"test_size must be a number of samples in {lo}..{hi} (every class needs a test "
                f"and a training sample), got {test_size}"
            )
    elif not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size}")
    else:
        n_test = int(np.ceil(test_size * _DIGITS_SAMPLES))
        if not lo <= n_test <= hi:
            raise ValueError(
                f"test_size {test_size} gives {n_test} test samples; every class needs a test and "
                f"a training sample, so choose a fraction giving {lo}..{hi} samples"
            )
