"""Optimizers over edits: carrying per-element state (momentum, Adam moments) and gradients to
an edited net's parameters, and a clear error when an optimizer was left behind.

An edit replaces a parameter's values by ones of another length (the Parameter object stays the
same). What an optimizer keeps per element must follow: :func:`remapped_state` computes the new
state (the net swaps it in with the edit); :func:`carry` does the same for gradients. An
optimizer that a net was never given cannot be found by it: the step pre-hook registered here
(:func:`check_step`) turns its next ``step()`` into an error that says what to do.
"""

from __future__ import annotations

import weakref

import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

__all__ = [
    "check_optimizer",
    "remapped_state",
    "remap_optimizer_state",
    "carry",
    "mark_edited",
    "check_step",
]


def check_optimizer(net, optimizer) -> None:
    """``ValueError`` unless ``optimizer`` (if given) optimises ``net``'s weight or bias."""
    if optimizer is None:
        return
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    params = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if id(net.weight) not in params and id(net.bias) not in params:
        raise ValueError(
            "optimizer does not optimise this net's weight or bias; pass the optimizer built "
            "on net.parameters() (or none)"
        )


def remapped_state(
    optimizer, param: torch.nn.Parameter, index: torch.Tensor, new_size: int
) -> dict | None:
    """``optimizer``'s state of ``param`` carried over an edit, as a new dict (or ``None`` when
    there is none); nothing is changed.

    Every state tensor with ``param``'s old length along dim 0 (SGD's ``momentum_buffer``,
    Adam's ``exp_avg`` / ``exp_avg_sq``, ...) becomes a tensor of ``new_size`` entries: entry
    ``index[j]`` of the old one for every new entry ``j`` with ``index[j] >= 0``, zero for new
    entries (``index[j] == -1``). Scalars such as Adam's ``step`` are shared by the whole tensor
    in torch's optimizers and stay as they are: a new edge therefore starts with zero moments
    but the tensor's bias correction, so its first updates are up to ``(1-β1)/√(1-β2)`` times
    (≈3× with default betas) larger than a fresh Adam's first step.
    """
    state = optimizer.state.get(param)
    if not state:
        return None
    old_size = param.shape[0]
    index = index.to(param.device)
    out = {}
    for key, value in state.items():
        if isinstance(value, torch.Tensor) and value.dim() >= 1 and value.shape[0] == old_size:
            value = carry(value, index, new_size)
        out[key] = value
    return out


def remap_optimizer_state(
    optimizer, param: torch.nn.Parameter, old_size: int, index: torch.Tensor, new_size: int
) -> None:
    """Carry ``optimizer``'s per-element state of ``param`` over an edit, in place.

    ``param`` still has its old size (``old_size`` entries along dim 0); see
    :func:`remapped_state` for the rule. Edits of a GraphNet do this themselves for the
    optimizer passed as ``optimizer=``; this is for modules that edit their own parameters.
    """
    if optimizer is None:
        return
    state = optimizer.state.get(param)
    if not state:
        return
    keep = index >= 0
    for key, value in list(state.items()):
        if isinstance(value, torch.Tensor) and value.dim() >= 1 and value.shape[0] == old_size:
            new = value.new_zeros((new_size,) + tuple(value.shape[1:]))
            new[keep] = value[index[keep]]
            state[key] = new


def carry(values: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    """``values`` over an edit: entry ``index[j]`` for every new entry ``j`` (``-1``: zero)."""
    if values.shape[0] == 0 or index.numel() == 0:
        return values.new_zeros((size,) + tuple(values.shape[1:]))
    new = index < 0
    # one gather (new entries read entry 0 for now), then zeros where new: no boolean indexing
    out = values.index_select(0, index.clamp(min=0))
    return out.masked_fill_(new.view((-1,) + (1,) * (values.dim() - 1)), 0)


# Parameters whose size an edit changed, by id (tensors compare elementwise, so no WeakSet).
_EDITED: dict[int, weakref.ref] = {}


def mark_edited(param: torch.Tensor) -> None:
    """Note that an edit changed ``param``'s size: optimizer steps over it check their state."""
    key = id(param)
    if key not in _EDITED:
        _EDITED[key] = weakref.ref(param, lambda ref, key=key: _EDITED.pop(key, None))


def check_step(optimizer: torch.optim.Optimizer, args, kwargs) -> None:
    """Before any optimizer step: state that no longer fits an edited GraphNet's parameter is
    an error that says what to do (instead of a raw size mismatch deep inside the step)."""
    if not _EDITED:
        return
    for group in optimizer.param_groups:
        for p in group["params"]:
            ref = _EDITED.get(id(p))
            if ref is None or ref() is not p:
                continue
            for key, value in optimizer.state.get(p, {}).items():
                if (
                    isinstance(value, torch.Tensor)
                    and value.dim() >= 1
                    and value.shape[0] != p.shape[0]
                ):
                    raise RuntimeError(
                        f"this optimizer's state {key!r} has {value.shape[0]} entries but its "
                        f"GraphNet parameter now has {p.shape[0]}: the net was edited without "
                        "telling this optimizer; pass it to the edit (e.g. "
                        "net.remove_edges(edges, optimizer=opt)) and the net carries its state "
                        "over at this and every later edit, or build a new optimizer"
                    )


register_optimizer_step_pre_hook(check_step)
