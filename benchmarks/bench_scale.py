"""Scale: build time, peak memory and a training step of a 10M-edge GraphNet (issue 16 §5).

A 3-level net of 20,000-wide levels (20,000 inputs, 20,000 hidden ReLU, 20,000 linear outputs)
at 1.25% density per level pair: 2 × 20,000² × 0.0125 = 10,000,000 edges. Each configuration
runs in a fresh subprocess, so that its peak resident memory (``ru_maxrss``) is its own:

- **build**: ``graphnets.rewire.sparse_mlp`` (drawing the edges, validating the structure,
  levels, fan-in initialisation and the schedule), split into its parts;
- **step**: one SGD training step (forward, cross-entropy over the 20,000 outputs, backward,
  ``optimizer.step()``), batch 32, median of 5 after one warm-up, with the kernel ``auto``
  chose per level;
- **reference**: the same two sparse products run directly as ``torch.sparse`` CSR matrices
  (forward and backward through ``torch.sparse.mm``, SGD on their values), in the same
  subprocess, interleaved with the GraphNet step;
- the bytes per edge of everything the net holds (structure, parameters, gradients, optimizer
  state, schedule).

Run: ``python benchmarks/bench_scale.py`` (``--width 5000`` for a quick run; ``--density``).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch
from common import machine

SCRIPT = __file__


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _tensor_bytes(obj, seen: set) -> int:
    """Bytes of the distinct tensor storages reachable from ``obj`` (dicts, lists, objects)."""
    total = 0
    stack = [obj]
    visited: set[int] = set()
    while stack:
        o = stack.pop()
        if id(o) in visited:
            continue
        visited.add(id(o))
        if isinstance(o, torch.Tensor):
            ptr = o.untyped_storage().data_ptr()
            if ptr not in seen:
                seen.add(ptr)
                total += o.untyped_storage().nbytes()
        elif isinstance(o, dict):
            stack.extend(o.values())
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
        elif hasattr(o, "__dict__") and not isinstance(o, type):
            stack.extend(vars(o).values())
        elif hasattr(o, "__slots__"):
            stack.extend(getattr(o, k) for k in o.__slots__ if hasattr(o, k))
    return total


def _numpy_bytes(obj) -> int:
    import numpy as np

    total, stack, visited = 0, [obj], set()
    while stack:
        o = stack.pop()
        if id(o) in visited:
            continue
        visited.add(id(o))
        if isinstance(o, np.ndarray):
            total += o.nbytes
        elif isinstance(o, dict):
            stack.extend(o.values())
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
        elif hasattr(o, "__dict__") and not isinstance(o, (type, torch.Tensor)):
            stack.extend(vars(o).values())
    return total


def child(width: int, density: float, batch: int, repeats: int) -> dict:
    """One configuration, measured in this (fresh) process."""
    torch.manual_seed(0)
    out: dict = {"width": width, "density": density, "batch": batch}
    rss0 = _rss_mib()
    t0 = time.perf_counter()
    from graphnets import rewire

    out["import_s"] = time.perf_counter() - t0
    sizes = [width, width, width]
    t0 = time.perf_counter()
    net = rewire.sparse_mlp(sizes, density, distribution="uniform", seed=0)
    out["build_s"] = time.perf_counter() - t0  # the first build: loads the kernels too
    del net
    t0 = time.perf_counter()
    net = rewire.sparse_mlp(sizes, density, distribution="uniform", seed=0)
    out["build2_s"] = time.perf_counter() - t0
    sched_t0 = time.perf_counter()
    net.compile(net.schedule.kernel)
    out["schedule_s"] = time.perf_counter() - sched_t0
    out["edges"] = net.num_edges
    out["kernels"] = ",".join(p.kind for p in net.schedule.levels[1:])
    out["rss_after_build_mib"] = _rss_mib() - rss0

    seen: set = set()
    s = net.structure
    out["bytes_structure"] = _tensor_bytes(s, seen) + _numpy_bytes(s)
    out["bytes_params"] = _tensor_bytes([net.weight, net.bias], seen)
    out["bytes_schedule"] = _tensor_bytes(net.schedule, seen) + _numpy_bytes(net.schedule)

    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch, width)
    y = torch.randint(0, width, (batch,))

    def graph_step() -> None:
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()

    # the reference: the two level pairs as torch.sparse CSR matrices
    src, dst = net.structure.edge_index
    w = net.weight.detach()
    mats, biases = [], []
    for ell in range(2):
        lo, hi = ell * width, (ell + 1) * width
        sel = (src >= lo) & (src < hi)
        idx = torch.stack([dst[sel] - hi, src[sel] - lo])
        coo = torch.sparse_coo_tensor(idx, w[sel], (width, width)).coalesce()
        mats.append(coo.to_sparse_csr().requires_grad_(True))
        biases.append(torch.zeros(width, requires_grad=True))
    ref_opt = torch.optim.SGD(mats + biases, lr=0.01, momentum=0.9)

    def ref_step() -> None:
        ref_opt.zero_grad(set_to_none=True)
        h = torch.relu(torch.sparse.mm(mats[0], x.T).T + biases[0])
        z = torch.sparse.mm(mats[1], h.T).T + biases[1]
        torch.nn.functional.cross_entropy(z, y).backward()
        ref_opt.step()

    steps = {"graph": graph_step, "torch.sparse": ref_step}
    ok = {}
    for name, f in steps.items():  # warm-up (and whether torch.sparse trains at all here)
        try:
            f()
            ok[name] = True
        except (RuntimeError, NotImplementedError) as err:
            ok[name] = False
            out[f"{name}_error"] = str(err).splitlines()[0][:200]
    times: dict[str, list[float]] = {k: [] for k in steps if ok[k]}
    for _ in range(repeats):
        for name in times:
            t0 = time.perf_counter()
            steps[name]()
            times[name].append(time.perf_counter() - t0)
    out["step_s"] = statistics.median(times["graph"])
    out["ref_step_s"] = (
        statistics.median(times["torch.sparse"]) if "torch.sparse" in times else None
    )
    out["bytes_grads_state"] = _tensor_bytes(
        [p.grad for p in net.parameters()] + list(opt.state.values()), seen
    )
    out["rss_peak_mib"] = _rss_mib() - rss0
    return out


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=20_000)
    ap.add_argument("--density", type=float, default=0.0125)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:
        print(json.dumps(child(args.width, args.density, args.batch, args.repeats)))
        return []
    cmd = [
        sys.executable,
        SCRIPT,
        "--child",
        "--width",
        str(args.width),
        "--density",
        str(args.density),
        "--batch",
        str(args.batch),
        "--repeats",
        str(args.repeats),
    ]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f"the measuring process failed:\n{proc.stderr[-3000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    E = r["edges"]
    per_edge = {k: r[f"bytes_{k}"] / E for k in ("structure", "params", "grads_state", "schedule")}
    ref = r["ref_step_s"]
    rows = [
        f"# {machine()}",
        f"# {args.width}-{args.width}-{args.width}, density {args.density} per level pair, "
        f"batch {args.batch}",
        "",
        "| edges | kernels | import | first build | build | of it: schedule | peak RSS (builds) "
        "| peak RSS (+ steps) | step (fwd + CE + bwd + SGD) | torch.sparse CSR step | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {E:,} | {r['kernels']} | {r['import_s']:.2f} s | {r['build_s']:.2f} s | "
        f"{r['build2_s']:.2f} s | {r['schedule_s']:.2f} s | "
        f"{r['rss_after_build_mib'] / 1024:.2f} GiB | {r['rss_peak_mib'] / 1024:.2f} GiB | "
        f"{r['step_s'] * 1e3:.0f} ms | "
        + (
            f"{ref * 1e3:.0f} ms | {r['step_s'] / ref:.2f} |"
            if ref
            else f"failed: {r.get('torch.sparse_error', '?')} | |"
        ),
        "",
        "| held per edge | bytes |",
        "|---|---|",
        *(f"| {k} | {v:.1f} |" for k, v in per_edge.items()),
        f"| total | {sum(per_edge.values()):.1f} |",
    ]
    print("\n".join(rows))
    return rows


if __name__ == "__main__":
    main()
