import itertools
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphnets.data import reber
from graphnets.data.reber import (
    ALPHABET,
    corrupt,
    dataset,
    decode,
    encode,
    generate,
    is_valid,
)

# The reference language, derived by hand from the automaton (not from reber.py's table):
#   after B: T S* X -> state 3, or P T* V -> state 4
#   L4 (from state 4) = (P X T* V)* (V | P S)   -- P goes to 3, and 3 either ends with S or
#                                                  loops back to 4 through X T* V
#   L3 (from state 3) = S | X T* V L4
_L4 = r"(PXT*V)*(V|PS)"
_REBER = rf"B(TS*X(S|XT*V{_L4})|PT*V{_L4})E"
REBER_RE = re.compile(rf"^{_REBER}$")
EMBEDDED_RE = re.compile(rf"^B([TP]){_REBER}\1E$")


def reference(s, embedded=False):
    return (EMBEDDED_RE if embedded else REBER_RE).fullmatch(s) is not None


def edit_distance(a, b):
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


# --- is_valid ---------------------------------------------------------------------------------


def test_is_valid_paper_examples():
    assert is_valid("BPTVPXTTVVE")
    assert not is_valid("BTTVPXTVPSE")


def test_is_valid_shortest_strings():
    assert is_valid("BTXSE") and is_valid("BPVVE") and is_valid("BPVPSE")
    assert is_valid("BTBTXSETE", embedded=True) and is_valid("BPBPVVEPE", embedded=True)


@pytest.mark.parametrize(
    "s",
    [
        "",
        "B",
        "E",
        "BE",
        "TXSE",  # no B
        "BTXS",  # no E
        "BTXSEE",  # symbol after E
        "BBTXSE",
        "BTXSEB",
        "BTSE",  # state 1 cannot end
        "BTTXSE",  # T in state 1
        "BPSVVE",  # S in state 2
        "BTXVE",  # V in state 3
        "BPVXE",  # X in state 4
        "BPVSE",  # S in state 4
        "BTXSSE",  # S after state 5
        "BTXXVPXVE",  # ends in state 4 without V/PS
        "btxse",
        "BTX SE",
        "BTXSE\n",
    ],
)
def test_is_valid_rejects_hand_picked(s):
    assert not is_valid(s) and not reference(s)


@pytest.mark.parametrize(
    "s",
    [
        "",
        "BTXSE",  # a plain Reber string is not an embedded one
        "BTBTXSEPE",  # T ... P mismatch
        "BPBTXSETE",  # P ... T mismatch
        "BSBTXSESE",  # frame symbol not T/P
        "BTBTTSETE",  # inner string invalid
        "BTTXSETE",  # inner string without B
        "TBTXSETE",
        "BTBTXSET",
        "BTBTXSETEE",
        "BTTE",
    ],
)
def test_is_valid_embedded_rejects_hand_picked(s):
    assert not is_valid(s, embedded=True) and not reference(s, embedded=True)


def test_is_valid_type_errors():
    with pytest.raises(TypeError, match="expected s to be a str such as 'BTXSE', got list"):
        is_valid(list("BTXSE"))
    with pytest.raises(TypeError, match="expected s to be a str .* got bytes"):
        is_valid(b"BTXSE")
    with pytest.raises(TypeError, match="embedded must be a bool, got 1"):
        is_valid("BTXSE", embedded=1)


def test_is_valid_agrees_with_regex_exhaustively():
    # every B…E string with up to 6 inner symbols from T P S X V (19,531 strings)
    for k in range(7):
        for inner in itertools.product("TPSXV", repeat=k):
            s = "B" + "".join(inner) + "E"
            assert is_valid(s) == reference(s), s


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=25))
def test_is_valid_agrees_with_regex_on_random_strings(s):
    assert is_valid(s) == reference(s)
    assert is_valid(s, embedded=True) == reference(s, embedded=True)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12))
