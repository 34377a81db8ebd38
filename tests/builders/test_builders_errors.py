"""Errors of graphnets.builders (mlp, priors); messages pinned."""

import math
import re

import networkx as nx
import pytest
import torch

import graphnets
from graphnets import CycleError, priors


# -- mlp --------------------------------------------------------------------------------------
@pytest.mark.parametrize("sizes", [[], [3], [3, 0], [3, -1, 2], [3, 2.0], [3, True], [3, "2"]])
def test_errors_mlp_sizes(sizes):
    with pytest.raises(
        ValueError,
        match=r"sizes must list at least two positive ints \(inputs, "
        r"\.\.\., outputs\), got " + re.escape(repr(sizes)),
    ):
        graphnets.mlp(sizes)


# -- priors -----------------------------------------------------------------------------------
def test_errors_priors_generators():
    with pytest.raises(
        ValueError,
        match=r"k=10 must be smaller than n=10; choose a smaller k or "
        r"a larger n",
    ):
        priors.watts_strogatz(2, 2, 10, 10, 0.3)
    with pytest.raises(ValueError, match=r"m=0 must satisfy 1 <= m < n=10"):
        priors.barabasi_albert(2, 2, 10, 0)
    with pytest.raises(ValueError, match=r"p=1\.5 must be a probability in \[0, 1\]"):
        priors.erdos_renyi(2, 2, 10, 1.5)


@pytest.mark.parametrize(
    "args, message",
    [
        ((10, 4, math.nan), r"p=nan must be a probability in \[0, 1\]"),
        ((10, 4, -0.1), r"p=-0\.1 must be a probability in \[0, 1\]"),
        ((10, 4, 1.5), r"p=1\.5 must be a probability in \[0, 1\]"),
        ((10, 4, True), r"p=True must be a probability in \[0, 1\]"),
        ((10, 4, "0.3"), r"p='0\.3' must be a probability in \[0, 1\]"),
        ((10, -2, 0.3), r"k must be an int >= 0, got -2"),
        ((10, 2.5, 0.3), r"k must be an int >= 0, got 2\.5"),
        ((10.5, 4, 0.3), r"n must be a positive int, got 10\.5"),
        ((0, 4, 0.3), r"n must be a positive int, got 0"),
        ((-3, 4, 0.3), r"n must be a positive int, got -3"),
    ],
)
def test_errors_priors_watts_strogatz_parameters(args, message):
    # These used to build a net (p=nan, -0.1, 1.5, k=-2) or fail deep in networkx (n=10.5).
    with pytest.raises(ValueError, match=message):
        priors.watts_strogatz(3, 2, *args, seed=0)


def test_errors_priors_negative_seed():
    with pytest.raises(ValueError, match=r"seed must be an int >= 0, got -5"):
        priors.watts_strogatz(3, 2, 10, 4, 0.3, seed=-5)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: priors.barabasi_albert(2, 2, 10.5, 2), r"n must be a positive int, got 10\.5"),
        (lambda: priors.barabasi_albert(2, 2, 10, 2.5), r"m=2\.5 must satisfy 1 <= m < n=10"),
        (lambda: priors.barabasi_albert(2, 2, 10, 10), r"m=10 must satisfy 1 <= m < n=10"),
        (lambda: priors.erdos_renyi(2, 2, 10.5, 0.3), r"n must be a positive int, got 10\.5"),
        (lambda: priors.erdos_renyi(2, 2, -3, 0.3), r"n must be a positive int, got -3"),
        (lambda: priors.erdos_renyi(2, 2, 10, math.nan), r"p=nan must be a probability"),
    ],
)
def test_errors_priors_other_generators(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("sizes", [[3, 2], [3, 4, 2]])
def test_errors_mlp_unknown_activation(sizes):
    # Without a hidden layer the hidden activation used to go unchecked.
    with pytest.raises(ValueError, match=r"unknown activation 'foo'; expected one of identity"):
        graphnets.mlp(sizes, activation="foo")


@pytest.mark.parametrize("dtype", [torch.int64, "float64"])
def test_errors_builders_dtype(dtype):
    with pytest.raises(TypeError, match=r"dtype must be a floating torch\.dtype"):
        graphnets.mlp([3, 2], dtype=dtype)
    with pytest.raises(TypeError, match=r"dtype must be a floating torch\.dtype"):
        priors.erdos_renyi(2, 2, 10, 0.3, dtype=dtype)


def test_errors_priors_orient():
    with pytest.raises(
        ValueError,
        match=r"unknown orientation 'sorted'; expected 'random' or "
        r"'index'",
    ):
        priors.orient(nx.path_graph(3), orientation="sorted")
    G = nx.path_graph(3)
    G.add_edge(1, 1)
    with pytest.raises(
        ValueError,
        match=r"self loop on node 1; a prior graph must have no self "
        r"loops",
    ):
        priors.orient(G)
    with pytest.raises(TypeError, match=r"expected a simple graph, got a multigraph"):
        priors.orient(nx.MultiGraph([(0, 1), (0, 1)]))


def test_errors_priors_embed():
    D = nx.DiGraph([(0, 1)])
    with pytest.raises(ValueError, match=r"n_inputs must be a positive int, got 0"):
        priors.embed(D, 0, 1)
    with pytest.raises(ValueError, match=r"n_outputs must be a positive int, got 1\.0"):
        priors.embed(D, 1, 1.0)
    with pytest.raises(
        ValueError,
        match=r"unknown inputs_to 'every'; expected 'sources' or "
        r"'all'",
    ):
        priors.embed(D, 1, 1, inputs_to="every")
    with pytest.raises(
        ValueError,
        match=r"unknown outputs_from 'sources'; expected 'sinks' or "
        r"'all'",
    ):
        priors.embed(D, 1, 1, outputs_from="sources")
    with pytest.raises(ValueError, match=r"the prior graph has no nodes; give it at least one"):
        priors.embed(nx.DiGraph(), 1, 1)
    with pytest.raises(
        ValueError,
        match=r"the prior graph has a node labelled \('in', 0\), "
        r"which is reserved",
    ):
        priors.embed(nx.DiGraph([(("in", 0), 1)]), 1, 1)


def test_errors_priors_directed_cycle():
    with pytest.raises(CycleError, match=r"contain a cycle"):
        priors.from_graph(nx.DiGraph([(0, 1), (1, 2), (2, 0)]), 1, 1)
