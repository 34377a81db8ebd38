"""Per-node activation functions: one registry row per activation, and the parser of their names.

An activation is named by a short string, optionally with parameters in brackets:
``"relu"``, ``"tanh"``, ``"leaky_relu(0.2)"``, ``"elu(1.0)"``, ``"softplus(1.0, 20.0)"``,
``"gelu(tanh)"``. Names are canonicalised (``"linear"`` is ``"identity"``, parameters equal to
their defaults are dropped), so two nodes with the same function carry the same string.

Everything graphnets knows about an activation sits in its row of :data:`REGISTRY` (as
micrograd keeps an operation's backward next to its forward): the torch forward and exact
backward, the initialisation gain, the equal ``torch.nn`` module, and the C++ code the fused
kernel compiles. Adding an activation is adding one row.

The backward of every activation is torch's own (``aten.*_backward``), so a GraphNet's gradients
match ``torch.nn`` bit for bit where the arithmetic order agrees.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Activation", "Row", "REGISTRY", "ACTIVATIONS", "parse_activation", "from_module"]

aten = torch.ops.aten


@dataclass(frozen=True)
class Row:
    """One activation: everything every part of graphnets needs to run it.

    Attributes:
        name: canonical name.
        defaults: default parameters (the parsed parameters fill up from these).
        forward: ``forward(z, *params) -> act(z)`` (torch).
        backward: ``backward(grad, z, a, *params) -> grad · act'(z)`` (torch's own backward op).
        gain: ``gain(params)``, the fan-in initialisation gain (``torch.nn.init.calculate_gain``).
        module: ``module(params)``, the equal ``torch.nn`` module.
        module_type: the ``torch.nn`` module class that converts to this activation.
        module_params: ``module_params(module)``, the parameters of such a module.
        cpp_forward: C++ statements returning ``act(z)`` from ``T z, p0, p1``.
        cpp_grad: C++ statements returning ``act'(z)`` from ``T z, a = act(z), p0, p1``.
            Both must give NaN and ±inf what torch's own kernel gives: branch on the same
            comparison as torch (``z <= 0``, which NaN fails, is not ``!(z > 0)``);
            ``tests/kernels/test_kernels.py`` checks every row.
        needs_z: whether the backward needs ``z`` (else it is computed from ``a`` alone).
        inplace: ``inplace(z) -> z`` overwritten with ``act(z)``, where torch has the op.
        cpp_rows_forward, cpp_rows_grad: optional vectorisable loop bodies over ``k`` (forward:
            ``a[k]`` from ``z[k]``; backward: ``g[k] *= act'``, then ``sum += g[k]``) for the
            activations whose generic per-element switch is too slow.
        cpp_params: ``cpp_params(params)``, the two floats ``p0, p1`` the C++ code reads.
        aliases: other names that parse to this one.
    """

    name: str
    defaults: tuple
    forward: Callable[..., torch.Tensor]
    backward: Callable[..., torch.Tensor]
    gain: Callable[[tuple], float]
    module: Callable[[tuple], nn.Module]
    module_type: type[nn.Module]
    module_params: Callable[[nn.Module], tuple]
    cpp_forward: str
    cpp_grad: str
    needs_z: bool = True
    inplace: Callable[[torch.Tensor], torch.Tensor] | None = None
    cpp_rows_forward: str | None = None
    cpp_rows_grad: str | None = None
    cpp_params: Callable[[tuple], tuple[float, float]] | None = None
    aliases: tuple[str, ...] = ()


def _no_params(module: nn.Module) -> tuple:
    return ()


_SQRT2 = math.sqrt(2.0)

_GELU_FORWARD = """
      if (p0 != T(0)) {
        const T k = std::sqrt(T(2) / T(M_PI));
        return T(0.5) * z * (T(1) + std::tanh(k * (z + T(0.044715) * z * z * z)));
      }
      return T(0.5) * z * (T(1) + std::erf(z / std::sqrt(T(2))));"""

_GELU_GRAD = """
      if (p0 != T(0)) {
        const T k = std::sqrt(T(2) / T(M_PI)), c = T(0.044715);
        T t = std::tanh(k * (z + c * z * z * z));
        return T(0.5) * (T(1) + t) + T(0.5) * z * (T(1) - t * t) * k * (T(1) + T(3) * c * z * z);
      } else {
        T cdf = T(0.5) * (T(1) + std::erf(z / std::sqrt(T(2))));
        T pdf = std::exp(T(-0.5) * z * z) / std::sqrt(T(2) * T(M_PI));
        return cdf + z * pdf;
      }"""

#: Every activation, in the order of the integer codes the fused C++ kernel switches on.
REGISTRY: tuple[Row, ...] = (
    Row(
        "identity",
        (),
        lambda z: z,
        lambda g, z, a: g,
        lambda p: 1.0,
        lambda p: nn.Identity(),
        nn.Identity,
        _no_params,
        cpp_forward="return z;",
        cpp_grad="return T(1);",
        needs_z=False,
        inplace=lambda z: z,
        cpp_rows_forward="a[k] = z[k];",
        cpp_rows_grad="sum += g[k];",
        aliases=("linear", "none"),
    ),
    Row(
        "relu",
        (),
        lambda z: torch.relu(z),
        lambda g, z, a: aten.threshold_backward(g, a, 0),
        lambda p: _SQRT2,
        lambda p: nn.ReLU(),
        nn.ReLU,
        _no_params,
        # Written as torch's kernels are (z <= 0 ? 0 : z), so that NaN passes through both ways.
        cpp_forward="return z <= T(0) ? T(0) : z;",
        cpp_grad="return a <= T(0) ? T(0) : T(1);",
        needs_z=False,
        inplace=torch.relu_,
        cpp_rows_forward="a[k] = z[k] <= T(0) ? T(0) : z[k];",
        cpp_rows_grad="g[k] = a[k] <= T(0) ? T(0) : g[k]; sum += g[k];",
    ),
    Row(
        "tanh",
        (),
        lambda z: torch.tanh(z),
        lambda g, z, a: aten.tanh_backward(g, a),
        lambda p: 5.0 / 3,
        lambda p: nn.Tanh(),
        nn.Tanh,
        _no_params,
        cpp_forward="return std::tanh(z);",
        cpp_grad="return T(1) - a * a;",
        needs_z=False,
        inplace=torch.tanh_,
        cpp_rows_grad="g[k] *= T(1) - a[k] * a[k]; sum += g[k];",
    ),
    Row(
        "sigmoid",
        (),
        lambda z: torch.sigmoid(z),
        lambda g, z, a: aten.sigmoid_backward(g, a),
        lambda p: 1.0,
        lambda p: nn.Sigmoid(),
        nn.Sigmoid,
        _no_params,
        cpp_forward="return T(1) / (T(1) + std::exp(-z));",
        cpp_grad="return a * (T(1) - a);",
        needs_z=False,
        inplace=torch.sigmoid_,
    ),
    Row(
        "leaky_relu",
        (0.01,),
        lambda z, s=0.01: F.leaky_relu(z, s),
        lambda g, z, a, s=0.01: aten.leaky_relu_backward(g, z, s, False),
        lambda p: math.sqrt(2.0 / (1 + p[0] ** 2)),
        lambda p: nn.LeakyReLU(p[0]),
        nn.LeakyReLU,
        lambda m: (float(cast(nn.LeakyReLU, m).negative_slope),),
        cpp_forward="return z > T(0) ? z : z * p0;",
        cpp_grad="return z > T(0) ? T(1) : p0;",
        cpp_rows_forward="a[k] = z[k] > T(0) ? z[k] : z[k] * p0;",
        aliases=("lrelu",),
    ),
    Row(
        "elu",
        (1.0,),
        lambda z, al=1.0: F.elu(z, al),
        lambda g, z, a, al=1.0: aten.elu_backward(g, al, 1, 1, False, z),
        lambda p: _SQRT2,
        lambda p: nn.ELU(p[0]),
        nn.ELU,
        lambda m: (float(cast(nn.ELU, m).alpha),),
        cpp_forward="return z > T(0) ? z : p0 * (std::exp(z) - T(1));",
        cpp_grad="return z <= T(0) ? a + p0 : T(1);",  # NaN: 1, as aten.elu_backward
    ),
    Row(
        "softplus",
        (1.0, 20.0),
        lambda z, b=1.0, t=20.0: F.softplus(z, b, t),
        lambda g, z, a, b=1.0, t=20.0: aten.softplus_backward(g, z, b, t),
        lambda p: _SQRT2,
        lambda p: nn.Softplus(*p),
        nn.Softplus,
        lambda m: (float(cast(nn.Softplus, m).beta), float(cast(nn.Softplus, m).threshold)),
        cpp_forward="return z * p0 > p1 ? z : std::log1p(std::exp(z * p0)) / p0;",
        cpp_grad="if (z * p0 > p1) return T(1); T e = std::exp(z * p0); return e / (e + T(1));",
    ),
    Row(
        "gelu",
        ("none",),
        lambda z, ap="none": F.gelu(z, approximate=ap),
        lambda g, z, a, ap="none": aten.gelu_backward(g, z, approximate=ap),
        lambda p: _SQRT2,
        lambda p: nn.GELU(approximate=p[0]),
        nn.GELU,
        lambda m: (cast(nn.GELU, m).approximate,),
        cpp_forward=_GELU_FORWARD,
        cpp_grad=_GELU_GRAD,
        cpp_params=lambda p: (float(p[0] == "tanh"), 0.0),  # 1.0: the tanh approximation
    ),
    Row(
        "silu",
        (),
        lambda z: F.silu(z),
        lambda g, z, a: aten.silu_backward(g, z),
        lambda p: _SQRT2,
        lambda p: nn.SiLU(),
        nn.SiLU,
        _no_params,
        cpp_forward="return z / (T(1) + std::exp(-z));",
        cpp_grad="T s = T(1) / (T(1) + std::exp(-z)); return s * (T(1) + z * (T(1) - s));",
        aliases=("swish",),
    ),
)

_ROWS: dict[str, Row] = {row.name: row for row in REGISTRY}
_CODES: dict[str, int] = {row.name: i for i, row in enumerate(REGISTRY)}
_ALIASES: dict[str, str] = {alias: row.name for row in REGISTRY for alias in row.aliases}

#: The accepted activation names (aliases: ``linear``/``none`` → ``identity``,
#: ``lrelu`` → ``leaky_relu``, ``swish`` → ``silu``).
ACTIVATIONS: tuple[str, ...] = tuple(_ROWS)


@dataclass(frozen=True)
class Activation:
    """A parsed activation: its registry row's ``name`` and its parameters.

    ``code`` and ``c_params`` are what the fused C++ kernel reads; ``forward`` and ``backward``
    are what the torch kernels call.
    """

    name: str
    params: tuple

    @property
    def row(self) -> Row:
        """The registry row of this activation."""
        return _ROWS[self.name]

    @property
    def spec(self) -> str:
        """The canonical string (parameters equal to the defaults are dropped)."""
        if self.params == self.row.defaults:
            return self.name
        if self.name == "gelu":
            return "gelu(tanh)"
        return f"{self.name}({', '.join(repr(float(p)) for p in self.params)})"

    @property
    def code(self) -> int:
        """The integer the fused C++ kernel switches on (the row's place in the registry)."""
        return _CODES[self.name]

    @property
    def c_params(self) -> tuple[float, float]:
        """Two floats for the C++ kernel."""
        if self.row.cpp_params is not None:
            return self.row.cpp_params(self.params)
        p = tuple(float(v) for v in self.params) + (0.0, 0.0)
        return (p[0], p[1])

    @property
    def is_identity(self) -> bool:
        return self.name == "identity"

    @property
    def needs_z(self) -> bool:
        """Whether the backward needs ``z`` (else it is computed from ``a = act(z)`` alone)."""
        return self.row.needs_z

    @property
    def gain(self) -> float:
        """The fan-in initialisation gain (√2 for ReLU, 5/3 for tanh, 1 for identity, ...)."""
        return self.row.gain(self.params)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.row.forward(z, *self.params)

    def forward_(self, z: torch.Tensor) -> torch.Tensor:
        """``z`` overwritten with ``act(z)`` (in place where torch has the op) and returned."""
        if self.row.inplace is not None:
            return self.row.inplace(z)
        return z.copy_(self.forward(z))

    def backward(self, grad: torch.Tensor, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Gradient w.r.t. the pre-activation ``z`` given ``grad`` w.r.t. the output ``a``."""
        return self.row.backward(grad, z, a, *self.params)

    def module(self) -> nn.Module:
        """The equal ``torch.nn`` module (used by ``to_torch`` style conversions and tests)."""
        return self.row.module(self.params)


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
    if name not in _ROWS:
        raise _error(spec)
    defaults = _ROWS[name].defaults
    raw = m.group(2)
    params: tuple
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
    act = Activation(name, params)
    _CACHE[spec] = act
    return act


def from_module(module: nn.Module) -> Activation | None:
    """The activation equal to an elementwise ``torch.nn`` module, or ``None`` if unsupported."""
    for row in REGISTRY:
        if isinstance(module, row.module_type):
            params = row.module_params(module)
            return Activation(row.name, params) if params else parse_activation(row.name)
    return None