def test_is_valid_never_raises_on_any_str(s):
    assert is_valid(s) == reference(s)
    assert is_valid(s, embedded=True) == reference(s, embedded=True)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.booleans(),
    st.sampled_from(["substitute", "insert", "delete", "swap"]),
    st.integers(0, 10**6),
    st.sampled_from(ALPHABET),
)
def test_is_valid_agrees_with_regex_on_random_corruptions(seed, embedded, kind, where, c):
    (s,) = generate(1, embedded=embedded, seed=seed)
    p = where % len(s)
    if kind == "substitute":
        t = s[:p] + c + s[p + 1 :]
    elif kind == "insert":
        t = s[:p] + c + s[p:]
    elif kind == "delete":
        t = s[:p] + s[p + 1 :]
    else:
        p = where % (len(s) - 1)
        t = s[:p] + s[p + 1] + s[p] + s[p + 2 :]
    assert is_valid(t, embedded=embedded) == reference(t, embedded=embedded)
    assert is_valid(t, embedded=not embedded) == reference(t, embedded=not embedded)


# --- generate ---------------------------------------------------------------------------------


@pytest.mark.parametrize("embedded", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 7, 2024])
def test_generate_strings_are_valid(seed, embedded):
    strings = generate(2000, embedded=embedded, seed=seed)
    assert len(strings) == 2000 and all(isinstance(s, str) for s in strings)
    assert all(is_valid(s, embedded=embedded) for s in strings)
    assert all(reference(s, embedded=embedded) for s in strings)
    assert not any(is_valid(s, embedded=not embedded) for s in strings)


def test_generate_same_seed_same_strings_other_seed_other_strings():
    assert generate(50, seed=3) == generate(50, seed=3)
    assert generate(50, seed=3) != generate(50, seed=4)
    assert generate(50, embedded=True, seed=3) == generate(50, embedded=True, seed=3)
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    first, second = generate(20, seed=a), generate(20, seed=a)  # a Generator is advanced
    assert first + second == generate(20, seed=b) + generate(20, seed=b) and first != second
    assert generate(20, seed=np.random.default_rng(5)) != generate(20, seed=a)


def test_generate_uniform_branching():
    strings = generate(20000, seed=0)
    # three branches of probability 1/2 each lead to BTXSE (and to BPVVE): 1/8, sd ~ 47
    assert abs(strings.count("BTXSE") - 2500) < 250
    assert abs(strings.count("BPVVE") - 2500) < 250
    assert abs(sum(s[1] == "T" for s in strings) - 10000) < 350
    embedded = generate(20000, embedded=True, seed=0)
    assert abs(sum(s[1] == "T" for s in embedded) - 10000) < 350


def test_generate_empty():
    assert generate(0, seed=0) == [] and generate(0, embedded=True) == []


def test_generate_errors():
    with pytest.raises(ValueError, match="n must be an int >= 0, got -1"):
        generate(-1)
    with pytest.raises(TypeError, match="n must be an int >= 0, got 2.0"):
        generate(2.0)
    with pytest.raises(TypeError, match="embedded must be a bool, got 'yes'"):
        generate(2, embedded="yes")
    with pytest.raises(TypeError, match="seed must be None, an int or a numpy.random.Gen.* 1.5"):
        generate(2, seed=1.5)
    with pytest.raises(TypeError, match="seed must be None, .* got True"):
        generate(2, seed=True)


# --- corrupt ----------------------------------------------------------------------------------


@pytest.mark.parametrize("embedded", [False, True])
def test_corrupt_is_one_edit_away_and_invalid(embedded):
    valid = generate(600, embedded=embedded, seed=1)
    bad = corrupt(valid, embedded=embedded, seed=2)
    assert len(bad) == len(valid)
    for s, t in zip(valid, bad, strict=True):
        assert not is_valid(t, embedded=embedded) and not reference(t, embedded=embedded)
        assert edit_distance(s, t) == 1
        # the outer frame is kept and no B or E is added
        assert t[0] == "B" and t[-1] == "E"
        assert t.count("B") <= s.count("B") and t.count("E") <= s.count("E")
    assert corrupt(valid, embedded=embedded, seed=2) == bad


def test_corrupt_uses_every_kind():
    valid = generate(400, seed=0)
    bad = corrupt(valid, seed=0)
    diffs = {len(t) - len(s) for s, t in zip(valid, bad, strict=True)}
    assert diffs == {-1, 0, 1}
    swaps = sum(
        len(s) == len(t) and sorted(s) == sorted(t) and s != t
        for s, t in zip(valid, bad, strict=True)
    )
    assert 50 < swaps < 150


