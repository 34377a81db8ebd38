"""graphnets.plot: each picture checked on small nets by what it draws (artists counted, data
compared with the net, pixels read back), and every bad input by its message."""

import time

import matplotlib
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import torch

import graphnets
from graphnets import plot
from graphnets.kernels.trace import trace

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _skip_net():
    """x1, x2 -> h -> y, a skip edge x1 -> y (weight +2), a negative edge x2 -> h (-1)."""
    G = nx.DiGraph()
    G.add_edge("x1", "h", weight=0.5)
    G.add_edge("x2", "h", weight=-1.0)
    G.add_edge("h", "y", weight=0.25)
    G.add_edge("x1", "y", weight=2.0)
    return graphnets.from_networkx(G, ["x1", "x2"], ["y"], seed=0)


def _by_gid(ax):
    return {c.get_gid(): c for c in ax.collections}


def _pixel(ax, x, y):
    """The RGB of the rendered figure at data point ``(x, y)`` of ``ax``."""
    fig = ax.figure
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    px, py = ax.transData.transform((x, y))
    return rgba[int(round(rgba.shape[0] - py)), int(round(px)), :3].astype(int)


# -- graph ------------------------------------------------------------------------------------
def test_plot_graph_edges_by_kind_and_nodes_by_role():
    net = _skip_net()
    ax = plot.graph(net)
    c = _by_gid(ax)
    assert len(c["feed-forward"].get_paths()) == 3
    assert len(c["skip"].get_paths()) == 1
    assert "recurrent" not in c
    assert [len(c[r].get_offsets()) for r in ("input", "hidden", "output")] == [2, 1, 1]
    # nodes sit at their level
    assert c["input"].get_offsets()[:, 0].tolist() == [0, 0]
    assert c["output"].get_offsets()[:, 0].tolist() == [2]
    # a skip edge is an arc that rises above its endpoints; a feed-forward edge is straight
    arc = c["skip"].get_paths()[0].vertices
    assert len(arc) > 2 and arc[:, 1].max() > max(arc[0, 1], arc[-1, 1])
    assert all(len(p.vertices) == 2 for p in c["feed-forward"].get_paths())
    assert sorted(t.get_text() for t in ax.texts) == ["h", "x1", "x2", "y"]


def test_plot_graph_colours_weights_by_sign_and_size():
    net = _skip_net()
    c = _by_gid(plot.graph(net))
    skip_rgba = c["skip"].get_colors()[0]  # the +2 edge, the net's strongest: full red
    assert skip_rgba[0] > 0.3 and skip_rgba[0] > 3 * skip_rgba[2] and skip_rgba[1] < 0.1
    assert skip_rgba[3] == pytest.approx(1.0)
    ff = c["feed-forward"]
    colours, widths = ff.get_colors(), ff.get_linewidths()
    # drawn weakest first: 0.25, 0.5, -1.0
    assert colours[-1][2] > colours[-1][0]  # the -1 edge is blue
    assert colours[1][0] > colours[1][2]  # the +0.5 edge is red
    assert list(widths) == sorted(widths) and widths[0] < widths[-1]
    assert colours[0][3] < colours[-1][3]  # weaker is fainter


def test_plot_graph_recurrent_edges_dashed():
    net = graphnets.priors.watts_strogatz(3, 2, 6, 2, 0.0, seed=0, recurrent="self")
    c = _by_gid(plot.graph(net))
    rec = int((net.delay > 0).sum())
    assert len(c["recurrent"].get_paths()) == rec == 6
    offset, dashes = c["recurrent"].get_linestyles()[0]
    assert dashes is not None and len(dashes) == 2
    assert c["feed-forward"].get_linestyles()[0][1] is None  # solid


def test_plot_graph_aggregates_a_100k_edge_net_in_seconds():
    net = graphnets.mlp([1000, 100, 10], seed=0)
    net.add_edges([(0, i) for i in range(30)], [(2, i % 10) for i in range(30)])
    start = time.perf_counter()
    ax = plot.graph(net)
    ax.figure.canvas.draw()
    assert time.perf_counter() - start < 10
    c = _by_gid(ax)
    assert len(c["feed-forward"].get_paths()) == 2  # two bundles: 0 -> 1 and 1 -> 2
    assert len(c["skip"].get_paths()) == 1
    counts = [int(t.get_text().replace(",", "")) for t in ax.texts if t.get_gid()]
    assert sorted(counts) == [30, 1000, 100000] and sum(counts) == net.num_edges
    blocks = [p for p in ax.patches if p.get_gid() == "level"]
    assert len(blocks) == 3 and blocks[0].get_height() > blocks[1].get_height()
    assert "aggregated" in ax.get_title(loc="left")


