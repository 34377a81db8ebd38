"""Rewiring while training: budgets, growth against brute force, least-squares weights,
optimizer state, hooks, spaces, schedules, and every error message."""

import math

import networkx as nx
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import graphnets
from graphnets import rewire
from graphnets.methods.rewire.collect import Collector
from graphnets.methods.rewire.scores import approximate, columns, exact
from graphnets.methods.rewire.select import (
    Forbidden,
    Pool,
    drop_mask,
    greedy_acyclic,
    random_pairs,
    top_pairs,
)
from graphnets.methods.rewire.space import Block, Space, descendants, reach_mask
from graphnets.reference import evaluate

METHODS = {"SET": rewire.SET, "RigL": rewire.RigL, "Thesis": rewire.Thesis}


def _net(sizes=(6, 10, 8, 3), density=0.3, seed=0, dtype=torch.float64, **kw):
    return rewire.sparse_mlp(list(sizes), density, seed=seed, dtype=dtype, **kw)


def _data(net, n=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, len(net.inputs), generator=g, dtype=net.weight.dtype)
    y = torch.randint(0, len(net.outputs), (n,), generator=g)
    return x, y


def _train(net, opt, rewirer, x, y, steps):
    for _ in range(steps):
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        rewirer.step()


def _pairs(net) -> set:
    return set(map(tuple, net.edge_index.T.tolist()))


def _last_round(net):
    """The pairs (node ids) the last round removed and added, from the net's edit records."""
    kinds = [r.kind for r in net.history]
    edit = net.history[len(kinds) - 1 - kinds[::-1].index("replace_edges")]
    index = net.structure.index
    return (
        {(index[u], index[v]) for u, v in edit.removed_edges},
        {(index[u], index[v]) for u, v in edit.added_edges},
    )


def _check_top(added, removed, survivors, candidates, score, key):
    """``added`` is a best-scored choice of ``len(removed in key)`` free candidates per key
    (ties may be broken either way)."""
    keys = {key(p) for p in removed} | {key(p) for p in added}
    for k in keys:
        want = sum(1 for p in removed if key(p) == k)
        mine = {p for p in added if key(p) == k}
        free = {p for p in candidates if key(p) == k and p not in survivors}
        assert len(mine) == want and mine <= free
        if free - mine:
            assert min(score(p) for p in mine) >= max(score(p) for p in free - mine) - 1e-12


def _node_values(net, x):
    """Every node's activation on ``x``, neuron by neuron (independent of the trace)."""
    s = net.structure
    acts = [graphnets.parse_activation(a) for a in s.activations]
    src, dst = s.edge_index.tolist()
    a = torch.zeros(x.shape[0], s.num_nodes, dtype=x.dtype)
    a[:, s.inputs] = x
    w = net.weight.detach()
    for i in sorted(range(s.num_nodes), key=lambda i: s.level[i]):
        if i in s.inputs.tolist():
            continue
        z = net.bias[i].detach() + sum(
            (w[e] * a[:, u] for e, (u, v) in enumerate(zip(src, dst, strict=True)) if v == i),
            torch.zeros(x.shape[0], dtype=x.dtype),
        )
        a[:, i] = acts[i].forward(z)
    return a


def _missing_gradients(net, x, y, pairs):
    """The gradient of the loss w.r.t. every pair in ``pairs``, by brute force: the pairs that
    are not edges are added with weight 0 (which changes nothing) to a copy of the net, whose
    loss the reference evaluator differentiates."""
    s = net.structure
    have = {p: e for e, p in enumerate(map(tuple, s.edge_index.T.tolist()))}
    extra = [p for p in pairs if p not in have]
    ei = torch.cat([s.edge_index, torch.tensor(extra, dtype=torch.long).reshape(-1, 2).T], 1)
    w = torch.cat([net.weight.detach(), torch.zeros(len(extra), dtype=net.weight.dtype)])
    big = graphnets.from_edges(
        ei,
        s.num_nodes,
        s.inputs.tolist(),
        s.outputs.tolist(),
        weight=w,
        bias=net.bias.detach(),
        output_activation=None,
    )
    big.weight.requires_grad_(True)
    F.cross_entropy(evaluate(big, x), y).backward()
    g = big.weight.grad
    where = {p: e for e, p in enumerate(map(tuple, ei.T.tolist()))}
    return {p: float(g[where[p]]) for p in pairs}


def _per_sample_errors(net, x, y):
    """``δ [B, N]``: per sample, the gradient of its share of the mean loss w.r.t. every bias
    (= ∂L/∂z), from the reference evaluator."""
    out = torch.zeros(x.shape[0], net.num_nodes, dtype=x.dtype)
    for b in range(x.shape[0]):
        net.zero_grad()
        (F.cross_entropy(evaluate(net, x[b : b + 1]), y[b : b + 1]) / x.shape[0]).backward()
        out[b] = net.bias.grad
    net.zero_grad()
    return out


# -- the interface ------------------------------------------------------------------------------
@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("allowed", ["layers", "forward", "acyclic"])
@pytest.mark.parametrize("in_degree", [False, True])
def test_rewire_budget_is_exact_after_every_round(method, allowed, in_degree):
    net = _net(seed=1)
    x, y = _data(net)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    r = METHODS[method](
        net, opt, fraction=0.4, every=3, seed=0, allowed=allowed, in_degree=in_degree
    )
    space = Space(net.structure, allowed)
    E = net.num_edges
    groups = np.bincount(space.groups(net.structure), minlength=space.num_groups)
    indeg = torch.bincount(net.edge_index[1], minlength=net.num_nodes)
    for _ in range(4):
        _train(net, opt, r, x, y, 3)
        assert net.num_edges == E
        if allowed != "acyclic":  # the groups of the space stay filled as they were
            assert np.array_equal(
                np.bincount(space.groups(net.structure), minlength=space.num_groups), groups
            )
        if in_degree:
            assert torch.equal(torch.bincount(net.edge_index[1], minlength=net.num_nodes), indeg)
        assert len(_pairs(net)) == E  # no duplicate
        # the groups the round remembered for the edited net are those a lookup finds
        assert r.space._known is not None and r.space._known[0] is net.structure
        assert np.array_equal(r.space.groups(net.structure), space.groups(net.structure))
    assert [h.step for h in r.history] == [3, 6, 9, 12]
    assert all(h.moved > 0 for h in r.history)
    # one edit per round, that removes and adds (+ set_biases for the thesis)
    edits = [h for h in net.history if h.kind != "set_biases"]
    assert len(edits) == 4 and all(h.kind == "replace_edges" for h in edits)


