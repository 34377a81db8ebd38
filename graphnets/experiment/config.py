"""The experiment's configuration: schema, validation, loading and merging.

A configuration is a plain nested ``dict`` with the sections of the bundled
``default.toml`` (``seed``, ``[data]``, ``[sample]``, ``[train]``, ``[measure]``, ``[predict]``,
``[report]``, ``[run]``; every key is documented in ``docs/experiment.md``). A user's TOML file
is merged over the defaults, so it only needs the keys it changes; command-line flags are
merged last. :func:`validate` checks every key and value and returns a normalised copy; a bad
one raises :class:`ConfigError` naming the key path, the value and what is accepted.

Which settings define a row of the results (:data:`COMPARABLE`) is decided here too: a results
folder keeps them, and :func:`changes` lists the ones a new configuration would alter.
"""

from __future__ import annotations

import copy
import math
import numbers
import os
from collections.abc import Callable, Mapping
from importlib import resources

import tomllib

from ..methods.analysis import PROPERTIES
from ..methods.predict.compare import PREDICTORS

__all__ = [
    "ConfigError",
    "default_config",
    "load_config",
    "merge",
    "validate",
    "changes",
    "COMPARABLE",
    "flat",
]


class ConfigError(ValueError):
    """A configuration key or value that is not accepted; the message names both."""


# -- value checkers: (value, path) -> normalised value, or ConfigError -------------------------
def _fail(path: str, expected: str, value: object) -> ConfigError:
    return ConfigError(f"{path}: expected {expected}, got {value!r}")


def _is_int(v: object) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v: object) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _int(lo: int, hi: int | None = None) -> Callable:
    what = f"an int >= {lo}" if hi is None else f"an int in [{lo}, {hi}]"

    def check(v, path):
        if not _is_int(v) or v < lo or (hi is not None and v > hi):
            raise _fail(path, what, v)
        return int(v)

    return check


def _real(
    lo: float, hi: float | None = None, *, open_lo: bool = False, open_hi: bool = False
) -> Callable:
    left, right = "(" if open_lo else "[", ")" if open_hi else "]"
    what = (
        f"a number > {lo}"
        if hi is None and open_lo
        else (f"a number >= {lo}" if hi is None else f"a number in {left}{lo}, {hi}{right}")
    )

    def check(v, path):
        ok = _is_real(v) and (v > lo if open_lo else v >= lo)
        if ok and hi is not None:
            ok = v < hi if open_hi else v <= hi
        if not ok:
            raise _fail(path, what, v)
        return float(v)

    return check


def _choice(*accepted: str) -> Callable:
    def check(v, path):
        if v not in accepted:
            raise _fail(path, "one of " + ", ".join(map(repr, accepted)), v)
        return v

    return check


def _string(v, path):
    if not isinstance(v, str):
        raise _fail(path, "a string", v)
    return v


def _int_range(lo: int, hi: int | None = None) -> Callable:
    bound = f"{lo} <= low <= high" + ("" if hi is None else f" <= {hi}")

    def check(v, path):
        if not (
            isinstance(v, list)
            and len(v) == 2
            and all(_is_int(x) and x >= lo for x in v)
            and v[0] <= v[1]
            and (hi is None or v[1] <= hi)
        ):
            raise _fail(path, f"[low, high], ints with {bound}", v)
        return [int(x) for x in v]

    return check


def _real_range(lo: float, hi: float | None = None) -> Callable:
    bound = f"{lo} <= low <= high" + ("" if hi is None else f" <= {hi}")

    def check(v, path):
        if not (
            isinstance(v, list)
            and len(v) == 2
            and all(_is_real(x) for x in v)
            and lo <= v[0] <= v[1]
            and (hi is None or v[1] <= hi)
        ):
            raise _fail(path, f"[low, high], numbers with {bound}", v)
        return [float(x) for x in v]

    return check


def _even_ints(v, path):
    if not (isinstance(v, list) and v and all(_is_int(x) and x >= 2 and x % 2 == 0 for x in v)):
        raise _fail(path, "a non-empty list of even ints >= 2", v)
    return [int(x) for x in v]


def _seeds(v, path):
    if not (isinstance(v, list) and v and all(_is_int(x) and 0 <= x <= MAX_SEED for x in v)):
        raise _fail(path, f"a non-empty list of ints in [0, {MAX_SEED}]", v)
    return [int(x) for x in v]


