"""A meta-data set of random-graph nets trained on digits, and how well their accuracy is predicted.

Draws ``--nets`` nets (default 300) from the Watts–Strogatz, Barabási–Albert and Erdős–Rényi
priors of :mod:`graphnets.priors` (a third each, in turn) between the 64 pixels and the 10
classes, with hidden sizes and prior parameters drawn from ``--seed``:

- ``n`` (hidden nodes): uniform in 20..120;
- Watts–Strogatz: ``k`` in {2, 4, 6, 8}, rewiring ``p`` uniform in [0, 1];
- Barabási–Albert: ``m`` in 1..5;
- Erdős–Rényi: mean degree uniform in [1, 8], ``p = degree / (n - 1)``.

Every net is trained briefly on :func:`graphnets.data.digits` (split seed 0) with
:func:`graphnets.train.fit` (Adam, lr 1e-2, batch 64, ``--epochs`` epochs, shuffle seed = net
index) and its final test accuracy recorded. The *untrained* nets are saved with ``net.save``
under ``results/meta_digits/nets/`` and a CSV of the configurations, accuracies and
:func:`graphnets.analysis.properties` goes to ``results/meta_digits/meta.csv``; a later run
with the same settings reads them back instead of training again (``--rebuild`` forces it).

Then :func:`graphnets.compare.compare` (``--folds`` folds, ``--cv-seeds`` seeds) ranks the nets
by predicted test accuracy, :func:`graphnets.analysis.correlations` correlates every property
with it, and both tables are printed and written next to the data.

    .venv/bin/python benchmarks/meta_digits.py            # the run reported in docs/prediction.md
    .venv/bin/python benchmarks/meta_digits.py --predictors gnn --gnn-pool add --tag _add
    .venv/bin/python benchmarks/meta_digits.py --predictors gnn --gnn-loss rank --tag _rank

The last two re-use the cached nets and rerun only the GNN row with a summing readout or the
pairwise rank loss (written to ``compare_add.csv`` / ``compare_rank.csv``).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import pandas as pd
import torch

import graphnets
from graphnets import priors
from graphnets.analysis import TABLE1, correlations, properties
from graphnets.compare import compare
from graphnets.data import digits
from graphnets.experiment.ranking import proxy_batch
from graphnets.train import fit

PRIORS = ("watts_strogatz", "barabasi_albert", "erdos_renyi")


def configs(count: int, seed: int) -> list[dict]:
    """The ``count`` prior configurations, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        prior = PRIORS[i % 3]
        n = int(rng.integers(20, 121))
        c = {"index": i, "prior": prior, "n": n}
        if prior == "watts_strogatz":
            c.update(k=int(rng.choice([2, 4, 6, 8])), p=float(rng.uniform(0, 1)))
        elif prior == "barabasi_albert":
            c.update(m=int(rng.integers(1, 6)))
        else:
            c.update(p=float(rng.uniform(1, 8) / (n - 1)))
        out.append(c)
    return out


def build(c: dict) -> graphnets.GraphNet:
    i, n = c["index"], c["n"]
    if c["prior"] == "watts_strogatz":
        return priors.watts_strogatz(64, 10, n, c["k"], c["p"], seed=i)
    if c["prior"] == "barabasi_albert":
        return priors.barabasi_albert(64, 10, n, c["m"], seed=i)
    return priors.erdos_renyi(64, 10, n, c["p"], seed=i)


