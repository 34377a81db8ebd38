"""Scale: build time, peak memory and one training step of a ~10M-edge net.

The net (issue 16 §5): 20,000 inputs -> 20,000 hidden -> 20,000 hidden (ReLU) -> 10 outputs, the
two 20,000 x 20,000 levels at ``--density`` (default 1.25%: 5M edges each) and the output level
complete (200k edges): ~10.2M edges. Each measurement runs in a fresh Python process so that its
peak resident memory (``resource.getrusage(...).ru_maxrss``) is its own; the process's resident
memory after importing torch and graphnets is reported as the baseline. Steps:

* build: ``graphnets.from_edges`` on the edge list (validation, levels, schedule);
* a training step: forward + cross-entropy + backward + ``torch.optim.SGD`` step, batch
  ``--batch`` (default 256), median of ``--steps`` after one warm-up step;
* the same step with ``torch.optim.Adam`` (two more floats of state per edge).

Memory per edge is (peak after the step - baseline) / edges. Run:
``python benchmarks/bench_scale.py [--density D] [--batch B] [--threads T]`` (a few minutes,
peak ~2-3 GB at the default size; ``--width 5000`` for a quick run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from common import machine

_CHILD = r"""
import json, resource, statistics, sys, time
import numpy as np
import torch
import graphnets

args = json.loads(sys.argv[1])
if args["threads"]:
    torch.set_num_threads(args["threads"])

def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def now_rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (resource.getpagesize() / 2**20)

base = now_rss_mib()
W, d, B = args["width"], args["density"], args["batch"]
rng = np.random.default_rng(0)

def level(src0, dst0, n_src, n_dst, density):
    # distinct random (dst, src) pairs of one level: draw 3% extra, drop repeats
    k = int(round(n_src * n_dst * density))
    key = np.unique(rng.integers(0, n_src * n_dst, size=int(k * 1.03) + 16))
    key = rng.permutation(key)[:k]
    return np.stack([src0 + key % n_src, dst0 + key // n_src])

parts = [level(0, W, W, W, d), level(W, 2 * W, W, W, d)]
hidden, outs = np.arange(2 * W, 3 * W), np.arange(3 * W, 3 * W + 10)
parts.append(np.stack([np.repeat(hidden, 10), np.tile(outs, W)]))
ei = torch.from_numpy(np.concatenate(parts, 1))
del parts
n = 3 * W + 10
t0 = time.perf_counter()
net = graphnets.from_edges(ei, n, list(range(W)), list(range(3 * W, n)), seed=0)
t_build = time.perf_counter() - t0
del ei
rss_build = rss_mib()
kinds = ",".join(sorted(set(net.schedule.kinds()) - {"bias"}))
x = torch.randn(B, W)
y = torch.randint(0, 10, (B,))
loss_fn = torch.nn.CrossEntropyLoss()
out = {"edges": net.num_edges, "nodes": net.num_nodes, "build_s": t_build, "kinds": kinds,
       "base_mib": base, "rss_build_mib": rss_build}
for name, opt in (("sgd", torch.optim.SGD(net.parameters(), lr=1e-3)),
                  ("adam", torch.optim.Adam(net.parameters(), lr=1e-3))):
    times = []
    for i in range(args["steps"] + 1):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss_fn(net(x), y).backward()
        opt.step()
        if i:
            times.append(time.perf_counter() - t0)
    out[name + "_step_s"] = statistics.median(times)
    out[name + "_rss_mib"] = rss_mib()
print(json.dumps(out))
"""


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=20_000)
    ap.add_argument("--density", type=float, default=0.0125)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(vars(args))],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if child.returncode != 0:
        print(child.stderr, file=sys.stderr)
        raise SystemExit(child.returncode)
    r = json.loads(child.stdout.strip().splitlines()[-1])
    e = r["edges"]
    per_edge = lambda mib: (mib - r["base_mib"]) * 2**20 / e  # noqa: E731
    rows = [
        f"machine: {machine()} (the measuring process: {args.threads or 'default'} threads)",
        f"net: {args.width:,} inputs -> {args.width:,} -> {args.width:,} -> 10, density "
        f"{args.density:g}: {r['nodes']:,} nodes, {e:,} edges, kernels {r['kinds']}, "
        f"batch {args.batch}",
        "| measure | value | bytes per edge above the baseline |",
        "|---|---|---|",
        f"| resident after importing torch + graphnets (baseline) | {r['base_mib']:.0f} MiB | - |",
        f"| build (from_edges: validation, levels, schedule) | {r['build_s']:.2f} s | - |",
        f"| peak resident after the build | {r['rss_build_mib']:.0f} MiB | "
        f"{per_edge(r['rss_build_mib']):.0f} |",
        f"| training step, SGD (fwd + CE + bwd + step) | {r['sgd_step_s']:.2f} s | - |",
        f"| peak resident after SGD steps | {r['sgd_rss_mib']:.0f} MiB | "
        f"{per_edge(r['sgd_rss_mib']):.0f} |",
        f"| training step, Adam | {r['adam_step_s']:.2f} s | - |",
        f"| peak resident after Adam steps | {r['adam_rss_mib']:.0f} MiB | "
        f"{per_edge(r['adam_rss_mib']):.0f} |",
    ]
    print("\n".join(rows))
    return rows


if __name__ == "__main__":
    main()
