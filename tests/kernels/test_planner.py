"""The compiled plan: node order, edge order, per-level kernels, and the auto choices."""

import numpy as np
import pytest
import torch
from _graphs import GRAPHS, layered_net

import graphnets
from graphnets.reference import evaluate
from graphnets.schedule import compile_schedule


@pytest.mark.parametrize("graph", list(GRAPHS))
def test_schedule_node_order(graph):
    s = GRAPHS[graph]().structure
    sched = compile_schedule(s, "auto")
    order, position = sched.order.numpy(), sched.position.numpy()
    n_in = s.inputs.numel()
    assert sorted(order.tolist()) == list(range(s.num_nodes))
    assert np.array_equal(position[order], np.arange(s.num_nodes))
    # Inputs first, in the order of x's columns.
    assert order[:n_in].tolist() == s.inputs.tolist()
    # Then the levels, each a contiguous slice, in increasing level.
    assert np.all(np.diff(s.level[order]) >= 0)
    assert sched.num_levels == s.num_levels
    # Every level plan covers exactly the positions of its level (level 0 minus the inputs).
    covered = []
    for ell, lv in enumerate(sched.levels):
        assert set(s.level[order[lv.start : lv.stop]].tolist()) <= {ell}
        covered.extend(range(lv.start, lv.stop))
    assert covered == list(range(n_in, s.num_nodes))


@pytest.mark.parametrize("graph", ["mixed_activations", "skip_dag", "hidden_sources"])
def test_schedule_activation_groups(graph):
    s = GRAPHS[graph]().structure
    sched = compile_schedule(s, "auto")
    order = sched.order.tolist()
    for lv in sched.levels:
        spans = []
        for act, a, b in lv.groups:
            assert b > a
            spans.append((a, b))
            assert {s.activations[order[lv.start + k]] for k in range(a, b)} == {act.spec}
        # The groups tile the level, one group per distinct activation.
        assert [p for span in spans for p in range(*span)] == list(range(lv.stop - lv.start))
        assert len({g[0].spec for g in lv.groups}) == len(lv.groups)


@pytest.mark.parametrize("graph", list(GRAPHS))
def test_schedule_edge_order(graph):
    s = GRAPHS[graph]().structure
    sched = compile_schedule(s, "auto")
    eorder = torch.arange(s.num_edges) if sched.edge_order is None else sched.edge_order
    src, dst = s.edge_index[:, eorder]
    assert torch.equal(sched.src_pos, sched.position[src])
    assert torch.equal(sched.dst_pos, sched.position[dst])
    # Sorted by (destination position, source position).
    key = sched.dst_pos * s.num_nodes + sched.src_pos
    assert bool((key[1:] > key[:-1]).all())
    # Each level's edges are exactly the edges into it.
    for lv in sched.levels:
        d = sched.dst_pos[lv.estart : lv.estop]
        assert bool(((d >= lv.start) & (d < lv.stop)).all())
    assert sum(lv.estop - lv.estart for lv in sched.levels) == s.num_edges


@pytest.mark.parametrize("kernel", ["dense", "sparse", "scatter"])
def test_schedule_forced_kernel(kernel):
    s = GRAPHS["wide_sparse"]().structure
    sched = compile_schedule(s, kernel)
    assert sched.fused is None
    assert sched.kinds() == ["bias"] + [kernel] * (sched.num_levels - 1)


def test_schedule_forced_fused():
    sched = compile_schedule(GRAPHS["mlp"]().structure, "fused")
    assert sched.fused is not None
    assert sched.kinds() == ["fused"] * sched.num_levels


def test_schedule_auto_mlp_dense_without_reordering():
    # An MLP is built in schedule order: no node or edge permutation, weights are views.
    sched = compile_schedule(graphnets.mlp([5, 7, 6, 3], seed=0).structure, "levelwise")
    assert sched.kinds() == ["bias", "dense", "dense", "dense"]
    assert sched.node_identity
    assert sched.edge_order is None
    assert all(lv.complete for lv in sched.levels[1:])


