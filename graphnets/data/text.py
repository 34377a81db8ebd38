"""Next-character prediction from the previous characters, on a text that ships with Python.

The task of ``001_…`` §4.6: the input is a one-hot encoding of the previous ``context``
symbols (20 there, so 540 inputs), the output a distribution over the next one, among 27 symbols
(the Latin alphabet and the space: the text is lowercased and everything else becomes a space,
runs of spaces one space). The thesis used Enwik9 (a Wikipedia dump, a download); here the text
is Python's own help (``pydoc_data.topics``, the language reference behind ``help('if')``),
about 0.4 M symbols of English prose and code that every CPython carries.

Training windows come from the first 90% of the text, test windows from the last 10%, so no
test window overlaps a training one.

Not done here: other texts, word-level prediction.
"""

from __future__ import annotations

import re

import numpy as np
import torch

from .._util.checks import positive_int

__all__ = ["ALPHABET", "python_help_text", "encode", "next_char"]

#: The 27 symbols, in the order of their indices.
ALPHABET = " abcdefghijklmnopqrstuvwxyz"


def python_help_text() -> str:
    """Python's help topics (``pydoc_data.topics``) reduced to :data:`ALPHABET`.

    Raises:
        ModuleNotFoundError: for a Python built without ``pydoc_data`` (some minimal
            distributions strip it).

    Example:
        >>> text = python_help_text()
        >>> len(text) > 300_000, set(text) <= set(ALPHABET)
        (True, True)
    """
    try:
        from pydoc_data.topics import topics
    except ImportError:  # pragma: no cover - every CPython ships it
        raise ModuleNotFoundError(
            "this Python has no pydoc_data (its help topics), the text of next_char; install "
            "the full standard library of your Python"
        ) from None
    raw = " ".join(topics[k] for k in sorted(topics)).lower()
    return re.sub(" +", " ", re.sub("[^a-z]+", " ", raw)).strip()


def encode(text: str) -> np.ndarray:
    """The index of every symbol of ``text`` in :data:`ALPHABET` (``int64``).

    Raises:
        ValueError: for a symbol outside the alphabet (named).

    Example:
        >>> encode("ab z").tolist()
        [1, 2, 0, 26]
    """
    codes = np.frombuffer(text.encode("ascii", errors="replace"), dtype=np.uint8).astype(np.int64)
    index = np.full(256, -1, dtype=np.int64)
    index[np.frombuffer(ALPHABET.encode(), dtype=np.uint8)] = np.arange(len(ALPHABET))
    out = index[codes]
    if (out < 0).any():
        bad = text[int(np.flatnonzero(out < 0)[0])]
        raise ValueError(f"symbol {bad!r} is not in the alphabet {ALPHABET!r}")
    return out


def next_char(
    *,
    context: int = 20,
    n_train: int = 20_000,
    n_test: int = 4_000,
    seed: int | None = 0,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Windows of :func:`python_help_text`: the previous ``context`` symbols, one-hot, and the
    next symbol (``001_…`` §4.6).

    Args:
        context (int): symbols of context (default: ``20``: 540 inputs).
        n_train, n_test (int): windows drawn at random positions of the first 90% and the last
            10% of the text (default: ``20_000`` and ``4_000``).
        seed (int, optional): of the positions; ``None`` draws fresh ones (default: ``0``).
        dtype (torch.dtype): floating dtype of the one-hot inputs (default: ``torch.float32``).

    Shapes:
        - **x_train:** ``[n_train, 27 · context]``, symbol ``k`` of the window in columns
          ``27k .. 27k + 26``; **y_train:** ``[n_train]`` (``int64`` in ``0..26``)
        - **x_test:** ``[n_test, 27 · context]``, **y_test:** ``[n_test]``

    Returns:
        tuple: ``(x_train, y_train, x_test, y_test)``.

    Raises:
        ValueError: for a size that is not a positive int, or more windows than the part of
            the text holds.
        TypeError: for a seed or dtype of the wrong type.

    Example:
        >>> x, y, xt, yt = next_char(context=20, n_train=100, n_test=10)
        >>> x.shape, y.shape, int(x.sum(1).max()), int(y.max()) < 27
        (torch.Size([100, 540]), torch.Size([100]), 20, True)
    """
    context = positive_int(context, "context")
    n_train = positive_int(n_train, "n_train")
    n_test = positive_int(n_test, "n_test")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be None or an int, got {seed!r}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"dtype must be a floating torch.dtype such as torch.float32, got {dtype!r}"
        )
    codes = encode(python_help_text())
    cut = int(0.9 * codes.size)
    rng = np.random.default_rng(seed)
    out = []
    for part, n, name in ((codes[:cut], n_train, "n_train"), (codes[cut:], n_test, "n_test")):
        windows = part.size - context
        if n > windows:
            raise ValueError(
                f"{name}={n} is more than the {windows} windows of its part of the text; ask "
                "for fewer"
            )
        start = rng.choice(windows, size=n, replace=False)
        idx = start[:, None] + np.arange(context)  # [n, context]
        x = np.zeros((n, context, len(ALPHABET)), dtype=np.float32)
        np.put_along_axis(x, part[idx][:, :, None], 1.0, axis=2)
        out += [
            torch.as_tensor(x.reshape(n, -1), dtype=dtype),
            torch.as_tensor(part[start + context], dtype=torch.long),
        ]
    return out[0], out[1], out[2], out[3]
