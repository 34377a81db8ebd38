"""Graph-structured recurrent cells vs ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` at Reber-like sizes.

Forward + backward of a squared-output loss, T=20 steps, batch 32, 7 inputs, 50 hidden units,
interleaved with the complete torch module of the same mode in the same run, medians of repeats.
Cells: complete (one level); the same with 90% of the i2h and h2h edges removed at random (still
one level); a Watts–Strogatz prior (n=50, k=4, p=0.3, recurrent="level", 8 levels). Each row
says how the cell ran (``GraphRNN.kernel="auto"``: the C++ cell kernel, or torch's own layer on
the masked matrices for a dense one-level LSTM) and the target of issue 16 §3: one-level cells
≤ 1.3x the torch module, multi-level cells ≤ 2x. A ``--compare`` run adds the cells' torch path
(``kernel="torch"``, the Python loop over levels and steps) for reference.

A second table backs the kernel's choice of its recurrent product (``SPARSE_RECURRENT``): an
LSTM cell at several h2h densities with the product as one masked dense matmul per step
against one vectorised update per edge. A third backs the torch path's: the recurrent product
``h_{t-1} → gh`` over T steps with the edge weights scattered once into a masked dense matrix
and one matmul per step, against gather-multiply-``index_add_`` per step.

Run: ``python benchmarks/bench_cells.py [--repeats N] [--threads N] [--compare]``
"""

from __future__ import annotations

import argparse

import torch
from common import interleaved, machine

from graphnets import cells
from graphnets.nn import cells as nn_cells

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
    ap.add_argument("--compare", action="store_true", help="also time the cells' torch path (slow)")
    args = ap.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(T, B, N_IN)
    rows = [
        f"machine: {machine()}",
        "| mode | cell | edges i2h / h2h | levels | runs on | cell time | torch (complete) "
        "| ratio | target |" + (" torch path |" if args.compare else ""),
        "|---|---|---|---|---|---|---|---|---|" + ("---|" if args.compare else ""),
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
            fns = {"cell": step(cell, x), "torch": step(ref, x)}
            if args.compare:
                slow = cells.GraphRNN(
                    mode, N_IN, H, cell.edge_index, cell.recurrent_edge_index, seed=0
                )
                slow.kernel = "torch"
                fns["path"] = step(slow, x)
            t = interleaved(fns, repeats=args.repeats)
            E = cell.num_edges
            ratio = t["cell"] / t["torch"]
            target = 1.3 if cell.num_levels == 1 else 2.0
            rows.append(
                f"| {mode} | {name} | {E['i2h']:,} / {E['h2h']:,} | {cell.num_levels} | "
                f"{runs_on(cell, x)} | {t['cell'] * 1e3:.2f} ms | {t['torch'] * 1e3:.2f} ms | "
                f"**{ratio:.2f}** | ≤ {target} {'met' if ratio <= target else 'MISSED'} |"
                + (f" {t['path'] / t['torch']:.2f} |" if args.compare else "")
            )
    rows += [
        "",
        "| h2h density (LSTM, kernel) | dense matmul per step | per edge | ratio (dense / edge) |",
        "|---|---|---|---|",
    ]
    for density in (1.0, 0.5, 0.3, 0.2, 0.1):
        t = recurrent_product(density, x, args.repeats)
        rows.append(
            f"| {density:.0%} | {t['dense'] * 1e3:.2f} ms | {t['edge'] * 1e3:.2f} ms | "
            f"**{t['dense'] / t['edge']:.2f}** |"
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


def runs_on(cell: cells.GraphRNN, x: torch.Tensor) -> str:
    return "C++ kernel" if cell._use_kernel(x) else "torch layer"


def recurrent_product(density: float, x: torch.Tensor, repeats: int) -> dict[str, float]:
    """An LSTM cell (one level) with ``density`` of its h2h edges, on the C++ kernel, with the
    recurrent product dense or per edge."""
    cell = cells.complete("lstm", N_IN, H, seed=0)
    cell.kernel = "cpp"
    R = cell.num_edges["h2h"]
    gen = torch.Generator().manual_seed(2)
    cell.remove_edges("h2h", torch.randperm(R, generator=gen)[: round((1 - density) * R)])

    def with_threshold(threshold: float):
        run = step(cell, x)

        def timed() -> None:
            saved = nn_cells.SPARSE_RECURRENT
            nn_cells.SPARSE_RECURRENT = threshold
            try:
                run()
            finally:
                nn_cells.SPARSE_RECURRENT = saved

        return timed

    return interleaved({"dense": with_threshold(0.0), "edge": with_threshold(2.0)}, repeats=repeats)


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
