"""The next-character task on Python's help text: the alphabet, windows that decode back to the
text, disjoint train and test parts, and every error message."""

import pytest
import torch

from graphnets.data import text


def _decode(x, context):
    return [
        "".join(text.ALPHABET[i] for i in row)
        for row in x.reshape(x.shape[0], context, 27).argmax(2).tolist()
    ]


def test_text_is_the_27_symbols_of_pythons_help():
    from pydoc_data.topics import topics

    t = text.python_help_text()
    assert set(t) == set(text.ALPHABET) and "  " not in t
    assert "the assert statement" in t and len(t) > 300_000
    assert len(topics) > 50  # the source it reduces


def test_encode_and_its_error():
    assert text.encode("hello world").tolist() == [8, 5, 12, 12, 15, 0, 23, 15, 18, 12, 4]
    with pytest.raises(ValueError, match=r"symbol 'H' is not in the alphabet"):
        text.encode("Hi")


def test_next_char_windows_are_the_text_and_its_next_symbol():
    t = text.python_help_text()
    cut = int(0.9 * len(t))
    x, y, xt, yt = text.next_char(context=8, n_train=200, n_test=50, seed=3)
    assert x.shape == (200, 216) and xt.shape == (50, 216) and y.dtype == torch.int64
    assert torch.equal(x.sum(1), torch.full((200,), 8.0))  # one symbol per position
    for part, xs, ys in ((t[:cut], x, y), (t[cut:], xt, yt)):
        for window, nxt in zip(_decode(xs, 8), ys.tolist(), strict=True):
            assert window + text.ALPHABET[nxt] in part
    again = text.next_char(context=8, n_train=200, n_test=50, seed=3)
    assert all(torch.equal(a, b) for a, b in zip((x, y, xt, yt), again, strict=True))


def test_next_char_errors():
    with pytest.raises(ValueError, match=r"context must be a positive int, got 0"):
        text.next_char(context=0)
    with pytest.raises(ValueError, match=r"n_test=10000000 is more than the .* windows"):
        text.next_char(n_test=10_000_000)
    with pytest.raises(TypeError, match=r"seed must be None or an int, got 'a'"):
        text.next_char(seed="a")
    with pytest.raises(TypeError, match=r"dtype must be a floating torch.dtype"):
        text.next_char(dtype=torch.long)
