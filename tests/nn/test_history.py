"""Edit records and the bounded history (graphnets.nn.history)."""

import pytest
import torch

import graphnets
from graphnets import EditRecord, History


def test_history_records_hold_what_the_edit_changed_not_the_size_of_the_net():
    small, big = graphnets.mlp([10, 10, 2], seed=0), graphnets.mlp([200, 200, 2], seed=0)
    sizes = [net.remove_edges([0, 1, 2]).nbytes() for net in (small, big)]
    assert sizes[0] == sizes[1]  # 3 removed edges either way, though big has 200x the edges
    assert big.add_edges([(0, 0)], [(2, 0)]).nbytes() < 200  # one edge: bytes, not the net


def test_history_maps_rebuilt_from_a_record_follow_edges_and_nodes():
    net = graphnets.mlp([2, 3, 1], seed=0)
    before = net.edges()
    record = net.remove_nodes([(1, 1)])
    assert record.node_map.tolist() == [0, 1, 2, -1, 3, 4]
    for old, new in enumerate(record.edge_map.tolist()):
        assert (new == -1) == ((1, 1) in before[old])
        if new >= 0:
            assert net.edges()[new] == before[old]
    assert record.removed_nodes == [(1, 1)] and len(record.removed_edges) == 3
    added = net.add_edges([(0, 0)], [(2, 0)])
    assert added.edge_map.tolist() == list(range(net.num_edges - 1))
    assert added.added_edges == [((0, 0), (2, 0))] and added.num_added_edges == 1
    assert net.set_weights([0, 2], [1.0, 2.0]).edge_ids.tolist() == [0, 2]


@pytest.mark.parametrize("moved", [1, 3, 12])  # few endpoints, then most of the 13 nodes
def test_history_replace_record_names_the_pairs_removed_and_added(moved):
    # the endpoints' labels kept either as their own tuple or, for most nodes, as the net's
    net = graphnets.mlp([4, 6, 3], seed=0)
    labels, before = net.structure.labels, net.edges()
    gone = list(range(0, 2 * moved, 2))
    src, dst = net.edge_index[:, gone]
    record = net.replace_edges(gone, src.tolist(), dst.tolist())
    assert record.removed_edges == [before[e] for e in gone]
    assert record.added_edges == [before[e] for e in gone]  # the same pairs, as new edges
    pairs = zip(src.tolist(), dst.tolist(), strict=True)
    assert net.edges()[-moved:] == [(labels[u], labels[v]) for u, v in pairs]
    assert (record._removed[0] is labels) == (moved == 12)


def test_history_keeps_the_last_records_when_capped():
    net = graphnets.GraphNet(graphnets.mlp([3, 4, 2]).structure, seed=0, history=2)
    for _ in range(5):
        net.remove_edges([0])
    assert len(net.history) == 2 and net.history.count == 5 and net.history.dropped == 3
    assert all(isinstance(r, EditRecord) for r in net.history)
    assert "maxlen=2, 3 dropped" in repr(net.history)
    net.history.clear()
    assert net.history == [] and net.history.dropped == 5


def test_history_survives_a_deep_copy_and_pickling(tmp_path):
    import copy
    import pickle

    net = graphnets.mlp([3, 4, 2], seed=0)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    net.remove_edges([0], optimizer=opt)
    twin = copy.deepcopy(net)
    assert twin.history.count == 1 and twin.history[0].removed_edges == net.history[0].removed_edges
    back = pickle.loads(pickle.dumps(net))  # the optimizer it remembers is not pickled
    assert back.history.count == 1 and back.num_edges == net.num_edges


def test_history_errors():
    with pytest.raises(ValueError, match="maxlen must be a positive int, got 0"):
        History(maxlen=0)
    with pytest.raises(ValueError, match="maxlen must be a positive int, got -1"):
        graphnets.GraphNet(graphnets.mlp([2, 1]).structure, history=-1)
