"""Graph edits on live nets: structure, parameters, optimizer state, records, atomicity."""

import networkx as nx
import pytest
import torch
from conftest import skip_unsupported

import graphnets
from graphnets import CycleError
from graphnets.reference import evaluate


def _trained(opt_cls, device="cpu", **kw):
    torch.manual_seed(0)
    net = graphnets.mlp([4, 6, 5, 3], seed=0).to(device)
    opt = opt_cls(net.parameters(), **kw)
    x, y = torch.randn(16, 4).to(device), torch.randint(0, 3, (16,)).to(device)
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    return net, opt, x, y


def _step(net, opt, x, y):
    opt.zero_grad()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    opt.step()


def _snapshot(net, opt=None):
    state = {}
    if opt is not None:
        for p in (net.weight, net.bias):
            state[id(p)] = {k: v.clone() for k, v in opt.state.get(p, {}).items()}
    return net.edges(), net.weight.detach().clone(), net.bias.detach().clone(), state


@pytest.mark.parametrize("how", ["mask", "ids", "pairs"])
def test_edits_remove_edges_equals_rebuilt_net(how, device):
    net = graphnets.mlp([4, 6, 3], seed=0).to(device)
    edges, w = net.edges(), net.weight.detach().clone()
    drop = [1, 5, 6, 20, 29]
    arg = {
        "mask": torch.isin(torch.arange(net.num_edges), torch.tensor(drop)),
        "ids": drop,
        "pairs": [edges[i] for i in drop],
    }[how]
    record = net.remove_edges(arg)
    keep = [i for i in range(len(edges)) if i not in drop]
    assert net.edges() == [edges[i] for i in keep]
    assert torch.equal(net.weight.detach(), w[keep])
    assert record.removed_edges == [edges[i] for i in drop]
    assert record.edge_map.tolist() == [
        keep.index(i) if i in keep else -1 for i in range(len(edges))
    ]
    x = torch.randn(5, 4).to(device)
    torch.testing.assert_close(net(x), evaluate(net, x))


@pytest.mark.parametrize(
    "opt_cls, kw, keys",
    [
        (torch.optim.SGD, dict(lr=0.1, momentum=0.9), ["momentum_buffer"]),
        (torch.optim.Adam, dict(lr=0.01), ["exp_avg", "exp_avg_sq"]),
        (torch.optim.AdamW, dict(lr=0.01), ["exp_avg", "exp_avg_sq"]),
    ],
    ids=["sgd", "adam", "adamw"],
)
def test_edits_remove_edges_carries_optimizer_state(opt_cls, kw, keys, device):
    net, opt, x, y = _trained(opt_cls, device, **kw)
    weight, bias = net.weight, net.bias
    before = {k: opt.state[weight][k].clone() for k in keys}
    step = opt.state[weight].get("step")
    mask = torch.zeros(net.num_edges, dtype=torch.bool)
    mask[::4] = True
    net.remove_edges(mask, optimizer=opt)
    assert net.weight is weight and net.bias is bias  # same Parameters: the optimizer still works
    for k in keys:
        assert torch.equal(opt.state[weight][k], before[k][~mask.to(device)])
    if step is not None:
        assert torch.equal(opt.state[weight]["step"], step)
    _step(net, opt, x, y)  # no shape errors, and training goes on
    assert opt.state[weight][keys[0]].shape == (net.num_edges,)


def test_edits_add_edges_new_state_is_zero():
    net, opt, x, y = _trained(torch.optim.Adam, lr=0.01)
    old = opt.state[net.weight]["exp_avg"].clone()
    record = net.add_edges([(0, 0), (0, 1)], [(2, 0), (3, 2)], weight=[0.5, -0.25], optimizer=opt)
    assert record.added_edges == [((0, 0), (2, 0)), ((0, 1), (3, 2))]
    assert net.edges()[-2:] == record.added_edges
    assert net.weight[-2:].tolist() == [0.5, -0.25]
    state = opt.state[net.weight]["exp_avg"]
    assert torch.equal(state[:-2], old) and state[-2:].tolist() == [0.0, 0.0]
    _step(net, opt, x, y)
    x2 = torch.randn(3, 4)
    torch.testing.assert_close(net(x2), evaluate(net, x2))


