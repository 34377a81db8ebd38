"""Activation specs: parsing, canonical names, forward and backward against torch.nn."""

import re

import pytest
import torch
from torch import nn

from graphnets import ACTIVATIONS, parse_activation
from graphnets.activations import Activation, from_module

MODULES = [
    ("identity", nn.Identity()),
    ("relu", nn.ReLU()),
    ("tanh", nn.Tanh()),
    ("sigmoid", nn.Sigmoid()),
    ("leaky_relu(0.2)", nn.LeakyReLU(0.2)),
    ("leaky_relu", nn.LeakyReLU()),
    ("elu", nn.ELU()),
    ("elu(0.5)", nn.ELU(0.5)),
    ("softplus", nn.Softplus()),
    ("softplus(2.0, 10.0)", nn.Softplus(2.0, 10.0)),
    ("gelu", nn.GELU()),
    ("gelu(tanh)", nn.GELU("tanh")),
    ("silu", nn.SiLU()),
]


def test_activations_names():
    assert ACTIVATIONS == (
        "identity",
        "relu",
        "tanh",
        "sigmoid",
        "leaky_relu",
        "elu",
        "softplus",
        "gelu",
        "silu",
    )


@pytest.mark.parametrize(
    "spec, canonical",
    [
        (None, "identity"),
        ("linear", "identity"),
        ("none", "identity"),
        ("ReLU", "relu"),
        (" tanh ", "tanh"),
        ("swish", "silu"),
        ("lrelu", "leaky_relu"),
        ("leaky_relu(0.01)", "leaky_relu"),
        ("leaky_relu(0.2)", "leaky_relu(0.2)"),
        ("leaky_relu( 0.2 )", "leaky_relu(0.2)"),
        ("elu()", "elu"),
        ("elu(1)", "elu"),
        ("elu(0.5)", "elu(0.5)"),
        ("softplus(1.0, 20.0)", "softplus"),
        ("softplus(2)", "softplus(2.0, 20.0)"),
        ("softplus(2.0, 10.0)", "softplus(2.0, 10.0)"),
        ("gelu(none)", "gelu"),
        ("gelu(tanh)", "gelu(tanh)"),
        ("gelu('tanh')", "gelu(tanh)"),
    ],
)
def test_activations_canonical_spec(spec, canonical):
    act = parse_activation(spec)
    assert act.spec == canonical
    # The canonical spec parses to the same activation.
    assert parse_activation(act.spec) == act


def test_activations_params():
    assert parse_activation("leaky_relu(0.2)").params == (0.2,)
    assert parse_activation("softplus(2)").params == (2.0, 20.0)
    assert parse_activation("gelu(tanh)").params == ("tanh",)
    a = parse_activation("relu")
    assert parse_activation(a) is a


@pytest.mark.parametrize("spec, module", MODULES, ids=[m[0] for m in MODULES])
def test_activations_forward_backward_match_torch(spec, module):
    act = parse_activation(spec)
    # Include 0, both signs, and values beyond softplus' threshold.
    z = torch.cat([torch.linspace(-30, 30, 61), torch.randn(50), torch.tensor([0.0])]).double()
    z1 = z.clone().requires_grad_(True)
    a_ref = module(z1)
    g = torch.randn_like(z)
    (gz_ref,) = torch.autograd.grad(a_ref, z1, g)
    a = act.forward(z)
    torch.testing.assert_close(a, a_ref.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(act.backward(g, z, a), gz_ref, rtol=1e-12, atol=1e-12)
    # module() is the equal torch module.
    torch.testing.assert_close(act.module()(z), a_ref.detach(), rtol=0, atol=0)


@pytest.mark.parametrize("spec, module", MODULES, ids=[m[0] for m in MODULES])
def test_activations_from_module(spec, module):
    act = from_module(module)
    assert isinstance(act, Activation)
    assert act.spec == parse_activation(spec).spec


def test_activations_from_module_unsupported():
    assert from_module(nn.Dropout()) is None
    assert from_module(nn.Softmax(dim=-1)) is None


def test_activations_codes_distinct():
    codes = [parse_activation(a).code for a in ACTIVATIONS]
    assert sorted(codes) == list(range(len(ACTIVATIONS)))


def test_activations_unknown_lists_names():
    with pytest.raises(
        ValueError,
        match=r"unknown activation 'foo'; expected one of identity, "
        r"relu, tanh, sigmoid, leaky_relu, elu, softplus, gelu, "
        r"silu",
    ):
        parse_activation("foo")


@pytest.mark.parametrize(
    "spec, why",
    [
        ("relu(1)", r"\(relu takes 0 parameter\(s\)\)"),
        ("elu(1, 2)", r"\(elu takes 1 parameter\(s\)\)"),
        ("leaky_relu(a)", r"\(parameters must be numbers\)"),
        ("leaky_relu(nan)", r"\(parameters must be finite\)"),
        ("softplus(inf)", r"\(parameters must be finite\)"),
        ("gelu(fast)", r"\(gelu takes 'none' or 'tanh'\)"),
        ("relu(", ""),
    ],
)
def test_activations_bad_spec(spec, why):
    prefix = "unknown activation " + re.escape(repr(spec)) + (" " if why else "")
    with pytest.raises(ValueError, match=prefix + why + r"; expected one of identity"):
        parse_activation(spec)


def test_activations_not_a_string():
    with pytest.raises(
        TypeError,
        match=r"activation must be a string such as 'relu', got "
        r"ReLU ReLU\(\)",
    ):
        parse_activation(nn.ReLU())
