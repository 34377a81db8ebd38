"""Per-node activation functions: names, parameters, forward and exact backward.

An activation is named by a short string, optionally with parameters in brackets:
``"relu"``, ``"tanh"``, ``"leaky_relu(0.2)"``, ``"elu(1.0)"``, ``"softplus(1.0, 20.0)"``,
``"gelu(tanh)"``. Names are canonicalised (``"linear"`` is ``"identity"``, parameters equal to
their defaults are dropped), so two nodes with the same function carry the same string.

The backward of every activation is torch's own (``aten.*_backward``), so a GraphNet's gradients
match ``torch.nn`` bit for bit where the arithmetic order agrees.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

__all__ = ["Activation", "parse_activation", "ACTIVATIONS"]

aten = torch.ops.aten


@dataclass(frozen=True)
class Activation:
    """A parsed activation: canonical ``spec`` string, integer ``code`` and two parameters.

    ``code`` and ``params`` are what the fused C++ kernel reads; ``forward`` and ``backward`` are
    what the torch kernels call.
    """

    name: str
    params: tuple[float, ...]

    @property
    def spec(self) -> str:
        defaults = _DEFAULTS[self.name]
        if self.params == defaults:
            return self.name
        if self.name == "gelu":
            return "gelu(tanh)"
        return f"{self.name}({', '.join(repr(float(p)) for p in self.params)})"

    @property
    def code(self) -> int:
        return _CODES[self.name]

    @property
    def c_params(self) -> tuple[float, float]:
        """Two floats for the C++ kernel (gelu: 1.0 means the tanh approximation)."""
        if self.name == "gelu":
            return (float(self.params[0] == "tanh"), 0.0)  # type: ignore[comparison-overlap]
        p = tuple(float(v) for v in self.params) + (0.0, 0.0)
        return (p[0], p[1])

    @property
    def is_identity(self) -> bool:
        return self.name == "identity"

    @property
    def needs_z(self) -> bool:
        """Whether the backward needs ``z`` (else it is computed from ``a = act(z)`` alone)."""
        return self.name not in ("identity", "relu", "tanh", "sigmoid")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return _FORWARD[self.name](z, *self.params)

    def forward_(self, z: torch.Tensor) -> torch.Tensor:
        """``z`` overwritten with ``act(z)`` (in place where torch has the op) and returned."""
        inplace = _INPLACE.get(self.name)
        if inplace is not None:
            return inplace(z)
        return z.copy_(self.forward(z))

    def backward(self, grad: torch.Tensor, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Gradient w.r.t. the pre-activation ``z`` given ``grad`` w.r.t. the output ``a``."""
        return _BACKWARD[self.name](grad, z, a, *self.params)

    def module(self) -> torch.nn.Module:
        """The equal ``torch.nn`` module (used by ``to_torch`` style conversions and tests)."""
        p = self.params
        return {
            "identity": lambda: torch.nn.Identity(),
            "relu": lambda: torch.nn.ReLU(),
            "tanh": lambda: torch.nn.Tanh(),
            "sigmoid": lambda: torch.nn.Sigmoid(),
            "leaky_relu": lambda: torch.nn.LeakyReLU(p[0] if p else 0.01),
            "elu": lambda: torch.nn.ELU(p[0] if p else 1.0),
            "softplus": lambda: torch.nn.Softplus(*(p or (1.0, 20.0))),
            "gelu": lambda: torch.nn.GELU(approximate=p[0] if p else "none"),
            "silu": lambda: torch.nn.SiLU(),
        }[self.name]()


_DEFAULTS: dict[str, tuple] = {
    "identity": (),
    "relu": (),
    "tanh": (),
    "sigmoid": (),
    "leaky_relu": (0.01,),
    "elu": (1.0,),
    "softplus": (1.0, 20.0),
    "gelu": ("none",),
    "silu": (),
}
_CODES = {name: i for i, name in enumerate(_DEFAULTS)}
_ALIASES = {"linear": "identity", "none": "identity", "lrelu": "leaky_relu", "swish": "silu"}

#: The accepted activation names (aliases: ``linear``/``none`` → ``identity``, ``swish`` → ``silu``).
ACTIVATIONS: tuple[str, ...] = tuple(_DEFAULTS)

_FORWARD: dict[str, Callable[..., torch.Tensor]] = {
    "identity": lambda z: z,
    "relu": lambda z: torch.relu(z),
    "tanh": lambda z: torch.tanh(z),
    "sigmoid": lambda z: torch.sigmoid(z),
    "leaky_relu": lambda z, s=0.01: F.leaky_relu(z, s),
    "elu": lambda z, al=1.0: F.elu(z, al),
    "softplus": lambda z, b=1.0, t=20.0: F.softplus(z, b, t),
    "gelu": lambda z, ap="none": F.gelu(z, approximate=ap),
    "silu": lambda z: F.silu(z),
}