def _all_or_subset(accepted: tuple[str, ...]) -> Callable:
    def check(v, path):
        if v == "all":
            return "all"
        if not (isinstance(v, list) and v and all(x in accepted for x in v)):
            bad = [x for x in v if x not in accepted] if isinstance(v, list) else v
            raise ConfigError(
                f'{path}: expected "all" or a non-empty list of '
                f"{', '.join(accepted)}; got {v!r}"
                + (f" ({bad[0]!r} is unknown)" if isinstance(bad, list) and bad else "")
            )
        return [x for x in accepted if x in v]  # canonical order, no duplicates

    return check


def _all_or_count(v, path):
    if v == "all":
        return v
    if not _is_int(v) or v < 10:
        raise _fail(path, '"all" or an int >= 10', v)
    return int(v)


def _top_k(v, path):
    if _is_int(v) and v >= 1:
        return int(v)
    if _is_real(v) and 0 < v < 1:
        return float(v)
    raise _fail(path, "an int >= 1 or a fraction in (0, 1)", v)


def _properties():
    return _all_or_subset(PROPERTIES)


def _predictors():
    return _all_or_subset(PREDICTORS)


#: Target columns a predictor can learn.
TARGETS = ("test_acc", "train_acc", "loss")

#: Upper bounds, so that a typo fails at once instead of running for hours: scikit-learn's
#: seeds (the split, the cross-validation folds) are 32-bit; drawing and storing a net costs
#: time and disk per net; a net of 10,000 hidden nodes already takes seconds per epoch and
#: megabytes of disk, and one of 10**7 would not fit in memory.
#: A million epochs of the smallest net is days; a thousand worker processes is more than any
#: one machine runs (Ray clusters included, per run: use several runs).
MAX_SEED = 2**32 - 1
MAX_GRAPHS = 100_000
MAX_HIDDEN = 10_000
MAX_REPEATS = 100
MAX_EPOCHS = 100_000
MAX_WORKERS = 1_000

#: The schema: section -> key -> checker (a dict nests a table). Mirrors ``default.toml``.
SCHEMA: dict = {
    "seed": _int(0),
    "data": {
        "name": _choice("digits"),
        "split_seed": _int(0, MAX_SEED),
        "test_size": _real(0.0, 1.0, open_lo=True, open_hi=True),
        "train_samples": _all_or_count,
    },
    "sample": {
        "graphs": _int(1, MAX_GRAPHS),
        "hidden": _int_range(2, MAX_HIDDEN),
        "priors": {
            "ws": {"weight": _real(0.0), "k": _even_ints, "p": _real_range(0.0, 1.0)},
            "ba": {"weight": _real(0.0), "m": _int_range(1)},
            "er": {"weight": _real(0.0), "degree": _real_range(0.0)},
        },
    },
    "train": {
        "epochs": _int(1, MAX_EPOCHS),
        "batch_size": _int(1),
        "lr": _real(0.0, open_lo=True),
        "repeats": _int(1, MAX_REPEATS),
    },
    "measure": {"properties": None},  # checker built lazily (imports analysis)
    "predict": {
        "target": _choice(*TARGETS),
        "folds": _int(2),
        "cv_seeds": _seeds,
        "predictors": None,
        "top_k": _top_k,
        "gnn_epochs": _int(1, MAX_EPOCHS),
        "gnn_patience": _int(1),
    },
    "report": {"top_properties": _int(1)},
    "run": {
        "workers": _int(1, MAX_WORKERS),
        "executor": _choice("local", "ray"),
        "ray_address": _string,
    },
}

_LAZY = {("measure", "properties"): _properties, ("predict", "predictors"): _predictors}

#: The settings that define a row: a results folder refuses a configuration that changes them.
#: (``sample.graphs`` may grow or shrink; ``measure``, ``predict``, ``report`` and ``run`` may
#: change freely and only rerun their stages.)
COMPARABLE = ("seed", "data", "sample", "train")


def _walk(config: object, schema: dict, prefix: str) -> dict:
    if not isinstance(config, Mapping):
        raise _fail(prefix or "config", "a table", config)
    out = {}
    for key, value in config.items():
        path = f"{prefix}.{key}" if prefix else key
        if key not in schema:
            raise ConfigError(
                f"{path}: unknown key; expected one of "
                f"{', '.join(schema)}" + (f" in [{prefix}]" if prefix else "")
            )
        rule = schema[key]
        if isinstance(rule, dict):
            out[key] = _walk(value, rule, path)
        else:
            if rule is None:
                rule = _LAZY[tuple(path.split("."))]()
            out[key] = rule(value, path)
    missing = [k for k in schema if k not in config]
    if missing:
        where = f"{prefix}." if prefix else ""
        raise ConfigError(
            f"{where}{missing[0]}: missing; every key of default.toml is needed "
            "(a config file is merged over the defaults, so this only happens "
            "when a section is replaced by a non-table)"
        )
    return out