def test_plot_graph_into_given_axes_and_errors():
    fig, (a, b) = plt.subplots(1, 2)
    assert plot.graph(_skip_net(), ax=b, colorbar=False) is b and not a.collections
    with pytest.raises(TypeError, match=r"plot.graph expects a graphnets net .*got DiGraph"):
        plot.graph(nx.DiGraph([(0, 1)]))
    with pytest.raises(TypeError, match=r"ax must be a matplotlib Axes .* got Figure"):
        plot.graph(_skip_net(), ax=fig)
    with pytest.raises(ValueError, match=r"max_edges must be a positive int, got 0"):
        plot.graph(_skip_net(), max_edges=0)


# -- weights ----------------------------------------------------------------------------------
def test_plot_weights_is_to_dense_with_missing_edges_blank():
    net = _skip_net()
    ax = plot.weights(net)
    image = np.ma.filled(ax.images[0].get_array(), np.nan)
    W = net.to_dense().detach().numpy()
    has_edge = ~np.isnan(image)
    assert has_edge.sum() == net.num_edges
    np.testing.assert_allclose(image[has_edge], W[has_edge])
    assert (W[~has_edge] == 0).all()
    # one line per level boundary on each axis, between the blocks of net.order
    rows = [line.get_ydata()[0] for line in ax.lines if list(line.get_xdata()) == [0, 1]]
    cols = [line.get_xdata()[0] for line in ax.lines if list(line.get_ydata()) == [0, 1]]
    assert rows == cols == [1.5, 2.5] and len(ax.lines) == 2 * (net.depth - 1)


def test_plot_weights_pixels_red_positive_blue_negative_grey_missing():
    net = _skip_net()
    ax = plot.weights(net, colorbar=False)
    pos = {label: i for i, label in enumerate(net.order)}
    r, g, b = _pixel(ax, pos["x1"], pos["y"])  # column src, row dst: +2, the strongest
    assert r > 80 and b < 60 and r > 2 * b
    r, g, b = _pixel(ax, pos["x2"], pos["h"])  # -1
    assert b > r + 40
    r, g, b = _pixel(ax, pos["y"], pos["x1"])  # no edge: light grey
    assert abs(r - g) < 5 and abs(g - b) < 5 and 220 < r < 245


def test_plot_weights_recurrent_delay_and_errors():
    net = graphnets.priors.watts_strogatz(3, 2, 6, 2, 0.0, seed=0, recurrent="self")
    image = np.ma.filled(plot.weights(net, delay=1).images[0].get_array(), np.nan)
    assert (~np.isnan(image)).sum() == 6  # the self loops: on the diagonal
    assert (~np.isnan(np.diag(image))).sum() == 6
    with pytest.raises(ValueError, match=r"delay must be an int >= 0, got -1"):
        plot.weights(net, delay=-1)
    with pytest.raises(ValueError, match=r"at most max_nodes=5 nodes, got a net of 11"):
        plot.weights(net, max_nodes=5)


