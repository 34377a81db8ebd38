"""``GraphNet.replace_edges``: one edit that removes and adds, against the two edits it replaces
(remove_edges then add_edges, the independent reference) and against a fresh compile."""

import copy

import networkx as nx
import numpy as np
import pytest
import torch
from conftest import skip_unsupported

import graphnets
from graphnets import CycleError
from graphnets.reference import evaluate

KERNELS = ["auto", "levelwise", "dense", "sparse", "scatter", "fused"]


def _dag(seed=4, n=30, p=0.3, kernel="auto", dtype=torch.float32):
    G = nx.gnp_random_graph(n, p, seed=seed, directed=True)
    D = nx.DiGraph((u, v) for u, v in G.edges if u < v)
    return graphnets.priors.embed(D, 5, 3, seed=seed, kernel=kernel, dtype=dtype)


def _levels(net) -> np.ndarray:
    """The level of every node in the net's schedule."""
    out = np.zeros(net.num_nodes, dtype=np.int64)
    order = net.schedule.order.cpu().numpy()
    for k, lv in enumerate(net.schedule.levels):
        out[order[lv.start : lv.stop]] = k
    return out


def _pick(net, drop, k, rng, upward=True):
    """``k`` new pairs that are not edges after dropping ``drop``: going up the schedule's levels
    (``upward``), or within one level (acyclic, but not up the levels)."""
    lv = _levels(net)
    inputs = set(net.structure.inputs.tolist())
    src, dst = net.edge_index.numpy()
    taken = set(zip(src[~drop].tolist(), dst[~drop].tolist(), strict=True))
    pairs = [
        (u, v)
        for u in range(net.num_nodes)
        for v in range(net.num_nodes)
        if u != v
        and v not in inputs
        and (u, v) not in taken
        and (lv[u] < lv[v] if upward else lv[u] == lv[v] and u < v)
    ]
    pick = rng.choice(len(pairs), size=min(k, len(pairs)), replace=False)
    chosen = [pairs[i] for i in sorted(pick.tolist())]
    return np.array([u for u, _ in chosen]), np.array([v for _, v in chosen])


def _loss(net, x):
    target = torch.linspace(-1, 1, 3 * x.shape[0]).reshape(-1, 3)
    return (net(x) - target).pow(2).mean()


def _trained(net, opt_cls, **kw):
    opt = opt_cls(net.parameters(), **kw)
    x = torch.randn(16, net.structure.inputs.numel(), generator=torch.Generator().manual_seed(0))
    for _ in range(3):
        opt.zero_grad()
        _loss(net, x).backward()
        opt.step()
    _loss(net, x).backward()  # a gradient to carry over
    assert net.weight.grad.abs().sum() > 0
    return opt, x


def _grads(net, x, gy):
    return torch.autograd.grad(net(x), [net.weight, net.bias], gy)


def _twins(net, opt):
    """A deep copy of ``net`` and its optimizer, state included."""
    twin = copy.deepcopy(net)
    twin_opt = type(opt)(twin.parameters(), **opt.defaults)
    twin_opt.load_state_dict(opt.state_dict())
    for p, q in zip(net.parameters(), twin.parameters(), strict=True):
        q.grad = p.grad.clone()  # (a deep copy leaves gradients behind)
    return twin, twin_opt


def _reference(net, opt, drop, src, dst, weight):
    """The old path: remove_edges, then add_edges by labels."""
    lab = net.labels
    net.remove_edges(torch.from_numpy(drop), optimizer=opt)
    net.add_edges([lab[i] for i in src], [lab[i] for i in dst], weight, optimizer=opt)


