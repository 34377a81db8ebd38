"""Search spaces: every operator returns a valid genotype or refuses, over many random
applications; each mutation does the edit it names; identities and errors."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphnets.search import (
    CROSSOVERS,
    MUTATIONS,
    CellSpace,
    NeuronSpace,
    Refused,
    SyntheticCellScore,
)

SEEDS = st.integers(0, 2**32 - 1)


def small_neurons(**options) -> NeuronSpace:
    return NeuronSpace(4, 2, max_hidden=8, max_edges=30, max_depth=4, **options)


# -- CellSpace ------------------------------------------------------------------------------
def test_cellspace_nas_bench_201_shape():
    space = CellSpace.nas_bench_201()
    assert len(space.dag) == 4 and len(space.edges) == 6 and len(space.ops) == 5
    assert space.size == 5**6
    g = space.sample(0)
    assert all(g.edges[e]["op"] in space.ops for e in g.edges)
    assert list(space.decode(space.encode(g)).edges(data=True)) == list(g.edges(data=True))


def test_cellspace_all_lists_every_genotype_once():
    space = CellSpace([(0, 1), (1, 2), (0, 2)], ["a", "b", "c"])
    keys = [space.key(g) for g in space.all()]
    assert len(keys) == len(set(keys)) == space.size == 27


def test_cellspace_on_nodes_fixes_inputs_and_outputs():
    space = CellSpace([(0, 1), (0, 2), (1, 3), (2, 3)], ["conv", "pool"], on="nodes")
    assert space.positions == [1, 2] and space.size == 4
    g = space.sample(3)
    assert g.nodes[0]["op"] == "input" and g.nodes[3]["op"] == "output"
    bad = g.copy()
    bad.nodes[0]["op"] = "conv"
    assert space.why_invalid(bad) == "node 0 must have op 'input', got 'conv'"


@settings(max_examples=300, deadline=None)
@given(seed=SEEDS)
def test_cellspace_operators_stay_valid(seed):
    space = CellSpace.nas_bench_201()
    rng = np.random.default_rng(seed)
    a, b = space.sample(rng), space.sample(rng)
    for _ in range(5):
        m = space.mutate(a, rng)
        assert space.is_valid(m)
        # exactly one position changed
        assert int((space.encode(m) != space.encode(a)).sum()) == 1
        c = space.crossover(a, b, rng)
        assert space.is_valid(c)
        ids = space.encode(c)
        assert np.all((ids == space.encode(a)) | (ids == space.encode(b)))
        a, b = m, c


def test_cellspace_errors():
    with pytest.raises(ValueError, match=r"unknown on 'cells'; expected one of edges, nodes"):
        CellSpace([(0, 1)], ["a"], on="cells")
    with pytest.raises(ValueError, match=r"the cell must be acyclic"):
        CellSpace([(0, 1), (1, 0)], ["a"])
    with pytest.raises(ValueError, match=r"edge \(0, 1\) is given twice"):
        CellSpace([(0, 1), (0, 1)], ["a"])
    with pytest.raises(ValueError, match=r"edge \(1, 1\) is a self loop"):
        CellSpace([(1, 1)], ["a"])
    with pytest.raises(ValueError, match=r"ops must be distinct"):
        CellSpace([(0, 1)], ["a", "a"])
    with pytest.raises(ValueError, match=r"expected at least one edge"):
        CellSpace([], ["a"])
    one = CellSpace([(0, 1)], ["a"])
    with pytest.raises(Refused, match=r"single op 'a'"):
        one.mutate(one.sample(0), 0)
    space = CellSpace.nas_bench_201()
    g = space.sample(0)
    g.edges[0, 1]["op"] = "conv_9x9"
    with pytest.raises(ValueError, match=r"edge \(0, 1\) has op 'conv_9x9'; expected one of none"):
        space.mutate(g, 0)
    with pytest.raises(ValueError, match=r"expected 6 op indices"):
        space.decode([0, 1])


def test_synthetic_cell_score_table_matches_calls():
    space = CellSpace([(0, 1), (1, 2), (0, 2)], ["a", "b", "c"])
    score = SyntheticCellScore(space, seed=1)
    by_call = np.array([score(g) for g in space.all()])
    assert np.allclose(by_call, score.table())
    assert score.optimum == pytest.approx(by_call.max())
    assert score(space.decode(score.argmax())) == pytest.approx(score.optimum)
    # all three edges share a node pairwise: three interaction terms
    assert len(score.pairs) == 3


# -- NeuronSpace ----------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(seed=SEEDS)
def test_neuronspace_operators_stay_valid(seed):
    # 150 examples x 8 steps x (one mutation + one crossover) = 2400 applications
    space = small_neurons()
    rng = np.random.default_rng(seed)
    a, b = space.sample(rng), space.sample(rng)
    assert space.is_valid(a) and space.is_valid(b)
    for _ in range(8):
        try:
            m = space.mutate(a, rng)
        except Refused:
            m = a
        assert space.why_invalid(m) is None
        try:
            c = space.crossover(a, b, rng)
        except Refused:
            c = b
        assert space.why_invalid(c) is None
        a, b = m, c


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, name=st.sampled_from(MUTATIONS))
def test_neuronspace_each_mutation_does_its_edit(seed, name):
    space = small_neurons()
    rng = np.random.default_rng(seed)
    g = space.sample(rng)
    try:
        m = space.apply_mutation(name, g, rng)
    except Refused:
        return
    assert space.is_valid(m)
    h0, h1 = space.hidden(g), space.hidden(m)
    E0, E1 = g.number_of_edges(), m.number_of_edges()
    if name == "add_edge":
        assert E1 == E0 + 1 and set(g.edges) < set(m.edges)
    elif name == "remove_edge":
        assert E1 == E0 - 1 and set(m.edges) < set(g.edges)
    elif name == "add_node":
        assert len(h1) == len(h0) + 1 and E1 == E0 + 2
    elif name == "remove_node":
        assert len(h1) == len(h0) - 1
    elif name == "rewire":
        assert E1 == E0 and len(set(g.edges) - set(m.edges)) == 1
    elif name == "insert_subgraph":
        (gone,) = set(g.edges) - set(m.edges)
        assert 1 <= len(h1) - len(h0) <= 4 and gone not in m.edges
    else:
        changed = [v for v in h0 if g.nodes[v]["activation"] != m.nodes[v]["activation"]]
        assert len(changed) == 1 and set(m.edges) == set(g.edges)
    assert g.number_of_edges() == E0  # the parent is not changed


def chain(space: NeuronSpace, acts: list[str]) -> nx.DiGraph:
    """inputs -> h0 -> h1 -> ... -> outputs: every edge between hidden neurons is a bridge."""
    g = space.empty()
    for i, a in enumerate(acts):
        g.add_node(i, activation=a)
    g.add_edges_from((x, 0) for x in space.inputs)
    g.add_edges_from((i, i + 1) for i in range(len(acts) - 1))
    g.add_edges_from((len(acts) - 1, y) for y in space.outputs)
    return g


def test_neuronspace_bridge_crossover_joins_the_parents():
    space = small_neurons()
    a, b = chain(space, ["relu", "relu", "relu"]), chain(space, ["tanh", "tanh"])
    child = space.apply_crossover("bridge", a, b, 0)
    assert space.is_valid(child)
    acts = {child.nodes[v]["activation"] for v in space.hidden(child)}
    assert acts == {"relu", "tanh"}  # the part before from a, the part after from b
    sample = space.empty()
    sample.add_edges_from((x, y) for x in space.inputs for y in space.outputs)
    with pytest.raises(Refused, match=r"parent a has no bridge"):
        space.apply_crossover("bridge", sample, b, 0)


def test_neuronspace_path_and_layer_crossovers():
    space = small_neurons()
    a, b = chain(space, ["relu", "relu", "relu"]), chain(space, ["tanh"])
    child = space.apply_crossover("path", a, b, 0)
    assert space.is_valid(child)
    wide = chain(space, ["tanh", "tanh"])
    wide.add_node(9, activation="sigmoid")
    wide.add_edges_from([("x0", 9), (9, 1)])
    kid = space.apply_crossover("layers", a, wide, 0)
    assert space.is_valid(kid)


def test_neuronspace_key_ignores_hidden_labels_not_activations():
    space = small_neurons()
    g = space.sample(5)
    hidden = space.hidden(g)
    relabelled = nx.relabel_nodes(g, {v: 100 + i for i, v in enumerate(reversed(hidden))})
    assert space.key(relabelled) == space.key(g)
    if hidden:
        other = g.copy()
        now = other.nodes[hidden[0]]["activation"]
        other.nodes[hidden[0]]["activation"] = "tanh" if now != "tanh" else "relu"
        assert space.key(other) != space.key(g)


def test_neuronspace_why_invalid_names_the_problem():
    space = small_neurons()
    g = chain(space, ["relu", "relu"])
    assert space.why_invalid(g) is None
    dead = g.copy()
    dead.add_node(7, activation="relu")
    dead.add_edge("x0", 7)
    assert space.why_invalid(dead) == "hidden neuron 7 has no out-edge (it would be dead)"
    cyc = g.copy()
    cyc.add_edge(1, 0)
    assert "cycle" in space.why_invalid(cyc)
    deep = chain(space, ["relu"] * 4)
    assert space.why_invalid(deep) == "depth 5 (edges on the longest path), more than max_depth=4"
    act = g.copy()
    act.nodes[0]["activation"] = "gelu"
    assert space.why_invalid(act) == (
        "hidden neuron 0 has activation 'gelu'; expected one of relu, tanh, sigmoid"
    )
    back = g.copy()
    back.add_edge(0, "x1")
    assert space.why_invalid(back) == "input 'x1' has an in-edge from 0"
    with pytest.raises(ValueError, match=r"genotype is not in NeuronSpace\(4 inputs"):
        space.mutate(dead, 0)


def test_neuronspace_refuses_when_the_budgets_are_full():
    space = NeuronSpace(2, 1, max_hidden=1, max_edges=3, max_depth=2, activations=["relu"])
    g = chain(space, ["relu"])  # x0, x1 -> 0 -> y0: 3 edges, 1 hidden, depth 2
    with pytest.raises(Refused, match=r"mutation add_edge found no valid result"):
        space.apply_mutation("add_edge", g, 0)
    with pytest.raises(Refused, match=r"mutation activation found no valid result \(last "):
        space.apply_mutation("activation", g, 0)


def test_neuronspace_errors():
    with pytest.raises(ValueError, match=r"max_edges=1 leaves no valid genotype"):
        NeuronSpace(3, 2, max_edges=1)
    with pytest.raises(ValueError, match=r"unknown mutation 'flip'"):
        NeuronSpace(3, 2, mutations=["flip"])
    with pytest.raises(ValueError, match=r"unknown crossover 'mix'"):
        NeuronSpace(3, 2, crossovers=["mix"])
    with pytest.raises(ValueError, match=r"max_depth must be a positive int, got 0"):
        NeuronSpace(3, 2, max_depth=0)
    with pytest.raises(ValueError, match=r"unknown mutation 'x'"):
        small_neurons().apply_mutation("x", small_neurons().sample(0))


def test_neuronspace_genotype_is_a_trainable_graphnet():
    import torch

    space = small_neurons()
    g = space.sample(2)
    net = space.to_net(g, seed=0)
    assert net.num_edges == g.number_of_edges()
    assert net(torch.randn(5, 4)).shape == (5, 2)


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, name=st.sampled_from(CROSSOVERS))
def test_neuronspace_each_crossover_is_valid_or_refused(seed, name):
    space = small_neurons()
    rng = np.random.default_rng(seed)
    a, b = space.sample(rng), space.sample(rng)
    try:
        child = space.apply_crossover(name, a, b, rng)
    except Refused as err:
        assert str(err)  # a refusal says why
        return
    assert space.why_invalid(child) is None
