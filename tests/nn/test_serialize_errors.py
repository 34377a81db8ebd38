"""Errors of graphnets.nn.serialize (loading files); messages pinned."""

import networkx as nx
import pytest
import torch

import graphnets


def _chain(**kw):
    """x0, x1 -> h -> y as a networkx graph."""
    G = nx.DiGraph([("x0", "h"), ("x1", "h"), ("h", "y")], **kw)
    return G


def _edges(pairs, n, inputs, outputs, **kw):
    ei = torch.tensor(pairs, dtype=torch.long).T
    return graphnets.from_edges(ei, n, inputs, outputs, **kw)


# -- load -------------------------------------------------------------------------------------
def test_errors_load_torch_file_without_header(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weight": torch.zeros(3)}, path)
    with pytest.raises(
        ValueError,
        match=r"'.*other\.pt' is not a saved GraphNet \(no "
        r"'graphnets\.GraphNet' header\)",
    ):
        graphnets.load(path)
    torch.save(torch.zeros(3), path)
    with pytest.raises(ValueError, match=r"is not a saved GraphNet"):
        graphnets.load(path)


def test_errors_load_text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, not a network\n")
    with pytest.raises(ValueError, match=r"'.*notes\.txt' is not a saved GraphNet"):
        graphnets.load(path)


def test_errors_load_newer_format(tmp_path):
    net = graphnets.mlp([2, 1], seed=0)
    path = tmp_path / "n.pt"
    net.save(path)
    state = torch.load(path, weights_only=True)
    state["version"] = 99
    torch.save(state, path)
    with pytest.raises(
        ValueError,
        match=r"was saved by a newer graphnets \(format 99, this one "
        r"reads up to 2\); upgrade graphnets",
    ):
        graphnets.load(path)
