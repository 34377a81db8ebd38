"""Errors of graphnets.core.activations, reached through the builders; messages pinned."""

import pytest
from _graphs import chain

import graphnets

# -- activations ------------------------------------------------------------------------------
ACCEPTED = (
    r"expected one of identity, relu, tanh, sigmoid, leaky_relu, elu, softplus, gelu, "
    r"silu \(parameters in brackets"
)


def test_errors_unknown_activation_keyword():
    with pytest.raises(ValueError, match=r"unknown activation 'rleu'; " + ACCEPTED):
        graphnets.from_networkx(chain(), ["x0", "x1"], ["y"], activation="rleu")
    with pytest.raises(ValueError, match=r"unknown activation 'softmax'; " + ACCEPTED):
        graphnets.mlp([2, 3, 1], output_activation="softmax")


def test_errors_unknown_activation_attribute():
    G = chain()
    G.nodes["h"]["activation"] = "sigmoidal"
    with pytest.raises(ValueError, match=r"unknown activation 'sigmoidal'; " + ACCEPTED):
        graphnets.from_networkx(G, ["x0", "x1"], ["y"])


def test_errors_activated_input():
    G = chain()
    G.nodes["x0"]["activation"] = "relu"
    with pytest.raises(
        ValueError,
        match=r"input node 'x0' has activation 'relu'; inputs are "
        r"never activated",
    ):
        graphnets.from_networkx(G, ["x0", "x1"], ["y"])
