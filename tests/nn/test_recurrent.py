"""Delayed edges, step / run, and unrolling (graphnets.recurrent) against a per-neuron,
per-step reference, against each other, and against torch.nn.RNN."""

import networkx as nx
import numpy as np
import pytest
import torch
from conftest import skip_unsupported

import graphnets
from graphnets.activations import parse_activation

KERNELS = ["auto", "levelwise", "dense", "sparse", "scatter", "fused"]


def reference_run(net, x, state=None):
    """``y [T, B, n_out]`` neuron by neuron and step by step: a_v(t) = act(b + Σ w a_u(t - d)).

    ``state`` maps ``(node, lag)`` to the value ``a_node(-lag)`` (default: zeros).
    """
    s = net.structure
    src, dst = s.edge_index.tolist()
    delay = s.delay.tolist()
    acts = [parse_activation(a) for a in s.activations]
    order = sorted(range(s.num_nodes), key=lambda i: s.level[i])
    inputs = s.inputs.tolist()
    T, B = x.shape[0], x.shape[1]
    a = {}  # (node, t) -> [B]

    def value(u, t):
        if t >= 0:
            return a[u, t]
        if state is not None and (u, -t) in state:
            return state[u, -t]
        return x.new_zeros(B)

    ys = []
    for t in range(T):
        for k, i in enumerate(inputs):
            a[i, t] = x[t, :, k]
        for v in order:
            if v in inputs:
                continue
            z = net.bias[v].expand(B)
            for e in range(len(src)):
                if dst[e] == v:
                    z = z + net.weight[e] * value(src[e], t - delay[e])
            a[v, t] = acts[v].forward(z)
        ys.append(torch.stack([a[o, t] for o in s.outputs.tolist()], 1))
    return torch.stack(ys)


def recurrent_net(kernel="auto", dtype=torch.float64, seed=0):
    """Delays 1 and 2, self loops, a delayed edge from an input and from an output, and a
    delayed edge parallel to a delay-0 edge."""
    G = nx.DiGraph()
    G.add_edges_from(
        [
            ("x0", "h0"),
            ("x1", "h0"),
            ("x1", "h1"),
            ("h0", "h2"),
            ("h1", "h2"),
            ("h2", "y0"),
            ("h0", "y1"),
            ("x0", "y1"),
        ]
    )
    G.add_edge("h2", "h0", delay=1)  # a cycle through a delay
    G.add_edge("h1", "h1", delay=1)  # a recurrent self loop
    G.add_edge("y0", "h1", delay=2)  # from an output, two steps back
    G.add_edge("x0", "h2", delay=1)  # from an input
    G.add_edge("h2", "y1", delay=3)
    net = graphnets.from_networkx(
        G, ["x0", "x1"], ["y0", "y1"], activation="tanh", seed=seed, kernel=kernel
    )
    net = net.to(dtype)
    with torch.no_grad():
        net.bias.copy_(
            0.3
            * torch.randn(
                net.num_nodes, generator=torch.Generator().manual_seed(seed + 1), dtype=dtype
            )
        )
        net.bias[net.structure.inputs] = 0
    # h0 -> h2 at delay 0 and again at delay 1: two different connections
    net.add_edges(["h0"], ["h2"], delay=1, seed=seed)
    return net


def test_recurrent_structure_levels_ignore_delays():
    net = recurrent_net()
    assert net.is_recurrent
    assert net.levels == [["x0", "x1"], ["h0", "h1"], ["h2", "y1"], ["y0"]]
    assert net.delay.tolist().count(0) == 8
    assert net.structure.max_delay == 3


def test_recurrent_state_labels():
    net = recurrent_net()
    assert net.state_labels == [
        ("x0", 1),
        ("h0", 1),
        ("h1", 1),
        ("h2", 1),
        ("h2", 2),
        ("h2", 3),
        ("y0", 1),
        ("y0", 2),
    ]