def test_schedule_auto_deep_narrow_is_fused():
    net = GRAPHS["deep"]()
    costs = graphnets.schedule.predicted_costs(net.structure)
    assert costs["fused"] < costs["levelwise"]
    assert compile_schedule(net.structure, "auto").fused is not None


def test_schedule_auto_small_is_fused():
    net = GRAPHS["mlp"]()
    costs = graphnets.schedule.predicted_costs(net.structure)
    assert costs["fused"] < costs["levelwise"]
    assert compile_schedule(net.structure, "auto").fused is not None


def test_schedule_auto_large_shallow_is_levelwise():
    net = graphnets.mlp([784, 300, 100, 10], seed=0)
    costs = graphnets.schedule.predicted_costs(net.structure)
    assert costs["levelwise"] < costs["fused"]
    sched = compile_schedule(net.structure, "auto")
    assert sched.fused is None
    assert sched.kinds() == ["bias", "dense", "dense", "dense"]


def test_schedule_auto_dense_mlps_by_size():
    # Measured (one thread, batch 256, training steps interleaved): a dense 266k-edge MLP runs
    # faster level-wise (as a chain: 3.0 vs 5.0 ms fused), and so does a 17k-edge one (0.40 vs
    # 0.44 ms); a 4.4k-edge one fused (0.18 vs 0.22 ms), and so does a 2.4k-edge one; the cost
    # model agrees.
    big = graphnets.mlp([784, 300, 100, 10]).structure
    assert compile_schedule(big, "auto").fused is None
    assert compile_schedule(graphnets.mlp([64, 128, 64, 10]).structure, "auto").fused is None
    assert compile_schedule(graphnets.mlp([32, 64, 32, 10]).structure, "auto").fused is not None
    assert compile_schedule(graphnets.mlp([64, 33, 10]).structure, "auto").fused is not None


def test_schedule_predicted_costs_follow_the_model():
    # 0 -> 1 -> 2 is a chain of complete one-node layers: the chain's level-wise costs
    s = graphnets.schedule
    from graphnets.kernels import fused, planner

    net = graphnets.from_edges(torch.tensor([[0, 1], [1, 2]]), 3, [0], [2])
    costs = s.predicted_costs(net.structure)
    assert costs["fused"] == pytest.approx(
        s.FUSED_CALL_US + 1e-3 * (s.FUSED_INPUT_EDGE_NS + s.FUSED_EDGE_NS)
    )
    chain = planner.CHAIN_US + 2 * planner.CHAIN_LEVEL_US + 1e-3 * 2 * planner.CHAIN_EDGE_NS
    assert costs["levelwise"] == pytest.approx(chain)
    # with the skip 0 -> 2 it is not: levels of 1 and 2 cells, per-level costs dominate
    net = graphnets.from_edges(torch.tensor([[0, 1, 0], [1, 2, 2]]), 3, [0], [2])
    costs = s.predicted_costs(net.structure)
    if fused.available():  # run dense: two passes for the level fed by the input (no input
        # gradient), three for the other
        want = 2 * s.LEVEL_US + 1e-3 * (2 * 1 + 3 * 2) * planner.DENSE_CELL_NS
    else:
        want = 2 * s.LEVEL_US + 1e-3 * 3 * s.DENSE_EDGE_NS
    assert costs["levelwise"] == pytest.approx(want)


def _chain_candidates() -> dict[str, graphnets.GraphNet]:
    pruned = layered_net()
    pruned.remove_edges([3])
    nets = {k: f() for k, f in GRAPHS.items()}
    nets.update(
        mlp_deep=graphnets.mlp([5, 6, 6, 6, 2], seed=0),
        layered=layered_net(),
        mixed=layered_net(("relu", "tanh", "relu", "relu")),
        reordered=layered_net(outputs=("y1", "y0")),
        skip=layered_net(skip=True),
        pruned=pruned,
    )
    return nets