@pytest.mark.parametrize("upward", [True, False])
@pytest.mark.parametrize(
    "opt_cls, kw",
    [
        (torch.optim.SGD, {"lr": 0.01, "momentum": 0.9}),
        (torch.optim.Adam, {"lr": 0.01}),
        (torch.optim.RMSprop, {"lr": 0.01, "momentum": 0.5}),
    ],
)
def test_replace_edges_equals_remove_then_add(opt_cls, kw, upward):
    rng = np.random.default_rng(1)
    net = _dag()
    opt, x = _trained(net, opt_cls, **kw)
    ref, ref_opt = _twins(net, opt)
    drop = rng.random(net.num_edges) < 0.3
    src, dst = _pick(net, drop, int(drop.sum()), rng, upward)
    weight = torch.randn(src.size, generator=torch.Generator().manual_seed(2))
    levels = [(lv.start, lv.stop) for lv in net.schedule.levels]
    record = net.replace_edges(drop, torch.from_numpy(src), dst, weight, optimizer=opt)
    _reference(ref, ref_opt, drop, src, dst, weight)
    # new edges up the levels keep the layering (the fast path); others re-level the net
    assert ([(lv.start, lv.stop) for lv in net.schedule.levels] == levels) == upward
    assert net.edges() == ref.edges()
    torch.testing.assert_close(net.weight, ref.weight, rtol=0, atol=0)
    torch.testing.assert_close(net.bias, ref.bias, rtol=0, atol=0)
    torch.testing.assert_close(net.weight.grad, ref.weight.grad, rtol=0, atol=0)
    torch.testing.assert_close(net.bias.grad, ref.bias.grad, rtol=0, atol=0)
    for p, q in ((net.weight, ref.weight), (net.bias, ref.bias)):
        assert opt.state[p].keys() == ref_opt.state[q].keys()
        for key, value in opt.state[p].items():
            torch.testing.assert_close(value, ref_opt.state[q][key], rtol=0, atol=0)
    torch.testing.assert_close(net(x), ref(x))
    torch.testing.assert_close(net(x), evaluate(net, x))
    # one record, saying what both of the reference's said
    removed, added = ref.history[-2], ref.history[-1]
    assert record is net.history[-1] and record.kind == "replace_edges"
    assert record.removed_edges == removed.removed_edges
    assert record.added_edges == added.added_edges
    assert torch.equal(record.edge_map, removed.edge_map)
    assert record.nbytes() <= removed.nbytes() + added.nbytes()
    # and training goes on with the same gradients (not compared after adaptive steps: Adam
    # turns a rounding difference in a near-zero gradient into a full step)
    for m, o in ((net, opt), (ref, ref_opt)):
        o.zero_grad()
        _loss(m, x).backward()
    torch.testing.assert_close(net.weight.grad, ref.weight.grad)
    torch.testing.assert_close(net.bias.grad, ref.bias.grad)
    opt.step()


def test_replace_edges_default_weights_are_the_seeded_fan_in_init_of_add_edges():
    rng = np.random.default_rng(3)
    net = _dag(seed=5)
    ref = copy.deepcopy(net)
    drop = rng.random(net.num_edges) < 0.2
    src, dst = _pick(net, drop, 6, rng)
    net.replace_edges(drop, src, dst, seed=7)
    lab = ref.labels
    ref.remove_edges(drop)
    ref.add_edges([lab[i] for i in src], [lab[i] for i in dst], seed=7)
    torch.testing.assert_close(net.weight, ref.weight, rtol=0, atol=0)


@pytest.mark.parametrize("kernel", KERNELS)
def test_replace_edges_replans_only_changed_levels_and_matches_a_fresh_compile(kernel, device):
    # rounds of replace_edges up the levels: the layering stays, the levels whose in-edges did
    # not change keep their plans (the same index tensors), and every round computes what a
    # net compiled from scratch computes, forward and backward
    skip_unsupported(kernel, device)
    rng = np.random.default_rng(0)
    net = _dag(seed=6, n=40, p=0.25, kernel=kernel, dtype=torch.float64).to(device)
    x = torch.randn(9, 5, dtype=torch.float64, device=device)
    gy = torch.randn(9, 3, dtype=torch.float64, device=device)
    layering = [(lv.start, lv.stop) for lv in net.schedule.levels]
    for r in range(4):
        lv = _levels(net)
        dst_all = net.edge_index[1].numpy()
        top = int(lv.max())
        # drop and grow only into the top level in odd rounds: the lower levels must be reused
        into = lv[dst_all] == top if r % 2 else np.ones(net.num_edges, dtype=bool)
        drop = into & (rng.random(net.num_edges) < 0.4)
        src, dst = _pick(net, drop, int(drop.sum()), rng)
        if r % 2:
            keep = lv[dst] == top
            src, dst = src[keep], dst[keep]
        before = net.schedule
        net.replace_edges(drop, src, dst, seed=r)
        after = net.schedule
        assert [(p.start, p.stop) for p in after.levels] == layering
        if r % 2 and kernel != "fused":
            for old, new in zip(before.levels[:top], after.levels[:top], strict=True):
                assert old.kind == new.kind
                for name, t in old.tensors().items():
                    if name not in ("dead", "dead_edges"):
                        assert new.tensors()[name] is t  # reused, not re-planned
        fresh = graphnets.GraphNet(
            net.structure, net.weight.detach(), net.bias.detach(), kernel=kernel, device=device
        )
        torch.testing.assert_close(net(x), fresh(x))
        for got, want in zip(_grads(net, x, gy), _grads(fresh, x, gy), strict=True):
            torch.testing.assert_close(got, want)
        torch.testing.assert_close(net(x), evaluate(net, x))