_INPLACE: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "identity": lambda z: z,
    "relu": torch.relu_,
    "tanh": torch.tanh_,
    "sigmoid": torch.sigmoid_,
}

_BACKWARD: dict[str, Callable[..., torch.Tensor]] = {
    "identity": lambda g, z, a: g,
    "relu": lambda g, z, a: aten.threshold_backward(g, a, 0),
    "tanh": lambda g, z, a: aten.tanh_backward(g, a),
    "sigmoid": lambda g, z, a: aten.sigmoid_backward(g, a),
    "leaky_relu": lambda g, z, a, s=0.01: aten.leaky_relu_backward(g, z, s, False),
    "elu": lambda g, z, a, al=1.0: aten.elu_backward(g, al, 1, 1, False, z),
    "softplus": lambda g, z, a, b=1.0, t=20.0: aten.softplus_backward(g, z, b, t),
    "gelu": lambda g, z, a, ap="none": aten.gelu_backward(g, z, approximate=ap),
    "silu": lambda g, z, a: aten.silu_backward(g, z),
}

_SPEC = re.compile(r"^\s*([a-z_]+)\s*(?:\(\s*(.*?)\s*\))?\s*$")
_CACHE: dict[str, Activation] = {}


def _error(spec: object, why: str = "") -> ValueError:
    return ValueError(
        f"unknown activation {spec!r}{why}; expected one of {', '.join(ACTIVATIONS)} "
        "(parameters in brackets, e.g. 'leaky_relu(0.2)', 'elu(1.0)', 'softplus(1.0, 20.0)', "
        "'gelu(tanh)')"
    )


def parse_activation(spec: str | Activation | None) -> Activation:
    """Parse an activation name such as ``"relu"`` or ``"leaky_relu(0.2)"``.

    ``None`` means ``"identity"``. Raises ``ValueError`` naming the bad spec and listing the
    accepted names.

    Example:
        >>> parse_activation("linear").spec
        'identity'
        >>> parse_activation("leaky_relu(0.2)").params
        (0.2,)
    """
    if isinstance(spec, Activation):
        return spec
    if spec is None:
        spec = "identity"
    if not isinstance(spec, str):
        raise TypeError(
            f"activation must be a string such as 'relu', got {type(spec).__name__} {spec!r}"
        )
    hit = _CACHE.get(spec)
    if hit is not None:
        return hit
    m = _SPEC.match(spec.lower())
    if m is None:
        raise _error(spec)
    name = _ALIASES.get(m.group(1), m.group(1))
    if name not in _DEFAULTS:
        raise _error(spec)
    defaults = _DEFAULTS[name]
    raw = m.group(2)
    if raw is None or raw == "":
        params = defaults
    elif name == "gelu":
        if raw.strip("'\" ") not in ("none", "tanh"):
            raise _error(spec, " (gelu takes 'none' or 'tanh')")
        params = (raw.strip("'\" "),)
    else:
        parts = [p for p in raw.split(",") if p.strip()]
        if not defaults or len(parts) > len(defaults):
            raise _error(spec, f" ({name} takes {len(defaults)} parameter(s))")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise _error(spec, " (parameters must be numbers)") from None
        if not all(math.isfinite(v) for v in values):
            raise _error(spec, " (parameters must be finite)")
        params = tuple(values) + tuple(defaults[len(values) :])
    act = Activation(name, tuple(params))
    _CACHE[spec] = act
    return act


def from_module(module: torch.nn.Module) -> Activation | None:
    """The activation equal to an elementwise ``torch.nn`` module, or ``None`` if unsupported."""
    m = torch.nn
    if isinstance(module, m.Identity):
        return parse_activation("identity")
    if isinstance(module, m.ReLU):
        return parse_activation("relu")
    if isinstance(module, m.Tanh):
        return parse_activation("tanh")
    if isinstance(module, m.Sigmoid):
        return parse_activation("sigmoid")
    if isinstance(module, m.SiLU):
        return parse_activation("silu")
    if isinstance(module, m.LeakyReLU):
        return Activation("leaky_relu", (float(module.negative_slope),))
    if isinstance(module, m.ELU):
        return Activation("elu", (float(module.alpha),))
    if isinstance(module, m.Softplus):
        return Activation("softplus", (float(module.beta), float(module.threshold)))
    if isinstance(module, m.GELU):
        return Activation("gelu", (module.approximate,))
    return None
