"""Errors of graphnets.core.structure (and the builders that reach it): cycles, self loops, roles,
duplicate edges, edge_index; every message pinned: it names the bad value and says the fix."""

import re

import igraph as ig
import networkx as nx
import pytest
import torch
from _graphs import chain, edges_net

import graphnets
from graphnets import CycleError


# -- topology ---------------------------------------------------------------------------------
def _cycle_names(message):
    m = re.search(r"the feed-forward edges contain a cycle: (.*); remove one of its edges", message)
    assert m, message
    return [eval(part) for part in m.group(1).split(" -> ")]  # labels are printed as repr


def _is_rotation(names, cycle):
    assert names[0] == names[-1], names
    ring = names[:-1]
    k = ring.index(cycle[0])
    return ring[k:] + ring[:k] == cycle


def test_errors_cycle_names_its_nodes():
    G = nx.DiGraph([("x", "a"), ("a", "b"), ("b", "c"), ("c", "a"), ("c", "y")])
    with pytest.raises(
        CycleError,
        match=r"contain a cycle: '[abc]' -> '[abc]' -> '[abc]' -> "
        r"'[abc]'; remove one of its edges$",
    ) as info:
        graphnets.from_networkx(G, ["x"], ["y"])
    assert _is_rotation(_cycle_names(str(info.value)), ["a", "b", "c"])
    assert isinstance(info.value, ValueError)
    assert sorted(info.value.cycle) == [1, 2, 3]  # node indices of a, b, c


def test_errors_cycle_tuple_labels():
    labels = [("in", 0), ("h", 1), ("h", 2), ("out", 0)]
    with pytest.raises(CycleError, match=r"contain a cycle: .*\('h', 1\).*\('h', 2\)") as info:
        edges_net([(0, 1), (1, 2), (2, 1), (2, 3)], 4, [("in", 0)], [("out", 0)], labels=labels)
    assert _is_rotation(_cycle_names(str(info.value)), [("h", 1), ("h", 2)])


def test_errors_cycle_two_nodes_among_dag():
    # The cycle is off the path from input to output: still reported, by its nodes only.
    G = nx.DiGraph([("x", "h"), ("h", "y"), ("p", "q"), ("q", "p"), ("q", "y")])
    with pytest.raises(CycleError) as info:
        graphnets.from_networkx(G, ["x"], ["y"])
    assert sorted(_cycle_names(str(info.value))[:-1]) == ["p", "q"]


def test_errors_self_loop():
    G = chain()
    G.add_edge("h", "h")
    with pytest.raises(
        ValueError,
        match=r"self loop on node 'h' \(edge 'h' -> 'h'\); a "
        r"feed-forward edge must join two different nodes",
    ):
        graphnets.from_networkx(G, ["x0", "x1"], ["y"])


def test_errors_edge_into_input():
    G = chain()
    G.add_edge("h", "x1")
    with pytest.raises(
        ValueError,
        match=r"edge 'h' -> 'x1' enters input node 'x1'; input nodes "
        r"take no in-edges",
    ):
        graphnets.from_networkx(G, ["x0", "x1"], ["y"])


@pytest.mark.parametrize("which", ["inputs", "outputs"])
def test_errors_label_not_in_graph(which):
    args = {"inputs": ["x0", "x1"], "outputs": ["y"]}
    args[which] = args[which][:1] + ["nope"]
    with pytest.raises(
        ValueError,
        match=rf"{which} name 'nope', which is not a node of the "
        r"graph \(its nodes are e\.g\. 'x0', 'h', 'x1', \.\.\.\)",
    ):
        graphnets.from_networkx(chain(), args["inputs"], args["outputs"])


def test_errors_label_not_in_graph_from_edges():
    with pytest.raises(ValueError, match=r"outputs name 5, which is not a node of the graph"):
        edges_net([(0, 1), (1, 2)], 3, [0], [5])


def test_errors_unhashable_label():
    with pytest.raises(ValueError, match=r"inputs name \['x0'\], which is not a node"):
        graphnets.from_networkx(chain(), [["x0"]], ["y"])


def test_errors_overlapping_inputs_outputs():
    with pytest.raises(
        ValueError,
        match=r"node 'x1' is both an input and an output; inputs and "
        r"outputs must be disjoint",
    ):
        graphnets.from_networkx(chain(), ["x0", "x1"], ["y", "x1"])


