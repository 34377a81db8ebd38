"""Kendall τ against the number of training architectures: the GNN and the best baseline.

The meta-data set of ``benchmarks/meta_digits.py`` with ``--nets`` nets (default 400, each
trained twice on digits, target = mean test accuracy; built and cached under
``results/meta_digits_<nets>/`` on first use). For each of ``--splits`` random splits, 100 nets
are held out and the predictors are trained on random subsets of 25, 50, 100, 200 and 300 of
the others (nested: each subset contains the smaller ones), then scored on the held-out 100:
the default ``GraphRegressor()`` and every baseline of :func:`graphnets.compare.compare`
except SynFlow and depth (uninformative here, see docs/prediction.md). The table (mean ± std
over splits) is printed, and the GNN against the baseline of best τ at 300 nets is drawn to
``docs/ranking_curve.png``.

    .venv/bin/python benchmarks/ranking_curve.py
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, os.path.dirname(__file__))
import meta_digits  # noqa: E402

from graphnets.compare import features, fit_predict, kendall  # noqa: E402

SIZES = (25, 50, 100, 200, 300)
PREDICTORS = ("gnn", "bayesian_ridge", "random_forest", "adaboost", "edges", "nodes")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", type=int, default=400)
    ap.add_argument("--splits", type=int, default=3)
    ap.add_argument("--plot", default="docs/ranking_curve.png")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    out = f"results/meta_digits_{args.nets}"
    nets, meta = meta_digits.make(
        argparse.Namespace(nets=args.nets, epochs=5, seed=0, repeats=2, out=out, rebuild=False)
    )
    y = meta["test_acc"].to_numpy()
    feats = features(nets)
    rows = []
    for split in range(args.splits):
        rng = np.random.default_rng(1000 + split)
        perm = rng.permutation(len(nets))
        test, pool = perm[:100], perm[100:]
        for size in SIZES:
            train = pool[:size]
            for name in PREDICTORS:
                t0 = time.perf_counter()
                pred = fit_predict(name, nets, y, train, test, seed=split, features=feats)
                rows.append(
                    dict(
                        predictor=name,
                        size=size,
                        split=split,
                        kendall=kendall(y[test], pred),
                        seconds=time.perf_counter() - t0,
                    )
                )
            gnn = rows[-len(PREDICTORS)]
            print(
                f"split {split}, {size} nets: gnn τ {gnn['kendall']:.3f} "
                f"({gnn['seconds']:.0f} s), "
                + ", ".join(f"{r['predictor']} {r['kendall']:.3f}" for r in rows[-5:]),
                flush=True,
            )
    table = pd.DataFrame(rows)
    table.to_csv(os.path.join(out, "ranking_curve.csv"), index=False)
    stats = table.groupby(["predictor", "size"])["kendall"].agg(["mean", "std"])
    print(f"\nKendall τ on 100 held-out nets, mean ± std over {args.splits} splits:\n")
    print("| predictor | " + " | ".join(f"{s} nets" for s in SIZES) + " |")
    print("|---|" + "---|" * len(SIZES))
    for name in PREDICTORS:
        cells = [
            f"{stats.loc[(name, s), 'mean']:.3f} ± {stats.loc[(name, s), 'std']:.3f}" for s in SIZES
        ]
        print(f"| `{name}` | " + " | ".join(cells) + " |")
    fit = table[table.predictor == "gnn"].groupby("size")["seconds"].mean()
    print("\nGNN fit time (s): " + ", ".join(f"{s}: {fit[s]:.0f}" for s in SIZES))
    at_300 = stats.xs(300, level="size")["mean"].drop("gnn")
    best = at_300.idxmax()
    from matplotlib.figure import Figure

    from graphnets.experiment.report import plot_ranking_curve

    fig = Figure(figsize=(4.6, 3.4))
    ax = fig.subplots()
    curve = table[table.predictor.isin(["gnn", best])].rename(columns={"split": "fold"})
    plot_ranking_curve(curve, ax=ax)
    ax.set_title(f"{args.nets - 100} training pool, 100 held out, {args.splits} splits", fontsize=9)
    fig.tight_layout()
    fig.savefig(args.plot, dpi=110, bbox_inches="tight")
    print(f"plot: {args.plot} (gnn vs {best})")


if __name__ == "__main__":
    main()