def test_edits_add_edges_default_init_is_seeded():
    a, b = graphnets.mlp([3, 4, 2], seed=0), graphnets.mlp([3, 4, 2], seed=0)
    a.add_edges([(0, 0)], [(2, 1)], seed=5)
    b.add_edges([(0, 0)], [(2, 1)], seed=5)
    assert torch.equal(a.weight, b.weight)
    assert a.weight[-1] != 0


def test_edits_add_edge_closing_a_cycle_changes_nothing():
    net, opt, _, _ = _trained(torch.optim.Adam, lr=0.01)
    before = _snapshot(net, opt)
    with pytest.raises(
        CycleError,
        match=r"adding these edges would close a feed-forward cycle: "
        r".*\(2, 0\).*; the net is unchanged",
    ):
        net.add_edges([(2, 0)], [(1, 0)], optimizer=opt)
    after = _snapshot(net, opt)
    assert before[0] == after[0]
    assert torch.equal(before[1], after[1]) and torch.equal(before[2], after[2])
    for pid in before[3]:
        for k in before[3][pid]:
            assert torch.equal(before[3][pid][k], after[3][pid][k])
    assert net.history == []


@pytest.mark.parametrize(
    "src, dst, message",
    [
        ([(1, 0)], [(0, 0)], r"enters input node \(0, 0\)"),
        ([(1, 0)], [(1, 0)], r"self loop on node \(1, 0\)"),
        ([(0, 0)], [(1, 0)], r"duplicate edge \(0, 0\) -> \(1, 0\)"),
        (["nope"], [(1, 0)], r"src name 'nope', which is not a node of the graph"),
        ([(0, 0), (0, 1)], [(1, 0)], r"expected as many sources as destinations, got 2 and 1"),
    ],
)
def test_edits_add_edges_errors(src, dst, message):
    net = graphnets.mlp([3, 4, 2], seed=0)
    edges = net.edges()
    with pytest.raises(ValueError, match=message):
        net.add_edges(src, dst)
    assert net.edges() == edges


def test_edits_remove_nodes_remaps_bias_and_state():
    net, opt, x, y = _trained(torch.optim.SGD, lr=0.1, momentum=0.9)
    labels, bias = net.labels, net.bias.detach().clone()
    buf = opt.state[net.bias]["momentum_buffer"].clone()
    record = net.remove_nodes([(1, 2), (2, 4)], optimizer=opt)
    keep = [i for i, lab in enumerate(labels) if lab not in ((1, 2), (2, 4))]
    assert net.labels == [labels[i] for i in keep]
    assert torch.equal(net.bias.detach(), bias[keep])
    assert torch.equal(opt.state[net.bias]["momentum_buffer"], buf[keep])
    assert all((1, 2) not in e and (2, 4) not in e for e in net.edges())
    # (1, 2): 4 in, 5 out; (2, 4): 6 in, 3 out; the edge (1, 2) -> (2, 4) counted once
    assert (
        record.removed_nodes == [(1, 2), (2, 4)] and len(record.removed_edges) == 4 + 5 + 6 + 3 - 1
    )
    _step(net, opt, x, y)


