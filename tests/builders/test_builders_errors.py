"""Errors of graphnets.builders (mlp, priors); messages pinned."""

import re

import networkx as nx
import pytest
import torch

import graphnets
from graphnets import CycleError, priors


def _chain(**kw):
    """x0, x1 -> h -> y as a networkx graph."""
    G = nx.DiGraph([("x0", "h"), ("x1", "h"), ("h", "y")], **kw)
    return G


def _edges(pairs, n, inputs, outputs, **kw):
    ei = torch.tensor(pairs, dtype=torch.long).T
    return graphnets.from_edges(ei, n, inputs, outputs, **kw)


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
