"""An arbitrary deep DAG vs a per-neuron Python evaluator.

``networkx.watts_strogatz_graph(1000, 4, 0.3, seed=42)``, each edge oriented from the lower to the
higher index, embedded between 64 inputs and 10 outputs (1,074 nodes, 5,086 edges, ~400 levels).
Forward + cross-entropy + backward per batch of 256 with every kernel, against
``graphnets.reference.evaluate`` (one gather and dot product per node, torch autograd), in the
same run. Targets (issue 16 §2): >= 150x faster than the per-neuron evaluator, and <= 3x the
arithmetic limit, measured as a bare ``torch.mm`` forward + backward of the same multiply-adds
(``x [256, k] @ W [k, m]`` with ``k·m ≈ edges``: 3 · 256 · edges multiply-adds, as the net's
forward, weight gradient and source gradient), also timed in the same run: its training step
(forward, cross-entropy, backward, as the net's) and its three products alone, which the net's
forward and backward without the loss are compared with too. The matmul step's own speed-up
over the per-neuron evaluator is the ceiling of that column at the window timed: no training step
of the same arithmetic goes faster. Then the cold build
(``--cold``): a fresh Python process imports graphnets, prepares the networkx graph of
``bench_build.py`` and times ``from_networkx`` on it twice (the first build pays for loading the
C++ kernel), target <= 20 ms.

``--threads`` sets torch's and the C++ kernels' threads for every side alike (the fused kernel
splits the batch between threads above 2^19 multiply-adds per pass).

``--window W`` times each side in turns of ``W`` consecutive steps (default 1: every step comes
right after the other sides' steps, so its caches hold their data, the per-neuron loop's Python
objects above all; a training loop runs its own steps back to back, the steady state a window
of 10 measures).

Run: ``python benchmarks/bench_deep.py [--repeats N] [--threads T] [--cold K] [--window W]
[--kernels K ...]``
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys

import networkx as nx
import torch
from common import interleaved, machine, train_step

import graphnets
from graphnets.kernels import fused
from graphnets.reference import evaluate


class PerNeuron(torch.nn.Module):
    def __init__(self, net: graphnets.GraphNet):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return evaluate(self.net, x)


def deep_dag() -> graphnets.GraphNet:
    G = nx.watts_strogatz_graph(1000, 4, 0.3, seed=42)
    return graphnets.priors.from_graph(G, 64, 10, orientation="index", seed=0)


class BareMatmul(torch.nn.Module):
    """``x @ W`` with ``W [k, m]``, ``k·m ≈ edges``: the multiply-adds of the net, dense."""

    def __init__(self, edges: int, n_out: int = 10):
        super().__init__()
        k = max(1, round(math.sqrt(edges)))
        self.W = torch.nn.Parameter(torch.randn(k, max(1, round(edges / k))) / math.sqrt(k))
        self.head = torch.arange(n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x @ self.W)[:, self.head]


def raw_products(bare: BareMatmul, x: torch.Tensor):
    """The three products of a matmul's forward and backward, no autograd, no loss: the bare
    arithmetic (``x W``, ``x^T g`` and ``g W^T``)."""
    W = bare.W.detach()
    g = torch.randn(x.shape[0], W.shape[1])

    def run() -> None:
        x @ W
        x.T @ g
        g @ W.T

    return run


def without_loss(net: graphnets.GraphNet, x: torch.Tensor):
    """The net's forward and backward alone, from a fixed gradient of its outputs: the step
    without the loss (whose log-softmax of ``[256, 10]`` alone takes ~25 us on one core), as
    the three bare products are a matmul without it."""
    gy = torch.randn(x.shape[0], len(net.outputs))

    def run() -> None:
        net.zero_grad(set_to_none=True)
        net(x).backward(gy)

    return run


_COLD = """
import time
import graphnets, networkx as nx
# the DAG as bench_build.py builds it: a networkx DiGraph with its inputs and outputs, prepared
# untimed; then from_networkx (validation, levels, schedule, kernel load) timed, twice
G = nx.watts_strogatz_graph(1000, 4, 0.3, seed=42)
D = graphnets.priors.orient(G, orientation="index")
ins = [("in", k) for k in range(64)]
outs = [("out", k) for k in range(10)]
N = nx.DiGraph()
N.add_nodes_from(ins)
N.add_nodes_from(D)
N.add_nodes_from(outs)
N.add_edges_from((i, s) for s in D if D.in_degree(s) == 0 for i in ins)
N.add_edges_from(D.edges)
N.add_edges_from((s, o) for s in D if D.out_degree(s) == 0 for o in outs)
t1 = time.perf_counter()
net = graphnets.from_networkx(N, ins, outs, seed=0)
t2 = time.perf_counter()
graphnets.from_networkx(N, ins, outs, seed=0)
t3 = time.perf_counter()
print(t2 - t1, t3 - t2, net.schedule.kernel, net.schedule.fused is not None)
"""


def cold_builds(k: int) -> list[tuple[float, float]]:
    """(first, second) build seconds of the DAG in ``k`` fresh processes."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = []
    for _ in range(k):
        line = subprocess.run(
            [sys.executable, "-c", _COLD], capture_output=True, text=True, env=env, check=True
        ).stdout.split()
        out.append((float(line[0]), float(line[1])))
    return out


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--cold", type=int, default=5, help="fresh processes for the cold build")
    ap.add_argument(
        "--window",
        type=int,
        default=1,
        help="consecutive steps of one side per turn (default 1: every step right after the "
        "other sides'; a training loop's steady state is a window of many)",
    )
    ap.add_argument(
        "--kernels", nargs="+", default=None, help="kernels to time (default: all available)"
    )
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = deep_dag()
    x = torch.randn(256, 64)
    y = torch.randint(0, 10, (256,))

    ref = PerNeuron(net)
    bare = BareMatmul(net.num_edges)
    xb = torch.randn(256, bare.W.shape[0])
    kernels = ["fused"] if fused.available() else []
    kernels += ["scatter", "sparse", "auto"]
    if args.kernels:
        kernels = [k for k in args.kernels if k in kernels]
    rows = [
        f"machine: {machine()}",
        f"graph: {net.num_nodes} nodes, {net.num_edges} edges, {net.depth} levels; bare matmul "
        f"{list(xb.shape)} @ {list(bare.W.shape)} ({bare.W.numel()} weights); steps timed in "
        f"windows of {args.window}",
        "| kernel | GraphNet | per-neuron evaluator | speed-up (target >= 150x) "
        "| bare matmul step | its speed-up (the ceiling) | vs matmul step (target <= 3x) "
        "| 3 bare products | vs products | GraphNet without the loss | vs products |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for k in kernels:
        net.compile(k)
        fns = {
            "net": train_step(net, x, y),
            "ref": train_step(ref, x, y),
            "mm": train_step(bare, xb, y),
            "raw": raw_products(bare, xb),
            "bare": without_loss(net, x),
        }
        t: dict[tuple[str, str], dict[str, float]] = {}
        # every ratio from a pair of its own, so that at window 1 each side's step always comes
        # right after the other's (in one round of all five, who followed whom moved ratios by
        # up to 1.5x)
        for a, b in (("net", "ref"), ("mm", "ref"), ("net", "mm"), ("net", "raw"), ("bare", "raw")):
            t[a, b] = interleaved(
                {a: fns[a], b: fns[b]}, repeats=args.repeats, warmup=2, window=args.window
            )

        def ratio(a: str, b: str, t=t) -> float:
            return t[a, b][a] / t[a, b][b]

        kinds = " (" + ",".join(sorted(set(net.schedule.kinds()))) + ")" if k == "auto" else ""
        rows.append(
            f"| {k}{kinds} | {t['net', 'ref']['net'] * 1e3:.3f} ms "
            f"| {t['net', 'ref']['ref'] * 1e3:.1f} ms | **{1 / ratio('net', 'ref'):.0f}x** "
            f"| {t['mm', 'ref']['mm'] * 1e3:.3f} ms | {1 / ratio('mm', 'ref'):.0f}x "
            f"| **{ratio('net', 'mm'):.1f}x** | {t['net', 'raw']['raw'] * 1e3:.3f} ms "
            f"| {ratio('net', 'raw'):.1f}x | {t['bare', 'raw']['bare'] * 1e3:.3f} ms "
            f"| {ratio('bare', 'raw'):.1f}x |"
        )
    if fused.available():  # the fused kernel on 1 vs 2 threads, interleaved in one process
        net.compile("fused")
        old = torch.get_num_threads()
        for batch in (256, 8192):
            xt = torch.randn(batch, 64)
            yt = torch.randint(0, 10, (batch,))
            step = train_step(net, xt, yt)

            def on(k: int, step=step):
                def run() -> None:
                    torch.set_num_threads(k)
                    step()

                return run

            t = interleaved({"1": on(1), "2": on(2)}, repeats=args.repeats, warmup=2)
            rows.append(
                f"fused, batch {batch}: 1 thread {t['1'] * 1e3:.3f} ms, 2 threads "
                f"{t['2'] * 1e3:.3f} ms (speed-up {t['1'] / t['2']:.2f}x)"
            )
        torch.set_num_threads(old)
    if args.cold:
        builds = cold_builds(args.cold)
        first = sorted(b[0] for b in builds)
        second = sorted(b[1] for b in builds)
        rows.append(
            f"cold build in {args.cold} fresh processes (target <= 20 ms): first "
            f"{first[len(first) // 2] * 1e3:.1f} ms median ({first[0] * 1e3:.1f}-"
            f"{first[-1] * 1e3:.1f}), second {second[len(second) // 2] * 1e3:.1f} ms median"
        )
    print("\n".join(rows))
    return rows


if __name__ == "__main__":
    main()