def make(args) -> tuple[list[graphnets.GraphNet], pd.DataFrame]:
    """Build, train and cache the meta-data set (or read it back)."""
    nets_dir = os.path.join(args.out, "nets")
    csv = os.path.join(args.out, "meta.csv")
    settings = {"nets": args.nets, "epochs": args.epochs, "seed": args.seed}
    if args.repeats != 1:  # stamps of one-seed runs stay valid
        settings["repeats"] = args.repeats
    stamp = os.path.join(args.out, "settings.json")
    if not args.rebuild and os.path.exists(csv) and os.path.exists(stamp):
        with open(stamp) as f:
            if json.load(f) == settings:
                meta = pd.read_csv(csv, index_col="index")
                nets = [graphnets.load(os.path.join(nets_dir, f"{i:03d}.pt")) for i in meta.index]
                print(f"read {len(nets)} cached nets from {args.out}")
                return nets, meta
    os.makedirs(nets_dir, exist_ok=True)
    data = digits(seed=0)
    nets, rows = [], []
    start = time.perf_counter()
    for c in configs(args.nets, args.seed):
        net = build(c)
        net.save(os.path.join(nets_dir, f"{c['index']:03d}.pt"))  # untrained: the structure
        nets.append(net)
        t0 = time.perf_counter()
        finals = []
        for r in range(args.repeats):
            trained = build(c)  # same graph; repeat r draws fresh weights from (index, r)
            if r:
                trained.reset_parameters(seed=1_000_003 * r + c["index"])
            history = fit(
                trained,
                *data,
                epochs=args.epochs,
                batch_size=64,
                lr=1e-2,
                seed=c["index"] + 1_000_003 * r,
                progress=False,
            )
            finals.append(history[-1])
        rows.append(
            {
                **c,
                "num_edges": net.num_edges,
                # the mean over repeats: a less noisy target than one training
                "train_acc": float(np.mean([h["train_acc"] for h in finals])),
                "test_acc": float(np.mean([h["test_acc"] for h in finals])),
                "test_acc_std": float(np.std([h["test_acc"] for h in finals])),
                "seconds": time.perf_counter() - t0,
                **properties(net),
            }
        )
        if (c["index"] + 1) % 50 == 0:
            print(f"  {c['index'] + 1} nets trained, {time.perf_counter() - start:.0f} s")
    meta = pd.DataFrame(rows).set_index("index")
    meta.to_csv(csv)
    with open(stamp, "w") as f:
        json.dump(settings, f)
    print(f"built and trained {len(nets)} nets in {time.perf_counter() - start:.0f} s")
    return nets, meta


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0, help="seed of the configurations")
    ap.add_argument(
        "--repeats", type=int, default=2, help="trainings per net (fresh weights); target = mean"
    )
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--cv-seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--out", default="results/meta_digits")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument(
        "--predictors", nargs="+", default=None, help="rows of compare to compute (default: all)"
    )
    ap.add_argument("--gnn-pool", default=None, help="GraphRegressor pool (default: its own)")
    ap.add_argument("--gnn-loss", default=None, help="GraphRegressor.fit loss (default: its own)")
    ap.add_argument("--tag", default="", help="suffix of the compare CSV files")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # GraphRegressor.fit trains on one thread anyway
    total = time.perf_counter()

    nets, meta = make(args)
    acc = meta["test_acc"].to_numpy()
    print(
        f"\n{len(nets)} nets, {args.epochs} epochs each; test accuracy mean {acc.mean():.3f}, "
        f"std {acc.std():.3f}, min {acc.min():.3f}, max {acc.max():.3f}"
    )
    print(
        meta.groupby("prior")["test_acc"]
        .describe()[["count", "mean", "std", "min", "max"]]
        .to_string(float_format="{:.3f}".format)
    )

    # the zero-cost proxies' data batch: the experiment's (first 64 rows of the training split)
    x_train, y_train, _, _ = digits(seed=0)
    batch = proxy_batch(x_train, y_train)
    t0 = time.perf_counter()
    table = compare(
        nets,
        acc,
        folds=args.folds,
        seeds=tuple(args.cv_seeds),
        gnn_kwargs={} if args.gnn_pool is None else {"pool": args.gnn_pool},
        fit_kwargs={} if args.gnn_loss is None else {"loss": args.gnn_loss},
        predictors=args.predictors,
        batch=batch,
    )
    print(
        f"\ncompare ({args.folds} folds x seeds {args.cv_seeds}, GNN pool={args.gnn_pool} "
        f"loss={args.gnn_loss}, {time.perf_counter() - t0:.0f} s), mean ± std over folds x "
        "seeds:"
    )
    print(table.to_string(float_format="{:.3f}".format))
    table.to_csv(os.path.join(args.out, f"compare{args.tag}.csv"))
    table.attrs["folds"].to_csv(os.path.join(args.out, f"compare{args.tag}_folds.csv"), index=False)

    props = meta[[c for c in meta.columns if c in set(graphnets.analysis.PROPERTIES)]]
    corr = correlations(props, acc)
    print("\nproperty vs test accuracy (Table 1 layout first, then the other properties):")
    order = list(TABLE1) + [c for c in corr.index if c not in TABLE1]
    print(corr.loc[order].to_string(float_format="{:.3g}".format))
    corr.loc[order].to_csv(os.path.join(args.out, "correlations.csv"))
    print(f"\ntotal {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main()
