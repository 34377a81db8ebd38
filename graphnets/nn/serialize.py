"""The file format of a saved net: what :meth:`GraphNet.save` writes and :func:`graphnets.load`
reads.

A save is a dict of plain values and tensors written with ``torch.save`` and read with
``torch.load(weights_only=True)`` (no code from the file ever runs):

``format`` ``"graphnets.GraphNet"``; ``version`` 1 (feed-forward) or 2 (edges carry delays);
``labels`` (list); ``edge_index`` ``int64 [2, E]``; ``inputs``, ``outputs`` ``int64 [k]``;
``activations`` (list of ``N`` str); ``delay`` ``int64 [E]``; ``weight`` ``[E]`` and ``bias``
``[N]``, floating, one dtype; ``kernel`` (str).

A feed-forward net is written as version 1, which readers from before delays existed load
correctly; a recurrent one as version 2, which they refuse instead of dropping its delays.

Reading checks every field — its presence, type, dtype, shape and index range — against the
structure before anything is built, so a damaged or crafted file gives a ``ValueError`` naming
the field, never a crash of the kernels. Writing is atomic: a kill mid-save leaves the previous
file whole.
"""

from __future__ import annotations

import io
import os
from collections.abc import Hashable
from typing import NamedTuple

import torch

from .._util.files import atomic_write
from ..core.structure import Structure
from ..kernels import KERNELS

__all__ = ["FORMAT", "VERSION", "Saved", "save", "read", "safe_label"]

FORMAT = "graphnets.GraphNet"
#: The newest format version this reader understands.
VERSION = 2


class Saved(NamedTuple):
    """A checked save: the structure, the parameter values (CPU) and the requested kernel."""

    structure: Structure
    weight: torch.Tensor
    bias: torch.Tensor
    kernel: str


def safe_label(lab: Hashable) -> bool:
    """Whether ``torch.load(weights_only=True)`` can read the label back."""
    if lab is None or isinstance(lab, (bool, int, float, str)):
        return True
    return isinstance(lab, tuple) and all(safe_label(x) for x in lab)


def save(net, path: str | os.PathLike) -> None:
    """Save ``net``'s structure and parameters to ``path``, atomically.

    Labels must be ints, floats, strings, bools, ``None`` or tuples of those (what
    ``torch.load(weights_only=True)`` can read).

    Raises:
        TypeError: for a label of another type (named), before anything is written.
    """
    s = net.structure
    for lab in s.labels:
        if not safe_label(lab):
            raise TypeError(
                f"cannot save node label {lab!r} of type {type(lab).__name__}: labels must be "
                "int, float, str, bool, None or tuples of these (relabel, e.g. with "
                "networkx.relabel_nodes, before saving)"
            )
    state = {
        "format": FORMAT,
        "version": 2 if s.is_recurrent else 1,
        "labels": list(s.labels),
        "edge_index": s.edge_index.clone(),
        "inputs": s.inputs.clone(),
        "outputs": s.outputs.clone(),
        "activations": list(s.activations),
        "delay": s.delay.clone(),
        "weight": net.weight.detach().cpu().clone(),
        "bias": net.bias.detach().cpu().clone(),
        "kernel": net.kernel,
    }
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write(path, buffer.getvalue())


def _field(state: dict, key: str, name: str, kinds: type | tuple, what: str):
    if key not in state:
        raise ValueError(f"{name} is not a saved GraphNet: its field {key!r} is missing")
    value = state[key]
    if not isinstance(value, kinds) or isinstance(value, bool) and kinds is int:
        raise ValueError(
            f"{name} is not a valid GraphNet save: field {key!r} should be "
            f"{what}, got {type(value).__name__}"
        )
    return value