def test_corrupt_errors():
    with pytest.raises(ValueError, match="valid Reber strings to corrupt, got 'BTTE' at index 1"):
        corrupt(["BTXSE", "BTTE"])
    with pytest.raises(ValueError, match="expected valid embedded Reber strings .* got 'BTXSE'"):
        corrupt(["BTXSE"], embedded=True)
    with pytest.raises(TypeError, match="sequence of str .* got str"):
        corrupt("BTXSE")


# --- encode / decode --------------------------------------------------------------------------


def test_encode_hand_example():
    x = encode(["BTXSE", "BPVVE", "BPTVPXTTVVE"])
    assert x.shape == (3, 11, 7) and x.dtype == torch.float32
    expected = torch.zeros(11, 7)
    for t, c in enumerate("BTXSE"):
        expected[t, "BTPSXVE".index(c)] = 1
    assert torch.equal(x[0], expected)


@pytest.mark.parametrize("embedded", [False, True])
def test_encode_round_trip_and_zero_padding(embedded):
    strings = generate(300, embedded=embedded, seed=0) + ["", "EEB"]
    x = encode(strings)
    assert x.shape == (302, max(map(len, strings)), 7)
    assert decode(x) == strings
    lengths = torch.tensor([len(s) for s in strings])
    nonzero = (x != 0).any(2)
    assert torch.equal(nonzero.sum(1), lengths)
    steps = torch.arange(x.shape[1])
    assert torch.equal(nonzero, steps[None, :] < lengths[:, None])  # padding only after the end
    assert torch.equal(x.sum(2), nonzero.float())  # exactly one hot symbol per real step


def test_encode_time_first_max_length_dtype():
    strings = ["BTXSE", "BPVPSE"]
    x = encode(strings, max_length=9, batch_first=False, dtype=torch.float64)
    assert x.shape == (9, 2, 7) and x.dtype == torch.float64
    assert torch.equal(x.transpose(0, 1), encode(strings, max_length=9, dtype=torch.float64))
    assert decode(x, batch_first=False) == strings
    assert encode([]).shape == (0, 0, 7) and encode([], max_length=4).shape == (0, 4, 7)


def test_encode_errors():
    msg = r"symbol 'A' at position 2 of string 1 \('BTAXSE'\) is not in the alphabet 'BTPSXVE'"
    with pytest.raises(ValueError, match=msg):
        encode(["BTXSE", "BTAXSE"])
    with pytest.raises(ValueError, match=r"symbol 'é' at position 0 of string 0"):
        encode(["éBT"])
    with pytest.raises(ValueError, match=r"symbol '\\x00' at position 5 of string 0"):
        encode(["BTXSE\0"])
    msg = "string 1 has length 6 > max_length 5; pass max_length >= 6 or None"
    with pytest.raises(ValueError, match=msg):
        encode(["BTXSE", "BPVPSE"], max_length=5)
    with pytest.raises(ValueError, match="max_length must be an int >= 0, got -1"):
        encode(["BTXSE"], max_length=-1)
    with pytest.raises(TypeError, match=r"str \(wrap a single string in a list\), got str"):
        encode("BTXSE")
    with pytest.raises(TypeError, match="expected strings to hold only str, got int at index 1"):
        encode(["BTXSE", 3])
    with pytest.raises(TypeError, match="dtype must be a torch.dtype .* got 'float'"):
        encode(["BTXSE"], dtype="float")


def test_decode_errors():
    with pytest.raises(TypeError, match="expected x to be a torch.Tensor, got list"):
        decode([[0.0] * 7])
    with pytest.raises(ValueError, match=r"expected x of shape \[B, T, 7\], got \[2, 5\]"):
        decode(torch.zeros(2, 5))


# --- dataset ----------------------------------------------------------------------------------


def test_dataset_default_is_the_papers_split():
    data = dataset(seed=0)
    x_train, y_train, x_test, y_test, *_ = data
    assert x_train.shape[0] == 18750 and x_test.shape[0] == 6250
    assert x_train.shape[1:] == x_test.shape[1:] and x_train.shape[2] == 7
    assert x_train.shape[1] == max(map(len, data.strings_train + data.strings_test))
    assert y_train.dtype == y_test.dtype == torch.int64
    assert int(y_train.sum()) == 9375 and int(y_test.sum()) == 3125
    assert len(data.strings_train) == 18750 and len(data.strings_test) == 6250