def test_edits_remove_input_or_output_raises():
    net = graphnets.mlp([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match=r"cannot remove input node \(0, 1\): inputs and outputs"):
        net.remove_nodes([(0, 1)])
    with pytest.raises(ValueError, match=r"cannot remove output node \(2, 0\)"):
        net.remove_nodes([(2, 0)])


def test_edits_add_nodes_then_connect():
    net = graphnets.mlp([3, 4, 2], seed=0)
    net.add_nodes(["h"], activation="tanh", bias=[0.5])
    assert net.dead_nodes() == ["h"] and net.activations["h"] == "tanh"
    assert net.bias[-1].item() == 0.5
    net.add_edges([(0, 0), "h"], ["h", (2, 1)])
    assert net.dead_nodes() == []
    x = torch.randn(4, 3)
    torch.testing.assert_close(net(x), evaluate(net, x))
    with pytest.raises(ValueError, match=r"node 'h' is already in the graph"):
        net.add_nodes(["h"])


def test_edits_prune_dead_keeps_the_function():
    G = nx.DiGraph([("x", "h"), ("h", "y"), ("x", "y"), ("z", "y"), ("h", "q"), ("q", "r")])
    net = graphnets.from_networkx(G, ["x"], ["y"], seed=0)
    x = torch.randn(6, 1)
    y = net(x).detach()
    record = net.prune_dead()
    assert sorted(record.removed_nodes) == ["q", "r", "z"]
    assert sorted(net.labels) == ["h", "x", "y"]
    torch.testing.assert_close(net(x), y)


def test_edits_set_weights_in_the_given_order():
    net = graphnets.mlp([2, 2, 1], seed=0)
    net.set_weights([3, 0], [7.0, -1.0])
    assert net.weight[3].item() == 7.0 and net.weight[0].item() == -1.0
    net.set_weights([((0, 0), (1, 1))], 2.5)
    assert net.weight[net.edges().index(((0, 0), (1, 1)))].item() == 2.5
    with pytest.raises(
        ValueError, match=r"expected 1 or 2 values \(one per selected edge\), got 3"
    ):
        net.set_weights([0, 1], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"weights must be finite"):
        net.set_weights([0], float("nan"))


def test_edits_set_biases_in_the_given_order_and_recorded():
    net = graphnets.mlp([2, 2, 1], seed=0)
    x = torch.randn(5, 2)
    record = net.set_biases([(2, 0), (1, 1)], [-1.5, 0.25])
    assert net.bias.tolist() == [0.0, 0.0, 0.0, 0.25, -1.5]
    assert record.kind == "set_biases" and record.node_ids.tolist() == [4, 3]
    assert net.history[-1] is record and net.num_edges == 6
    # the function changes as the semantics say: z = b + sum w a
    torch.testing.assert_close(net(x), evaluate(net, x))
    net.set_biases([(1, 0), (1, 1)], 2.0)  # one value for all
    assert net.bias.tolist()[2:4] == [2.0, 2.0]


def test_edits_set_biases_errors():
    net = graphnets.mlp([2, 2, 1], seed=0)
    with pytest.raises(ValueError, match=r"cannot set the bias of input node \(0, 1\)"):
        net.set_biases([(1, 0), (0, 1)], [1.0, 2.0])
    with pytest.raises(
        ValueError, match=r"expected 1 or 2 values \(one per selected node\), got 3"
    ):
        net.set_biases([(1, 0), (1, 1)], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"bias of node \(1, 1\) is nan"):
        net.set_biases([(1, 0), (1, 1)], [1.0, float("nan")])
    with pytest.raises(ValueError, match=r"nodes name 'h', which is not a node"):
        net.set_biases(["h"], [1.0])
    with pytest.raises(TypeError, match=r"got the string 'h'; write \['h'\] for one node"):
        net.set_biases("h", [1.0])
    assert net.bias.abs().sum().item() == 0.0 and len(net.history) == 0


def test_edits_follow_an_edge_through_history():
    net = graphnets.mlp([3, 4, 2], seed=0)
    target = net.edges()[10]
    e = 10
    net.remove_edges([0, 1, 2])
    net.add_edges([(0, 0)], [(2, 0)])
    net.remove_edges([5])
    for record in net.history:
        e = int(record.edge_map[e]) if e < len(record.edge_map) else e
    assert net.edges()[e] == target
    assert [r.kind for r in net.history] == ["remove_edges", "add_edges", "remove_edges"]


@pytest.mark.parametrize(
    "edges, error, message",
    [
        (torch.ones(3, dtype=torch.bool), ValueError, r"expected an edge mask of 20 booleans"),
        ([20], ValueError, r"edge id 20 is out of range; the net has 20 edges \(ids 0..19\)"),
        ([((0, 0), (2, 0))], ValueError, r"\(0, 0\) -> \(2, 0\) is not an edge of the graph"),
        (
            ["a"],
            TypeError,
            r"edges must be a boolean mask over the edges, edge ids, or \(src, dst\)",
        ),
    ],
)
def test_edits_bad_edges(edges, error, message):
    net = graphnets.mlp([3, 4, 2], seed=0)
    with pytest.raises(error, match=message):
        net.remove_edges(edges)
    assert net.num_edges == 20


def test_edits_optimizer_of_another_net():
    net, other = graphnets.mlp([2, 2, 1], seed=0), graphnets.mlp([2, 2, 1], seed=1)
    opt = torch.optim.SGD(other.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"optimizer does not optimise this net's weight or bias"):
        net.remove_edges([0], optimizer=opt)


@pytest.mark.parametrize("kernel", ["levelwise", "fused", "sparse", "scatter", "dense"])
def test_edits_removal_keeps_the_layering_and_matches_a_fresh_compile(kernel):
    # After a removal the schedule keeps the old node order and levels (still a valid
    # layering) and rebuilds only the plans: outputs and gradients equal a fresh compile's.
    G = nx.gnp_random_graph(30, 0.3, seed=4, directed=True)
    D = nx.DiGraph((u, v) for u, v in G.edges if u < v)
    net = graphnets.priors.embed(D, 5, 3, seed=0, kernel=kernel)
    drop = torch.rand(net.num_edges, generator=torch.Generator().manual_seed(0)) < 0.6
    layering = [(lv.start, lv.stop) for lv in net.schedule.levels]
    net.remove_edges(drop)
    assert [(lv.start, lv.stop) for lv in net.schedule.levels] == layering
    fresh = graphnets.GraphNet(net.structure, net.weight.detach(), net.bias.detach(), kernel=kernel)
    x = torch.randn(7, 5)
    gy = torch.randn(7, 3)
    got = [net(x)] + list(torch.autograd.grad(net(x), [net.weight, net.bias], gy))
    want = [fresh(x)] + list(torch.autograd.grad(fresh(x), [fresh.weight, fresh.bias], gy))
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w)
    assert net.depth <= len(layering)  # the true levels may be fewer; compile() uses them
    assert net.compile(kernel).schedule.num_levels == net.depth


