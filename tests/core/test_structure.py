"""Structure: validated topology as tensors."""

import numpy as np
import pytest
import torch

import graphnets
from graphnets import CycleError, Structure


def _s(edges, n=4, inputs=(0,), outputs=(3,), acts=None, labels=None):
    ei = torch.tensor(edges, dtype=torch.long).reshape(-1, 2).T
    labels = list("abcdefgh"[:n]) if labels is None else labels
    return Structure(ei, labels, list(inputs), list(outputs), acts or ["relu"] * n)


def test_structure_basic():
    s = _s([(0, 1), (1, 2), (2, 3), (0, 3)])
    assert s.num_nodes == 4
    assert s.num_edges == 4
    assert s.num_levels == 4
    assert s.level.tolist() == [0, 1, 2, 3]
    assert s.labels == ("a", "b", "c", "d")
    assert s.index == {"a": 0, "b": 1, "c": 2, "d": 3}
    assert s.inputs.tolist() == [0] and s.outputs.tolist() == [3]
    assert s.edge_index.dtype == torch.long
    assert repr(s) == "Structure(nodes=4, edges=4, inputs=1, outputs=1, levels=4)"


def test_structure_inputs_never_activated():
    s = _s([(0, 1), (1, 3)], acts=["tanh", "leaky_relu(0.2)", "relu", "linear"])
    assert s.activations == ("identity", "leaky_relu(0.2)", "relu", "identity")


def test_structure_edge_index_conversions():
    # int32 and numpy edge_index are accepted and stored as a CPU LongTensor [2, E].
    for ei in (torch.tensor([[0, 1], [1, 2]], dtype=torch.int32), np.array([[0, 1], [1, 2]])):
        s = Structure(ei, [0, 1, 2], [0], [2], ["relu"] * 3)
        assert s.edge_index.dtype == torch.long
        assert s.edge_index.tolist() == [[0, 1], [1, 2]]


def test_structure_lookup():
    s = _s([(0, 1), (1, 2), (2, 3)])
    assert s.lookup(["c", "a"]) == [2, 0]
    with pytest.raises(
        ValueError,
        match=r"outputs name 'z', which is not a node of the graph "
        r"\(it has 4 nodes, e\.g\. 'a', 'b', 'c', \.\.\.\)",
    ):
        s.lookup(["a", "z"], "outputs")
    with pytest.raises(ValueError, match=r"nodes name \[1\], which is not a node"):
        s.lookup([[1]])  # unhashable: still a ValueError naming it


def test_structure_tuple_labels_in_messages():
    with pytest.raises(ValueError, match=r"self loop on node \('h', 1\)"):
        _s([(0, 1), (1, 1), (1, 2)], n=3, outputs=(2,), labels=[("in", 0), ("h", 1), ("out", 0)])


def test_structure_cycle_names_labels():
    with pytest.raises(CycleError, match=r"cycle: .*'b'.*; remove one of its edges") as info:
        _s([(0, 1), (1, 2), (2, 1), (2, 3)])
    assert sorted(info.value.cycle) == [1, 2]


def test_structure_duplicate_label():
    with pytest.raises(ValueError, match=r"duplicate node label 'a'; labels must be unique"):
        _s([(0, 1)], n=3, outputs=(2,), labels=["a", "b", "a"])


def test_structure_activation_count():
    with pytest.raises(ValueError, match=r"expected 4 activations \(one per node\), got 2"):
        _s([(0, 1)], acts=["relu", "relu"])


def test_structure_roles_out_of_range():
    with pytest.raises(
        ValueError,
        match=r"inputs refer to node index \[0, 7\], valid indices "
        r"are 0\.\.3",
    ):
        _s([(0, 1)], inputs=(0, 7))


def test_structure_repeated_role():
    with pytest.raises(ValueError, match=r"outputs list node index 3 more than once"):
        _s([(0, 1)], outputs=(3, 2, 3))


def test_structure_empty_role():
    with pytest.raises(ValueError, match=r"inputs must name at least one node, got none"):
        _s([(0, 1)], inputs=())


def test_structure_edge_index_type():
    with pytest.raises(
        TypeError,
        match=r"edge_index must be a LongTensor of shape \[2, E\], "
        r"got list",
    ):
        Structure([[0], [1]], [0, 1], [0], [1], ["relu"] * 2)


def test_structure_edge_index_bool():
    with pytest.raises(TypeError, match=r"edge_index must hold integers, got dtype torch\.bool"):
        Structure(torch.ones(2, 1, dtype=torch.bool), [0, 1], [0], [1], ["relu"] * 2)


def test_structure_activation_not_a_string():
    with pytest.raises(
        TypeError,
        match=r"activation must be a string such as 'relu', got list "
        r"\['tanh'\]",
    ):
        Structure(torch.tensor([[0], [1]]), [0, 1], [0], [1], ["relu", ["tanh"]])


def test_structure_not_a_structure():
    with pytest.raises(TypeError, match=r"expected a graphnets Structure, got dict"):
        graphnets.GraphNet({})
