"""Graph-structured recurrent cells vs ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` at Reber-like sizes.

Forward + backward of a squared-output loss, T=20 steps, batch 32, 7 inputs, 50 hidden units,
interleaved with the complete torch module of the same mode in the same run, medians of repeats.
Cells: complete (one level: torch's fused layer on the scattered edge weights); the same with 90%
of the i2h and h2h edges removed at random (still one level); a Watts–Strogatz prior (n=50, k=4,
p=0.3, recurrent="level"), whose hidden DAG runs level by level in a Python time loop.

A second table backs the kernel choice: the recurrent product ``h_{t-1} → gh`` over T steps
(forward + backward, LSTM gates) with the edge weights scattered once into a masked dense matrix
and one matmul per step (what the cells do), against gather-multiply-``index_add_`` per step.

Run: ``python benchmarks/bench_cells.py [--repeats N] [--threads N]``
"""

from __future__ import annotations

import argparse

import torch
from common import interleaved, machine

from graphnets import cells

T, B, N_IN, H = 20, 32, 7, 50
TORCH = {
    "rnn_tanh": lambda: torch.nn.RNN(N_IN, H),
    "rnn_relu": lambda: torch.nn.RNN(N_IN, H, nonlinearity="relu"),
    "lstm": lambda: torch.nn.LSTM(N_IN, H),
    "gru": lambda: torch.nn.GRU(N_IN, H),
}


def step(module: torch.nn.Module, x: torch.Tensor):
    def run() -> None:
        module.zero_grad(set_to_none=True)
        out, _ = module(x)
        out.square().mean().backward()

    return run


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=40)
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
    x = torch.randn(T, B, N_IN)
    rows = [
        f"machine: {machine()}",
        "| mode | cell | edges i2h / h2h | levels | cell time | torch (complete) | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode, make in TORCH.items():
        ref = make()
        dense = cells.from_torch(ref)
        sparse = cells.complete(mode, N_IN, H, seed=0)
        gen = torch.Generator().manual_seed(0)
        for kind in ("i2h", "h2h"):
            E = sparse.num_edges[kind]
            sparse.remove_edges(kind, torch.randperm(E, generator=gen)[: round(0.9 * E)])
        prior = cells.watts_strogatz(mode, N_IN, H, 4, 0.3, seed=0)
        for name, cell in (("complete", dense), ("90% removed", sparse), ("Watts–Strogatz", prior)):
            t = interleaved({"cell": step(cell, x), "torch": step(ref, x)}, repeats=args.repeats)
            E = cell.num_edges
            rows.append(
                f"| {mode} | {name} | {E['i2h']:,} / {E['h2h']:,} | {cell.num_levels} | "
                f"{t['cell'] * 1e3:.2f} ms | {t['torch'] * 1e3:.2f} ms | "
                f"**{t['cell'] / t['torch']:.2f}** |"
            )
    rows += [
        "",
        "| h2h density | masked dense matmul | gather + index_add | ratio (dense / gather) |",
        "|---|---|---|---|",
    ]
    for density in (1.0, 0.1, 0.01):
        t = kernels(density, args.repeats)
        rows.append(
            f"| {density:.0%} | {t['dense'] * 1e3:.2f} ms | {t['gather'] * 1e3:.2f} ms | "
            f"**{t['dense'] / t['gather']:.2f}** |"
        )
    print("\n".join(rows))
    return rows


def kernels(density: float, repeats: int) -> dict[str, float]:
    """The two ways to run T steps of ``gh = h_{t-1} U^T`` for an LSTM's 4 gates."""
    G = 4
    gen = torch.Generator().manual_seed(1)
    keep = torch.rand(H * H, generator=gen) < density
    dst, src = (
        i.reshape(-1)[keep] for i in torch.meshgrid(torch.arange(H), torch.arange(H), indexing="ij")
    )
    w = torch.randn(len(src), G, requires_grad=True)
    flat = (torch.arange(G).view(G, 1) * H * H + (dst * H + src)).reshape(-1)
    index = (torch.arange(G).view(G, 1) * H + dst).reshape(-1)  # gate-major output column
    src_g = src.repeat(G)
    h0 = torch.randn(B, H)

    def dense() -> None:
        w.grad = None
        U = w.new_zeros(G * H * H).index_put((flat,), w.t().reshape(-1)).view(G * H, H)
        h = h0
        for _ in range(T):
            h = torch.tanh((h @ U.t()).view(B, G, H).sum(1))
        h.sum().backward()

    def gather() -> None:
        w.grad = None
        vals = w.t().reshape(-1)
        h = h0
        for _ in range(T):
            msg = h[:, src_g] * vals
            gh = h.new_zeros(B, G * H).index_add_(1, index, msg)
            h = torch.tanh(gh.view(B, G, H).sum(1))
        h.sum().backward()

    return interleaved({"dense": dense, "gather": gather}, repeats=repeats)


if __name__ == "__main__":
    main()