@pytest.mark.parametrize("seed", range(12))
def test_edits_online_levels_match_a_fresh_levelling(seed):
    # add_edges updates levels online (001_… §2.5); they must equal a full levelling, and an
    # insertion is refused exactly when networkx finds a cycle.
    import random

    rng = random.Random(seed)
    G = nx.gnp_random_graph(25, 0.15, seed=seed, directed=True)
    D = nx.DiGraph((u, v) for u, v in G.edges if u < v)
    net = graphnets.priors.embed(D, 3, 2, seed=seed)
    hidden = [v for v in net.labels if not isinstance(v, tuple)]
    for _ in range(15):
        u, v = rng.sample(hidden, 2)
        if (u, v) in set(net.edges()):
            continue
        H = net.to_networkx()
        H.add_edge(u, v)
        if nx.is_directed_acyclic_graph(H):
            net.add_edges([u], [v])
            fresh = graphnets.Structure(
                net.edge_index,
                net.labels,
                net.structure.inputs,
                net.structure.outputs,
                list(net.structure.activations),
            )
            assert net.structure.level.tolist() == fresh.level.tolist()
        else:
            with pytest.raises(CycleError, match="adding these edges would close a feed-forward"):
                net.add_edges([u], [v])
    x = torch.randn(4, 3)
    torch.testing.assert_close(net(x), evaluate(net, x))


def test_edits_add_edge_cycle_message_names_the_cycle_in_order():
    net = graphnets.from_networkx(
        nx.DiGraph([("x", "a"), ("a", "b"), ("b", "c"), ("c", "y")]), ["x"], ["y"], seed=0
    )
    with pytest.raises(
        CycleError,
        match=r"would close a feed-forward cycle: 'c' -> 'a' -> 'b' "
        r"-> 'c'; leave one of them out or give it a delay "
        r">= 1; the net is unchanged",
    ) as info:
        net.add_edges(["c"], ["a"])
    assert [net.labels[i] for i in info.value.cycle] == ["c", "a", "b"]


