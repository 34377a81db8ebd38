"""The Reber grammar: strings, a validity check, one-hot encoding and the classification data set.

The Reber grammar (Reber 1967) is the finite-state automaton used as a benchmark by Hochreiter &
Schmidhuber's LSTM paper and, as a true/false classification task, by the deepstruct paper
(``002_…`` §4.2). After ``B`` the automaton walks states 0..5 and ends with ``E``::

    state  symbol -> next      symbol -> next
      0      T    -> 1           P    -> 2
      1      S    -> 1           X    -> 3
      2      T    -> 2           V    -> 4
      3      X    -> 2           S    -> 5
      4      P    -> 3           V    -> 5
      5      E    -> end

so ``BTXSE``, ``BPVVE`` and ``BPTVPXTTVVE`` are Reber strings. An *embedded* Reber string is
``B``, then ``T`` or ``P``, a Reber string, the same ``T`` or ``P``, and ``E`` (``BTBPVVETE``);
remembering the second symbol across the inner string is what makes it hard for simple RNNs.

- :func:`generate` draws strings by walking the automaton with a uniform choice at each branch.
- :func:`is_valid` runs the automaton; :func:`corrupt` makes invalid strings by one small edit.
- :func:`encode` / :func:`decode` convert to and from zero-padded one-hot tensors over
  :data:`ALPHABET`.
- :func:`dataset` is the balanced valid/invalid data set of §4.2 (25,000 strings, 75/25 split).

Not done here: strings are not deduplicated, so short strings (``BTXSE`` is 1 in 8 draws) occur
many times and appear in both the training and the test split, as in the paper's set-up.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

__all__ = [
    "ALPHABET",
    "ReberData",
    "corrupt",
    "dataset",
    "decode",
    "encode",
    "generate",
    "is_valid",
]

#: The seven symbols, in the order of the one-hot channels of :func:`encode`.
ALPHABET = "BTPSXVE"

# state -> {symbol: next state}; state 6 is "after E" and accepts nothing. Dict order is the
# branch order of generate (choice 0, choice 1), so one table drives both walking and checking.
_END = 6
_TRANSITIONS: dict[int, dict[str, int]] = {
    0: {"T": 1, "P": 2},
    1: {"S": 1, "X": 3},
    2: {"T": 2, "V": 4},
    3: {"X": 2, "S": 5},
    4: {"P": 3, "V": 5},
    5: {"E": _END},
}
# symbols an edit may insert or substitute: B and E never occur inside a plain Reber string, so
# placing them there would make negatives trivially recognisable
_EDIT_SYMBOLS = "TPSXV"
_KINDS = ("substitute", "insert", "delete", "swap")


class ReberData(NamedTuple):
    """Train/test split of :func:`dataset`; ``fit(net, *data[:4])`` trains on it."""

    #: ``[n_train, T, 7]`` one-hot, zero-padded to the longest string of both splits
    x_train: torch.Tensor
    #: ``[n_train]`` ``int64``, 1 = valid Reber string, 0 = corrupted
    y_train: torch.Tensor
    #: ``[n_test, T, 7]``
    x_test: torch.Tensor
    #: ``[n_test]``
    y_test: torch.Tensor
    #: the training strings, in the order of ``x_train``
    strings_train: list[str]
    #: the test strings, in the order of ``x_test``
    strings_test: list[str]


def generate(
    n: int, *, embedded: bool = False, seed: int | np.random.Generator | None = None
) -> list[str]:
    """Draw ``n`` Reber strings (or embedded Reber strings) by walking the automaton.

    At each state both outgoing edges are taken with probability 1/2, so the length is
    unbounded but short on average (about 8 symbols; ``BTXSE`` and ``BPVVE`` each have
    probability 1/8). All strings are walked at once, one numpy step per symbol.

    Args:
        n (int): number of strings, ``>= 0``.
        embedded (bool): draw embedded Reber strings instead (default: ``False``).
        seed (int or numpy.random.Generator, optional): source of randomness; the same int
            gives the same strings, a Generator is advanced (default: ``None``, fresh entropy).

    Returns:
        list of str: ``n`` strings over :data:`ALPHABET`, each accepted by :func:`is_valid`.

    Raises:
        TypeError: if ``n``, ``embedded`` or ``seed`` has the wrong type.
        ValueError: if ``n`` is negative.

    Example:
        >>> strings = generate(3, seed=0)
        >>> strings == generate(3, seed=0), all(is_valid(s) for s in strings)
        (True, True)
        >>> all(is_valid(s, embedded=True) for s in generate(3, embedded=True, seed=0))
        True
    """
    n = _count(n, "n")
    _check_bool(embedded, "embedded")
    rng = _rng(seed)
    if not embedded:
        return _walk(n, rng)
    outer = np.array(["T", "P"])[rng.integers(0, 2, size=n)]
    return [f"B{c}{s}{c}E" for c, s in zip(outer.tolist(), _walk(n, rng), strict=True)]


def is_valid(s: str, *, embedded: bool = False) -> bool:
    """Whether ``s`` is a Reber string (or an embedded Reber string), by running the automaton.

    Any ``str`` gets an answer (the empty string, lowercase or foreign symbols are simply not
    valid); only a non-string raises.

    Args:
        s (str): the string to check.
        embedded (bool): check the embedded grammar instead (default: ``False``).

    Returns:
        bool: ``True`` if the automaton (for the embedded grammar: the outer frame and the inner
        automaton) accepts ``s``.

    Raises:
        TypeError: if ``s`` is not a ``str`` or ``embedded`` is not a bool.

    Example:
        >>> is_valid("BPTVPXTTVVE"), is_valid("BTTVPXTVPSE")
        (True, False)
        >>> is_valid("BTBTXSETE", embedded=True), is_valid("BTBTXSEPE", embedded=True)
        (True, False)
    """
    if not isinstance(s, str):
        raise TypeError(f"expected s to be a str such as 'BTXSE', got {type(s).__name__}")
    _check_bool(embedded, "embedded")
    if not embedded:
        return _accepts(s)
    return (
        len(s) >= 4
        and s[0] == "B"
        and s[1] in "TP"
        and s[-2] == s[1]
        and s[-1] == "E"
        and (_accepts(s[2:-2]))
    )


def corrupt(
    strings: Sequence[str],
    *,
    embedded: bool = False,
    seed: int | np.random.Generator | None = None,
) -> list[str]:
    """One invalid string per valid one, each a single small edit away from it.

    For each string an edit kind is drawn uniformly from *substitute* (replace one symbol by a
    different one), *insert* (add one symbol), *delete* (remove one symbol) and *swap* (exchange
    two adjacent, different symbols). The edit never touches the outer ``B`` and ``E``, and the
    inserted or substituted symbol is drawn from ``T P S X V``, so a negative looks like a Reber
    string (``B…E`` over the grammar's inner symbols) and only the transitions give it away. The
    position (and symbol) are drawn uniformly; a candidate that is still valid is rejected and
    redrawn with the same kind, so every result fails :func:`is_valid`. The redrawing always ends:
    every kind has an edit of the symbol right after the leading ``B`` that breaks the grammar
    (e.g. substituting or inserting ``S`` there).

    Args:
        strings (sequence of str): valid strings of the chosen grammar (e.g. from
            :func:`generate`).
        embedded (bool): the strings are embedded Reber strings (default: ``False``).
        seed (int or numpy.random.Generator, optional): source of randomness (default: ``None``).

    Returns:
        list of str: the corrupted strings, in the order of ``strings``.

    Raises:
        TypeError: if ``strings`` is not a sequence of str, or ``embedded`` / ``seed`` has the
            wrong type.
        ValueError: if one of ``strings`` is not valid in the chosen grammar.

    Example:
        >>> bad = corrupt(["BPTVPXTTVVE", "BTXSE"], seed=0)
        >>> [is_valid(s) for s in bad], [s[0] + s[-1] for s in bad]
        ([False, False], ['BE', 'BE'])
    """
    strings = _check_strings(strings)
    _check_bool(embedded, "embedded")
    rng = _rng(seed)
    for i, s in enumerate(strings):
        if not is_valid(s, embedded=embedded):
            grammar = "embedded Reber" if embedded else "Reber"
            raise ValueError(f"expected valid {grammar} strings to corrupt, got {s!r} at index {i}")
    return _corrupt(strings, embedded, rng)[0]


def _corrupt(
    strings: list[str], embedded: bool, rng: np.random.Generator
) -> tuple[list[str], np.ndarray]:
    """:func:`corrupt` without checks; also returns the edit kind of each string (``_KINDS``)."""
    m = len(strings)
    kinds = rng.integers(0, len(_KINDS), size=m)
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=m)
    # editable positions are 1..len-2 (all but the outer B and E); slots 1..len-1 for insert;
    # a swap exchanges positions i and i+1, both editable
    high = np.select([kinds == 1, kinds == 3], [lengths, lengths - 2], lengths - 1)
    out: list[str] = list(strings)
    pending = np.arange(m)
    while pending.size:
        pos = rng.integers(1, high[pending]).tolist()
        sym = rng.integers(0, len(_EDIT_SYMBOLS), size=pending.size).tolist()
        still_valid = []
        for i, p, c in zip(pending.tolist(), pos, sym, strict=True):
            s, c = strings[i], _EDIT_SYMBOLS[c]
            kind = kinds[i]
            if kind == 0:
                t = s[:p] + c + s[p + 1 :]
            elif kind == 1:
                t = s[:p] + c + s[p:]
            elif kind == 2:
                t = s[:p] + s[p + 1 :]
            else:
                t = s[:p] + s[p + 1] + s[p] + s[p + 2 :]
            if is_valid(t, embedded=embedded):  # also catches no-op edits (same symbol)
                still_valid.append(i)
            else:
                out[i] = t
        pending = np.asarray(still_valid, dtype=np.int64)
    return out, kinds


def encode(
    strings: Sequence[str],
    *,
    max_length: int | None = None,
    batch_first: bool = True,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """One-hot encode strings over :data:`ALPHABET`, zero-padded after each string's end.

    Channel ``k`` is ``ALPHABET[k]`` (``B T P S X V E``). Rows after a string's last symbol are
    all zeros, so a string's length is its number of nonzero rows and :func:`decode` inverts
    this exactly. Built with one scatter, so 25,000 strings take milliseconds.

    Args:
        strings (sequence of str): the strings (any strings over the alphabet, valid or not).
        max_length (int, optional): number of time steps ``T``; ``None`` uses the longest
            string (default: ``None``).
        batch_first (bool): ``[B, T, 7]`` if ``True``, else ``[T, B, 7]`` (default: ``True``).
        dtype (torch.dtype): dtype of the result (default: ``torch.float32``).

    Shapes:
        - **output:** ``[B, T, 7]`` (``batch_first``) or ``[T, B, 7]``, with ``B = len(strings)``

    Returns:
        torch.Tensor: the one-hot tensor.

    Raises:
        TypeError: if ``strings`` is not a sequence of str (a bare str is refused, wrap it in a
            list), or an option has the wrong type.
        ValueError: on a symbol outside the alphabet (naming it and its position) or a string
            longer than ``max_length``.

    Example:
        >>> x = encode(["BTXSE", "BPVVE", "BPTVPXTTVVE"])
        >>> x.shape, x[0, :6].argmax(1).tolist(), x[0, 5:].abs().sum().item()
        (torch.Size([3, 11, 7]), [0, 1, 4, 3, 6, 0], 0.0)
    """
    strings = _check_strings(strings)
    if max_length is not None:
        max_length = _count(max_length, "max_length")
    _check_bool(batch_first, "batch_first")
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype such as torch.float32, got {dtype!r}")

    n = len(strings)
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=n)
    longest = int(lengths.max()) if n else 0
    if max_length is None:
        max_length = longest
    elif longest > max_length:
        i = int(lengths.argmax())
        raise ValueError(
            f"string {i} has length {longest} > max_length {max_length}; pass max_length >= "
            f"{longest} or None"
        )
    # utf-32 gives one code point per character, so positions match Python's indexing
    codes = np.frombuffer("".join(strings).encode("utf-32-le"), dtype=np.uint32)
    index = np.full(128, -1, dtype=np.int64)
    index[np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)] = np.arange(len(ALPHABET))
    channel = np.where(codes < 128, index[np.minimum(codes, 127)], -1)
    row = np.repeat(np.arange(n), lengths)
    col = np.arange(len(codes)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    bad = np.flatnonzero(channel < 0)
    if bad.size:
        i, p = int(row[bad[0]]), int(col[bad[0]])
        raise ValueError(
            f"symbol {strings[i][p]!r} at position {p} of string {i} ({_short(strings[i])}) is "
            f"not in the alphabet {ALPHABET!r}"
        )
    x = torch.zeros(n, max_length, len(ALPHABET), dtype=dtype)
    x[torch.from_numpy(row), torch.from_numpy(col), torch.from_numpy(channel)] = 1
    return x if batch_first else x.transpose(0, 1).contiguous()


def decode(x: torch.Tensor, *, batch_first: bool = True) -> list[str]:
    """The strings of a one-hot tensor from :func:`encode` (all-zero rows are padding).

    Each nonzero row is read as its largest channel, so soft predictions decode too.

    Args:
        x (torch.Tensor): ``[B, T, 7]`` (or ``[T, B, 7]`` with ``batch_first=False``).
        batch_first (bool): layout of ``x`` (default: ``True``).

    Returns:
        list of str: ``B`` strings.

    Raises:
        TypeError: if ``x`` is not a tensor.
        ValueError: if ``x`` is not 3-d with 7 channels.

    Example:
        >>> decode(encode(["BTXSE", "BPVVE", "BPTVPXTTVVE"]))
        ['BTXSE', 'BPVVE', 'BPTVPXTTVVE']
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected x to be a torch.Tensor, got {type(x).__name__}")
    _check_bool(batch_first, "batch_first")
    if x.dim() != 3 or x.shape[2] != len(ALPHABET):
        raise ValueError(f"expected x of shape [B, T, {len(ALPHABET)}], got {list(x.shape)}")
    if not batch_first:
        x = x.transpose(0, 1)
    symbols = np.array(list(ALPHABET + "\0"))
    x = x.detach().cpu()
    channel = x.argmax(2).numpy()
    channel[(x != 0).any(2).logical_not().numpy()] = len(ALPHABET)
    return ["".join(row).replace("\0", "") for row in symbols[channel].tolist()]


def dataset(
    n: int = 25000,
    *,
    test_size: float | int = 0.25,
    embedded: bool = False,
    seed: int | np.random.Generator | None = None,
) -> ReberData:
    """The balanced valid/invalid Reber data set of ``002_…`` §4.2, split into train and test.

    ``n / 2`` strings come from :func:`generate` (label 1) and ``n / 2`` are other generated
    strings, each broken by :func:`corrupt` (label 0): one edit drawn uniformly from substitute /
    insert / delete / swap inside the ``B…E`` frame, redrawn while the result is still valid. On
    ``dataset(seed=0)`` the 12,500 negatives hold 3,134 substitutions, 3,128 insertions,
    3,074 deletions and 3,164 swaps. The split is stratified (each part as close to
    half valid as its size allows), both parts are shuffled, and the one-hot tensors of both
    parts are padded to the same length, the longest string of the whole set.

    Args:
        n (int): number of strings, even and ``>= 4`` (default: ``25000``, as in the paper).
        test_size (float or int): fraction of the strings in the test split, in ``(0, 1)``
            (``round(n * test_size)`` strings), or their number; both parts need two strings
            (default: ``0.25``, giving 18,750 / 6,250).
        embedded (bool): use the embedded Reber grammar (default: ``False``).
        seed (int or numpy.random.Generator, optional): same int, same data set
            (default: ``None``).

    Shapes:
        - **x_train:** ``[n_train, T, 7]``, **y_train:** ``[n_train]`` (``int64``, 1 = valid)
        - **x_test:** ``[n_test, T, 7]``, **y_test:** ``[n_test]``

    Returns:
        ReberData: ``(x_train, y_train, x_test, y_test, strings_train, strings_test)``; the
        first four are the arguments of ``graphnets.train.fit`` after the net.

    Raises:
        TypeError: if an argument has the wrong type.
        ValueError: if ``n`` is odd or below 4, or ``test_size`` leaves a part with fewer than
            two strings.

    Example:
        >>> data = dataset(1000, seed=0)
        >>> data.x_train.shape[0], data.x_test.shape[0], int(data.y_test.sum())
        (750, 250, 125)
        >>> all(is_valid(s) == bool(y) for s, y in zip(data.strings_test, data.y_test))
        True
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be an even int >= 4, got {n!r}")
    n = int(n)
    if n < 4 or n % 2:
        raise ValueError(
            f"n must be an even int >= 4 (half valid, half invalid, both in each split), got {n}"
        )
    n_test = _n_test(test_size, n)
    _check_bool(embedded, "embedded")
    rng = _rng(seed)

    half = n // 2
    strings = generate(n, embedded=embedded, seed=rng)
    strings[half:] = _corrupt(strings[half:], embedded, rng)[0]
    labels = np.repeat(np.array([1, 0]), half)

    # stratified: each class gives half the test strings, an odd one goes to a random class
    test_pos = n_test // 2 + (int(rng.integers(0, 2)) if n_test % 2 else 0)
    pos, neg = rng.permutation(half), half + rng.permutation(half)
    test = rng.permutation(np.concatenate([pos[:test_pos], neg[: n_test - test_pos]]))
    train = rng.permutation(np.concatenate([pos[test_pos:], neg[n_test - test_pos :]]))

    x = encode(strings)
    y = torch.from_numpy(labels)
    return ReberData(
        x[torch.from_numpy(train)],
        y[torch.from_numpy(train)],
        x[torch.from_numpy(test)],
        y[torch.from_numpy(test)],
        [strings[i] for i in train.tolist()],
        [strings[i] for i in test.tolist()],
    )


def _walk(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` Reber strings, walked in parallel: column t holds every string's t-th symbol."""
    nxt_sym = np.zeros((_END + 1, 2), dtype=np.uint8)  # 0 = no symbol (padding)
    nxt_state = np.full((_END + 1, 2), _END, dtype=np.int64)
    for state, edges in _TRANSITIONS.items():
        pairs = list(edges.items()) * (3 - len(edges))  # a single edge fills both choices
        for choice, (sym, to) in enumerate(pairs[:2]):
            nxt_sym[state, choice], nxt_state[state, choice] = ord(sym), to
    state = np.zeros(n, dtype=np.int64)
    columns = [np.full(n, ord("B"), dtype=np.uint8)]
    while (state != _END).any():
        choice = rng.integers(0, 2, size=n)
        columns.append(nxt_sym[state, choice])
        state = nxt_state[state, choice]
    table = np.ascontiguousarray(np.stack(columns, axis=1))
    # a fixed-width bytes view drops the trailing zero padding of each row
    return table.view(f"S{table.shape[1]}").ravel().astype(str).tolist()


def _accepts(s: str) -> bool:
    if not s or s[0] != "B":
        return False
    state = 0
    for c in s[1:]:
        state = _TRANSITIONS.get(state, {}).get(c, -1)
        if state < 0:
            return False
    return state == _END


def _n_test(test_size: float | int, n: int) -> int:
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise TypeError(
            f"test_size must be a float in (0, 1) or an int in 2..{n - 2}, got {test_size!r}"
        )
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
    elif not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size}")
    else:
        n_test = round(n * test_size)
    if not 2 <= n_test <= n - 2:
        raise ValueError(
            f"test_size {test_size} gives {n_test} test strings of {n}; each split needs a valid "
            f"and an invalid string, so choose {2}..{n - 2} test strings"
        )
    return n_test


def _rng(seed: object) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (not isinstance(seed, bool) and isinstance(seed, numbers.Integral)):
        return np.random.default_rng(None if seed is None else int(seed))
    raise TypeError(f"seed must be None, an int or a numpy.random.Generator, got {seed!r}")


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= 0, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value}")
    return int(value)


def _check_bool(value: object, name: str) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}")


def _check_strings(strings: object) -> list[str]:
    if isinstance(strings, str) or not isinstance(strings, (Sequence, np.ndarray)):
        raise TypeError(
            f"expected strings to be a sequence of str (wrap a single string in a list), got "
            f"{type(strings).__name__}"
        )
    strings = list(strings)
    for i, s in enumerate(strings):
        if not isinstance(s, str):
            raise TypeError(
                f"expected strings to hold only str, got {type(s).__name__} at index {i}"
            )
    return strings


def _short(s: str, limit: int = 30) -> str:
    return repr(s) if len(s) <= limit else repr(s[:limit]) + "…"