def validate(config: Mapping) -> dict:
    """Check every key and value of a full configuration; return a normalised copy.

    Raises:
        ConfigError: naming the first bad key path, its value and what is accepted, e.g.
            ``sample.priors.ws.k: expected a non-empty list of even ints >= 2, got [3]``.

    Example:
        >>> c = default_config()
        >>> c["train"]["epochs"] = 0
        >>> validate(c)
        Traceback (most recent call last):
        ...
        graphnets.experiment.config.ConfigError: train.epochs: expected an int in [1, 100000], got 0
    """
    c = _walk(config, SCHEMA, "")
    lo = c["sample"]["hidden"][0]
    priors = c["sample"]["priors"]
    if max(priors["ws"]["k"]) >= lo and priors["ws"]["weight"] > 0:
        raise ConfigError(
            f"sample.priors.ws.k: expected every k < the fewest hidden nodes "
            f"(sample.hidden = {c['sample']['hidden']}), got {priors['ws']['k']}"
        )
    if priors["ba"]["m"][1] >= lo and priors["ba"]["weight"] > 0:
        raise ConfigError(
            f"sample.priors.ba.m: expected m < the fewest hidden nodes "
            f"(sample.hidden = {c['sample']['hidden']}), got {priors['ba']['m']}"
        )
    if priors["er"]["degree"][1] > lo - 1 and priors["er"]["weight"] > 0:
        raise ConfigError(
            f"sample.priors.er.degree: expected a mean degree <= the fewest hidden "
            f"nodes - 1 = {lo - 1}, got {priors['er']['degree']}"
        )
    if sum(p["weight"] for p in priors.values()) <= 0:
        raise ConfigError(
            "sample.priors: expected at least one prior with weight > 0, got all weights 0"
        )
    return c


def merge(base: Mapping, override: Mapping) -> dict:
    """``base`` with ``override``'s values, recursively for tables (neither is modified).

    Example:
        >>> merge({"a": 1, "t": {"x": 1, "y": 2}}, {"t": {"y": 3}})
        {'a': 1, 't': {'x': 1, 'y': 3}}
    """
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def default_config() -> dict:
    """The bundled ``default.toml`` as a dict."""
    text = resources.files(__package__).joinpath("default.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def load_config(
    path: str | os.PathLike | None = None,
    *,
    base: Mapping | None = None,
    overrides: Mapping | None = None,
) -> dict:
    """``base`` (default: the bundled defaults), the TOML file ``path`` over it, then
    ``overrides`` (a nested dict, e.g. from flags); validated.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ConfigError: if ``path`` cannot be read (a folder, no permission), is not UTF-8 text
            or not valid TOML (naming the file), or on a bad key or value.
    """
    config = default_config() if base is None else dict(base)
    if path is not None:
        config = merge(config, _read_toml(os.fspath(path)))
    if overrides:
        config = merge(config, overrides)
    return validate(config)


def _read_toml(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except FileNotFoundError:
        raise
    except OSError as err:
        raise ConfigError(
            f"{path}: cannot read it as a TOML file ({err.strerror or err})"
        ) from None
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {blob[err.start]:#04x} at offset {err.start}); "
            "a TOML file must be UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None


def flat(config: Mapping, prefix: str = "") -> dict:
    """``{"a.b.c": value}`` for every leaf of a nested dict.

    Example:
        >>> flat({"seed": 0, "train": {"epochs": 5}})
        {'seed': 0, 'train.epochs': 5}
    """
    out = {}
    for key, value in config.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            out.update(flat(value, path))
        else:
            out[path] = value
    return out


def changes(
    old: Mapping, new: Mapping, sections=COMPARABLE, *, ignore: tuple[str, ...] = ("sample.graphs",)
) -> list[tuple[str, object, object]]:
    """``(key path, old value, new value)`` for every setting of ``sections`` that differs.

    Example:
        >>> a = default_config()
        >>> b = merge(a, {"train": {"epochs": 3}, "sample": {"graphs": 9}})
        >>> changes(a, b)
        [('train.epochs', 5, 3)]
    """
    pick = lambda c: flat({k: c[k] for k in sections if k in c})  # noqa: E731
    a, b = pick(old), pick(new)
    keys = list(a) + [k for k in b if k not in a]
    return [(k, a.get(k), b.get(k)) for k in keys if k not in ignore and a.get(k) != b.get(k)]
