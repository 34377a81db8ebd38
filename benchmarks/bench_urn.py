"""The URN (``004_…``) dense and sparse: against a hand-written ``W @ N`` loop, and epoch times
as it thins out.

**Dense.** One training step (forward over ``I = 4`` iterations of a batch of 256, cross-entropy
on the outputs, backward) of ``URN(S, 4, 10, 2)``, ``S`` = 1000 and 5000, against the plain
torch loop ``N = relu(N @ W.T + b)`` with the same weights, timed in the same run, interleaved.
Target: ratio ≤ 1.2. Also the time to build the URN (its 25M-edge structure at ``S = 5000``)
and to compile the schedule of one iteration, and the peak memory of the process.

**Dense to sparse.** ``graphnets.urn.fit`` on the shells (``data.shells``, 1,600 training
samples, batch 32) with strong L1 regulators, the proximal step after every Adam step and
``sparsify_every=50``: the training time of the first and of the last epoch, the density and the
kernel the iteration runs on (the run must end ≥ 95% sparse), beside one epoch of the plain
dense loop on the same data.

Run: ``python benchmarks/bench_urn.py [--part dense|sparse|all] [--sizes 1000 5000]``
"""

from __future__ import annotations

import argparse
import resource
import time

import torch
import torch.nn.functional as F
from common import interleaved, machine

from graphnets.data import shells
from graphnets.urn import URN, fit

I, B, D_IN, D_OUT = 4, 256, 10, 2


def _loop_step(W, b, x, y, S):
    def step():
        W.grad = b.grad = None
        N = F.pad(x, (0, S - D_IN))
        for _ in range(I):
            N = torch.relu(torch.addmm(b, N, W.T))
        F.cross_entropy(N[:, S - D_OUT :], y).backward()

    return step


def _urn_step(urn, x, y):
    def step():
        urn.zero_grad(set_to_none=True)
        F.cross_entropy(urn(x), y).backward()

    return step


def dense(sizes, repeats) -> list[str]:
    rows = [
        "| S | edges | build | schedule | URN step | `W @ N` loop | ratio (target ≤ 1.2) |",
        "|---|---|---|---|---|---|---|",
    ]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(B, D_IN, generator=g)
    y = torch.randint(0, D_OUT, (B,), generator=g)
    for S in sizes:
        t0 = time.perf_counter()
        urn = URN(S, I, D_IN, D_OUT, seed=0)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        urn.schedule()
        compile_s = time.perf_counter() - t0
        assert urn.kernel == "dense" and urn.schedule().levels[-1].complete
        W = urn.weight_matrix().detach().clone().requires_grad_()
        b = urn.net.bias.detach()[:S].clone().requires_grad_()
        with torch.no_grad():  # the same function
            N = F.pad(x, (0, S - D_IN))
            for _ in range(I):
                N = torch.relu(torch.addmm(b, N, W.T))
            assert torch.allclose(urn(x), N[:, S - D_OUT :], atol=1e-4)
        reps = repeats if S <= 1000 else max(3, repeats // 6)
        fns = {"urn": _urn_step(urn, x, y), "loop": _loop_step(W, b, x, y, S)}
        t = interleaved(fns, repeats=reps)
        rows.append(
            f"| {S:,} | {urn.num_edges:,} | {build:.2f} s | {compile_s:.2f} s | "
            f"{t['urn'] * 1e3:.1f} ms | {t['loop'] * 1e3:.1f} ms | **{t['urn'] / t['loop']:.2f}** |"
        )
        del urn, W, b
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    rows.append(f"\npeak memory of the process (all sizes): {peak:.2f} GiB")
    return rows


def sparse(S: int, epochs: int) -> list[str]:
    x, y, _, _ = shells(2000, seed=0)
    urn = URN(S, I, D_IN, D_OUT, output_activation="identity", seed=0)
    # one epoch of the plain dense loop on the same data, for scale
    W = urn.weight_matrix().detach().clone().requires_grad_()
    b = torch.zeros(S, requires_grad=True)
    opt = torch.optim.Adam([W, b], lr=7e-4)
    t0 = time.perf_counter()
    for i in range(0, x.shape[0], 32):
        N = F.pad(x[i : i + 32], (0, S - D_IN))
        for _ in range(I):
            N = torch.relu(torch.addmm(b, N, W.T))
        opt.zero_grad()
        F.cross_entropy(N[:, S - D_OUT :], y[i : i + 32]).backward()
        opt.step()
    loop_epoch = time.perf_counter() - t0
    records = fit(
        urn, x, y, epochs=epochs, c_W=5e-5, c_N=2e-3, sparsify_every=50, seed=0, batch_size=32
    )
    first, last = records[0], records[-1]
    rows = [
        "| epoch | edges | density | kernel | seconds |",
        "|---|---|---|---|---|",
    ]
    for r in (first, last):
        rows.append(
            f"| {r['epoch']} | {r['edges']:,} | {r['density']:.3f} | {r['kernel']} | "
            f"{r['seconds']:.2f} s |"
        )
    rows.append(
        f"\nS = {S}, 1,600 samples, batch 32: last epoch / first = "
        f"**{last['seconds'] / first['seconds']:.2f}** ({1 - last['density']:.1%} of the weights "
        f"removed); one epoch of the plain dense `W @ N` loop with Adam: {loop_epoch:.2f} s"
    )
    return rows


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("dense", "sparse", "all"), default="all")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--repeats", type=int, default=18)
    ap.add_argument("--sparse-S", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=40)
    args = ap.parse_args(argv)
    print(f"machine: {machine()}")
    rows: list[str] = []
    if args.part in ("dense", "all"):
        rows += dense(args.sizes, args.repeats)
    if args.part in ("sparse", "all"):
        rows += ["", *sparse(args.sparse_S, args.epochs)]
    print("\n".join(rows))
    return rows


if __name__ == "__main__":
    main()