@pytest.mark.parametrize("name", list(_chain_candidates()))
def test_schedule_cost_model_knows_a_chain(name):
    # The cost model reads from the node order alone whether the level-wise schedule will run
    # as a chain of dense layers (it predicts the chain's costs then): it must agree with the
    # planner's verdict on the plans themselves.
    from graphnets.core.schedule import node_order
    from graphnets.kernels import planner

    s = _chain_candidates()[name].structure
    o = node_order(s)
    position = np.empty(s.num_nodes, dtype=np.int64)
    position[o.order] = np.arange(s.num_nodes)
    acts = [s.activations[i] for i in o.order.tolist()]
    got = planner._would_chain(
        int(s.inputs.numel()),
        o.level_by_pos,
        o.dst_pos,
        o.src_pos,
        acts,
        position[s.outputs.numpy()],
    )
    assert got == compile_schedule(s, "levelwise").dense_chain
    assert got == (name in ("mlp", "mlp_deep", "layered"))


def test_schedule_auto_picks_by_density():
    # wide_sparse: a large sparse level, a small sparse level, a complete level. Off the CPU
    # (torch's kernels) the small one scatters; on it both run the C++ CSR kernels.
    from graphnets.kernels import fused

    s = GRAPHS["wide_sparse"]().structure
    assert compile_schedule(s, "levelwise", "meta").kinds() == [
        "bias",
        "sparse",
        "scatter",
        "dense",
    ]
    sched = compile_schedule(s, "levelwise")
    if fused.available():
        assert sched.kinds() == ["bias", "sparse", "sparse", "dense"]
        assert [lv.cpp for lv in sched.levels] == [False, True, True, False]


def test_schedule_auto_runs_pruned_levels_by_cost():
    # A level runs dense while a dense block is predicted cheaper than its C++ CSR product
    # (density >~ 0.73 at the measured costs), sparse below: a 784 -> 300 level at 85% and 30%.
    from graphnets.kernels import fused, planner

    if not fused.available():
        pytest.skip("the C++ CSR kernels are not built here")
    for density, kind in ((0.85, "dense"), (0.3, "sparse")):
        keep = torch.rand(300, 784, generator=torch.Generator().manual_seed(0)) < density
        dst, src = keep.nonzero().T
        ei = torch.stack([src, 784 + dst])
        net = graphnets.from_edges(ei, 1084, list(range(784)), list(range(784, 1084)))
        sched = compile_schedule(net.structure, "auto")
        assert sched.kinds() == ["bias", kind]
        e, cells = ei.shape[1], 300 * 784
        assert (planner._dense_ns(e, cells) <= planner.CSR_EDGE_NS * e) == (kind == "dense")


def test_schedule_auto_never_fused_off_cpu():
    # The fused kernel is CPU only: auto must not pick it for another device.
    sched = compile_schedule(GRAPHS["deep"]().structure, "auto", "meta")
    assert sched.fused is None
    assert sched.device == torch.device("meta")
    assert sched.order.device == torch.device("meta")


def test_schedule_fused_off_cpu_raises():
    with pytest.raises(ValueError, match="kernel 'fused' runs on CPU only, got device meta"):
        compile_schedule(GRAPHS["mlp"]().structure, "fused", "meta")


def test_schedule_unknown_kernel():
    with pytest.raises(
        ValueError, match=r"unknown kernel 'gpu'; expected one of auto, levelwise, dense"
    ):
        compile_schedule(GRAPHS["mlp"]().structure, "gpu")


def test_schedule_to_same_device_is_identity():
    sched = compile_schedule(GRAPHS["skip_dag"]().structure, "auto")
    assert sched.to("cpu") is sched


def test_schedule_hidden_sources_form_bias_level():
    net = GRAPHS["hidden_sources"]().compile("levelwise")
    sched = net.schedule
    lv0 = sched.levels[0]
    assert lv0.kind == "bias"
    assert lv0.estop == lv0.estart
    assert sorted(net.order[lv0.start : lv0.stop]) == ["s1", "s2"]


def test_schedule_kernels_constant():
    assert graphnets.KERNELS == ("auto", "levelwise", "dense", "sparse", "scatter", "fused")