# -- edits inside ordinary training loops ---------------------------------------------------------
KERNELS = ["auto", "levelwise", "dense", "sparse", "scatter", "fused"]
EDITS = {
    "remove_edges": lambda net, opt: net.remove_edges([0, 1], optimizer=opt),
    "add_edges": lambda net, opt: net.add_edges([(0, 0)], [(2, 0)], seed=0, optimizer=opt),
    "remove_nodes": lambda net, opt: net.remove_nodes([(1, 2)], optimizer=opt),
    "add_nodes": lambda net, opt: net.add_nodes(["new"], optimizer=opt),
    # ids of mlp([3, 5, 4]): inputs 0-2, hidden 3-7, outputs 8-11; a skip edge for two edges
    "replace_edges": lambda net, opt: net.replace_edges([0, 1], [0], [8], optimizer=opt),
    "prune_dead": lambda net, opt: (
        net.remove_edges([((1, 4), (2, k)) for k in range(4)], optimizer=opt),
        net.prune_dead(optimizer=opt),
    ),
}


def _grads(net, x, y):
    loss = torch.nn.functional.cross_entropy(net(x), y)
    return torch.autograd.grad(loss, [net.weight, net.bias])


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("edit", sorted(EDITS))
def test_edits_training_continues_while_a_loss_from_before_is_alive(kernel, edit, device):
    # the loop every research script writes: `loss` stays alive across the edit
    skip_unsupported(kernel, device)
    torch.manual_seed(0)
    net = graphnets.mlp([3, 5, 4], seed=0, kernel=kernel).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    x, y = torch.randn(8, 3).to(device), torch.randint(0, 4, (8,)).to(device)
    loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
    EDITS[edit](net, opt)
    loss = torch.nn.functional.cross_entropy(net(x), y)  # the old loss is released only here
    opt.zero_grad()
    loss.backward()
    opt.step()
    # the gradients are those of a net built afresh with the same graph and parameters
    fresh = graphnets.GraphNet(net.structure, net.weight, net.bias, device=device)
    for got, want in zip(_grads(net, x, y), _grads(fresh, x, y), strict=True):
        torch.testing.assert_close(got, want)


def test_edits_backward_of_an_output_from_before_the_edit_refuses():
    net = graphnets.mlp([3, 5, 2], seed=0)
    out = net(torch.randn(4, 3))
    net.remove_edges([0])
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_edits_carry_gradients_over():
    net = graphnets.mlp([3, 4, 2], seed=0)
    net(torch.randn(5, 3)).pow(2).sum().backward()
    gw, gb = net.weight.grad.clone(), net.bias.grad.clone()
    net.remove_edges([1, 2])
    net.add_edges([(0, 0)], [(2, 1)], seed=0)
    keep = [i for i in range(len(gw)) if i not in (1, 2)]
    torch.testing.assert_close(net.weight.grad, torch.cat([gw[keep], torch.zeros(1)]))
    torch.testing.assert_close(net.bias.grad, gb)


def test_edits_an_optimizer_passed_once_follows_every_later_edit():
    net, opt, x, y = _trained(torch.optim.Adam, lr=0.01)
    net.remove_edges([0], optimizer=opt)
    moments = opt.state[net.weight]["exp_avg"].clone()
    net.remove_edges([0, 1])  # no optimizer= this time: the net remembers this one
    assert opt.state[net.weight]["exp_avg"].shape == net.weight.shape
    torch.testing.assert_close(opt.state[net.weight]["exp_avg"], moments[2:])
    _step(net, opt, x, y)


def test_edits_an_optimizer_never_told_about_an_edit_says_what_to_do():
    net, opt, x, y = _trained(torch.optim.SGD, lr=0.1, momentum=0.9)
    net.remove_edges([0])
    with pytest.raises(
        RuntimeError,
        match=r"state 'momentum_buffer' has 69 entries but its "
        r"GraphNet parameter now has 68: the net was edited "
        r"without telling this optimizer; pass it to the edit",
    ):
        _step(net, opt, x, y)


def _state(net, opt):
    edges, w, b, state = _snapshot(net, opt)
    return edges, w, b, state, len(net.history), net.schedule


def _same(a, b):
    assert a[0] == b[0] and a[4] == b[4] and a[5] is b[5]
    torch.testing.assert_close(a[1], b[1])
    torch.testing.assert_close(a[2], b[2])
    for key in a[3]:
        for name in a[3][key]:
            torch.testing.assert_close(a[3][key][name], b[3][key][name])