def test_rewire_moved_counts_are_the_rounded_fraction_of_each_level():
    net = _net(sizes=(8, 12, 10, 4), density=0.4)
    x, y = _data(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    counts = np.bincount(Space(net.structure).groups(net.structure))
    r = rewire.SET(net, opt, fraction=0.35, every=2, seed=0)
    _train(net, opt, r, x, y, 2)
    assert r.history[0].moved == sum(round(0.35 * c) for c in counts)
    assert r.history[0].fraction == 0.35


def test_rewire_drop_is_smallest_magnitude_per_level():
    net = _net(seed=3)
    x, y = _data(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    r = rewire.SET(net, opt, fraction=0.3, every=1, seed=0)
    loss = F.cross_entropy(net(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    before = net.edge_index.T.tolist()
    w = net.weight.detach().abs().tolist()
    level = [lab[0] for lab in net.labels]  # sparse_mlp's labels: (layer, unit)
    expect = set()
    for pair in {(level[u], level[v]) for u, v in before}:  # one weight matrix at a time
        es = [e for e, (u, v) in enumerate(before) if (level[u], level[v]) == pair]
        k = round(0.3 * len(es))
        expect |= {tuple(before[e]) for e in sorted(es, key=lambda e: (w[e], e))[:k]}
    r.step()
    assert _last_round(net)[0] == expect


def test_rewire_new_edges_start_at_zero_with_zero_state_and_survivors_keep_theirs():
    net = _net(seed=2)
    x, y = _data(net)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    r = rewire.RigL(net, opt, fraction=0.3, every=4)
    _train(net, opt, r, x, y, 3)
    loss = F.cross_entropy(net(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    pairs = net.edge_index.T.tolist()
    state = {k: opt.state[net.weight][k].clone() for k in ("exp_avg", "exp_avg_sq")}
    w = net.weight.detach().clone()
    old = {tuple(p): e for e, p in enumerate(pairs)}
    round_ = r.step()
    new_pairs = net.edge_index.T.tolist()
    E = net.num_edges
    added = range(E - round_.moved, E)
    for e, p in enumerate(new_pairs):
        if e in added:
            assert net.weight[e].item() == 0.0
            assert opt.state[net.weight]["exp_avg"][e].item() == 0.0
            assert opt.state[net.weight]["exp_avg_sq"][e].item() == 0.0
        else:
            o = old[tuple(p)]
            assert net.weight[e].item() == w[o].item()
            for k in state:
                assert opt.state[net.weight][k][e].item() == state[k][o].item()
    _train(net, opt, r, x, y, 1)  # and training simply continues


@pytest.mark.parametrize(
    "make",
    [
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
        lambda p: torch.optim.RMSprop(p, lr=0.01),
        lambda p: torch.optim.Adagrad(p, lr=0.05),
        lambda p: torch.optim.AdamW(p, lr=0.01),
    ],
)
def test_rewire_works_with_any_torch_optimizer(make):
    net = _net(seed=4)
    x, y = _data(net)
    opt = make(net.parameters())
    r = rewire.Thesis(net, opt, fraction=0.3, every=2, seed=0)
    _train(net, opt, r, x, y, 6)
    assert len(r.history) == 3 and net.num_edges == _net(seed=4).num_edges
    for value in opt.state[net.weight].values():
        if isinstance(value, torch.Tensor) and value.dim():
            assert value.shape[0] == net.num_edges


def test_rewire_learns_digits():
    x_train, y_train, x_test, y_test = graphnets.data.digits(seed=0)
    net = rewire.sparse_mlp([64, 64, 10], 0.25, seed=0)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    r = rewire.RigL(net, opt, fraction=0.3, every=20, seed=0)
    g = torch.Generator().manual_seed(0)
    for _ in range(150):
        idx = torch.randint(0, x_train.shape[0], (64,), generator=g)
        loss = F.cross_entropy(net(x_train[idx]), y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        r.step()
    acc = (net(x_test).argmax(1) == y_test).float().mean().item()
    assert len(r.history) == 7 and acc > 0.85


# -- RigL's growth against brute force -------------------------------------------------------
@pytest.mark.parametrize("allowed", ["layers", "forward"])
def test_rigl_grows_the_largest_missing_gradients(allowed):
    net = _net(seed=5)
    x, y = _data(net, n=16)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    r = rewire.RigL(net, opt, fraction=0.3, every=1, allowed=allowed)
    space = Space(net.structure, allowed)
    allowed_pairs = [
        (u, v) for b in space.blocks() for u in b.src.tolist() for v in b.dst.tolist() if u != v
    ]
    group = {
        (u, v): b.group for b in space.blocks() for u in b.src.tolist() for v in b.dst.tolist()
    }
    grads = _missing_gradients(net, x, y, allowed_pairs)  # before the step: the forward's weights
    loss = F.cross_entropy(net(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    before = _pairs(net)
    r.step()
    removed, added = _last_round(net)
    survivors = before - removed
    assert len(added) == len(removed) == r.history[0].moved
    _check_top(added, removed, survivors, allowed_pairs, lambda p: abs(grads[p]), group.get)
    assert r.history[0].regrown == len(added & removed)


def test_rigl_in_degree_grows_per_node():
    net = _net(seed=6)
    x, y = _data(net, n=16)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    r = rewire.RigL(net, opt, fraction=0.3, every=1, in_degree=True)
    space = Space(net.structure)
    cand = [(u, v) for b in space.blocks() for u in b.src.tolist() for v in b.dst.tolist()]
    grads = _missing_gradients(net, x, y, cand)
    loss = F.cross_entropy(net(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    before = _pairs(net)
    r.step()
    removed, added = _last_round(net)
    survivors = before - removed
    _check_top(added, removed, survivors, cand, lambda p: abs(grads[p]), lambda p: p[1])


def test_collector_errors_give_every_edge_its_gradient():
    net = _net(seed=7)
    x, y = _data(net)
    c = Collector(net)
    c.arm()
    F.cross_entropy(net(x), y).backward()
    with torch.no_grad():
        net(torch.randn(3, 6, dtype=torch.float64))  # an evaluation does not replace the batch
    c.disarm()
    assert len(net._forward_hooks) == 0
    a, delta = c.values()
    src, dst = net.edge_index
    torch.testing.assert_close((a[:, src] * delta[:, dst]).sum(0), net.weight.grad)
    torch.testing.assert_close(a, _node_values(net, x))
    torch.testing.assert_close(delta, _per_sample_errors(net, x, y))


def test_collector_reads_the_weights_of_the_forward_not_of_the_step():
    net = _net(seed=8)
    x, y = _data(net)
    opt = torch.optim.SGD(net.parameters(), lr=1.0)
    c = Collector(net)
    c.arm()
    F.cross_entropy(net(x), y).backward()
    grad = net.weight.grad.clone()
    opt.step()  # a large step: the weights differ a lot now
    a, delta = c.values()
    src, dst = net.edge_index
    torch.testing.assert_close((a[:, src] * delta[:, dst]).sum(0), grad)


# -- SET's growth ---------------------------------------------------------------------------
def test_random_pairs_are_uniform_over_the_allowed_pairs():
    space = Space(_net(sizes=(4, 5, 3)).structure)
    s = _net(sizes=(4, 5, 3)).structure
    src, dst = s.edge_index.numpy()
    forbidden = Forbidden(s.num_nodes, src, dst)
    free = [
        (u, v)
        for b in space.blocks()
        for u in b.src.tolist()
        for v in b.dst.tolist()
        if (u, v) not in set(zip(src.tolist(), dst.tolist(), strict=True))
    ]
    quota = torch.tensor([2, 1])
    counts = dict.fromkeys(free, 0)
    gen = torch.Generator().manual_seed(0)
    trials = 3000
    for _ in range(trials):
        pool = random_pairs(
            space.blocks(),
            quota,
            forbidden,
            lambda d, g: torch.full((d.numel(),), g, dtype=torch.long),
            gen,
        )
        got = list(zip(pool.src.tolist(), pool.dst.tolist(), strict=True))
        assert len(set(got)) == 3
        for p in got:
            counts[p] += 1  # a KeyError would be a forbidden pair
    group = {
        (u, v): b.group for b in space.blocks() for u in b.src.tolist() for v in b.dst.tolist()
    }
    for g, k in enumerate(quota.tolist()):
        obs = np.array([counts[p] for p in free if group[p] == g], dtype=float)
        expected = trials * k / obs.size
        chi2 = float(((obs - expected) ** 2 / expected).sum())
        # chi-square with obs.size - 1 degrees of freedom: far below its 0.1% quantile
        assert chi2 < obs.size - 1 + 5 * math.sqrt(2 * (obs.size - 1))


def test_set_grows_only_allowed_free_pairs_and_regrows_nothing_forbidden():
    net = _net(sizes=(5, 6, 6, 2), density=0.6, seed=9)
    x, y = _data(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    r = rewire.SET(net, opt, fraction=0.5, every=1, seed=0, allowed="forward")
    layer = net.structure.level.copy()
    for _ in range(5):
        before = _pairs(net)
        _train(net, opt, r, x, y, 1)
        for u, v in _pairs(net) - before:
            assert layer[u] < layer[v] and v not in net.structure.inputs.tolist()
    assert any(layer[v] - layer[u] > 1 for u, v in _pairs(net))  # a skip edge grew


# -- the spaces -----------------------------------------------------------------------------
def test_space_descendants_match_networkx():
    net = graphnets.priors.watts_strogatz(3, 2, 12, 4, 0.4, seed=2)
    s = net.structure
    bits = descendants(s)
    G = nx.DiGraph(s.edge_index.T.tolist())
    G.add_nodes_from(range(s.num_nodes))
    nodes = np.arange(s.num_nodes)
    mask = reach_mask(bits, nodes, nodes)  # [src u, dst v]: v reaches u
    for v in range(s.num_nodes):
        assert set(np.flatnonzero(mask[:, v]).tolist()) == nx.descendants(G, v)


def test_acyclic_rewiring_grows_backward_edges_and_relevels():
    net = graphnets.priors.watts_strogatz(4, 2, 16, 4, 0.3, seed=1).double()
    x, y = _data(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    r = rewire.SET(net, opt, fraction=0.5, every=1, seed=0, allowed="acyclic")
    backward = 0
    for _ in range(6):
        level = net.structure.level.copy()
        before = _pairs(net)
        _train(net, opt, r, x, y, 1)
        backward += sum(level[u] >= level[v] for u, v in _pairs(net) - before)
        assert nx.is_directed_acyclic_graph(nx.DiGraph(net.edge_index.T.tolist()))
        torch.testing.assert_close(net(x), evaluate(net, x))
    assert backward > 0


def test_greedy_acyclic_accepts_best_first_what_keeps_the_graph_acyclic():
    net = graphnets.priors.watts_strogatz(3, 2, 14, 4, 0.3, seed=5)
    s = net.structure
    n = s.num_nodes
    g = torch.Generator().manual_seed(0)
    bits = descendants(s)
    src, dst = s.edge_index.numpy()
    forbidden = Forbidden(n, src, dst, bits)
    cand = [
        (u, v)
        for u in range(n)
        for v in range(n)
        if v not in s.inputs.tolist() and not forbidden.pairs(np.array([u]), np.array([v]))[0]
    ]
    score = torch.rand(len(cand), generator=g, dtype=torch.float64)
    key = torch.tensor([v % 3 for _, v in cand])
    pool = Pool(torch.tensor([u for u, _ in cand]), torch.tensor([v for _, v in cand]), key, score)
    need = torch.tensor([6, 5, 7])
    accepted, rejected = greedy_acyclic(pool, need, bits)
    # the reference: networkx, one candidate at a time, best first
    G = nx.DiGraph(s.edge_index.T.tolist())
    G.add_nodes_from(range(n))
    left = need.tolist()
    expect, refused = set(), set()
    for i in torch.argsort(score, descending=True).tolist():
        u, v = cand[i]
        if left[v % 3] == 0:
            continue
        if nx.has_path(G, v, u):
            refused.add((u, v))
            continue
        G.add_edge(u, v)
        expect.add((u, v))
        left[v % 3] -= 1
    assert set(zip(accepted.src.tolist(), accepted.dst.tolist(), strict=True)) == expect
    assert set(zip(rejected.src.tolist(), rejected.dst.tolist(), strict=True)) == refused
    assert refused  # some candidates did close a cycle with earlier ones
    # the bitsets now hold the descendants of the graph with the accepted edges
    nodes = np.arange(n)
    mask = reach_mask(bits, nodes, nodes)
    for v in range(n):
        assert set(np.flatnonzero(mask[:, v]).tolist()) == nx.descendants(G, v)


@pytest.mark.parametrize("method", ["RigL", "Thesis"])
def test_acyclic_top_growth_never_closes_a_cycle(method):
    net = graphnets.priors.watts_strogatz(4, 2, 14, 4, 0.3, seed=3).double()
    x, y = _data(net)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    r = METHODS[method](net, opt, fraction=0.5, every=1, seed=0, allowed="acyclic")
    _train(net, opt, r, x, y, 5)
    assert len(r.history) == 5
    assert nx.is_directed_acyclic_graph(nx.DiGraph(net.edge_index.T.tolist()))


def test_rewire_on_a_prior_in_layers_space_keeps_level_pairs():
    net = graphnets.priors.barabasi_albert(4, 2, 12, 2, seed=0).double()
    x, y = _data(net)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    space = Space(net.structure, "layers")
    pairs = {tuple(p) for p in space.pairs.tolist()}
    r = rewire.RigL(net, opt, fraction=0.3, every=2)
    _train(net, opt, r, x, y, 4)
    src, dst = net.edge_index
    assert {(space.layer[u], space.layer[v]) for u, v in zip(src, dst, strict=True)} <= pairs


# -- schedules and hooks --------------------------------------------------------------------
def test_rewire_cosine_decay_and_until_freeze_the_structure():
    net = _net(seed=10)
    x, y = _data(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    r = rewire.RigL(net, opt, fraction=0.4, every=2, decay="cosine", until=7)
    _train(net, opt, r, x, y, 7)
    assert [h.step for h in r.history] == [2, 4, 6]
    for h in r.history:
        assert h.fraction == pytest.approx(0.2 * (1 + math.cos(math.pi * h.step / 7)))
    frozen = _pairs(net)
    assert len(net._forward_hooks) == 0
    _train(net, opt, r, x, y, 6)
    assert _pairs(net) == frozen and len(r.history) == 3


def test_rewire_hooks_only_on_the_steps_that_need_them():
    net = _net(seed=11)
    x, y = _data(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    rigl = rewire.RigL(net, opt, every=4)
    armed = []
    for _ in range(8):
        armed.append(len(net._forward_hooks))
        _train(net, opt, rigl, x, y, 1)
    assert armed == [0, 0, 0, 1, 0, 0, 0, 1]
    rigl.close()
    net2 = _net(seed=11)
    opt2 = torch.optim.SGD(net2.parameters(), lr=0.05)
    s = rewire.SET(net2, opt2, every=1)
    _train(net2, opt2, s, x, y, 2)
    assert len(net2._forward_hooks) == 0 and len(s.history) == 2


def test_thesis_sums_the_utility_over_its_window():
    net = _net(seed=12)
    x, y = _data(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    r = rewire.Thesis(net, opt, every=5, window=2, fraction=0.3)
    hooks = []
    expect = torch.zeros(net.num_edges, dtype=torch.float64)
    for t in range(1, 6):
        hooks.append(len(opt._optimizer_step_pre_hooks))
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        if t >= 4:
            expect -= net.weight.detach() * net.weight.grad
        opt.step()
        if t == 5:
            torch.testing.assert_close(r._utility, expect)
            scores = r._utility.clone()
            before = net.edge_index.T.tolist()
            groups = Space(net.structure).groups(net.structure)
        r.step()
    assert hooks == [0, 0, 0, 1, 1]
    assert len(opt._optimizer_step_pre_hooks) == 0
    dropped = drop_mask(scores, groups, 0.3)
    assert net.history[-2].kind == "replace_edges"  # then the thesis's set_biases
    assert set(net.history[-2].removed_edges) == {
        (net.labels[u], net.labels[v]) for (u, v), d in zip(before, dropped, strict=True) if d
    }


# -- the thesis: correlation and least squares ------------------------------------------------
def test_thesis_grows_the_most_correlated_pairs_per_node():
    net = _net(seed=13)
    x, y = _data(net, n=20)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    r = rewire.Thesis(net, opt, fraction=0.3, every=1, search="exact", weights="zero")
    a = _node_values(net, x)
    delta = _per_sample_errors(net, x, y)
    loss = F.cross_entropy(net(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    before = _pairs(net)
    space = Space(net.structure)
    cand = [(u, v) for b in space.blocks() for u in b.src.tolist() for v in b.dst.tolist()]
    r.step()
    removed, added = _last_round(net)
    survivors = before - removed

    def corr(p):
        au, dv = a[:, p[0]], delta[:, p[1]]
        n = float(au.norm() * dv.norm())
        return 0.0 if n == 0 else abs(float(au @ dv)) / n

    _check_top(added, removed, survivors, cand, corr, lambda p: p[1])


def test_least_squares_is_eq_4_8_for_one_edge_and_minimal_for_many():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(30, 8, generator=g, dtype=torch.float64)
    # node 7 loses 0 -> 7 and 1 -> 7 (weights 1.5, -0.5) and gets 2 -> 7; node 6 gets 3, 4, 5
    w, nodes, db = rewire.least_squares(
        a,
        torch.tensor([2, 3, 4, 5]),
        torch.tensor([7, 6, 6, 6]),
        torch.tensor([0, 1, 0]),
        torch.tensor([7, 7, 6]),
        torch.tensor([1.5, -0.5, 2.0], dtype=torch.float64),
    )
    assert nodes.tolist() == [6, 7]
    t7 = 1.5 * a[:, 0] - 0.5 * a[:, 1]
    u, v = a[:, 2] - a[:, 2].mean(), t7 - t7.mean()
    assert w[0].item() == pytest.approx(float(u @ v / (u @ u)), rel=1e-12)  # Eq. 4.8
    assert db[1].item() == pytest.approx(float(t7.mean() - w[0] * a[:, 2].mean()), rel=1e-12)
    # node 6: numpy's least squares on the centred columns
    t6 = 2.0 * a[:, 0]
    U = a[:, 3:6].numpy()
    ref = np.linalg.lstsq(U - U.mean(0), (t6 - t6.mean()).numpy(), rcond=None)[0]
    np.testing.assert_allclose(w[1:].numpy(), ref, rtol=1e-10)
    change = db[0] + a[:, 3:6] @ w[1:] - t6
    assert abs(change.mean().item()) < 1e-12  # the mean is unchanged
    for _ in range(20):  # any other weights (with their best bias) change node 6 more
        other = w[1:] + 0.01 * torch.randn(3, generator=g, dtype=torch.float64)
        c = a[:, 3:6] @ other - t6
        assert (c - c.mean()).norm() > (change - change.mean()).norm()


def test_least_squares_gives_a_constant_source_weight_zero():
    a = torch.randn(10, 4, dtype=torch.float64)
    a[:, 1] = 3.0  # a dead (constant) source
    w, nodes, db = rewire.least_squares(
        a,
        torch.tensor([1]),
        torch.tensor([3]),
        torch.tensor([0]),
        torch.tensor([3]),
        torch.tensor([2.0], dtype=torch.float64),
    )
    assert w.tolist() == [0.0] and db[0].item() == pytest.approx(2 * a[:, 0].mean().item())


def test_thesis_round_changes_the_rewired_nodes_minimally_on_the_batch():
    # one hidden level: the rewired nodes' sources are inputs, which no round changes
    net = _net(sizes=(10, 12, 3), density=0.5, seed=14)
    x, y = _data(net, n=40)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    r = rewire.Thesis(
        net, opt, fraction=0.3, every=1, search="exact", allowed="layers", weight_bound=None
    )
    loss = F.cross_entropy(net(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    hidden = list(range(10, 22))
    z_before = (_node_values(net, x), net.bias.detach().clone())
    pre = graphnets.kernels.trace.trace(net, x).pre_activations().detach()
    r.step()
    post = graphnets.kernels.trace.trace(net, x).pre_activations().detach()
    diff = (post - pre)[:, hidden]
    changed = [j for j in range(12) if diff[:, j].abs().max() > 1e-12]
    assert changed  # some hidden node was rewired
    assert diff.mean(0).abs().max().item() < 1e-10  # mean pre-activation unchanged
    # the least-squares weights beat zero weights with the best bias (SET/RigL's choice)
    E = net.num_edges
    k = r.history[0].moved
    new = list(range(E - k, E))
    src, dst = net.edge_index
    a = z_before[0]
    for j in changed:
        v = hidden[j]
        mine = [e for e in new if dst[e] == v]
        alt = diff[:, j] - sum(
            (net.weight[e].detach() * a[:, src[e]] for e in mine), torch.zeros(x.shape[0])
        )
        assert diff[:, j].norm() <= (alt - alt.mean()).norm() + 1e-12


def test_thesis_approximate_search_keeps_the_budget_and_in_degrees():
    net = _net(sizes=(12, 40, 30, 4), seed=17)
    x, y = _data(net, n=32)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    r = rewire.Thesis(net, opt, fraction=0.3, every=2, search="approximate", probes=1, seed=0)
    indeg = torch.bincount(net.edge_index[1], minlength=net.num_nodes)
    _train(net, opt, r, x, y, 6)
    assert len(r.history) == 3
    assert torch.equal(torch.bincount(net.edge_index[1], minlength=net.num_nodes), indeg)


def test_thesis_reset_step_zeroes_adams_step_after_a_round():
    net = _net(seed=18)
    x, y = _data(net)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    r = rewire.Thesis(net, opt, every=3, reset_step=True)
    _train(net, opt, r, x, y, 3)
    assert float(opt.state[net.weight]["step"]) == 0.0
    _train(net, opt, r, x, y, 1)
    assert float(opt.state[net.weight]["step"]) == 1.0
    other = _net(seed=18)
    assert rewire.Thesis(other, torch.optim.Adam(other.parameters())).reset_step is False


def test_rewiring_guide_examples_run():
    # docs/rewiring.md: its examples are doctests and print what the page shows
    import doctest
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "docs" / "rewiring.md"
    result = doctest.testfile(str(page), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_least_squares_bound_clips_and_keeps_the_mean():
    a = torch.zeros(6, 4, dtype=torch.float64)
    a[:, 0] = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    a[:, 1] = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, 1e-3])  # barely varies: a huge weight
    args = (torch.tensor([1]), torch.tensor([3]), torch.tensor([0]), torch.tensor([3]))
    w, _, _ = rewire.least_squares(a, *args, torch.tensor([1.0], dtype=torch.float64))
    wb, _, db = rewire.least_squares(a, *args, torch.tensor([1.0], dtype=torch.float64), 0.5)
    assert abs(w.item()) > 100 and wb.item() == 0.5
    t = a[:, 0]
    change = db + a[:, 1] * wb - t
    assert abs(change.mean().item()) < 1e-12


def test_thesis_weight_bound_keeps_new_weights_within_the_node_in_weights():
    net = _net(seed=19)
    x, y = _data(net)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    r = rewire.Thesis(net, opt, fraction=0.3, every=2, weight_bound=0.5)
    _train(net, opt, r, x, y, 1)
    loss = F.cross_entropy(net(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    w, dst = net.weight.detach().abs(), net.edge_index[1]
    largest = torch.zeros(net.num_nodes, dtype=w.dtype).scatter_reduce(0, dst, w, "amax")
    r.step()
    k = r.history[0].moved
    new_w, new_dst = net.weight.detach()[-k:], net.edge_index[1, -k:]
    assert bool((new_w.abs() <= 0.5 * largest[new_dst] + 1e-12).all())
    with pytest.raises(ValueError, match=r"weight_bound must be a positive float or None, got 0"):
        rewire.Thesis(net, opt, weight_bound=0)


# -- scores, search and selection ---------------------------------------------------------------
def test_pair_scores_rigl_is_the_uncentred_unnormalised_correlation():
    g = torch.Generator().manual_seed(0)
    a, d = torch.randn(12, 5, generator=g), torch.randn(12, 5, generator=g)
    src, dst = torch.tensor([0, 1]), torch.tensor([2, 3, 4])
    raw = rewire.pair_scores(a, d, src, dst)
    torch.testing.assert_close(raw, (a[:, src].T @ d[:, dst]).abs())
    cos = rewire.pair_scores(a, d, src, dst, kind="correlation")
    ref = raw / (a[:, src].norm(dim=0)[:, None] * d[:, dst].norm(dim=0)[None, :])
    torch.testing.assert_close(cos, ref)
    cen = rewire.pair_scores(a, d, src, dst, kind="centred")
    ac, dc = a - a.mean(0), d - d.mean(0)
    ref = (ac[:, src].T @ dc[:, dst]).abs() / (
        ac[:, src].norm(dim=0)[:, None] * dc[:, dst].norm(dim=0)[None, :]
    )
    torch.testing.assert_close(cen, ref)
    zero = rewire.pair_scores(torch.zeros(12, 5), d, src, dst, kind="correlation")
    assert torch.equal(zero, torch.zeros(2, 3))


def _key(d, g):
    return torch.full((d.numel(),), g, dtype=torch.long)


def test_top_pairs_block_by_block_equals_the_whole_top_k():
    g = torch.Generator().manual_seed(1)
    a, d = torch.randn(16, 40, generator=g), torch.randn(16, 40, generator=g)
    blk = Block(torch.arange(0, 25), torch.arange(15, 40), 0)
    src = torch.randint(0, 25, (60,), generator=g).numpy()
    dst = torch.randint(15, 40, (60,), generator=g).numpy()
    keep = src != dst
    forbidden = Forbidden(40, src[keep], dst[keep])
    A, D = columns(a, d)
    full = (A[:, :25].T @ D[:, 15:]).abs()
    banned = {(int(u), int(v)) for u, v in zip(src[keep], dst[keep], strict=True)}
    scored = sorted(
        (
            (float(full[i, j]), i, j + 15)
            for i in range(25)
            for j in range(25)
            if (i, j + 15) not in banned and i != j + 15
        ),
        reverse=True,
    )
    for max_pairs in (25, 100, 1 << 20):  # one destination per piece ... the whole block
        pool = top_pairs([blk], exact(A, D, max_pairs), forbidden, _key, torch.tensor([30]))
        got = list(zip(pool.src.tolist(), pool.dst.tolist(), strict=True))
        assert got == [(i, j) for _, i, j in scored[:30]]


def test_approximate_search_probing_every_cluster_is_exact():
    g = torch.Generator().manual_seed(2)
    a, d = torch.randn(32, 300, generator=g), torch.randn(32, 300, generator=g)
    A, D = columns(a, d, "correlation")
    blk = Block(torch.arange(0, 200), torch.arange(200, 300), 0)
    forbidden = Forbidden(300, np.zeros(0, np.int64), np.zeros(0, np.int64))
    limit = torch.tensor([50])
    ref = top_pairs([blk], exact(A, D), forbidden, _key, limit)
    near = approximate(A, D, clusters=8, probes=8, seed=0)
    got = top_pairs([blk], near, forbidden, _key, limit)
    assert torch.equal(ref.src, got.src) and torch.equal(ref.dst, got.dst)


def test_approximate_search_finds_planted_correlations():
    g = torch.Generator().manual_seed(3)
    B, n = 64, 2000
    a = torch.randn(B, n, generator=g)
    d = torch.randn(B, n, generator=g)
    planted = [
        (int(u), 1000 + int(k)) for k, u in enumerate(torch.randperm(1000, generator=g)[:40])
    ]
    for u, v in planted:  # v's error is u's activation (or its negative), plus noise
        sign = 1 if v % 2 else -1
        d[:, v] = sign * a[:, u] + 0.3 * torch.randn(B, generator=g)
    A, D = columns(a, d, "correlation")
    blk = Block(torch.arange(0, 1000), torch.arange(1000, 2000), 0)
    forbidden = Forbidden(n, np.zeros(0, np.int64), np.zeros(0, np.int64))
    pool = top_pairs(
        [blk], approximate(A, D, probes=4, seed=0), forbidden, _key, torch.tensor([40])
    )
    found = set(zip(pool.src.tolist(), pool.dst.tolist(), strict=True))
    assert len(found & set(planted)) >= 36  # recall >= 90% of the planted pairs


def test_drop_mask_against_sorting():
    g = torch.Generator().manual_seed(4)
    scores = torch.randn(50, generator=g)
    groups = torch.randint(0, 3, (50,), generator=g).numpy()
    mask = drop_mask(scores, groups, 0.3)
    for k in range(3):
        ids = np.flatnonzero(groups == k)
        order = ids[np.argsort(scores.numpy()[ids], kind="stable")]
        assert set(np.flatnonzero(mask & (groups == k))) == set(order[: round(0.3 * ids.size)])


def test_rewire_on_the_device(device):
    net = _net(seed=15, dtype=torch.float32).to(device)
    x, y = (t.to(device) for t in _data(net))
    x = x.float()
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    for cls in (rewire.SET, rewire.RigL, rewire.Thesis):
        r = cls(net, opt, every=2, seed=0)
        _train(net, opt, r, x, y, 2)
        r.close()
        assert len(r.history) == 1 and net.weight.device.type == device.type


# -- errors ---------------------------------------------------------------------------------
def test_rewire_errors():
    net = _net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"expected a graphnets.GraphNet, got Linear"):
        rewire.SET(torch.nn.Linear(2, 2), opt)
    with pytest.raises(TypeError, match=r"optimizer must be a torch.optim.Optimizer, got list"):
        rewire.SET(net, [])
    other = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"optimizer does not optimise this net's weight"):
        rewire.SET(net, other)
    with pytest.raises(ValueError, match=r"fraction must be a float in \(0, 1\], got 1.5"):
        rewire.SET(net, opt, fraction=1.5)
    with pytest.raises(TypeError, match=r"fraction must be a float in \(0, 1\], got '0.3'"):
        rewire.SET(net, opt, fraction="0.3")
    with pytest.raises(ValueError, match=r"every must be a positive int, got 0"):
        rewire.RigL(net, opt, every=0)
    with pytest.raises(ValueError, match=r"unknown decay 'linear'; expected one of constant"):
        rewire.SET(net, opt, decay="linear")
    with pytest.raises(ValueError, match=r"decay='cosine' needs until=T_end"):
        rewire.RigL(net, opt, decay="cosine")
    with pytest.raises(ValueError, match=r"until must be a positive int, got -3"):
        rewire.SET(net, opt, until=-3)
    with pytest.raises(ValueError, match=r"unknown allowed 'dense'; expected one of layers"):
        rewire.SET(net, opt, allowed="dense")
    with pytest.raises(TypeError, match=r"in_degree must be True or False, got 1"):
        rewire.SET(net, opt, in_degree=1)
    with pytest.raises(ValueError, match=r"window must be at most every=10 .*got 20"):
        rewire.Thesis(net, opt, every=10, window=20)
    with pytest.raises(ValueError, match=r"correlation must be 'correlation' or 'centred'"):
        rewire.Thesis(net, opt, correlation="gradient")
    with pytest.raises(ValueError, match=r"unknown search 'fast'; expected one of auto"):
        rewire.Thesis(net, opt, search="fast")
    with pytest.raises(ValueError, match=r"unknown weights 'random'; expected one of"):
        rewire.Thesis(net, opt, weights="random")
    rec = graphnets.priors.watts_strogatz(2, 2, 6, 2, 0.0, seed=0, recurrent="self")
    with pytest.raises(ValueError, match=r"cannot rewire a recurrent net"):
        rewire.SET(rec, torch.optim.SGD(rec.parameters(), lr=0.1))
    assert len(net._forward_hooks) == 0  # no failed constructor left a hook


def test_rewire_errors_at_a_round():
    net = _net(seed=16)
    x, y = _data(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    r = rewire.RigL(net, opt, every=1)
    with pytest.raises(RuntimeError, match=r"no batch to rewire from"):
        r.step()  # no forward and backward before the round
    r.close()
    net2 = _net(seed=16)
    opt2 = torch.optim.SGD(net2.parameters(), lr=0.1)
    s = rewire.SET(net2, opt2, every=2, allowed="layers")
    net2.add_edges([(0, 0)], [(3, 0)], optimizer=opt2)  # a skip edge, outside "layers"
    _train(net2, opt2, s, x, y, 1)
    with pytest.raises(RuntimeError, match=r"edge \(0, 0\) -> \(3, 0\) lies outside the space"):
        _train(net2, opt2, s, x, y, 1)
    net3 = _net(seed=16)
    opt3 = torch.optim.SGD(net3.parameters(), lr=0.1)
    s3 = rewire.SET(net3, opt3, every=1)
    net3.add_nodes(["new"], optimizer=opt3)
    with pytest.raises(RuntimeError, match=r"the net's nodes changed since the rewirer was built"):
        _train(net3, opt3, s3, x, y, 1)


def test_rewirer_repr_and_round_repr():
    net = _net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    r = rewire.SET(net, opt, every=1, seed=0)
    x, y = _data(net)
    _train(net, opt, r, x, y, 1)
    assert repr(r).startswith("SET(fraction=0.3, every=1, decay='constant', until=None, ")
    assert repr(r.history[0]).startswith("Round(step=1, fraction=0.3, moved=")


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5, 1.0])
def test_drop_mask_breaks_ties_by_edge_id_as_a_full_sort_does(fraction):
    # few distinct scores: the partition's threshold falls inside a run of ties
    g = torch.Generator().manual_seed(5)
    scores = torch.randint(0, 4, (300,), generator=g).double()
    groups = torch.randint(0, 5, (300,), generator=g).numpy() * 2  # groups 0, 2, ..., 8
    mask = drop_mask(scores, groups, fraction)
    for k in set(groups.tolist()):
        ids = [e for e in range(300) if groups[e] == k]
        want = sorted(ids, key=lambda e: (float(scores[e]), e))[: round(fraction * len(ids))]
        assert sorted(np.flatnonzero(mask & (groups == k)).tolist()) == sorted(want)


@pytest.mark.parametrize("fraction", [0.1, 0.3, 1.0])
def test_drop_mask_of_float32_scores_is_that_of_the_same_scores_widened(fraction):
    # float32 scores are partitioned as they are: the same edges as their float64 values,
    # ties included (few distinct values, and values that differ only in float32's last bit)
    g = torch.Generator().manual_seed(8)
    base = torch.randint(0, 5, (400,), generator=g).float()
    scores = torch.where(torch.rand(400, generator=g) < 0.3, base, base.nextafter(base + 1))
    groups = torch.randint(0, 4, (400,), generator=g).numpy()
    got = drop_mask(scores, groups, fraction)
    assert np.array_equal(got, drop_mask(scores.double(), groups, fraction))
    for k in range(4):
        ids = [e for e in range(400) if groups[e] == k]
        want = sorted(ids, key=lambda e: (float(scores[e]), e))[: round(fraction * len(ids))]
        assert sorted(np.flatnonzero(got & (groups == k)).tolist()) == sorted(want)


def test_drop_mask_names_a_nan_score_and_takes_infinite_ones():
    scores = torch.tensor([1.0, float("inf"), -float("inf"), 0.5])  # their sum is NaN
    assert drop_mask(scores, np.zeros(4, dtype=np.int64), 0.5).tolist() == [
        False,
        False,
        True,
        True,
    ]
    with pytest.raises(ValueError, match="drop score of edge 2 is NaN"):
        drop_mask(torch.tensor([1.0, 2.0, float("nan"), 0.0]), np.zeros(4, np.int64), 0.5)


def test_forbidden_table_and_binary_search_agree(monkeypatch):
    import graphnets.methods.rewire.select as select

    g = torch.Generator().manual_seed(6)
    src, dst = torch.randint(0, 50, (2, 300), generator=g).numpy()
    qs, qd = torch.randint(0, 50, (2, 2000), generator=g).numpy()
    with_table = Forbidden(50, src, dst)
    monkeypatch.setattr(select, "TABLE_MAX_PAIRS", 0)
    searched = Forbidden(50, src, dst)
    assert with_table._table is not None and searched._table is None
    edges = set(zip(src.tolist(), dst.tolist(), strict=True))
    want = [s == d or (s, d) in edges for s, d in zip(qs.tolist(), qd.tolist(), strict=True)]
    assert with_table.pairs(qs, qd).tolist() == want == searched.pairs(qs, qd).tolist()


@pytest.mark.parametrize("method", sorted(METHODS))
def test_rewire_round_is_one_edit_equal_to_remove_then_add(method):
    # the round's replace_edges against the two edits it replaced, replayed from its record on a
    # copy of the net taken just before the round: structure, weights, biases, optimizer state
    import copy

    net = _net(seed=21)
    x, y = _data(net)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    r = METHODS[method](net, opt, fraction=0.3, every=3, seed=0)
    _train(net, opt, r, x, y, 2)
    loss = F.cross_entropy(net(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    ref = copy.deepcopy(net)
    ref_opt = torch.optim.Adam(ref.parameters(), lr=0.01)
    ref_opt.load_state_dict(opt.state_dict())
    n_before = len(net.history)
    r.step()  # the round
    records = list(net.history)[n_before:]
    assert [h.kind for h in records][:1] == ["replace_edges"]
    edit = records[0]
    moved = edit.removed_edge_ids.numel()
    assert moved == r.history[-1].moved == edit.num_added_edges > 0
    ref.remove_edges(edit.removed_edge_ids, optimizer=ref_opt)
    src, dst = zip(*edit.added_edges, strict=True)
    ref.add_edges(list(src), list(dst), net.weight.detach()[-moved:], optimizer=ref_opt)
    if len(records) == 2:  # the thesis's bias changes
        ids = records[1].node_ids
        ref.set_biases([ref.labels[i] for i in ids.tolist()], net.bias.detach()[ids])
    assert net.edges() == ref.edges()
    torch.testing.assert_close(net.weight, ref.weight, rtol=0, atol=0)
    torch.testing.assert_close(net.bias, ref.bias, rtol=0, atol=0)
    for p, q in ((net.weight, ref.weight), (net.bias, ref.bias)):
        for key, value in opt.state[p].items():
            torch.testing.assert_close(value, ref_opt.state[q][key], rtol=0, atol=0)
    torch.testing.assert_close(net(x), ref(x))
    torch.testing.assert_close(net(x), evaluate(net, x))