def test_schedule_auto_other_dtype_is_levelwise():
    # The fused kernel computes in float32/float64 only: for bfloat16 auto runs level-wise.
    net = graphnets.mlp([4, 8, 3], seed=0)
    assert net.schedule.fused is not None
    x = torch.randn(5, 4)
    want = net(x)
    net.to(torch.bfloat16)
    assert net.schedule.fused is None and net.schedule.dtype == torch.bfloat16
    got = net(x.to(torch.bfloat16))
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), want, rtol=0.05, atol=0.05)


HALF = {torch.float16: dict(rtol=0.01, atol=0.01), torch.bfloat16: dict(rtol=0.05, atol=0.05)}


@pytest.mark.parametrize("dtype", list(HALF), ids=["f16", "bf16"])
@pytest.mark.parametrize("kernel", ["auto", "levelwise"])
def test_schedule_half_precision_never_sparse(kernel, dtype, device):
    # torch has no CSR product in half precision on CPU (nor a sampled_addmm anywhere): where
    # float32 would run a level sparse, auto and levelwise scatter it instead, and the net
    # trains in that dtype.
    net = GRAPHS["wide_sparse"]().to(device)
    assert compile_schedule(net.structure, "levelwise").kinds()[1] == "sparse"
    x = torch.randn(6, 40, generator=torch.Generator().manual_seed(0)).to(device)
    want = evaluate(net.double(), x.double())
    net.to(dtype).compile(kernel)
    assert net.schedule.kinds() == ["bias", "scatter", "scatter", "dense"]
    y = net(x.to(dtype))
    y.sum().backward()
    assert y.dtype == net.weight.grad.dtype == dtype
    assert bool(torch.isfinite(net.weight.grad).all())
    torch.testing.assert_close(y.double(), want, **HALF[dtype])


@pytest.mark.parametrize("dtype", list(HALF), ids=["f16", "bf16"])
def test_schedule_sparse_other_dtype_raises(dtype):
    with pytest.raises(
        TypeError,
        match=rf"kernel 'sparse' computes in float32 or float64 \(torch's CSR products\), got "
        rf"{dtype}; use kernel='auto', 'levelwise', 'dense' or 'scatter' for other dtypes",
    ):
        compile_schedule(GRAPHS["wide_sparse"]().structure, "sparse", dtype=dtype)


def test_schedule_fused_other_dtype_raises():
    net = graphnets.mlp([4, 8, 3], seed=0).to(torch.bfloat16)
    with pytest.raises(
        TypeError,
        match=r"kernel 'fused' computes in float32 or float64, got "
        r"torch.bfloat16; use kernel='auto' or 'levelwise'",
    ):
        net.compile("fused")


_FALLBACK_CODE = """
import warnings, torch, graphnets
from graphnets.reference import evaluate
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    net = graphnets.mlp([4, 8, 3], seed=0)
print(sorted(set(net.schedule.kinds())))
print(any("fused C++ kernel could not be built" in str(w.message) for w in caught))
x = torch.randn(5, 4)
print(torch.allclose(net(x), evaluate(net, x), atol=1e-6))
try:
    net.compile("fused")
except RuntimeError as err:
    print(err)
"""


def _run_fallback(**env) -> list[str]:
    import os
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _FALLBACK_CODE],
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.splitlines()


def test_schedule_no_cpp_env_runs_levelwise():
    # GRAPHNETS_NO_CPP=1 is an explicit choice: level-wise kernels, no warning.
    out = _run_fallback(GRAPHNETS_NO_CPP="1")
    assert out[:3] == ["['bias', 'dense']", "False", "True"]
    assert out[3] == (
        "kernel 'fused' is unavailable here (disabled by GRAPHNETS_NO_CPP); use "
        "kernel='auto', which falls back to the level-wise kernels"
    )


def test_schedule_without_compiler_falls_back_with_a_warning(tmp_path):
    # A compiler that fails (and an empty extension cache) stands in for a machine without one.
    out = _run_fallback(CXX="false", TORCH_EXTENSIONS_DIR=str(tmp_path))
    assert out[:3] == ["['bias', 'dense']", "True", "True"]
    assert out[3].startswith("kernel 'fused' is unavailable here (")