@pytest.mark.parametrize("where", ["schedule", "remapped_state", "carry"])
@pytest.mark.parametrize("edit", ["remove_edges", "add_edges", "remove_nodes", "replace_edges"])
def test_edits_interrupted_while_computed_change_nothing(monkeypatch, where, edit):
    net, opt, x, y = _trained(torch.optim.Adam, lr=0.01)
    before = _state(net, opt)
    import graphnets.nn.graphnet as module

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    if where == "schedule":  # a fresh compile, the restricted plan of a removal, or a re-plan
        monkeypatch.setattr(module, "compile_schedule", interrupt)
        monkeypatch.setattr(module.edits, "restrict_schedule", interrupt)
        monkeypatch.setattr(module.edits, "recompile_levels", interrupt)
    elif where == "remapped_state":
        monkeypatch.setattr(module.optim, "remapped_state", interrupt)
    else:
        monkeypatch.setattr(module.optim, "carry", interrupt)
    with pytest.raises(KeyboardInterrupt):
        {
            "remove_edges": lambda: net.remove_edges([0, 5], optimizer=opt),
            "add_edges": lambda: net.add_edges([(0, 0)], [(3, 1)], optimizer=opt),
            "remove_nodes": lambda: net.remove_nodes([(1, 0)], optimizer=opt),
            # mlp([4, 6, 5, 3]) ids: inputs 0-3, then 4-9, 10-14, outputs 15-17
            "replace_edges": lambda: net.replace_edges([0, 5], [0], [15], optimizer=opt),
        }[edit]()
    _same(_state(net, opt), before)
    monkeypatch.undo()
    _step(net, opt, x, y)  # and training goes on


@pytest.mark.parametrize("edit", ["remove_nodes", "replace_edges"])
def test_edits_ctrl_c_during_the_commit_waits_for_the_whole_edit(monkeypatch, edit):
    import os
    import signal

    import graphnets.nn.graphnet as module

    net, opt, x, y = _trained(torch.optim.Adam, lr=0.01)
    replace = module.replace_data
    calls = []

    def replace_then_interrupt(param, new):
        calls.append(1)
        if len(calls) == 1:  # Ctrl-C after the weight is swapped, before the bias
            os.kill(os.getpid(), signal.SIGINT)
        replace(param, new)

    monkeypatch.setattr(module, "replace_data", replace_then_interrupt)
    # Ctrl-C raises KeyboardInterrupt, as in a terminal (a background shell may ignore it)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            if edit == "remove_nodes":
                net.remove_nodes([(1, 0)], optimizer=opt)
            else:  # ids: input 0, output 15 of mlp([4, 6, 5, 3])
                net.replace_edges([0, 5], [0], [15], optimizer=opt)
    finally:
        signal.signal(signal.SIGINT, previous)
    # the interrupt arrived when the edit was whole: structure, parameters, state, history
    assert net.history[-1].kind == edit
    if edit == "remove_nodes":
        assert (1, 0) not in net.labels
    else:
        assert net.num_edges == 68 and net.edge_index[:, -1].tolist() == [0, 15]
    assert net.weight.numel() == net.num_edges and net.bias.numel() == net.num_nodes
    assert opt.state[net.weight]["exp_avg"].shape == net.weight.shape
    assert opt.state[net.bias]["exp_avg"].shape == net.bias.shape
    xs = torch.randn(4, 4)
    torch.testing.assert_close(net(xs), evaluate(net, xs))
    monkeypatch.undo()
    _step(net, opt, x, y)