def _tensor(
    state: dict, key: str, name: str, *, floating: bool, dim: int, size: int | None = None
) -> torch.Tensor:
    t = _field(state, key, name, torch.Tensor, "a tensor")
    ok = (
        t.is_floating_point()
        if floating
        else (not t.is_floating_point() and not t.is_complex() and t.dtype != torch.bool)
    )
    if not ok:
        raise ValueError(
            f"{name} is not a valid GraphNet save: field {key!r} should hold "
            f"{'floats' if floating else 'integers'}, got dtype {t.dtype}"
        )
    if t.dim() != dim or (size is not None and t.shape[-1] != size):
        want = "[2, E]" if dim == 2 else ("[k]" if size is None else f"[{size}]")
        raise ValueError(
            f"{name} is not a valid GraphNet save: field {key!r} should have shape "
            f"{want}, got {list(t.shape)}"
        )
    return t


def read(path: str | os.PathLike) -> Saved:
    """Read and check a save written by :func:`save` (see the module docstring).

    Raises:
        FileNotFoundError: if there is no such file.
        ValueError: if the file is not a saved GraphNet, was written by a newer graphnets, or
            any field is missing, of the wrong type, shape or dtype, or out of range (named).
    """
    name = repr(os.fspath(path))
    try:
        state = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # not a torch file, a pickle that is refused, truncated, ...
        raise ValueError(
            f"{name} is not a saved GraphNet (torch.load failed: {type(err).__name__})"
        ) from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{name} is not a saved GraphNet (no '{FORMAT}' header)")
    version = _field(state, "version", name, int, "an int")
    if version > VERSION:
        raise ValueError(
            f"{name} was saved by a newer graphnets (format {version}, this one reads up to "
            f"{VERSION}); upgrade graphnets"
        )
    if version < 1:
        raise ValueError(f"{name} is not a valid GraphNet save: field 'version' is {version}")
    labels = _field(state, "labels", name, list, "a list of node labels")
    labels = [tuple(x) if isinstance(x, list) else x for x in labels]
    n = len(labels)
    edge_index = _tensor(state, "edge_index", name, floating=False, dim=2)
    if edge_index.shape[0] != 2:
        raise ValueError(
            f"{name} is not a valid GraphNet save: field 'edge_index' should have "
            f"shape [2, E], got {list(edge_index.shape)}"
        )
    E = edge_index.shape[1]
    inputs = _tensor(state, "inputs", name, floating=False, dim=1)
    outputs = _tensor(state, "outputs", name, floating=False, dim=1)
    activations = _field(state, "activations", name, list, "a list of activation names")
    if len(activations) != n:
        raise ValueError(
            f"{name} is not a valid GraphNet save: field 'activations' has "
            f"{len(activations)} entries for {n} nodes"
        )
    # files written before delays existed hold feed-forward nets
    delay = (
        _tensor(state, "delay", name, floating=False, dim=1, size=E) if "delay" in state else None
    )
    weight = _tensor(state, "weight", name, floating=True, dim=1, size=E)
    bias = _tensor(state, "bias", name, floating=True, dim=1, size=n)
    if bias.dtype != weight.dtype:
        raise ValueError(
            f"{name} is not a valid GraphNet save: fields 'weight' and 'bias' "
            f"should share a dtype, got {weight.dtype} and {bias.dtype}"
        )
    kernel = _field(state, "kernel", name, str, "a kernel name")
    if kernel not in KERNELS:
        raise ValueError(
            f"{name} is not a valid GraphNet save: field 'kernel' is {kernel!r}, "
            f"expected one of {', '.join(KERNELS)}"
        )
    if version == 1 and delay is not None and bool(delay.any()):
        raise ValueError(
            f"{name} is not a valid GraphNet save: a format-1 file holds a "
            "feed-forward net, but its field 'delay' is not all 0"
        )
    try:
        structure = Structure(edge_index, labels, inputs, outputs, activations, delay)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{name} is not a valid GraphNet save: its structure is invalid ({err})"
        ) from err
    return Saved(structure, weight.contiguous(), bias.contiguous(), kernel)