# -- activity ---------------------------------------------------------------------------------
def test_plot_activity_is_the_trace_in_schedule_order():
    net = graphnets.priors.watts_strogatz(4, 2, 8, 2, 0.3, seed=1, activation="tanh")
    x = torch.randn(7, 4)
    ax = plot.activity(net, x)
    image = np.asarray(ax.images[0].get_array())
    assert image.shape == (net.num_nodes, 7)
    expected = trace(net, x).activations().detach()[:, net.schedule.order].T
    np.testing.assert_allclose(image, expected.numpy(), rtol=1e-6)
    # the output rows are net(x)
    rows = [net.order.index(o) for o in net.outputs]
    np.testing.assert_allclose(image[rows].T, net(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert len(ax.lines) == net.depth - 1
    z = np.asarray(plot.activity(net, x, pre=True).images[0].get_array())
    hidden = [i for i, label in enumerate(net.order) if label not in net.inputs]
    np.testing.assert_allclose(np.tanh(z[hidden[:-2]]), image[hidden[:-2]], rtol=1e-5)


def test_plot_activity_errors():
    net = graphnets.mlp([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match=r"x must be \[B, 3\] .*got \[5, 4\]"):
        plot.activity(net, torch.randn(5, 4))
    with pytest.raises(TypeError, match=r"x must be a floating torch.Tensor \[B, 3\], got list"):
        plot.activity(net, [[1.0, 2.0, 3.0]])
    with pytest.raises(
        TypeError, match=r"x is torch.float64 but the net computes in torch.float32"
    ):
        plot.activity(net, torch.randn(5, 3, dtype=torch.float64))
    rec = graphnets.priors.watts_strogatz(3, 2, 6, 2, 0.0, seed=0, recurrent="self")
    with pytest.raises(ValueError, match=r"has delayed edges: unroll it first"):
        plot.activity(rec, torch.randn(5, 3))


# -- levels -----------------------------------------------------------------------------------
def test_plot_levels_bars_are_the_level_table():
    net = graphnets.priors.watts_strogatz(8, 3, 20, 4, 0.3, seed=0, kernel="levelwise")
    ax = plot.levels(net)
    table = net.level_table()
    nodes, edges = ax.containers
    assert [b.get_height() for b in nodes] == [r["nodes"] for r in table]
    assert [b.get_height() for b in edges] == [r["edges"] for r in table]
    assert [t.get_text() for t in ax.texts] == [r["kernel"] for r in table]
    dense = [b for b, r in zip(edges, table, strict=True) if r["kernel"] == "dense"]
    assert dense and all(
        b.get_facecolor()[:3] == matplotlib.colors.to_rgb("tab:blue") for b in dense
    )
    assert ax.get_yscale() == "log" and plot.levels(net, log=False).get_yscale() == "linear"


# -- curves -----------------------------------------------------------------------------------
def test_plot_learning_curves_one_line_per_training_coloured_by_hue():
    curves = pd.DataFrame(
        {
            "id": [0, 0, 1, 1, 2, 2],
            "repeat": [0] * 6,
            "epoch": [2, 1] * 3,
            "loss": [0.5, 1.0, 0.4, 0.9, 0.7, 1.2],
            "prior": ["ws", "ws", "ws", "ws", "er", "er"],
        }
    )
    ax = plot.learning_curves(
        curves, "loss", by=["id", "repeat"], hue="prior", colors={"ws": "red"}
    )
    assert len(ax.lines) == 3
    assert ax.lines[0].get_xdata().tolist() == [1, 2]  # sorted by epoch
    assert ax.lines[0].get_ydata().tolist() == [1.0, 0.5]
    assert ax.lines[0].get_color() == "red" and ax.lines[2].get_color() != "red"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ws", "er"]
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match=r"no column 'test_acc'; its columns are id, repeat"):
        plot.learning_curves(curves)


def test_plot_compression_mean_and_band():
    acc = np.array([[0.9, 0.8, 0.6], [0.9, 0.6, 0.4]])
    ax = plot.compression([0.0, 0.5, 0.9], acc, label="magnitude")
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.9, 0.7, 0.5])
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].max() == pytest.approx(0.9) and band[:, 1].min() == pytest.approx(0.4)
    single = plot.compression([0.0, 0.5], [0.9, 0.8])
    assert not single.collections and len(single.lines) == 1
    with pytest.raises(ValueError, match=r"compression \[S\] and accuracy \[S\] or \[R, S\]"):
        plot.compression([0.0, 0.5], [0.9, 0.8, 0.7])
    with pytest.raises(ValueError, match=r"in \[0, 1\], got values from 0 to 50"):
        plot.compression([0, 50], [0.9, 0.8])


def test_plot_scatter_and_predictions():
    t = pd.DataFrame({"depth": [3, 4, 5, 6], "acc": [0.9, 0.8, 0.7, 0.6], "prior": list("abab")})
    ax = plot.scatter(t, "depth", "acc", hue="prior", names={"a": "A"})
    assert [c.get_offsets().tolist() for c in ax.collections] == [
        [[3, 0.9], [5, 0.7]],
        [[4, 0.8], [6, 0.6]],
    ]
    assert [x.get_text() for x in ax.get_legend().get_texts()] == ["A", "b"]
    assert ax.get_xlabel() == "depth"
    with pytest.raises(ValueError, match=r"no column 'width'"):
        plot.scatter(t, "width", "acc")
    ax = plot.predictions([0.1, 0.4, 0.8], [0.2, 0.4, 0.5])
    assert ax.collections[0].get_offsets().tolist() == [[0.1, 0.2], [0.4, 0.4], [0.8, 0.5]]
    assert ax.lines[0].get_xdata().tolist() == ax.lines[0].get_ydata().tolist() == [0.1, 0.8]
    with pytest.raises(ValueError, match=r"as many predictions as actual values, got 2 and 3"):
        plot.predictions([0.1, 0.4, 0.8], [0.2, 0.4])


def test_plot_imports_matplotlib_on_first_use_with_agg_without_display():
    import os
    import subprocess
    import sys

    code = (
        "import sys, graphnets\n"
        "print('matplotlib' in sys.modules)\n"
        "graphnets.plot.levels(graphnets.mlp([2, 2], seed=0))\n"
        "print(graphnets.plot.pyplot().get_backend().lower())\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND")}
    env.pop("WAYLAND_DISPLAY", None)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "agg"]