def test_edits_new_edges_that_close_a_cycle_together_raise_instead_of_hanging():
    import threading

    G = nx.DiGraph([("x", "h"), ("h", "a"), ("x", "b"), ("b", "c"), ("d", "c"), ("c", "y")])
    net = graphnets.from_networkx(G, ["x"], ["y"], seed=0)
    edges = net.edges()
    result = {}

    def add():
        try:
            net.add_edges(["a", "c"], ["b", "d"])
        except CycleError as err:
            result["error"] = err

    worker = threading.Thread(target=add, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "add_edges did not return"
    assert "cycle: 'c' -> 'd' -> 'c'" in str(result["error"])
    assert net.edges() == edges


def test_edits_adding_no_edges_is_a_recorded_no_op():
    net = graphnets.mlp([2, 3, 1], seed=0)
    edges, w = net.edges(), net.weight.detach().clone()
    record = net.add_edges([], [])
    assert record.kind == "add_edges" and record.added_edges == [] and net.history[-1] is record
    assert net.edges() == edges and torch.equal(net.weight.detach(), w)
    # a net without hidden nodes gets no recurrent edges, and no error
    plain = graphnets.mlp([2, 1], seed=0)
    assert graphnets.priors.add_recurrent(plain, "complete").added_edges == []
    assert not plain.is_recurrent


def test_edits_prune_dead_folds_constants_into_the_nodes_they_feed():
    # c and d are not reachable from the input: constants act(b), feeding h and y
    G = nx.DiGraph([("x", "h"), ("h", "y"), ("c", "d"), ("d", "h"), ("c", "y"), ("h", "q")])
    for node, b in (("c", 0.7), ("d", -0.2), ("h", 0.1), ("q", 0.3)):
        G.nodes[node]["bias"] = b
    net = graphnets.from_networkx(G, ["x"], ["y"], activation="tanh", seed=0)
    x = torch.randn(6, 1)
    y = net(x).detach()
    record = net.prune_dead()
    assert sorted(record.removed_nodes) == ["c", "d", "q"]
    torch.testing.assert_close(net(x), y)
    torch.testing.assert_close(net(x), evaluate(net, x))


def test_edits_prune_dead_of_a_recurrent_net_keeps_constants_in_time():
    G = nx.DiGraph([("x", "h"), ("h", "y"), ("c", "y"), ("h", "q")])
    G.add_edge("c", "c", delay=1)
    G.nodes["c"]["bias"] = 0.5
    net = graphnets.from_networkx(G, ["x"], ["y"], seed=0)
    xs = torch.randn(5, 3, 1)
    y = net.run(xs).detach()
    assert net.prune_dead().removed_nodes == ["q"]  # c's value is 0 at t = 0, then 0.5 + ...
    torch.testing.assert_close(net.run(xs), y)


@pytest.mark.parametrize("make", [torch.tensor, lambda v: torch.tensor(v).numpy(), list])
def test_edits_refuse_a_0_1_integer_mask(make):
    # A 0/1 integer mask of length E, e.g. (scores < t).int(), used to be read as the edge ids
    # 0 and 1: the wrong two edges removed, silently (a pruning threshold makes such masks).
    net = graphnets.mlp([2, 2, 1], seed=0)
    mask = [1, 0, 0, 1, 1, 0]
    with pytest.raises(
        ValueError,
        match=r"got 6 integers that are all 0 or 1 for a net of 6 edges: that is an edge mask in "
        r"an integer dtype, not edge ids; pass it as booleans \(mask\.bool\(\) or "
        r"np\.asarray\(mask, dtype=bool\)\), or pass distinct edge ids",
    ):
        net.remove_edges(make(mask))
    assert net.num_edges == 6  # unchanged
    with pytest.raises(ValueError, match=r"got 6 integers that are all 0 or 1"):
        net.set_weights(make(mask), torch.zeros(6))
    net.remove_edges(torch.tensor(mask).bool())  # the fix the message gives
    assert net.num_edges == 3


def test_edits_distinct_ids_stay_ids():
    # Distinct ids stay ids, even when there are E of them and they are 0 and 1.
    net = graphnets.from_edges(torch.tensor([[0, 1], [2, 2]]), 3, [0, 1], [2], seed=0)
    net.remove_edges([1, 0])
    assert net.num_edges == 0


def test_edits_a_string_is_not_a_list_of_nodes():
    # remove_nodes("ab") used to remove the nodes 'a' and 'b'
    G = nx.DiGraph([("x", "a"), ("a", "y"), ("x", "b"), ("b", "y"), ("x", "ab"), ("ab", "y")])
    net = graphnets.from_networkx(G, ["x"], ["y"], seed=0)
    with pytest.raises(
        TypeError,
        match=r"nodes must be a list of node labels, got the string "
        r"'ab'; write \['ab'\] for one node",
    ):
        net.remove_nodes("ab")
    with pytest.raises(
        TypeError,
        match=r"labels must be a list of new node labels, got the "
        r"string 'cd'",
    ):
        net.add_nodes("cd")
    assert net.num_nodes == 5
    net.remove_nodes(["ab"])
    assert sorted(net.labels) == ["a", "b", "x", "y"]
