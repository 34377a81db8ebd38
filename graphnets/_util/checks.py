"""Argument checks shared by every layer; each message names the value and what is accepted."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import torch

__all__ = ["positive_int", "nonnegative_int", "amount", "choice", "is_int", "check_finite"]


def is_int(value: object) -> bool:
    """Whether ``value`` is an integer (numpy integers included, ``bool`` excluded)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(value: object, name: str) -> int:
    """``value`` as an int if it is an integer ``>= 1``, else ``ValueError`` naming it.

    Example:
        >>> positive_int(3, "steps")
        3
    """
    if not is_int(value) or value < 1:  # type: ignore[operator]
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)  # type: ignore[call-overload]


def nonnegative_int(value: object, name: str) -> int:
    """``value`` as an int if it is an integer ``>= 0``, else ``ValueError`` naming it."""
    if not is_int(value) or value < 0:  # type: ignore[operator]
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return int(value)  # type: ignore[call-overload]


def amount(value: object, total: int, name: str = "amount") -> int:
    """How many of ``total`` elements ``value`` asks for: an int count or a float fraction.

    The rule of ``torch.nn.utils.prune``: an int in ``[0, total]`` is a count, a float in
    ``[0, 1]`` a fraction, rounded to the nearest count (half to even, as Python's ``round``).

    Raises:
        TypeError: for anything but an int or a float (``bool`` included).
        ValueError: for a count or a fraction out of range.

    Example:
        >>> amount(0.25, 10), amount(3, 10)
        (2, 3)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be an int (how many) or a float in [0, 1] (what fraction), got "
            f"{type(value).__name__} {value!r}"
        )
    if isinstance(value, numbers.Integral):
        count = int(value)
        if not 0 <= count <= total:
            raise ValueError(
                f"{name} must be a count in [0, {total}], got {count}; pass a float for a fraction"
            )
        return count
    value = float(value)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(
            f"{name} must be a fraction in [0, 1], got {value}; pass an int for a count"
        )
    return int(round(value * total))


def choice(value: object, accepted: Sequence[str], what: str) -> str:
    """``value`` if it is one of ``accepted``, else ``ValueError`` listing them.

    Example:
        >>> choice("gin", ("gin", "sage"), "conv")
        'gin'
    """
    if not isinstance(value, str) or value not in accepted:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(accepted)}")
    return value


def check_finite(values: torch.Tensor, name: Callable[[int], str]) -> None:
    """``ValueError`` naming the first non-finite entry ``i`` of ``values`` as ``name(i)``.

    Example:
        >>> check_finite(torch.tensor([1.0, float("nan")]), lambda i: f"weight {i}")
        Traceback (most recent call last):
        ...
        ValueError: weight 1 is nan; weights and biases must be finite
    """
    if not bool(torch.isfinite(values).all()):  # one pass, and the search only on failure
        i = int((~torch.isfinite(values)).nonzero()[0, 0])
        raise ValueError(f"{name(i)} is {float(values[i])}; weights and biases must be finite")
