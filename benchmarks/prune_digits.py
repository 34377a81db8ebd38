"""Prune MLPs on the digits data with six methods; plot test accuracy against compression.

The experiment of ``002_…`` §4.1 on scikit-learn's digits (MNIST cannot be downloaded here):
nets with one hidden layer of 100 and with 300-100 ReLU neurons are trained, then pruned by
iterative fixed-size pruning to 95 % compression with a short retraining after every step, with

- ``random``: random scores, class-blinded (the baseline);
- ``blinded``, ``uniform``, ``distributed``: magnitude ``|w|`` with class-blinded,
  class-uniform and class-distributed selection (a class is a layer);
- ``obd``: optimal brain damage ``½·w²·H_ii`` (Gauss–Newton diagonal), class-blinded;
- ``taylor``: the first-order utility ``−w·∂L/∂w`` of ``001_…`` Eq. 4.3, class-blinded.

The first five are the paper's five methods; ``taylor`` is a sixth. OBD and Taylor are scored on
a fixed sample of the training set. Every (net, seed) pair is trained once and the same trained
net is pruned by every method. Retraining uses one Adam optimizer per run whose state of the
surviving edges is carried across the pruning steps.

Prints a table (mean ± std of the test accuracy over the repeats at chosen compressions) and
writes the plot (``docs/pruning_digits.png`` by default). ``--full`` is the setting of the
committed figure (about 5 minutes on 2 cores); the default is a quick look (well under a minute).
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch
import torch.nn.functional as F

import graphnets
from graphnets import prune
from graphnets.data import digits
from graphnets.train import accuracy

METHODS = ("random", "blinded", "uniform", "distributed", "obd", "taylor")
ARCHS = {"100": [64, 100, 10], "300-100": [64, 300, 100, 10]}


def train_epochs(net, optimizer, x, y, epochs: int, batch_size: int, gen: torch.Generator):
    """Plain mini-batch training with a given (persistent) optimizer."""
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(x.shape[0], generator=gen)
        for i in range(0, x.shape[0], batch_size):
            idx = perm[i : i + batch_size]
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(net(x[idx]), y[idx]).backward()
            optimizer.step()


def method_args(method: str, x_score, y_score, seed: int) -> dict:
    """``score`` and ``select`` of a method for :mod:`graphnets.prune`'s schedules."""
    gen = torch.Generator().manual_seed(seed)
    if method == "random":
        return {"score": lambda net: prune.random_scores(net, seed=gen), "select": "blinded"}
    if method in ("blinded", "uniform", "distributed"):
        return {"score": prune.magnitude, "select": method}
    if method == "obd":
        return {"score": lambda net: prune.obd(net, x_score, y_score), "select": "blinded"}
    if method == "taylor":
        return {"score": lambda net: prune.taylor(net, x_score, y_score), "select": "blinded"}
    raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


def run(
    arch: str,
    method: str,
    seed: int,
    base,
    data,
    *,
    steps: int,
    retrain_epochs: int,
    lr: float,
    score_samples: int,
) -> list[dict]:
    """Prune a copy of the trained ``base`` net; one record per step (step 0: unpruned)."""
    x_tr, y_tr, x_te, y_te = data
    net = copy.deepcopy(base)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    sample = torch.randperm(x_tr.shape[0], generator=gen)[:score_samples]
    args = method_args(method, x_tr[sample], y_tr[sample], seed)

    def retrain(net, step):
        pruned_acc = accuracy(net, x_te, y_te)
        train_epochs(net, optimizer, x_tr, y_tr, retrain_epochs, 64, gen)
        return {"pruned_acc": pruned_acc, "test_acc": accuracy(net, x_te, y_te)}

    start = {
        "step": 0,
        "compression": 0.0,
        "edges": net.num_edges,
        "retrain": {"pruned_acc": accuracy(net, x_te, y_te), "test_acc": accuracy(net, x_te, y_te)},
    }
    records = prune.fixed_size(
        net, 0.95 / steps, steps, optimizer=optimizer, retrain=retrain, **args
    )
    return [start] + records