def test_dataset_default_corruption_mix_is_the_documented_one():
    # dataset draws the strings, then corrupts the second half, from one generator
    rng = np.random.default_rng(0)
    strings = generate(25000, seed=rng)
    bad, kinds = reber._corrupt(strings[12500:], False, rng)
    assert np.bincount(kinds).tolist() == [3134, 3128, 3074, 3164]
    data = dataset(seed=0)
    assert sorted(data.strings_train + data.strings_test) == sorted(strings[:12500] + bad)
    assert "3,134 substitutions, 3,128 insertions,\n    3,074 deletions and 3,164 swaps" in (
        dataset.__doc__
    )


@pytest.mark.parametrize("embedded", [False, True])
def test_dataset_labels_match_the_grammar(embedded):
    data = dataset(2000, embedded=embedded, seed=1)
    for strings, x, y in [
        (data.strings_train, data.x_train, data.y_train),
        (data.strings_test, data.x_test, data.y_test),
    ]:
        assert y.tolist() == [int(is_valid(s, embedded=embedded)) for s in strings]
        assert y.tolist() == [int(reference(s, embedded=embedded)) for s in strings]
        assert decode(x) == strings
        negatives = [s for s, label in zip(strings, y.tolist(), strict=True) if label == 0]
        assert all(s[0] == "B" and s[-1] == "E" for s in negatives)
    assert int(data.y_train.sum()) == 750 and int(data.y_test.sum()) == 250


def test_dataset_is_shuffled():
    y = dataset(1000, seed=0).y_train.tolist()
    # no long runs of one label (a sorted set would have one run of 375)
    runs = max(len(list(g)) for _, g in itertools.groupby(y))
    assert runs < 20


def test_dataset_same_seed_same_data_other_seed_other_data():
    a, b, c = dataset(400, seed=3), dataset(400, seed=3), dataset(400, seed=4)
    for u, v in zip(a[:4], b[:4], strict=True):
        assert torch.equal(u, v)
    assert a.strings_train == b.strings_train and a.strings_test == b.strings_test
    assert a.strings_train != c.strings_train


def test_dataset_test_size_count_fraction_and_odd():
    data = dataset(100, test_size=30, seed=0)
    assert len(data.strings_test) == 30 and int(data.y_test.sum()) == 15
    data = dataset(100, test_size=0.33, seed=0)
    assert len(data.strings_test) == 33 and int(data.y_test.sum()) in (16, 17)
    assert int(data.y_train.sum()) + int(data.y_test.sum()) == 50
    data = dataset(4, test_size=2, seed=0)
    assert data.y_test.tolist() in ([0, 1], [1, 0]) and sorted(data.y_train.tolist()) == [0, 1]


def test_dataset_errors():
    msg = r"n must be an even int >= 4 \(half valid, half invalid, both in each split\), got 25001"
    with pytest.raises(ValueError, match=msg):
        dataset(25001)
    with pytest.raises(ValueError, match="n must be an even int >= 4 .* got 2"):
        dataset(2)
    with pytest.raises(TypeError, match="n must be an even int >= 4, got 100.0"):
        dataset(100.0)
    with pytest.raises(ValueError, match=r"test_size must be a fraction in \(0, 1\), got 1.0"):
        dataset(100, test_size=1.0)
    msg = r"test_size 0.01 gives 1 test strings of 100; .* choose 2\.\.98 test strings"
    with pytest.raises(ValueError, match=msg):
        dataset(100, test_size=0.01)
    with pytest.raises(ValueError, match="test_size 99 gives 99 test strings of 100"):
        dataset(100, test_size=99)
    msg = r"test_size must be a float in \(0, 1\) or an int in 2\.\.98, got '0.25'"
    with pytest.raises(TypeError, match=msg):
        dataset(100, test_size="0.25")
    with pytest.raises(TypeError, match="seed must be None, an int or a numpy.random.Generator"):
        dataset(100, seed="0")
