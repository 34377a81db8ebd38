"""Levels, cycles and reachability against networkx."""

import networkx as nx
import numpy as np
import pytest

import graphnets.levels
from graphnets.levels import CycleError, find_cycle, levels, reachable


@pytest.fixture(params=["python", "numpy"])
def walk(request, monkeypatch):
    """Run a test on both level walks: Python (small graphs) and vectorised numpy (large)."""
    limit = 10**12 if request.param == "python" else -1
    monkeypatch.setattr(graphnets.levels, "PYTHON_MAX_EDGES", limit)
    return request.param


def _random_dag(n: int, p: float, seed: int):
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)  # node numbers unrelated to the topological order
    pairs = [(perm[u], perm[v]) for u in range(n) for v in range(u + 1, n) if rng.random() < p]
    src = np.array([u for u, _ in pairs], dtype=np.int64)
    dst = np.array([v for _, v in pairs], dtype=np.int64)
    return src, dst


def _nx_levels(src, dst, n):
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    G.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    out = np.empty(n, dtype=np.int64)
    for k, gen in enumerate(nx.topological_generations(G)):
        out[list(gen)] = k
    return out, G


def _longest_path_from_a_source(G):
    depth = {}
    for v in nx.topological_sort(G):
        depth[v] = max((depth[u] + 1 for u in G.predecessors(v)), default=0)
    return depth


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n, p", [(1, 0.0), (8, 0.0), (12, 0.3), (40, 0.1), (60, 0.5)])
def test_levels_match_networkx(n, p, seed, walk):
    src, dst = _random_dag(n, p, seed)
    got = levels(src, dst, n)
    want, G = _nx_levels(src, dst, n)
    assert got.dtype == np.int64
    assert got.tolist() == want.tolist()
    depth = _longest_path_from_a_source(G)
    assert got.tolist() == [depth[v] for v in range(n)]


def test_levels_example():
    assert levels(np.array([0, 0, 1]), np.array([1, 2, 2]), 3).tolist() == [0, 1, 2]


def test_levels_no_edges(walk):
    assert levels(np.array([], dtype=np.int64), np.array([], dtype=np.int64), 4).tolist() == [0] * 4


def test_levels_skip_edge_does_not_shorten(walk):
    # 0 -> 1 -> 2 -> 3 and a skip 0 -> 3: node 3 is still at level 3.
    assert levels(np.array([0, 1, 2, 0]), np.array([1, 2, 3, 3]), 4).tolist() == [0, 1, 2, 3]


def test_levels_source_after_edges_stays_zero(walk):
    # A node that is a source but numbered last, feeding a deep node.
    src, dst = np.array([0, 1, 3]), np.array([1, 2, 2])
    assert levels(src, dst, 4).tolist() == [0, 1, 2, 0]


def test_levels_large_graph_default_walk():
    # Above the Python walk's limit the default path is the numpy one; both agree with networkx.
    n = 3000
    rng = np.random.default_rng(0)
    m = graphnets.levels.PYTHON_MAX_EDGES + 1000
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = a != b
    src, dst = np.minimum(a, b)[keep], np.maximum(a, b)[keep]  # low -> high: acyclic
    assert src.size > graphnets.levels.PYTHON_MAX_EDGES
    got = levels(src, dst, n)
    assert got.tolist() == _nx_levels(src, dst, n)[0].tolist()


def _assert_is_cycle(cycle, src, dst):
    edges = set(zip(src.tolist(), dst.tolist(), strict=True))
    assert len(cycle) >= 1
    assert len(set(cycle)) == len(cycle)
    for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True):
        assert (a, b) in edges


@pytest.mark.parametrize("seed", range(10))
def test_levels_cycle_error_names_a_real_cycle(seed, walk):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 30))
    src, dst = _random_dag(n, 0.2, seed)
    # Close a cycle through a random path of fresh back edges.
    k = int(rng.integers(2, n + 1))
    ring = rng.permutation(n)[:k]
    src = np.concatenate([src, ring])
    dst = np.concatenate([dst, np.roll(ring, -1)])
    with pytest.raises(CycleError) as info:
        levels(src, dst, n)
    _assert_is_cycle(info.value.cycle, src, dst)
    assert isinstance(info.value, ValueError)


def test_levels_cycle_downstream_of_dag(walk):
    # 0 -> 1 -> 2 -> 3 -> 1: the cycle 1, 2, 3 sits below a source.
    src, dst = np.array([0, 1, 2, 3]), np.array([1, 2, 3, 1])
    with pytest.raises(CycleError) as info:
        levels(src, dst, 4)
    assert sorted(info.value.cycle) == [1, 2, 3]
    _assert_is_cycle(info.value.cycle, src, dst)


def test_find_cycle_two_nodes():
    src, dst = np.array([0, 1, 2]), np.array([1, 0, 0])
    cycle = find_cycle(src, dst, np.array([True, True, False]))
    assert sorted(cycle) == [0, 1]


@pytest.mark.parametrize("seed", range(5))
def test_reachable_matches_networkx(seed):
    rng = np.random.default_rng(seed)
    n = 30
    src = rng.integers(0, n, 60)
    dst = rng.integers(0, n, 60)  # any digraph, cycles allowed
    start = rng.choice(n, 3, replace=False)
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    G.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    want = set(start.tolist())
    for s in start.tolist():
        want |= nx.descendants(G, s)
    got = reachable(src, dst, n, start)
    assert set(np.flatnonzero(got).tolist()) == want