@pytest.mark.parametrize("which", ["inputs", "outputs"])
def test_errors_empty_inputs_outputs(which):
    args = {"inputs": ["x0", "x1"], "outputs": ["y"]}
    args[which] = []
    with pytest.raises(
        ValueError,
        match=rf"{which} must name at least one node, got an empty "
        r"list",
    ):
        graphnets.from_networkx(chain(), args["inputs"], args["outputs"])


def test_errors_repeated_input():
    with pytest.raises(
        ValueError,
        match=r"inputs list node 'x0' more than once; each node may "
        r"appear once",
    ):
        graphnets.from_networkx(chain(), ["x0", "x1", "x0"], ["y"])


def test_errors_inputs_not_a_list():
    with pytest.raises(
        TypeError,
        match=r"inputs must be an ordered list of node labels, got "
        r"'x0'",
    ):
        graphnets.from_networkx(chain(), "x0", ["y"])
    with pytest.raises(
        TypeError,
        match=r"outputs must be an ordered list of node labels, got "
        r"\{'y'\}",
    ):
        graphnets.from_networkx(chain(), ["x0", "x1"], {"y"})


def test_errors_inputs_missing():
    with pytest.raises(
        ValueError,
        match=r"inputs and outputs are needed: pass them, or set "
        r"G\.graph\['inputs'\]",
    ):
        graphnets.from_networkx(chain())


def test_errors_duplicate_edge():
    with pytest.raises(
        ValueError,
        match=r"duplicate edge 0 -> 2 \(edges 0 and 2\); give each "
        r"pair at most one edge \(sum their weights\)",
    ):
        edges_net([(0, 2), (1, 2), (0, 2), (2, 3)], 4, [0, 1], [3])


def test_errors_duplicate_edge_labels():
    with pytest.raises(ValueError, match=r"duplicate edge 'h' -> 'y' \(edges 2 and 3\)"):
        edges_net(
            [(0, 2), (1, 2), (2, 3), (2, 3)], 4, ["a", "b"], ["y"], labels=["a", "b", "h", "y"]
        )


def test_errors_duplicate_edge_igraph():
    g = ig.Graph(n=3, edges=[(0, 1), (1, 2), (1, 2)], directed=True)
    with pytest.raises(ValueError, match=r"duplicate edge 1 -> 2 \(edges 1 and 2\)"):
        graphnets.from_igraph(g, [0], [2])


# -- edge_index -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "ei",
    [torch.tensor([[0, 1, 2]]), torch.tensor([0, 1]), torch.zeros(3, 2, dtype=torch.long)],
    ids=["1xE", "1d", "3xE"],
)
def test_errors_edge_index_shape(ei):
    with pytest.raises(
        ValueError,
        match=r"edge_index must have shape \[2, E\], got " + re.escape(str(list(ei.shape))),
    ):
        graphnets.from_edges(ei, 3, [0], [2])


def test_errors_edge_index_float():
    with pytest.raises(
        TypeError,
        match=r"edge_index must hold integers, got dtype "
        r"torch\.float32",
    ):
        graphnets.from_edges(torch.tensor([[0.0, 1.0], [1.0, 2.0]]), 3, [0], [2])


@pytest.mark.parametrize("bad", [3, 10, -1])
def test_errors_edge_index_out_of_range(bad):
    with pytest.raises(
        ValueError,
        match=rf"edge_index refers to node {bad}, but there are 3 "
        r"nodes \(valid indices 0\.\.2\)",
    ):
        graphnets.from_edges(torch.tensor([[0, bad], [1, 2]]), 3, [0], [2])


def test_errors_from_edges_num_nodes_and_labels():
    ei = torch.tensor([[0], [1]])
    for bad in (0, -1, 2.0, True, "2"):
        with pytest.raises(
            ValueError,
            match=rf"num_nodes must be a positive int, got "
            rf"{re.escape(repr(bad))}",
        ):
            graphnets.from_edges(ei, bad, [0], [1])
    with pytest.raises(ValueError, match=r"expected 2 labels \(num_nodes\), got 3"):
        graphnets.from_edges(ei, 2, ["a"], ["b"], labels=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"duplicate node label 'a'; labels must be unique"):
        graphnets.from_edges(ei, 3, ["a"], ["b"], labels=["a", "b", "a"])
