"""Calibrate the per-level kernel choice: dense vs CSR vs scatter on one level.

One level of ``n_dst`` nodes fed by ``n_src`` sources at a range of densities, batch 256,
forward + backward (sources' gradient included, as for a hidden level), every kernel timed
interleaved in the same run; ``auto`` is the kind the planner picks for the level. On CPU
``sparse`` is the C++ CSR kernel pair (``csr_spmm``/``csr_sddmm``) when built: the planner's
per-level costs (``DENSE_CELL_NS``, ``CSR_EDGE_NS`` in ``graphnets/kernels/planner.py``) come
from these tables; the torch-kernel thresholds (``DENSE_MIN_DENSITY``, ``SCATTER_MAX_EDGES``,
used off the CPU) from the same tables run before the C++ kernels existed.

Run: ``python benchmarks/bench_kernels.py [--threads T]``
"""

from __future__ import annotations

import argparse

import torch
from common import interleaved, machine

import graphnets

DENSITIES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 1.0)


def level_net(n_src: int, n_dst: int, density: float, seed: int = 0) -> graphnets.GraphNet:
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(n_dst, n_src, generator=g) < density
    mask[torch.arange(n_dst), torch.randint(0, n_src, (n_dst,), generator=g)] = True
    dst, src = mask.nonzero(as_tuple=True)
    ei = torch.stack([src, dst + n_src])
    return graphnets.from_edges(
        ei, n_src + n_dst, list(range(n_src)), list(range(n_src, n_src + n_dst)), seed=seed
    )


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--shapes", default="784x300,300x100,64x64")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [
        f"machine: {machine()}",
        "| level (src x dst) | density | edges | dense | sparse | scatter | fastest | auto |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for shape in args.shapes.split(","):
        n_src, n_dst = (int(v) for v in shape.split("x"))
        for d in DENSITIES:
            net = level_net(n_src, n_dst, d)
            x = torch.randn(256, n_src, requires_grad=True)
            fns = {}
            for k in ("dense", "sparse", "scatter"):
                clone = graphnets.GraphNet(net.structure, net.weight.detach(), kernel=k)

                def run(m=clone, x=x):
                    m.zero_grad(set_to_none=True)
                    x.grad = None
                    m(x).sum().backward()

                fns[k] = run
            t = interleaved(fns, repeats=args.repeats)
            best = min(t, key=t.get)
            rows.append(
                f"| {n_src}x{n_dst} | {d:g} | {net.num_edges:,} | "
                + " | ".join(f"{t[k] * 1e3:.3f} ms" for k in ("dense", "sparse", "scatter"))
                + f" | {best} | {net.compile('auto').schedule.kinds()[-1]} |"
            )
    print("\n".join(rows))
    return rows


if __name__ == "__main__":
    main()