@pytest.mark.parametrize("kernel", KERNELS)
def test_recurrent_run_matches_reference(kernel, device):
    skip_unsupported(kernel, device)
    net = recurrent_net(kernel).to(device)
    x = torch.randn(6, 3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x = x.to(device)
    torch.testing.assert_close(net.run(x), reference_run(net, x))


@pytest.mark.parametrize("kernel", KERNELS)
def test_recurrent_unroll_matches_run_values_and_gradients(kernel, device):
    skip_unsupported(kernel, device)
    net = recurrent_net(kernel).to(device)
    x = torch.randn(5, 4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x = x.to(device)
    x1 = x.clone().requires_grad_()
    y = net.run(x1)
    (y.sin().sum()).backward()
    grads = net.weight.grad.clone(), net.bias.grad.clone(), x1.grad.clone()
    net.zero_grad()
    unrolled = graphnets.unroll(net, 5, kernel=kernel)
    x2 = x.clone().requires_grad_()
    y2 = unrolled.run(x2)
    (y2.sin().sum()).backward()
    torch.testing.assert_close(y2, y)
    torch.testing.assert_close(net.weight.grad, grads[0])
    torch.testing.assert_close(net.bias.grad, grads[1])
    torch.testing.assert_close(x2.grad, grads[2])


def test_recurrent_unroll_gradcheck():
    net = recurrent_net("levelwise")
    unrolled = graphnets.unroll(net, 4)
    x = torch.randn(2, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(2))

    def f(w, b, x):
        params = {"source.weight": w, "source.bias": b}
        return torch.func.functional_call(unrolled, params, (x,))

    w = net.weight.detach().clone().requires_grad_()
    b = net.bias.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(f, (w, b, x.requires_grad_()))


def test_recurrent_unroll_structure():
    net = recurrent_net()
    T = 4
    unrolled = graphnets.unroll(net, T)
    s, u = net.structure, unrolled.structure
    assert unrolled.num_nodes == T * net.num_nodes
    # every copy of an edge whose source step t - d is >= 0
    d = s.delay.numpy()
    assert unrolled.num_edges == int(sum(max(T - di, 0) for di in d))
    assert not u.is_recurrent
    assert unrolled.inputs[:2] == [("x0", 0), ("x1", 0)]
    assert unrolled.outputs[-2:] == [("y0", 3), ("y1", 3)]
    assert (("h2", 0), ("h0", 1)) in unrolled.edges()
    assert (("y0", 0), ("h1", 2)) in unrolled.edges()
    # tied: one parameter per original edge
    assert [p.shape for p in unrolled.parameters()] == [net.weight.shape, net.bias.shape]
    assert unrolled.parameters().__next__() is net.weight
    assert torch.equal(unrolled.weight, net.weight[unrolled.edge_source])


def test_recurrent_unroll_tied_training_trains_the_recurrent_net():
    net = recurrent_net()
    unrolled = graphnets.unroll(net, 3)
    opt = torch.optim.SGD(unrolled.parameters(), lr=0.1)
    before = net.weight.detach().clone()
    x = torch.randn(3, 5, 2, dtype=torch.float64)
    unrolled.run(x).pow(2).sum().backward()
    opt.step()
    assert not torch.equal(net.weight, before)
    torch.testing.assert_close(unrolled.run(x), net.run(x))


def test_recurrent_unroll_with_state_inputs_matches_run_with_state():
    net = recurrent_net()
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(4, 2, 2, dtype=torch.float64, generator=gen)
    state = torch.randn(2, len(net.state_labels), dtype=torch.float64, generator=gen)
    unrolled = graphnets.unroll(net, 4, state_inputs=True)
    assert unrolled.inputs[-1] == ("y0", -2)
    expected = net.run(x, state)
    torch.testing.assert_close(unrolled.run(x, state), expected)
    s = net.structure
    as_dict = {(s.index[lab], lag): state[:, j] for j, (lab, lag) in enumerate(net.state_labels)}
    torch.testing.assert_close(expected, reference_run(net, x, as_dict))


def test_recurrent_step_by_step_equals_run_and_carries_state():
    net = recurrent_net()
    x = torch.randn(5, 3, 2, dtype=torch.float64)
    y, final = net.run(x, return_state=True)
    state = None
    for t in range(5):
        yt, state = net.step(x[t], state)
        torch.testing.assert_close(yt, y[t])
    torch.testing.assert_close(state, final)
    # continuing from the final state equals running the longer sequence
    x2 = torch.randn(2, 3, 2, dtype=torch.float64)
    torch.testing.assert_close(net.run(x2, final), net.run(torch.cat([x, x2]))[5:])


def test_recurrent_run_batch_first_and_state_options():
    net = recurrent_net()
    x = torch.randn(4, 3, 2, dtype=torch.float64)
    y = net.run(x)
    torch.testing.assert_close(net.run(x.transpose(0, 1), batch_first=True), y.transpose(0, 1))
    S = len(net.state_labels)
    torch.testing.assert_close(net.run(x, 0.5), net.run(x, net.initial_state(3, 0.5)))
    one = torch.linspace(-1, 1, S, dtype=torch.float64)
    torch.testing.assert_close(net.run(x, one), net.run(x, one.expand(3, S)))
    assert not torch.allclose(net.run(x, 0.5), y)


def test_recurrent_single_sample_step():
    net = recurrent_net()
    y, state = net.step(torch.ones(2, dtype=torch.float64))
    assert y.shape == (2,) and state.shape == (len(net.state_labels),)


def test_recurrent_matches_torch_rnn():
    # H hidden tanh nodes that are also the outputs: i2h complete, h2h complete with delay 1
    torch.manual_seed(0)
    n_in, H = 3, 4
    rnn = torch.nn.RNN(n_in, H, dtype=torch.float64)
    ins = [("x", k) for k in range(n_in)]
    hs = [("h", j) for j in range(H)]
    G = nx.DiGraph()
    W_ih, W_hh = rnn.weight_ih_l0.detach(), rnn.weight_hh_l0.detach()
    for j in range(H):
        for k in range(n_in):
            G.add_edge(ins[k], hs[j], weight=float(W_ih[j, k]))
    net = graphnets.from_networkx(G, ins, hs, output_activation="tanh")
    net.add_edges(
        [hs[k] for j in range(H) for k in range(H)],
        [hs[j] for j in range(H) for k in range(H)],
        W_hh.reshape(-1),
        delay=1,
    )
    net = net.to(torch.float64)
    with torch.no_grad():
        net.bias[net.structure.lookup(hs)] = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach()
    x = torch.randn(7, 2, n_in, dtype=torch.float64)
    h0 = torch.randn(1, 2, H, dtype=torch.float64)
    expected, h_n = rnn(x, h0)
    y, state = net.run(x, h0[0], return_state=True)
    assert net.state_labels == [(h, 1) for h in hs]
    torch.testing.assert_close(y, expected)
    torch.testing.assert_close(state, h_n[0])


def test_recurrent_edits_keep_delays():
    net = recurrent_net()
    before = dict(
        zip(zip(net.edges(), net.delay.tolist(), strict=True), net.weight.tolist(), strict=True)
    )
    net.remove_edges([("h1", "h1")])
    net.remove_nodes(["h1"])
    after = dict(
        zip(zip(net.edges(), net.delay.tolist(), strict=True), net.weight.tolist(), strict=True)
    )
    assert set(after) <= set(before)
    assert all(before[k] == v for k, v in after.items())
    assert (("h2", "h0"), 1) in after and (("h0", "h2"), 1) in after
    x = torch.randn(4, 2, 2, dtype=torch.float64)
    torch.testing.assert_close(net.run(x), reference_run(net, x))


def test_recurrent_add_delayed_edge_may_close_a_cycle():
    net = graphnets.from_edges(torch.tensor([[0, 1], [1, 2]]), 3, [0], [2], seed=0)
    assert not net.is_recurrent
    net.add_edges([2], [1], delay=1)
    assert net.is_recurrent and net.delay.tolist() == [0, 0, 1]
    with pytest.raises(
        graphnets.CycleError,
        match=r"cycle: 2 -> 1 -> 2; leave one of them out "
        r"or give it a delay >= 1; the net is "
        r"unchanged",
    ):
        net.add_edges([2], [1])
    assert net.num_edges == 3


def test_recurrent_save_load_and_exports(tmp_path):
    net = recurrent_net()
    net.remove_edges([("h0", "h2")])  # keep one edge per pair for networkx (the delay-0 one)
    path = tmp_path / "rnn.pt"
    net.save(path)
    back = graphnets.load(path)
    assert back.delay.tolist() == net.delay.tolist()
    x = torch.randn(3, 2, 2, dtype=torch.float64)
    torch.testing.assert_close(back.run(x), net.run(x))
    G = net.to_networkx()
    assert G.edges["h2", "h0"]["delay"] == 1 and G.edges["x0", "h0"]["delay"] == 0
    again = graphnets.from_networkx(G).to(torch.float64)
    torch.testing.assert_close(again.run(x), net.run(x))
    g = net.to_igraph()
    assert g.es["delay"] == net.delay.tolist()


def test_recurrent_to_networkx_refuses_parallel_delays():
    with pytest.raises(
        ValueError,
        match=r"edge 'h0' -> 'h2' exists with delays 0 and 1; a "
        r"networkx.DiGraph holds one edge per pair",
    ):
        recurrent_net().to_networkx()


def test_recurrent_to_dense_per_delay():
    net = recurrent_net()
    W0, W1 = net.to_dense(), net.to_dense(delay=1)
    pos = {lab: i for i, lab in enumerate(net.order)}
    e = net.edges().index(("h2", "h0"))
    assert W1[pos["h0"], pos["h2"]] == net.weight[e] and W0[pos["h0"], pos["h2"]] == 0
    total = sum(int((net.to_dense(delay=d) != 0).sum()) for d in range(4))
    assert total == net.num_edges
    with pytest.raises(ValueError, match=r"delay must be an int >= 0, got -1"):
        net.to_dense(delay=-1)


def test_recurrent_feedforward_net_steps_like_forward():
    net = graphnets.mlp([3, 5, 2], seed=0)
    x = torch.randn(4, 6, 3)
    assert net.state_labels == []
    torch.testing.assert_close(net.run(x), net(x.reshape(-1, 3)).reshape(4, 6, 2))
    assert graphnets.unroll(net, 4).num_edges == 4 * net.num_edges


def test_recurrent_summary_and_repr():
    net = recurrent_net()
    assert "delayed=6" in repr(net)
    assert (
        "recurrent: 6 delayed edges (delays 1..3, not in the table), state of 8 values"
        in net.summary()
    )
    assert "steps=3, tied to 14 weights" in repr(graphnets.unroll(net, 3))


# -- errors ------------------------------------------------------------------------------------
def test_recurrent_errors_forward_needs_step():
    with pytest.raises(
        ValueError,
        match=r"this net has 6 delayed \(recurrent\) edges, so it "
        r"needs a time step and a state: use net.step",
    ):
        recurrent_net()(torch.zeros(1, 2, dtype=torch.float64))


def test_recurrent_errors_delay_zero_cycle():
    G = nx.DiGraph([("x", "a"), ("a", "b"), ("b", "a"), ("b", "y")])
    with pytest.raises(
        graphnets.CycleError, match=r"cycle: 'b' -> 'a' -> 'b'; remove one of its edges$"
    ):
        graphnets.from_networkx(G, ["x"], ["y"])
    G.edges["b", "a"]["delay"] = 1
    assert graphnets.from_networkx(G, ["x"], ["y"]).is_recurrent


def test_recurrent_errors_bad_delays():
    ei = torch.tensor([[0, 1], [1, 2]])
    with pytest.raises(ValueError, match=r"delay of edge 1 is -1; delays are ints >= 0"):
        graphnets.from_edges(ei, 3, [0], [2], delay=[0, -1])
    with pytest.raises(
        TypeError,
        match=r"delay must hold integers \(time steps\), got dtype "
        r"torch.float32",
    ):
        graphnets.from_edges(ei, 3, [0], [2], delay=torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"expected 2 delays \(one per edge\), got 3"):
        graphnets.from_edges(ei, 3, [0], [2], delay=[0, 1, 1])
    G = nx.DiGraph([("x", "y")])
    G.edges["x", "y"]["delay"] = 0.5
    with pytest.raises(ValueError, match=r"edge 'x' -> 'y' has delay 0.5; a delay is an int"):
        graphnets.from_networkx(G, ["x"], ["y"])


def test_recurrent_errors_self_loop_and_duplicates():
    with pytest.raises(
        ValueError,
        match=r"self loop on node 1 .* \(a recurrent self loop "
        r"needs a delay >= 1\)",
    ):
        graphnets.from_edges(torch.tensor([[0, 1], [1, 1]]), 2, [0], [1], delay=[0, 0])
    with pytest.raises(
        ValueError,
        match=r"duplicate edge 1 -> 2 with delay 1 \(edges 1 and 2\)"
        r"; give each pair at most one edge per delay",
    ):
        graphnets.from_edges(torch.tensor([[0, 1, 1], [1, 2, 2]]), 3, [0], [2], delay=[0, 1, 1])
    with pytest.raises(ValueError, match=r"enters input node 0"):
        graphnets.from_edges(torch.tensor([[0, 1], [1, 0]]), 2, [0], [1], delay=[0, 1])


def test_recurrent_errors_state_and_sequence():
    net = recurrent_net()
    x = torch.zeros(3, 2, 2, dtype=torch.float64)
    with pytest.raises(
        ValueError,
        match=r"expected a state of shape \[2, 8\] \(or \[8\]\), one "
        r"column per net.state_labels entry, got \[2, 3\]",
    ):
        net.run(x, torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"expected a state of dtype torch.float64"):
        net.run(x, torch.zeros(2, 8))
    with pytest.raises(TypeError, match=r"state must be None, a number or a tensor"):
        net.run(x, "zeros")
    with pytest.raises(
        ValueError,
        match=r"expected a sequence x of shape \[T, B, n_inputs\] "
        r"with n_inputs=2, got \[2, 2\]",
    ):
        net.run(x[0])
    with pytest.raises(TypeError, match=r"expected x of dtype torch.float64"):
        net.run(x.float())
    with pytest.raises(ValueError, match=r"expected a sequence of at least one step, got T=0"):
        net.run(x[:0])
    with pytest.raises(ValueError, match=r"batch_size must be a positive int, got 0"):
        net.initial_state(0)


def test_recurrent_errors_unroll():
    net = recurrent_net()
    with pytest.raises(ValueError, match=r"steps must be a positive int, got 0"):
        graphnets.unroll(net, 0)
    with pytest.raises(TypeError, match=r"expected a GraphNet to unroll, got Linear"):
        graphnets.unroll(torch.nn.Linear(2, 2), 3)
    unrolled = graphnets.unroll(net, 3)
    with pytest.raises(TypeError, match=r"expected a GraphNet to unroll, got UnrolledNet"):
        graphnets.unroll(unrolled, 2)
    with pytest.raises(
        TypeError,
        match=r"cannot remove_edges an unrolled net: its weights are "
        r"tied .* \(unrolled.source.remove_edges",
    ):
        unrolled.remove_edges([0])
    with pytest.raises(
        ValueError,
        match=r"expected a sequence of shape \[3, B, 2\] \(the net "
        r"was unrolled for 3 steps\), got \[4, 1, 2\]",
    ):
        unrolled.run(torch.zeros(4, 1, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"unrolled with state_inputs=False"):
        unrolled.run(torch.zeros(3, 1, 2, dtype=torch.float64), torch.zeros(1, 8))
    with pytest.raises(ValueError, match=r"unknown kernel 'gpu'"):
        graphnets.unroll(net, 2, kernel="gpu")


def test_recurrent_unroll_kernel_choice_and_large_graph():
    # a wider recurrent prior: unrolled with every kernel gives the same outputs as run
    D = nx.gnp_random_graph(30, 0.15, seed=4, directed=False)
    net = graphnets.priors.from_graph(D, 5, 3, seed=4, activation="tanh").to(torch.float64)
    hidden = [v for v in net.labels if not isinstance(v, tuple)]
    rng = np.random.default_rng(0)
    pairs = {(int(a), int(b)) for a, b in rng.choice(hidden, size=(40, 2))}
    net.add_edges([a for a, _ in pairs], [b for _, b in pairs], delay=1, seed=0)
    x = torch.randn(6, 4, 5, dtype=torch.float64)
    y = net.run(x)
    for kernel in ("levelwise", "fused", "sparse"):
        torch.testing.assert_close(graphnets.unroll(net, 6, kernel=kernel).run(x), y)


def test_recurrent_analysis_measures_the_delay_zero_graph():
    net = recurrent_net()
    ff = graphnets.from_networkx(
        nx.DiGraph(
            [(u, v) for (u, v), d in zip(net.edges(), net.delay.tolist(), strict=True) if d == 0]
        ),
        net.inputs,
        net.outputs,
    )
    assert graphnets.analysis.properties(net) == pytest.approx(
        graphnets.analysis.properties(ff), nan_ok=True
    )


def test_recurrent_docs_section_runs():
    # the "Delayed edges and unrolling" section of docs/recurrent.md: its examples are doctests
    import doctest
    from pathlib import Path

    page = (Path(__file__).parents[2] / "docs" / "recurrent.md").read_text()
    section = page.split("## Delayed edges and unrolling")[1].split("\n## ")[0]
    section = "\n".join("" if line.startswith("```") else line for line in section.splitlines())
    test = doctest.DocTestParser().get_doctest(section, {}, "recurrent.md", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False).attempted >= 10
    assert runner.summarize(verbose=False).failed == 0


@pytest.mark.parametrize("mode", ["rnn_tanh", "rnn_relu"])
def test_recurrent_graphnet_equals_graph_structured_rnn_cell(mode):
    # two independent implementations of 002 §2: a GraphRNN cell from a random prior (skip edges
    # inside a step, Fig. 6c recurrence per level) and the same graph as a GraphNet with delays,
    # built here by hand and by cell.to_graphnet()
    from graphnets import cells

    cell = cells.watts_strogatz(mode, 3, 12, 4, 0.3, seed=5, dtype=torch.float64)
    n_in, H = cell.num_inputs, cell.num_hidden
    ei = torch.cat([cell.edge_index, cell.recurrent_edge_index], 1)
    delay = [0] * cell.edge_index.shape[1] + [1] * cell.recurrent_edge_index.shape[1]
    hidden = list(range(n_in, n_in + H))
    net = graphnets.from_edges(
        ei, n_in + H, list(range(n_in)), hidden, delay=delay, output_activation=mode[4:]
    )
    net = net.to(torch.float64)
    with torch.no_grad():
        net.weight.copy_(torch.cat([cell.weight[:, 0], cell.recurrent_weight[:, 0]]))
        net.bias[hidden] = (cell.bias + cell.recurrent_bias)[:, 0]
    assert net.depth > 2  # the prior has skip edges inside a step
    x = torch.randn(7, 4, n_in, dtype=torch.float64)
    out, h_n = cell(x)
    y, state = net.run(x, return_state=True)
    torch.testing.assert_close(y, out)
    torch.testing.assert_close(state, h_n[0])
    converted = cell.to_graphnet()
    assert converted.weight.dtype == torch.float64
    torch.testing.assert_close(converted.run(x), out)


def test_recurrent_cell_to_graphnet_refuses_gated_cells():
    from graphnets import cells

    with pytest.raises(
        TypeError,
        match=r"a lstm cell has 4 gates per neuron, which a GraphNet's "
        r"scalar neurons cannot express",
    ):
        cells.complete("lstm", 2, 3).to_graphnet()


def test_recurrent_unrolled_save_writes_an_untied_graphnet(tmp_path):
    net = recurrent_net()
    unrolled = graphnets.unroll(net, 3, state_inputs=True)
    unrolled.save(tmp_path / "u.pt")
    back = graphnets.load(tmp_path / "u.pt")
    assert type(back) is graphnets.GraphNet and back.num_edges == unrolled.num_edges
    x = torch.randn(4, unrolled.structure.inputs.numel(), dtype=torch.float64)
    torch.testing.assert_close(back(x), unrolled(x))
    unrolled_32 = unrolled.to(torch.float32)
    assert unrolled_32.source.weight.dtype == torch.float32
    torch.testing.assert_close(unrolled_32(x.float()), back.float()(x.float()))


@pytest.mark.parametrize("connect", ["level", "self", "complete"])
def test_recurrent_add_recurrent_patterns(connect):
    net = graphnets.priors.watts_strogatz(5, 2, 16, 4, 0.4, seed=3, activation="tanh")
    s = net.structure
    roles = set(s.inputs.tolist()) | set(s.outputs.tolist())
    hidden = [i for i in range(s.num_nodes) if i not in roles]
    E = net.num_edges
    record = graphnets.priors.add_recurrent(net, connect, seed=0)
    assert record is net.history[-1]
    new = net.edge_index[:, E:].T.tolist()
    assert net.delay[E:].eq(1).all() and net.delay[:E].eq(0).all()
    if connect == "self":
        expected = {(h, h) for h in hidden}
    elif connect == "complete":
        expected = {(u, v) for u in hidden for v in hidden}
    else:
        expected = {(u, v) for u in hidden for v in hidden if s.level[u] == s.level[v]}
        assert len(expected) == sum(c * c for c in np.bincount(s.level[hidden]).tolist())
    assert {tuple(e) for e in new} == expected and len(new) == len(expected)
    assert net.levels == graphnets.priors.watts_strogatz(5, 2, 16, 4, 0.4, seed=3).levels
    x = torch.randn(4, 3, 5)
    torch.testing.assert_close(graphnets.unroll(net, 4).run(x), net.run(x))


def test_recurrent_priors_take_recurrent_option():
    a = graphnets.priors.barabasi_albert(4, 2, 12, 2, seed=1, recurrent="level")
    b = graphnets.priors.barabasi_albert(4, 2, 12, 2, seed=1, recurrent="level")
    c = graphnets.priors.barabasi_albert(4, 2, 12, 2, seed=1)
    assert a.is_recurrent and not c.is_recurrent
    assert torch.equal(a.weight, b.weight) and a.edges() == b.edges()
    assert torch.equal(a.weight[: c.num_edges], c.weight)  # the feed-forward part is unchanged
    with pytest.raises(
        ValueError,
        match=r"unknown recurrent pattern 'layer'; expected one of "
        r"'level', 'self', 'complete' or None",
    ):
        graphnets.priors.barabasi_albert(4, 2, 12, 2, seed=1, recurrent="layer")
    with pytest.raises(ValueError, match=r"delay must be an int >= 1 for recurrent edges, got 0"):
        graphnets.priors.add_recurrent(c, delay=0)
    with pytest.raises(ValueError, match=r"unknown recurrent pattern 'all'"):
        graphnets.priors.add_recurrent(c, "all")
    graphnets.priors.add_recurrent(c, "self")
    with pytest.raises(ValueError, match=r"duplicate edge .* with delay 1"):
        graphnets.priors.add_recurrent(c, "level")


def test_recurrent_step_plan_is_cached_until_the_net_changes():
    net = recurrent_net()
    x = torch.randn(3, 2, 2, dtype=torch.float64)
    net.run(x)
    plan = net._step[2]
    net.run(x)
    net.step(x[0])
    assert net._step[2] is plan
    net.compile("levelwise")
    net.run(x)
    assert net._step[2] is not plan
    plan = net._step[2]
    net.remove_edges([("h1", "h1")])
    torch.testing.assert_close(net.run(x), reference_run(net, x))
    assert net._step[2] is not plan


def test_recurrent_save_format_versions(tmp_path):
    # a feed-forward net stays format 1 (older readers load it); a recurrent one is format 2,
    # which a reader without delays refuses instead of dropping them
    graphnets.mlp([2, 3, 1], seed=0).save(tmp_path / "ff.pt")
    recurrent_net().save(tmp_path / "rec.pt")
    assert torch.load(tmp_path / "ff.pt", weights_only=True)["version"] == 1
    assert torch.load(tmp_path / "rec.pt", weights_only=True)["version"] == 2
    assert graphnets.load(tmp_path / "rec.pt").is_recurrent


@pytest.mark.parametrize("state_inputs", [False, True])
def test_recurrent_unrolled_net_follows_edits_of_its_source(state_inputs):
    net = recurrent_net()
    unrolled = graphnets.unroll(net, 4, state_inputs=state_inputs)
    x = torch.randn(4, 3, 2, dtype=torch.float64)
    net.remove_edges([("h1", "h2")])
    net.add_edges(["x1"], ["h2"], delay=2, seed=0)
    net.add_nodes(["h3"], activation="tanh")
    net.add_edges(["h0", "h3"], ["h3", "y0"], seed=1)
    # it unrolls the edited net: the same as unrolling it afresh, and as stepping through time
    fresh = graphnets.unroll(net, 4, state_inputs=state_inputs)
    assert unrolled.edges() == fresh.edges() and unrolled.num_nodes == fresh.num_nodes
    torch.testing.assert_close(unrolled.run(x), net.run(x))
    # and trains the edited net's parameters
    unrolled.run(x).sum().backward()
    assert net.weight.grad.shape == net.weight.shape and bool(net.weight.grad.abs().sum() > 0)


def test_recurrent_unroll_refuses_a_size_beyond_its_limit():
    net = recurrent_net()
    with pytest.raises(
        ValueError,
        match=r"unrolling this net \(7 nodes, 14 edges\) for "
        r"10,000,000 steps would build 210,000,000 nodes and edges "
        r"\(more than 50,000,000\); use net\.run\(x\)",
    ):
        graphnets.unroll(net, 10**7)
