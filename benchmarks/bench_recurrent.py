"""A recurrent GraphNet (delayed edges) stepped, run and unrolled, against ``torch.nn.RNN``.

An Elman RNN written as a graph: 7 inputs, 50 ``tanh`` neurons that are the outputs, every input
feeding every neuron (delay 0) and every neuron feeding every neuron one step later (delay 1),
biases and weights copied from a ``torch.nn.RNN(7, 50)``. One training step (forward over
``T = 20`` steps of a batch of 32, a squared loss on every output, backward) of

- ``net.run(x)``: with ``auto``, the C++ sequence kernel (all steps in one call, a hand-written
  backward through time); target (issue 16 §3) ≤ 1.3x ``torch.nn.RNN``;
- the step loop (``net.run`` of the same net compiled ``fused``: the step graph, one kernel call
  per time step, what ``auto`` ran before);
- ``graphnets.unroll(net, 20)``: the unrolled feed-forward net, one call for the whole sequence;
- ``torch.nn.RNN``, the reference, in the same run;

and the same with 90% of the edges removed at random (torch keeps its dense matrices). The
unrolled net is built once, outside the timing.

Run: ``python benchmarks/bench_recurrent.py [--repeats N] [--threads N]``
"""

from __future__ import annotations

import argparse

import networkx as nx
import torch
from common import interleaved, machine

import graphnets

T, B, N_IN, H = 20, 32, 7, 50


def rnn_as_graph(rnn: torch.nn.RNN) -> graphnets.GraphNet:
    ins = [("x", k) for k in range(N_IN)]
    hs = [("h", j) for j in range(H)]
    G = nx.DiGraph()
    W_ih, W_hh = rnn.weight_ih_l0.detach(), rnn.weight_hh_l0.detach()
    G.add_edges_from(
        (ins[k], hs[j], {"weight": float(W_ih[j, k])}) for j in range(H) for k in range(N_IN)
    )
    net = graphnets.from_networkx(G, ins, hs, output_activation="tanh")
    net.add_edges(
        [hs[k] for j in range(H) for k in range(H)],
        [hs[j] for j in range(H) for k in range(H)],
        W_hh.reshape(-1),
        delay=1,
    )
    with torch.no_grad():
        net.bias[net.structure.lookup(hs)] = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach()
    return net


def step_of(f, params, x):
    def step():
        for p in params:
            p.grad = None
        f(x).pow(2).mean().backward()

    return step


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: torch's); 1 is steadier on a shared machine",
    )
    args = ap.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rnn = torch.nn.RNN(N_IN, H)
    x = torch.randn(T, B, N_IN)
    rows = [
        "| edges | kept | graphnets | seconds | torch.nn.RNN | ratio | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for kept in (1.0, 0.1):
        net = rnn_as_graph(rnn)
        if kept < 1.0:
            drop = torch.rand(net.num_edges, generator=torch.Generator().manual_seed(1)) > kept
            net.remove_edges(drop)
        looped = graphnets.GraphNet(net.structure, net.weight, net.bias, kernel="fused")
        unrolled = graphnets.unroll(net, T)
        assert torch.allclose(unrolled.run(x), net.run(x), atol=1e-5)
        if kept == 1.0:
            assert torch.allclose(net.run(x), rnn(x)[0], atol=1e-5)
        fns = {
            "run": step_of(net.run, list(net.parameters()), x),
            "loop": step_of(looped.run, list(looped.parameters()), x),
            "unrolled": step_of(unrolled.run, list(net.parameters()), x),
            "torch": step_of(lambda x: rnn(x)[0], list(rnn.parameters()), x),
        }
        t = interleaved(fns, repeats=args.repeats)
        on_kernel = graphnets.recurrent._use_sequence_kernel(net, x)
        for name, label in (
            ("run", f"`net.run` ({net.kernel}: {'sequence kernel' if on_kernel else 'step loop'})"),
            ("loop", "`net.run`, step loop (fused steps)"),
            (
                "unrolled",
                f"`unroll(net, {T})` ({unrolled.schedule.kinds()[-1]}, {unrolled.depth} levels)",
            ),
        ):
            rows.append(
                f"| {net.num_edges:,} | {kept:.0%} | {label} | {t[name] * 1e3:.2f} ms | "
                f"{t['torch'] * 1e3:.2f} ms | **{t[name] / t['torch']:.2f}** | "
                + (
                    f"≤ 1.3 {'met' if t[name] / t['torch'] <= 1.3 else 'MISSED'} |"
                    if name == "run"
                    else "|"
                )
            )
    print(
        f"machine: {machine()}; T={T}, B={B}, {N_IN} inputs, {H} tanh neurons, forward + backward"
    )
    print("\n".join(rows))
    return rows


if __name__ == "__main__":
    main()