def experiment(
    archs,
    methods,
    seeds,
    *,
    base_epochs: int,
    steps: int,
    retrain_epochs: int,
    lr: float,
    score_samples: int,
    log=print,
) -> dict:
    """``results[arch][method]`` = array ``[repeats, steps + 1]`` of test accuracies, and the
    compressions."""
    data = digits(seed=0)
    x_tr, y_tr, _, _ = data
    results: dict = {"compression": None, "pruned": {}, "acc": {}}
    for arch in archs:
        for seed in seeds:
            base = graphnets.mlp(ARCHS[arch], seed=seed)
            opt = torch.optim.Adam(base.parameters(), lr=lr)
            train_epochs(
                base, opt, x_tr, y_tr, base_epochs, 64, torch.Generator().manual_seed(1000 + seed)
            )
            for method in methods:
                t = time.perf_counter()
                recs = run(
                    arch,
                    method,
                    seed,
                    base,
                    data,
                    steps=steps,
                    retrain_epochs=retrain_epochs,
                    lr=lr,
                    score_samples=score_samples,
                )
                acc = [r["retrain"]["test_acc"] for r in recs]
                results["compression"] = [r["compression"] for r in recs]
                results["acc"].setdefault(arch, {}).setdefault(method, []).append(acc)
                results["pruned"].setdefault(arch, {}).setdefault(method, []).append(
                    [r["retrain"]["pruned_acc"] for r in recs]
                )
                log(
                    f"{arch:>8} seed {seed} {method:>11}: final acc {acc[-1]:.4f} "
                    f"({time.perf_counter() - t:.1f} s)"
                )
    for key in ("acc", "pruned"):
        for arch in results[key]:
            for method in results[key][arch]:
                results[key][arch][method] = np.asarray(results[key][arch][method])
    return results


def table(results: dict, at=(0.0, 0.5, 0.8, 0.9, 0.95)) -> str:
    """Mean ± std test accuracy (after retraining) at the compressions ``at`` (nearest step)."""
    comp = np.asarray(results["compression"])
    cols = sorted({int(np.argmin(np.abs(comp - c))) for c in at})
    head = f"{'net':>8} {'method':>11} " + " ".join(f"{comp[i] * 100:>12.0f}%" for i in cols)
    lines = [head, "-" * len(head)]
    for arch, per in results["acc"].items():
        for method, acc in per.items():
            cells = " ".join(f"{acc[:, i].mean():>7.4f}±{acc[:, i].std():.3f}" for i in cols)
            lines.append(f"{arch:>8} {method:>11} {cells}")
    return "\n".join(lines)


def plot(results: dict, path: str, title: str) -> None:
    """Accuracy against compression, one panel per net, one line per method
    (:func:`graphnets.plot.compression`)."""
    from graphnets.plot import compression, pyplot

    plt = pyplot()
    archs = list(results["acc"])
    fig, axes = plt.subplots(1, len(archs), figsize=(6 * len(archs), 4.2), squeeze=False)
    for ax, arch in zip(axes[0], archs, strict=True):
        ax.set_ylabel("test accuracy after retraining")
        for method, acc in results["acc"][arch].items():
            compression(results["compression"], acc, ax=ax, label=method)
        ax.set_title(f"hidden {arch}")
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--full", action="store_true", help="the setting of the committed figure")
    p.add_argument("--archs", nargs="+", choices=list(ARCHS), default=None)
    p.add_argument("--methods", nargs="+", choices=METHODS, default=None)
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--base-epochs", type=int, default=None)
    p.add_argument("--retrain-epochs", type=int, default=None)
    p.add_argument("--score-samples", type=int, default=512)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--out", default="docs/pruning_digits.png")
    a = p.parse_args(argv)
    full = {"repeats": 5, "steps": 19, "base_epochs": 30, "retrain_epochs": 2}
    quick = {"repeats": 1, "steps": 5, "base_epochs": 10, "retrain_epochs": 1}
    cfg = full if a.full else quick
    for key in cfg:
        if getattr(a, key) is not None:
            cfg[key] = getattr(a, key)
    archs = a.archs or list(ARCHS)
    methods = a.methods or list(METHODS)
    seeds = list(range(cfg["repeats"]))
    torch.manual_seed(0)
    t = time.perf_counter()
    results = experiment(
        archs,
        methods,
        seeds,
        base_epochs=cfg["base_epochs"],
        steps=cfg["steps"],
        retrain_epochs=cfg["retrain_epochs"],
        lr=a.lr,
        score_samples=a.score_samples,
    )
    setting = (
        f"digits, fixed-size pruning to 95% in {cfg['steps']} steps, "
        f"{cfg['retrain_epochs']} retraining epoch(s) per step, {cfg['base_epochs']} "
        f"base epochs, Adam lr {a.lr}, seeds {seeds}"
    )
    print(f"\n{setting}\n" + table(results))
    if a.out:
        plot(results, a.out, setting)
        print(f"\nwrote {a.out} ({time.perf_counter() - t:.0f} s)")
    return results


if __name__ == "__main__":
    main()
