"""Graph-structured recurrent cells against torch.nn.RNN / LSTM / GRU and a per-node reference."""

import networkx as nx
import pytest
import torch

from graphnets import cells
from graphnets.cells import GraphRNN, SequenceClassifier
from graphnets.levels import CycleError
from graphnets.train import fit

MODES = cells.MODES
G = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
D64 = torch.float64


def _torch_module(mode, n_in, H, seed=0):
    torch.manual_seed(seed)
    if mode.startswith("rnn"):
        return torch.nn.RNN(n_in, H, nonlinearity=mode[4:], dtype=D64)
    return {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[mode](n_in, H, dtype=D64)


def _twin(cell):
    """The torch module with the cell's masked dense weights (its skip edges must be absent)."""
    rnn = _torch_module(cell.mode, cell.num_inputs, cell.num_hidden)
    dense = cell.dense_weights()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(rnn, name + "_l0").copy_(dense[name])
    return rnn


def _run(module, x, state=None):
    out, last = module(x, state)
    last = last if isinstance(last, tuple) else (last,)
    return out, last


def _edge_grads(cell, rnn):
    """Torch's weight gradients gathered at the positions of the cell's input → hidden edges
    ``[E_in, G]`` and of its h2h edges ``[R, G]``."""
    n_in, H, g = cell.num_inputs, cell.num_hidden, cell.num_gates
    src, dst = cell.edge_index[:, cell.edge_index[0] < n_in]
    rsrc, rdst = cell.recurrent_edge_index - n_in
    gi = rnn.weight_ih_l0.grad.view(g, H, n_in)[:, dst - n_in, src].t()
    gh = rnn.weight_hh_l0.grad.view(g, H, H)[:, rdst, rsrc].t()
    return gi, gh


def _assert_same_as_torch(cell, rnn, x, state=None):
    x1 = x.clone().requires_grad_()
    x2 = x.clone().requires_grad_()
    out1, last1 = _run(cell, x1, state)
    out2, last2 = _run(rnn, x2, state)
    torch.testing.assert_close(out1, out2)
    for a, b in zip(last1, last2, strict=True):
        torch.testing.assert_close(a, b)
    # a loss touching every output and the final states
    w = torch.linspace(-1, 1, out1.numel(), dtype=D64).view_as(out1)
    ((out1 * w).sum() + sum(s.sum() for s in last1)).backward()
    ((out2 * w).sum() + sum(s.sum() for s in last2)).backward()
    gi, gh = _edge_grads(cell, rnn)
    assert gi.shape == cell.weight.shape  # no skip edges: every i2h edge has a torch twin
    torch.testing.assert_close(cell.weight.grad, gi)
    torch.testing.assert_close(cell.recurrent_weight.grad, gh)
    torch.testing.assert_close(cell.bias.grad, rnn.bias_ih_l0.grad.view(cell.num_gates, -1).t())
    torch.testing.assert_close(
        cell.recurrent_bias.grad, rnn.bias_hh_l0.grad.view(cell.num_gates, -1).t()
    )
    torch.testing.assert_close(x1.grad, x2.grad)


def _x(T=6, B=3, n_in=4, seed=1):
    return torch.randn(T, B, n_in, dtype=D64, generator=torch.Generator().manual_seed(seed))


def _random_mask(n, keep, seed):
    return torch.rand(n, generator=torch.Generator().manual_seed(seed)) >= keep


# ----------------------------------------------------------------------------- equality with torch


@pytest.mark.parametrize("mode", MODES)
def test_cells_complete_equals_torch(mode):
    rnn = _torch_module(mode, 4, 5)
    cell = cells.from_torch(rnn)
    assert cell.weight.dtype == D64 and cell.num_edges == {"i2h": 20, "h2h": 25}
    _assert_same_as_torch(cell, rnn, _x())


@pytest.mark.parametrize("mode", MODES)
def test_cells_complete_builder_is_torch_layout(mode):
    cell = cells.complete(mode, 3, 4, seed=0, dtype=D64)
    dense = cell.dense_weights()
    g = G[mode]
    torch.testing.assert_close(
        dense["weight_ih"].view(g, 4, 3), cell.weight.detach().t().reshape(g, 4, 3)
    )
    assert torch.count_nonzero(dense["weight_skip"]) == 0
    _assert_same_as_torch(cell, _twin(cell), _x(n_in=3))


@pytest.mark.parametrize("mode", MODES)
def test_cells_sparse_equals_masked_torch(mode):
    cell = cells.complete(mode, 4, 6, seed=2, dtype=D64)
    cell.remove_edges("i2h", _random_mask(24, 0.5, 0))
    cell.remove_edges("h2h", _random_mask(36, 0.5, 1))
    dense = cell.dense_weights()
    # zeros exactly where no edge is
    assert torch.count_nonzero(dense["weight_ih"]) == cell.num_edges["i2h"] * G[mode]
    assert torch.count_nonzero(dense["weight_hh"]) == cell.num_edges["h2h"] * G[mode]
    _assert_same_as_torch(cell, _twin(cell), _x())


@pytest.mark.parametrize("mode", MODES)
def test_cells_initial_state_equals_torch(mode):
    cell = cells.complete(mode, 4, 5, seed=3, dtype=D64)
    cell.remove_edges("h2h", _random_mask(25, 0.3, 2))
    gen = torch.Generator().manual_seed(5)
    h0 = torch.randn(1, 3, 5, dtype=D64, generator=gen)
    state = (h0, torch.randn(1, 3, 5, dtype=D64, generator=gen)) if mode == "lstm" else h0
    _assert_same_as_torch(cell, _twin(cell), _x(), state)


@pytest.mark.parametrize("mode", MODES)
def test_cells_levelwise_equals_torch_when_skips_are_zero(mode):
    # skip edges force the level-by-level path (and a reordering of the hidden nodes); with
    # zero skip weights it must still be torch's cell exactly
    n_in, H = 3, 6
    i2h, h2h = cells._complete_edges(n_in, H)
    skip = torch.tensor([[n_in + 4, n_in + 1, n_in + 5], [n_in + 1, n_in + 2, n_in + 3]])
    cell = GraphRNN(mode, n_in, H, torch.cat([i2h, skip], 1), h2h, seed=0, dtype=D64)
    assert cell.num_levels == 3
    with torch.no_grad():
        cell.weight[-3:] = 0
    rnn = _twin(cell)
    x1 = _x(n_in=n_in).requires_grad_()
    x2 = x1.detach().clone().requires_grad_()
    out1, last1 = _run(cell, x1)
    out2, last2 = _run(rnn, x2)
    torch.testing.assert_close(out1, out2)
    for a, b in zip(last1, last2, strict=True):
        torch.testing.assert_close(a, b)
    (out1.sum() + last1[-1].sum()).backward()
    (out2.sum() + last2[-1].sum()).backward()
    gi, gh = _edge_grads(cell, rnn)
    torch.testing.assert_close(cell.weight.grad[:-3], gi)
    torch.testing.assert_close(cell.recurrent_weight.grad, gh)
    torch.testing.assert_close(x1.grad, x2.grad)


# ----------------------------------------------------------------------------- multi-level DAGs


def _reference(cell, x):
    """Slow per-step, per-node evaluation straight from the edge lists (float64, autograd)."""
    n_in, H, mode = cell.num_inputs, cell.num_hidden, cell.mode
    T, B, _ = x.shape
    src, dst = cell.edge_index.tolist()
    rsrc, rdst = cell.recurrent_edge_index.tolist()
    order = list(
        nx.topological_sort(
            nx.DiGraph([(u, v) for u, v in zip(src, dst, strict=True) if u >= n_in])
        )
    )
    order += [v for v in range(n_in, n_in + H) if v not in order]
    h_prev = {v: x.new_zeros(B) for v in range(n_in, n_in + H)}
    c_prev = dict(h_prev)
    outs = []
    for t in range(T):
        h, c = {}, {}
        for v in order:
            gi = [cell.bias[v - n_in, g] + x.new_zeros(B) for g in range(cell.num_gates)]
            gh = [cell.recurrent_bias[v - n_in, g] + x.new_zeros(B) for g in range(cell.num_gates)]
            for e, (u, w) in enumerate(zip(src, dst, strict=True)):
                if w == v:
                    a = x[t, :, u] if u < n_in else h[u]
                    gi = [gi[g] + cell.weight[e, g] * a for g in range(cell.num_gates)]
            for e, (u, w) in enumerate(zip(rsrc, rdst, strict=True)):
                if w == v:
                    gh = [
                        gh[g] + cell.recurrent_weight[e, g] * h_prev[u]
                        for g in range(cell.num_gates)
                    ]
            if mode == "rnn_tanh":
                h[v] = torch.tanh(gi[0] + gh[0])
            elif mode == "rnn_relu":
                h[v] = torch.relu(gi[0] + gh[0])
            elif mode == "lstm":
                i, f, o = (torch.sigmoid(gi[k] + gh[k]) for k in (0, 1, 3))
                c[v] = f * c_prev[v] + i * torch.tanh(gi[2] + gh[2])
                h[v] = o * torch.tanh(c[v])
            else:
                r, z = (torch.sigmoid(gi[k] + gh[k]) for k in (0, 1))
                n = torch.tanh(gi[2] + r * gh[2])
                h[v] = (1 - z) * n + z * h_prev[v]
        outs.append(torch.stack([h[v] for v in range(n_in, n_in + H)], 1))
        h_prev, c_prev = h, (c if mode == "lstm" else c_prev)
    last = torch.stack([c_prev[v] for v in range(n_in, n_in + H)], 1)
    return torch.stack(outs), outs[-1], last


def _dag_cell(mode, seed=0):
    """7 hidden nodes in 4 levels, listed out of level order, plus sparse inputs and h2h."""
    n_in = 3
    hid = [(5, 1), (1, 0), (0, 3), (3, 6), (1, 6), (2, 4), (4, 6), (0, 6)]
    ins = [(0, 0), (1, 0), (2, 2), (1, 5), (0, 4), (2, 1)]
    rec = [(6, 0), (0, 0), (3, 2), (4, 4), (1, 5), (2, 6)]
    ei = torch.tensor([(u, v + n_in) for u, v in ins] + [(u + n_in, v + n_in) for u, v in hid]).t()
    rei = torch.tensor(rec).t() + n_in
    return GraphRNN(mode, n_in, 7, ei, rei, seed=seed, dtype=D64)


@pytest.mark.parametrize("mode", MODES)
def test_cells_multilevel_matches_reference(mode):
    cell = _dag_cell(mode)
    assert cell.levels.tolist() == [2, 1, 0, 3, 1, 0, 4]
    x = _x(T=4, B=2, n_in=3)
    out, last = _run(cell, x)
    out_ref, h_ref, c_ref = _reference(cell, x)
    torch.testing.assert_close(out, out_ref)
    torch.testing.assert_close(last[0][0], h_ref)
    if mode == "lstm":
        torch.testing.assert_close(last[1][0], c_ref)
    grads = torch.autograd.grad(out.square().sum(), [cell.weight, cell.recurrent_weight, cell.bias])
    grads_ref = torch.autograd.grad(
        out_ref.square().sum(), [cell.weight, cell.recurrent_weight, cell.bias]
    )
    for a, b in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(a, b)


def test_cells_batch_first():
    cell = _dag_cell("lstm")
    x = _x(T=5, B=3, n_in=3)
    out, (h, c) = cell(x)
    cell.batch_first = True
    out_bf, (h_bf, c_bf) = cell(x.transpose(0, 1))
    torch.testing.assert_close(out_bf, out.transpose(0, 1))
    torch.testing.assert_close(h_bf, h)
    torch.testing.assert_close(c_bf, c)
    rnn = torch.nn.GRU(3, 4, batch_first=True, dtype=D64)
    xb = x.transpose(0, 1).contiguous()
    torch.testing.assert_close(cells.from_torch(rnn)(xb)[0], rnn(xb)[0])


def test_cells_dense_weights_reports_skips():
    cell = _dag_cell("gru")
    dense = cell.dense_weights()
    H, n_in = cell.num_hidden, cell.num_inputs
    src, dst = cell.edge_index
    hid = src >= n_in
    skip = dense["weight_skip"].view(3, H, H)
    torch.testing.assert_close(
        skip[:, dst[hid] - n_in, src[hid] - n_in].t(), cell.weight[hid].detach()
    )
    assert torch.count_nonzero(skip) == int(hid.sum()) * 3
    assert torch.count_nonzero(dense["weight_ih"]) == int((~hid).sum()) * 3


# ----------------------------------------------------------------------------- builders


def test_cells_from_prior_recurrent_options():
    D = nx.DiGraph([(0, 1), (0, 2), (1, 3), (2, 3), (4, 3)])  # layers 0: {0, 4}, 1: {1, 2}, 2: {3}
    n_in = 2
    pairs = lambda ei: set(map(tuple, ei.t().tolist()))  # noqa: E731
    level = cells.from_prior("rnn_tanh", n_in, D, seed=0)
    groups = [{0, 4}, {1, 2}, {3}]
    assert pairs(level.recurrent_edge_index) == {
        (u + n_in, v + n_in) for g in groups for u in g for v in g
    }
    assert level.levels.tolist() == [0, 1, 1, 2, 0]
    assert pairs(cells.from_prior("gru", n_in, D, recurrent="self").recurrent_edge_index) == {
        (v + n_in, v + n_in) for v in range(5)
    }
    assert cells.from_prior("lstm", n_in, D, recurrent="complete").num_edges["h2h"] == 25
    assert cells.from_prior("lstm", n_in, D, recurrent="none").num_edges["h2h"] == 0
    # inputs feed the sources 0 and 4 (Fig. 6b), or every node
    assert pairs(level.edge_index) == (
        {(u, s + n_in) for u in range(n_in) for s in (0, 4)}
        | {(u + n_in, v + n_in) for u, v in D.edges}
    )
    assert cells.from_prior("lstm", n_in, D, inputs_to="all").num_edges["i2h"] == 10 + 5


def test_cells_from_prior_undirected_seeded():
    G_ = nx.petersen_graph()
    a = cells.from_prior("gru", 3, G_, seed=4)
    b = cells.from_prior("gru", 3, G_, seed=4)
    c = cells.from_prior("gru", 3, G_, seed=5)
    assert torch.equal(a.edge_index, b.edge_index) and torch.equal(a.weight, b.weight)
    assert torch.equal(a.recurrent_edge_index, b.recurrent_edge_index)
    assert not (torch.equal(a.edge_index, c.edge_index) and torch.equal(a.weight, c.weight))
    assert a.num_edges["i2h"] - 3 * int((a.levels == 0).sum()) == 15  # the 15 Petersen edges


@pytest.mark.parametrize(
    "build",
    [
        lambda seed: cells.watts_strogatz("lstm", 7, 20, 4, 0.3, seed=seed),
        lambda seed: cells.barabasi_albert("rnn_relu", 7, 20, 2, seed=seed, recurrent="self"),
    ],
)
def test_cells_random_priors_same_seed_same_cell(build):
    a, b, c = build(1), build(1), build(2)
    assert a.num_hidden == 20 and a.num_levels > 1
    assert torch.equal(a.edge_index, b.edge_index) and torch.equal(a.weight, b.weight)
    assert torch.equal(a.recurrent_weight, b.recurrent_weight)
    assert not (torch.equal(a.edge_index, c.edge_index) and torch.equal(a.weight, c.weight))
    gen = torch.Generator().manual_seed(0)
    d = build(gen)
    assert d.num_hidden == 20


def test_cells_load_state_dict_rebuilds_the_plan():
    # same edge counts, different edges and levels: loading must not keep the old plan
    a = _dag_cell("lstm", seed=0)
    b = GraphRNN(
        "lstm",
        3,
        7,
        torch.stack([torch.arange(14) % 3, 3 + torch.arange(14) % 7]),
        a.recurrent_edge_index.flip(0),
        seed=1,
        dtype=D64,
    )
    assert b.num_levels == 1
    old_structure = b.structure
    b.load_state_dict(a.state_dict())
    x = _x(T=3, B=2, n_in=3)
    assert b.num_levels == 5
    assert b.structure is not old_structure
    assert torch.equal(b.structure.edge_index, a.structure.edge_index)
    assert torch.equal(b.structure.delay, a.structure.delay)
    torch.testing.assert_close(b(x)[0], a(x)[0])


def _assert_structure_is_the_topology(cell):
    s = cell.structure
    n_in, H = cell.num_inputs, cell.num_hidden
    E, R = cell.num_edges["i2h"], cell.num_edges["h2h"]
    assert s.labels == tuple(range(n_in + H))
    assert s.inputs.tolist() == list(range(n_in))
    assert s.outputs.tolist() == list(range(n_in, n_in + H))
    act = {"rnn_tanh": "tanh", "rnn_relu": "relu"}.get(cell.mode, "identity")
    assert s.activations == ("identity",) * n_in + (act,) * H
    # i2h edges first at delay 0, then h2h edges at delay 1, in the order of their weights
    assert cell.edge_index.device == cell.weight.device  # the buffers follow the module
    assert torch.equal(
        s.edge_index, torch.cat([cell.edge_index, cell.recurrent_edge_index], 1).cpu()
    )
    assert s.delay.tolist() == [0] * E + [1] * R


@pytest.mark.parametrize("mode", MODES)
def test_cells_structure_is_the_topology(mode, device):
    cell = _dag_cell(mode).to(device)
    _assert_structure_is_the_topology(cell)
    first = cell.structure
    cell.remove_edges("i2h", [0, 7])
    cell.remove_edges("h2h", [1])
    assert cell.structure is not first and first.num_edges == 20  # edits build a new one
    _assert_structure_is_the_topology(cell)
    assert cell.structure.num_edges == 17


def test_cells_levels_against_networkx():
    # the layer index of the hidden delay-0 DAG: networkx's topological generations
    cell = cells.watts_strogatz("gru", 3, 30, 4, 0.3, seed=2)
    n_in = cell.num_inputs
    src, dst = cell.edge_index
    skip = src >= n_in
    D = nx.DiGraph()
    D.add_nodes_from(range(cell.num_hidden))
    D.add_edges_from(zip((src[skip] - n_in).tolist(), (dst[skip] - n_in).tolist(), strict=True))
    expected = {v: k for k, gen in enumerate(nx.topological_generations(D)) for v in gen}
    assert cell.levels.tolist() == [expected[v] for v in range(cell.num_hidden)]
    assert cell.num_levels == max(expected.values()) + 1 > 2


def test_cells_no_edges_is_bias_only():
    cell = GraphRNN("rnn_tanh", 2, 3, [], None, seed=0, dtype=D64)
    assert cell.num_edges == {"i2h": 0, "h2h": 0}
    out, h = cell(_x(T=2, B=1, n_in=2))
    torch.testing.assert_close(out[1, 0], torch.tanh(cell.bias[:, 0] + cell.recurrent_bias[:, 0]))


def test_cells_seed_same_weights():
    a = cells.complete("gru", 3, 4, seed=7)
    b = cells.complete("gru", 3, 4, seed=torch.Generator().manual_seed(7))
    assert torch.equal(a.weight, b.weight) and torch.equal(a.recurrent_bias, b.recurrent_bias)
    assert a.weight.abs().max() <= 0.5  # ±1/sqrt(4)


# ----------------------------------------------------------------------------- edits


@pytest.mark.parametrize("mode", ["rnn_tanh", "lstm"])
def test_cells_remove_edges_ids_and_mask(mode):
    cell = cells.complete(mode, 3, 4, seed=0, dtype=D64)
    before = cell.edge_index.clone(), cell.weight.detach().clone()
    kept = cell.remove_edges("i2h", [0, 5, 7])
    assert kept.tolist() == [i for i in range(12) if i not in (0, 5, 7)]
    assert torch.equal(cell.edge_index, before[0][:, kept])
    assert torch.equal(cell.weight.detach(), before[1][kept])
    mask = torch.zeros(16, dtype=torch.bool)
    mask[[1, 2]] = True
    assert cell.remove_edges("h2h", mask).tolist() == [i for i in range(16) if i not in (1, 2)]
    assert cell.num_edges == {"i2h": 9, "h2h": 14}
    _assert_same_as_torch(cell, _twin(cell), _x(n_in=3))


def test_cells_remove_edges_keeps_optimizer_working():
    cell = cells.complete("gru", 3, 4, seed=0, dtype=D64)
    opt = torch.optim.Adam(cell.parameters(), lr=0.01)
    x = _x(n_in=3)
    cell(x)[0].sum().backward()
    opt.step()
    m = opt.state[cell.weight]["exp_avg"].clone()
    kept = cell.remove_edges("i2h", [2, 3], optimizer=opt)
    assert torch.equal(opt.state[cell.weight]["exp_avg"], m[kept])
    assert cell.weight.grad.shape == (10, 3)
    opt.zero_grad()
    cell(x)[0].sum().backward()
    opt.step()  # shapes agree: no error


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("edit", ["magnitude_prune", "remove_edges"])
def test_cells_edit_while_an_old_loss_is_alive(mode, edit, device):
    # autograd caches a parameter's gradient accumulator, with the shape it had, for as long as
    # a graph that used it lives (`loss` below): an edit must reset it, or the next backward
    # fails with "returned an invalid gradient"
    cell = cells.complete(mode, 3, 4, seed=0, dtype=D64).to(device)
    opt = torch.optim.Adam(cell.parameters(), lr=0.01)
    x = _x(n_in=3).to(device)
    loss = cell(x)[0].square().sum()
    loss.backward()
    opt.step()
    if edit == "magnitude_prune":
        cells.magnitude_prune(cell, 0.5, optimizer=opt)
    else:
        cell.remove_edges("i2h", [0, 4, 5, 11], optimizer=opt)
        cell.remove_edges("h2h", torch.arange(0, 16, 3), optimizer=opt)
    assert opt.state[cell.weight]["exp_avg"].shape == cell.weight.shape
    opt.zero_grad()
    new_loss = cell(x)[0].square().sum()
    new_loss.backward()
    # the gradients are those of torch's module with the pruned weights zeroed
    rnn = _twin(cell).to(device)
    rnn(x)[0].square().sum().backward()
    gi, gh = _edge_grads(cell, rnn)
    torch.testing.assert_close(cell.weight.grad, gi)
    torch.testing.assert_close(cell.recurrent_weight.grad, gh)
    before = [p.detach().clone() for p in cell.parameters()]
    opt.step()
    assert all(not torch.equal(p, b) for p, b in zip(cell.parameters(), before, strict=True))
    del loss  # alive until here: through the edit, the new backward and the step


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kernel", ["auto", "cpp", "torch", "skips"])
def test_cells_old_graph_refuses_backward_after_an_edit(mode, kernel):
    # a loss from before an edit used to backpropagate gradients of the old edge count into
    # the edited parameter, silently: a [12, G] .grad on a [10, G] weight
    cell = _dag_cell(mode) if kernel == "skips" else cells.complete(mode, 3, 4, seed=0)
    if kernel != "skips":
        cell.kernel = kernel
    x = _x(n_in=cell.num_inputs).to(cell.weight.dtype)
    old = cell(x)[0].square().sum()
    cell.remove_edges("i2h", [0])
    # the torch path says it in its own words; the C++ paths' Functions save the weights, so
    # torch's version check refuses (as for a GraphNet, docs/edits.md)
    message = r"computed before the cell was edited \(1 edit" if kernel == "torch" else "inplace"
    with pytest.raises(RuntimeError, match=message):
        old.backward()
    assert cell.weight.grad is None and cell.recurrent_weight.grad is None
    # a loss computed after the edit backpropagates, with gradients of the new shapes
    cell(x)[0].square().sum().backward()
    assert cell.weight.grad.shape == cell.weight.shape
    assert cell.recurrent_weight.grad.shape == cell.recurrent_weight.shape


def test_cells_remove_skip_edge_rebuilds_levels():
    cell = _dag_cell("rnn_tanh")
    last = int((cell.edge_index[0] >= 3).nonzero()[-1])  # (0 -> 6) hidden, the last skip edge
    cell.remove_edges("i2h", [last])
    assert cell.levels.tolist() == [2, 1, 0, 3, 1, 0, 4]
    hid = (cell.edge_index[0] >= 3).nonzero().flatten()
    cell.remove_edges("i2h", hid)
    assert cell.num_levels == 1
    _assert_same_as_torch(cell, _twin(cell), _x(n_in=3))


@pytest.mark.parametrize("mode", MODES)
def test_cells_magnitude_prune_smallest_norms(mode):
    cell = cells.complete(mode, 4, 5, seed=1, dtype=D64)
    norms_i = cell.weight.detach().norm(dim=1)
    norms_h = cell.recurrent_weight.detach().norm(dim=1)
    kept = cells.magnitude_prune(cell, 0.4)
    assert cell.num_edges == {"i2h": 12, "h2h": 15}
    # every removed edge is no larger than every kept one, per kind
    for norms, k in ((norms_i, kept["i2h"]), (norms_h, kept["h2h"])):
        gone = torch.ones(len(norms), dtype=torch.bool)
        gone[k] = False
        assert norms[gone].max() <= norms[k].min()
        assert int(gone.sum()) == round(0.4 * len(norms))
    _assert_same_as_torch(cell, _twin(cell), _x())


def test_cells_magnitude_prune_one_kind_and_counts():
    cell = cells.complete("lstm", 4, 5, seed=1)
    w = cell.recurrent_weight.detach().clone()
    kept = cells.magnitude_prune(cell, 3, kind="h2h")
    assert list(kept) == ["h2h"] and cell.num_edges == {"i2h": 20, "h2h": 22}
    assert set(range(25)) - set(kept["h2h"].tolist()) == set(w.norm(dim=1).argsort()[:3].tolist())
    cells.magnitude_prune(cell, 1.0, kind=("i2h",))
    assert cell.num_edges == {"i2h": 0, "h2h": 22}
    out, (h, c) = cell(torch.randn(3, 2, 4))  # no i2h edges: still runs
    assert out.shape == (3, 2, 5)
    cells.magnitude_prune(cell, 0, kind="h2h")
    assert cell.num_edges["h2h"] == 22


# ----------------------------------------------------------------------------- introspection


def test_cells_to_networkx_and_repr():
    cell = _dag_cell("lstm")
    g = cell.to_networkx()
    assert g.number_of_nodes() == 10 and g.number_of_edges() == 14 + 6
    assert g.nodes[0]["role"] == "input" and g.nodes[9] == {"role": "hidden", "level": 4}
    e = g.edges[3, 3, "h2h"]
    assert e["delay"] == 1 and e["kind"] == "h2h" and len(e["weight"]) == 4
    assert g.edges[8, 4, "i2h"]["delay"] == 0
    assert repr(cell) == (
        "GraphRNN(mode='lstm', inputs=3, hidden=7, i2h=14 (6 from inputs, "
        "8 skip), h2h=6, levels=5, density=17.1%)"
    )


# ----------------------------------------------------------------------------- classifier


def _a_before_b(n, seed):
    """Symbols 0..3 (A=0, B=1), lengths 3..8, zero-padded one-hot; label: an A before a B."""
    gen = torch.Generator().manual_seed(seed)
    T = 8
    seqs = torch.randint(0, 4, (n, T), generator=gen)
    lengths = torch.randint(3, T + 1, (n,), generator=gen)
    real = torch.arange(T) < lengths[:, None]
    # half of the sequences get an A somewhere and a B after it
    plant = torch.rand(n, generator=gen) < 0.5
    i = (torch.rand(n, generator=gen) * (lengths - 1)).long()
    j = i + 1 + (torch.rand(n, generator=gen) * (lengths - 1 - i)).long()
    rows = plant.nonzero().flatten()
    seqs[rows, i[rows]] = 0
    seqs[rows, j[rows]] = 1
    # the others lose every B after their first A (it becomes a C): balanced classes
    after_a = ((seqs == 0).cumsum(1) > 0) & ~plant[:, None]
    seqs[after_a & (seqs == 1)] = 2
    is_a, is_b = (seqs == 0) & real, (seqs == 1) & real
    seen_a = is_a.cumsum(1) > 0
    y = (is_b[:, 1:] & seen_a[:, :-1]).any(1).long()
    x = torch.nn.functional.one_hot(seqs, 4).float() * real[..., None]
    return x.reshape(n, -1), y


def test_cells_sequence_classifier_trains_with_fit():
    x_train, y_train = _a_before_b(300, 0)
    x_test, y_test = _a_before_b(200, 1)
    majority = max(y_test.float().mean().item(), 1 - y_test.float().mean().item())
    torch.manual_seed(0)
    net = SequenceClassifier(cells.complete("gru", 4, 12, seed=0), 2, seed=0)
    history = fit(
        net,
        x_train,
        y_train,
        x_test,
        y_test,
        epochs=5,
        batch_size=25,
        lr=0.05,
        seed=0,
        progress=False,
    )
    assert history[-1]["test_acc"] > max(0.9, majority + 0.3)


def test_cells_sequence_classifier_reads_last_real_step():
    cell = _dag_cell("gru")
    net = SequenceClassifier(cell, 3, seed=0).double()
    x = _x(T=5, B=2, n_in=3).transpose(0, 1).contiguous()
    x[0, 3:] = 0
    out, _ = cell(x.transpose(0, 1))
    expected = net.readout(torch.stack([out[2, 0], out[4, 1]]))
    torch.testing.assert_close(net(x), expected)
    torch.testing.assert_close(net(x.reshape(2, -1)), expected)


# ----------------------------------------------------------------------------- errors


def test_cells_errors_constructor():
    ei = [[0], [2]]
    with pytest.raises(
        ValueError,
        match="unknown mode 'elman'; expected one of 'rnn_tanh', 'rnn_relu', 'lstm', 'gru'",
    ):
        GraphRNN("elman", 2, 2, ei)
    with pytest.raises(ValueError, match="num_hidden must be a positive int, got 0"):
        GraphRNN("gru", 2, 0, ei)
    with pytest.raises(
        TypeError, match="expected edge_index to hold integer node ids, got dtype torch.float32"
    ):
        GraphRNN("gru", 2, 2, torch.tensor([[0.0], [2.0]]))
    with pytest.raises(
        ValueError,
        match=r"expected edge_index of shape \[2, num_edges\], got "
        r"\[3, 1\]",
    ):
        GraphRNN("gru", 2, 2, [[0], [2], [3]])
    # the graph is validated by its Structure (i2h edges, then h2h edges), nodes named by label
    with pytest.raises(
        ValueError,
        match=r"edge 0 -> 1 enters input node 1; input nodes take no in-edges",
    ):
        GraphRNN("gru", 2, 2, [[0], [1]])
    with pytest.raises(
        ValueError,
        match=r"edge_index refers to node 4, but there are 4 nodes \(valid indices 0..3\)",
    ):
        GraphRNN("gru", 2, 2, [[4], [2]])
    with pytest.raises(ValueError, match=r"edge_index refers to node -1, but there are 4 nodes"):
        GraphRNN("gru", 2, 2, ei, [[-1], [2]])
    with pytest.raises(ValueError, match=r"edge 3 -> 0 enters input node 0"):
        GraphRNN("gru", 2, 2, ei, [[3], [0]])
    with pytest.raises(
        ValueError,
        match=r"duplicate edge 0 -> 2 \(edges 0 and 1\); give each pair at most one edge",
    ):
        GraphRNN("gru", 2, 2, [[0, 0], [2, 2]])
    with pytest.raises(
        ValueError,
        match=r"duplicate edge 2 -> 3 with delay 1 \(edges 1 and 2\); give each pair at most "
        "one edge per delay",
    ):
        GraphRNN("gru", 2, 2, ei, [[2, 2], [3, 3]])
    # the same pair as an i2h and an h2h edge is two connections, not a duplicate
    assert GraphRNN("gru", 2, 2, [[0, 2], [2, 3]], [[2], [3]]).num_edges == {"i2h": 2, "h2h": 1}
    with pytest.raises(
        CycleError,
        match="the feed-forward edges contain a cycle: 3 -> 2 -> 3; remove one of its edges or "
        r"give one a delay >= 1",
    ):
        GraphRNN("gru", 2, 2, [[2, 3], [3, 2]], [[2], [2]])
    with pytest.raises(
        ValueError,
        match=r"self loop on node 3 \(edge 3 -> 3\); a feed-forward edge must join two "
        r"different nodes \(a recurrent self loop needs a delay >= 1\)",
    ):
        GraphRNN("gru", 2, 2, [[3], [3]])
    # the one rule of a cell beyond its Structure
    with pytest.raises(
        ValueError,
        match=r"recurrent_edge_index has the edge 0 -> 2 out of input node 0; h2h edges join "
        r"hidden nodes \(2..3\): feed inputs through edge_index",
    ):
        GraphRNN("gru", 2, 2, ei, [[0], [2]])
    with pytest.raises(TypeError, match="batch_first must be a bool, got 1"):
        GraphRNN("gru", 2, 2, ei, batch_first=1)
    with pytest.raises(TypeError, match="seed must be None, an int or a torch.Generator, got 'a'"):
        GraphRNN("gru", 2, 2, ei, seed="a")


def test_cells_errors_forward():
    cell = cells.complete("lstm", 2, 3, seed=0)
    with pytest.raises(TypeError, match="expected x to be a torch.Tensor, got list"):
        cell([[1.0, 2.0]])
    with pytest.raises(
        ValueError,
        match=r"expected x of shape \[T, B, n_in\] with n_in=2, got "
        r"\[4, 2\]",
    ):
        cell(torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"with n_in=2, got \[4, 1, 3\]"):
        cell(torch.zeros(4, 1, 3))
    with pytest.raises(
        TypeError,
        match="expected x of dtype torch.float32 .the cell's., got "
        "torch.float64; convert x or the cell",
    ):
        cell(torch.zeros(4, 1, 2, dtype=D64))
    with pytest.raises(
        TypeError,
        match=r"expected the LSTM state as a tuple \(h_0, c_0\), got "
        r"Tensor",
    ):
        cell(torch.zeros(4, 1, 2), torch.zeros(1, 1, 3))
    with pytest.raises(ValueError, match=r"expected c_0 of shape \[1, 1, 3\], got \[1, 3\]"):
        cell(torch.zeros(4, 1, 2), (torch.zeros(1, 1, 3), torch.zeros(1, 3)))
    with pytest.raises(
        TypeError, match="expected h_0 to be a tensor of dtype torch.float32, got torch.float64"
    ):
        cells.complete("gru", 2, 3)(torch.zeros(4, 1, 2), torch.zeros(1, 1, 3, dtype=D64))


def test_cells_errors_builders():
    with pytest.raises(TypeError, match="expected a torch.nn.RNN, LSTM or GRU, got Linear"):
        cells.from_torch(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="got num_layers=2; convert each layer"):
        cells.from_torch(torch.nn.LSTM(2, 2, num_layers=2))
    with pytest.raises(ValueError, match="got bidirectional=True"):
        cells.from_torch(torch.nn.GRU(2, 2, bidirectional=True))
    with pytest.raises(ValueError, match="got bias=False"):
        cells.from_torch(torch.nn.RNN(2, 2, bias=False))
    with pytest.raises(ValueError, match="got proj_size=1"):
        cells.from_torch(torch.nn.LSTM(2, 2, proj_size=1))
    D = nx.DiGraph([(0, 1)])
    with pytest.raises(
        ValueError,
        match="unknown recurrent 'all'; expected one of 'level', 'self', 'complete', 'none'",
    ):
        cells.from_prior("gru", 2, D, recurrent="all")
    with pytest.raises(ValueError, match="unknown inputs_to 'sinks'; expected 'sources' or 'all'"):
        cells.from_prior("gru", 2, D, inputs_to="sinks")
    with pytest.raises(TypeError, match="expected a networkx Graph or DiGraph, got list"):
        cells.from_prior("gru", 2, [(0, 1)])
    with pytest.raises(ValueError, match="the prior graph has no nodes"):
        cells.from_prior("gru", 2, nx.DiGraph())
    with pytest.raises(
        ValueError, match="self loop on node 1; a prior graph must have no self loops"
    ):
        cells.from_prior("gru", 2, nx.DiGraph([(0, 1), (1, 1)]))
    with pytest.raises(CycleError, match="the prior graph has the cycle 2 -> 3; give a DAG"):
        cells.from_prior("gru", 2, nx.DiGraph([(0, 1), (1, 0)]))
    with pytest.raises(CycleError, match="the feed-forward edges contain a cycle: 3 -> 2 -> 3"):
        cells.from_prior("gru", 2, nx.DiGraph([(0, 1), (1, 0)]), recurrent="self")
    with pytest.raises(ValueError, match="k=5 must be smaller than n=5"):
        cells.watts_strogatz("gru", 2, 5, 5, 0.1)
    with pytest.raises(ValueError, match="m=0 must satisfy 1 <= m < n=5"):
        cells.barabasi_albert("gru", 2, 5, 0)
    with pytest.raises(ValueError, match="unknown mode 'rnn'"):
        cells.complete("rnn", 2, 2)


def test_cells_errors_edits():
    cell = cells.complete("gru", 2, 3, seed=0)
    with pytest.raises(ValueError, match="unknown kind 'ih'; expected 'i2h' or 'h2h'"):
        cell.remove_edges("ih", [0])
    with pytest.raises(ValueError, match=r"expected a h2h mask of shape \[9\], got \[6\]"):
        cell.remove_edges("h2h", torch.zeros(6, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"the i2h edges to remove has id 6, expected ids in 0..5"):
        cell.remove_edges("i2h", [6])
    with pytest.raises(
        ValueError,
        match="expected i2h edges as a bool mask or a 1-d list of ids, got dtype torch.float32",
    ):
        cell.remove_edges("i2h", torch.tensor([0.0]))
    with pytest.raises(TypeError, match="expected a graphnets.cells.GraphRNN, got GRU"):
        cells.magnitude_prune(torch.nn.GRU(2, 2), 0.5)
    # the amount rule every pruning function shares (graphnets._util.checks.amount)
    with pytest.raises(ValueError, match=r"amount must be a fraction in \[0, 1\], got 1.5"):
        cells.magnitude_prune(cell, 1.5)
    with pytest.raises(ValueError, match=r"amount must be a count in \[0, 6\], got -1"):
        cells.magnitude_prune(cell, -1)
    with pytest.raises(ValueError, match=r"amount must be a count in \[0, 6\], got 7"):
        cells.magnitude_prune(cell, 7)
    with pytest.raises(TypeError, match="amount must be an int .* or a float .*, got str"):
        cells.magnitude_prune(cell, "half")
    with pytest.raises(ValueError, match="expected kind to be 'i2h', 'h2h' or both once"):
        cells.magnitude_prune(cell, 0.5, kind=("i2h", "i2h"))
    with pytest.raises(ValueError, match="unknown kind 'x'"):
        cells.magnitude_prune(cell, 0.5, kind="x")
    assert cell.num_edges == {"i2h": 6, "h2h": 9}  # nothing was removed by a failing call


def test_cells_errors_classifier():
    cell = cells.complete("gru", 2, 3, seed=0)
    with pytest.raises(TypeError, match="expected a graphnets.cells.GraphRNN, got GRU"):
        SequenceClassifier(torch.nn.GRU(2, 3), 2)
    with pytest.raises(ValueError, match="num_classes must be a positive int, got 0"):
        SequenceClassifier(cell, 0)
    net = SequenceClassifier(cell, 2)
    with pytest.raises(ValueError, match=r"expected a flat x \[B, T \* 2\], got \[4, 5\]"):
        net(torch.ones(4, 5))
    with pytest.raises(
        ValueError,
        match=r"expected x \[B, T, 2\] or \[B, T \* 2\], got \[4, 5, "
        r"3\]",
    ):
        net(torch.ones(4, 5, 3))
    with pytest.raises(ValueError, match="sequence 1 is all zeros"):
        net(torch.cat([torch.ones(1, 3, 2), torch.zeros(1, 3, 2)]))


def test_cells_docs_section_examples_are_correct():
    # the "Graph-structured cells" section of docs/recurrent.md: its examples run as doctests
    import doctest
    from pathlib import Path

    page = (Path(__file__).parents[2] / "docs" / "recurrent.md").read_text()
    section = page.split("## Graph-structured cells")[1].split("\n## ")[0]
    test = doctest.DocTestParser().get_doctest(section, {}, "recurrent.md", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False).attempted > 10
    assert runner.failures == 0