def test_replace_edges_marks_nodes_cut_off_from_the_outputs():
    # dropping the only out-edges of a node leaves it without a path to an output in a level
    # whose own in-edges did not change: its gradient must still be exactly zero
    net = graphnets.mlp([2, 3, 3, 1], seed=0, kernel="levelwise")
    i = net.structure.index
    h = i[(1, 0)]
    out_of_h = (net.edge_index[0] == h).numpy()
    net.replace_edges(out_of_h, [i[(0, 0)]], [i[(3, 0)]])  # a skip edge instead
    plan = net.schedule.levels[1]
    assert plan.dead is not None and plan.dead.tolist() == [int(net.schedule.position[h]) - 2]
    x = torch.randn(4, 2)
    fresh = graphnets.GraphNet(net.structure, net.weight.detach(), kernel="levelwise")
    for got, want in zip(
        torch.autograd.grad(net(x).sum(), [net.weight, net.bias]),
        torch.autograd.grad(fresh(x).sum(), [fresh.weight, fresh.bias]),
        strict=True,
    ):
        torch.testing.assert_close(got, want)


def test_replace_edges_may_bring_back_a_dropped_pair_as_a_new_edge():
    net = graphnets.mlp([2, 2, 1], seed=0)
    src, dst = net.edge_index[:, 0].tolist()
    net.replace_edges([0], [src], [dst], [0.0])
    assert net.edge_index[:, -1].tolist() == [src, dst] and float(net.weight[-1].detach()) == 0.0


def _frozen(net):
    return net.edges(), net.weight.detach().clone(), net.schedule, len(net.history)


@pytest.mark.parametrize(
    "args, error, message",
    [
        (([0], [5], [3]), CycleError, r"close a feed-forward cycle: .*; the net is unchanged"),
        (([0], [2], [2]), ValueError, r"self loop on node \(1, 0\)"),
        (([0], [2], [0]), ValueError, r"enters input node \(0, 0\)"),
        (([0], [0], [3]), ValueError, r"duplicate edge \(0, 0\) -> \(1, 1\)"),
        (([0], [1, 1], [5, 5]), ValueError, r"duplicate edge \(0, 1\) -> \(2, 1\)"),
        (([0], [9], [3]), ValueError, r"src holds node id 9, but the net has 6 nodes"),
        (([0], [0], [-1]), ValueError, r"dst holds node id -1"),
        (([0], [(0, 0)], [(2, 0)]), TypeError, r"src must be node ids .*net.structure.index"),
        (([0], [0.0], [5]), TypeError, r"src must be node ids"),
        (([0], [0, 1], [5]), ValueError, r"as many sources as destinations, got 2 and 1"),
        (([0], [0], [5], [1.0, 2.0]), ValueError, r"expected 1 weights"),
        (([0], [0], [5], [float("nan")]), ValueError, r"weight of new edge \(0, 0\) -> \(2, 1\)"),
        (([99], [0], [5]), ValueError, r"edge id 99 is out of range"),
    ],
)
def test_replace_edges_errors_leave_the_net_unchanged(args, error, message):
    # ids 0, 1: inputs; 2, 3: hidden (labels (1, 0), (1, 1)); 4, 5: outputs
    net = graphnets.from_edges(
        torch.tensor([[0, 0, 1, 1, 2, 3, 2], [2, 3, 2, 3, 4, 5, 5]]),
        6,
        [(0, 0), (0, 1)],
        [(2, 0), (2, 1)],
        labels=[(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)],
        seed=0,
    )
    if args[1] == [0] and args[2] == [3]:  # a duplicate of a survivor: drop another edge
        args = ([6], [0], [3])
    before = _frozen(net)
    with pytest.raises(error, match=message):
        net.replace_edges(*args)
    after = _frozen(net)
    assert after[0] == before[0] and after[2] is before[2] and after[3] == before[3]
    torch.testing.assert_close(after[1], before[1])


def test_replace_edges_of_a_recurrent_net_keeps_delays_and_state():
    ei = torch.tensor([[0, 1, 1, 2], [1, 1, 2, 3]])
    net = graphnets.from_edges(ei, 4, [0], [3], delay=[0, 1, 0, 0], seed=0)
    ref = copy.deepcopy(net)
    net.replace_edges([2], [0], [2], [0.5])
    ref.remove_edges([2])
    ref.add_edges([0], [2], [0.5])
    assert net.edges() == ref.edges() and net.structure.delay.tolist() == [0, 1, 0, 0]
    xs = torch.randn(5, 2, 1)
    torch.testing.assert_close(net.run(xs), ref.run(xs))
