"""How long does ``GraphRegressor().fit`` take on the 300 nets of the meta-data set? (issue 12:
"fitting on 300 neuron-level nets in under a minute on 2 cores")

Fits the default ``GraphRegressor()`` on all 300 cached nets of ``benchmarks/meta_digits.py``
(run it first; target = mean test accuracy) with ``--seeds``, interleaved with a reference
configuration (``--reference``: the GraphRegressor / fit keyword arguments as JSON, default the
issue-12 default before the small-regime changes) on the same seeds, and prints the wall-clock
and CPU seconds, the epochs run, and the load average, per fit and as medians.

    .venv/bin/python benchmarks/predict_fit_time.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import meta_digits  # noqa: E402

from graphnets.predict import GraphRegressor  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--meta", default="results/meta_digits")
    ap.add_argument(
        "--reference",
        default='[{}, {"scale": "standard"}]',
        help="JSON [GraphRegressor kwargs, fit kwargs] of the reference",
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    nets, meta = meta_digits.make(
        argparse.Namespace(nets=300, epochs=5, seed=0, repeats=2, out=args.meta, rebuild=False)
    )
    y = meta["test_acc"].to_numpy()
    ref_kw, ref_fit = json.loads(args.reference)
    runs: dict[str, list[tuple[float, float, int]]] = {"default": [], "reference": []}
    for seed in args.seeds:
        for name, kw, fit in (("default", {}, {}), ("reference", ref_kw, ref_fit)):
            load = os.getloadavg()[0]
            wall, cpu = time.perf_counter(), time.process_time()
            model = GraphRegressor(**kw).fit(nets, y, seed=seed, **fit)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            epochs = len(model.history["train"])
            runs[name].append((wall, cpu, epochs))
            print(
                f"{name} seed {seed}: {wall:.1f} s wall, {cpu:.1f} s CPU, {epochs} epochs "
                f"(last member), load {load:.1f}",
                flush=True,
            )
    for name, r in runs.items():
        a = np.array(r)
        print(
            f"{name}: median {np.median(a[:, 0]):.1f} s wall, {np.median(a[:, 1]):.1f} s CPU over "
            f"{len(a)} fits of 300 nets"
        )


if __name__ == "__main__":
    main()
