"""Recurrent experiments of ``002_…`` §4.2-4.3 on the Reber grammar: pruning and random priors.

Both parts use one graph-structured recurrent layer (:mod:`graphnets.cells`, RNN-tanh, RNN-ReLU,
LSTM, GRU) in a :class:`~graphnets.cells.SequenceClassifier` (linear read-out at the last real
step) on one-hot Reber strings (:func:`graphnets.data.reber.dataset`, 7 symbols, half valid),
trained with :func:`graphnets.train.fit` (Adam, cross-entropy).

**Pruning** (§4.2, Fig. 2b / 5). Per cell type and seed a complete base model is trained. Then,
for every kind (``i2h``, ``h2h``, ``both``) and every fraction ``p`` = 1/steps, 2/steps, ..., 1
(10 %, 20 %, ..., 100 % by default), a *copy of the base model* is pruned by
:func:`graphnets.cells.magnitude_prune` (per kind, the ``p``·E edges of smallest magnitude, an
edge's magnitude being the L2 norm over its gates, i.e. the ``p``-th percentile threshold of §4.2),
its test accuracy is measured, it is retrained for ``--retrain-epochs`` epoch(s) (a fresh Adam)
and measured again. Every ``p`` starts from the common base model, so the "iterative" percentages
of the paper are independent one-shot prunings of one base (each is its own pruned model, as the
paper retrains "each pruned model"), not a chain where pruning compounds.

**Priors** (§4.3, Fig. 7, Table 1). ``--nets`` Watts–Strogatz and ``--nets`` Barabási–Albert
graphs are drawn from ``--prior-seed`` (hidden size ``n`` uniform in ``--prior-nodes``; WS ``k``
in {2, 4, 6} below ``n``, rewiring ``p`` uniform in [0, 1]; BA ``m`` in 1..4 below ``n``),
oriented at random into DAGs and turned into cells by :func:`graphnets.cells.watts_strogatz` /
:func:`~graphnets.cells.barabasi_albert` with the default recurrence of Fig. 6c (every node to
every node of its layer index). A WS graph that comes out disconnected is redrawn with the next
seed (the paper uses connected graphs; BA graphs always are). The same graphs are used for all four
cell types. Every net is trained for ``--prior-epochs`` epochs and its final test accuracy stored
with the graph properties of :func:`graphnets.analysis.properties`, measured on the cell's
delay-0 hidden DAG (its hidden → hidden i2h edges: exactly the oriented random graph) embedded
with :func:`graphnets.priors.embed` between the 7 inputs (into its sources, as in the cell) and 2
outputs read from every hidden node (as the classifier's linear read-out does). Table 1's
properties are of the hidden graph only; the embedding matters only for the whole-net ones
(``depth``, ``fan_in_*``, ``layer_mass_*``).

Training cost: a batch is cut to its longest real sequence before the forward pass (the
sequences are zero-padded at the end and the cell is causal, so the logits are unchanged) and
torch runs on one thread (``--threads``): the graph cells take many small ops per step, which a
second thread on a shared machine only slows down.

Results are cached in ``--out`` (``pruning.csv``, ``priors.csv`` with a ``settings.json``); a
rerun with the same settings reads them back (``--rebuild`` forces a new run). Prints the
markdown tables and writes the figures (``--pruning-fig``, ``--priors-fig``).

    python benchmarks/recurrent_reber.py           # default: ~5 min pruning, ~10 min priors
    python benchmarks/recurrent_reber.py --full    # the paper's sizes (CPU-days for the priors)
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time

import networkx as nx
import numpy as np
import pandas as pd
import torch

from graphnets import cells
from graphnets.analysis import TABLE1, correlations, properties
from graphnets.data import reber
from graphnets.priors import embed
from graphnets.train import accuracy, fit

MODES = cells.MODES
KINDS = {"i2h": ("i2h",), "h2h": ("h2h",), "both": ("i2h", "h2h")}
PRIORS = ("watts_strogatz", "barabasi_albert")
REGRESSORS = ("bayesian_ridge", "random_forest", "adaboost")
#: ``002_…`` Table 1, in the order of :data:`graphnets.analysis.TABLE1`, per cell type
PAPER_TABLE1 = {
    "rnn_tanh": (0.25, 0.40, 0.38, 0.35, -0.23, 0.29, -0.27, -0.22, -0.28, -0.46, -0.49, -0.34),
    "rnn_relu": (0.30, 0.44, 0.43, 0.47, -0.27, 0.15, -0.25, -0.24, -0.26, -0.39, -0.41, -0.30),
    "lstm": (0.28, 0.44, 0.42, 0.57, -0.32, 0.29, -0.36, -0.30, -0.39, -0.51, -0.56, -0.44),
    "gru": (0.34, 0.49, 0.49, 0.74, -0.20, 0.34, -0.23, -0.21, -0.58, -0.67, -0.52, -0.26),
}
#: ``002_…`` §4.3, R² of Bayesian ridge / random forest / AdaBoost per cell type
PAPER_R2 = {
    "rnn_tanh": (0.479, 0.432, 0.357),
    "rnn_relu": (0.361, 0.615, 0.535),
    "lstm": (0.372, 0.579, 0.595),
    "gru": (0.672, 0.876, 0.783),
}
NUM_SYMBOLS = len(reber.ALPHABET)

DEFAULT = {
    "sequences": 4000,
    "hidden": 32,
    "seeds": 2,
    "base_epochs": 20,
    "retrain_epochs": 1,
    "steps": 10,
    "nets": 8,
    "prior_nodes": (8, 32),
    "prior_epochs": 4,
    "prior_batch_size": 32,
    "prior_lr": 3e-3,
}
FULL = {
    "sequences": 25000,
    "hidden": 50,
    "seeds": 3,
    "base_epochs": 50,
    "retrain_epochs": 1,
    "steps": 10,
    "nets": 100,
    "prior_nodes": (10, 50),
    "prior_epochs": 10,
    "prior_batch_size": 32,
    "prior_lr": 1e-3,
}


class TrimmedClassifier(cells.SequenceClassifier):
    """A :class:`~graphnets.cells.SequenceClassifier` that drops the all-padding tail of a batch.

    The cell is causal and the read-out takes each sequence's last real step, so cutting the
    steps after the batch's longest sequence leaves the logits unchanged; it only saves time
    (a random batch of 32 Reber strings is about 18 steps long, the padded set 30-40).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if isinstance(x, torch.Tensor) and x.dim() == 3 and x.shape[1] > 1:
            real = (x != 0).any(dim=2).any(dim=0).nonzero()
            if real.numel():
                x = x[:, : int(real[-1]) + 1]
        return super().forward(x)


# ----------------------------------------------------------------------------- pruning


def fractions(steps: int) -> list[float]:
    """``1/steps, 2/steps, ..., 1``: 10 %..100 % for ``steps=10``."""
    return [k / steps for k in range(1, steps + 1)]


def pruning(
    modes,
    data,
    *,
    hidden: int,
    seeds,
    base_epochs: int,
    retrain_epochs: int,
    steps: int,
    batch_size: int,
    lr: float,
    progress: bool = True,
) -> pd.DataFrame:
    """One row per (mode, seed, kind, fraction): accuracy before and after retraining."""
    from tqdm.auto import tqdm

    x_tr, y_tr, x_te, y_te = data[:4]
    fr = fractions(steps)
    rows = []
    bar = tqdm(
        total=len(modes) * len(seeds) * (1 + len(KINDS) * len(fr)),
        desc="pruning",
        disable=not progress,
        dynamic_ncols=True,
    )
    with bar:
        for mode in modes:
            for seed in seeds:
                t0 = time.perf_counter()
                base = TrimmedClassifier(
                    cells.complete(mode, NUM_SYMBOLS, hidden, seed=seed), 2, seed=seed
                )
                history = fit(
                    base,
                    x_tr,
                    y_tr,
                    x_te,
                    y_te,
                    epochs=base_epochs,
                    batch_size=batch_size,
                    lr=lr,
                    seed=seed,
                    progress=False,
                )
                base_acc = history[-1]["test_acc"]
                edges = base.cell.num_edges
                rows.append(
                    {
                        "mode": mode,
                        "seed": seed,
                        "kind": "none",
                        "fraction": 0.0,
                        "i2h_edges": edges["i2h"],
                        "h2h_edges": edges["h2h"],
                        "before": base_acc,
                        "after": base_acc,
                        "base_acc": base_acc,
                        "base_epochs_to_99": _first(history, 0.99),
                        "seconds": time.perf_counter() - t0,
                    }
                )
                bar.set_postfix(mode=mode, seed=seed, base=f"{base_acc:.3f}", refresh=False)
                bar.update(1)
                for kind, pruned in KINDS.items():
                    for p in fr:
                        t0 = time.perf_counter()
                        net = copy.deepcopy(base)
                        cells.magnitude_prune(net.cell, p, kind=pruned)
                        before = accuracy(net, x_te, y_te)
                        after = fit(
                            net,
                            x_tr,
                            y_tr,
                            x_te,
                            y_te,
                            epochs=retrain_epochs,
                            batch_size=batch_size,
                            lr=lr,
                            seed=seed + 1,
                            progress=False,
                        )[-1]["test_acc"]
                        edges = net.cell.num_edges
                        rows.append(
                            {
                                "mode": mode,
                                "seed": seed,
                                "kind": kind,
                                "fraction": p,
                                "i2h_edges": edges["i2h"],
                                "h2h_edges": edges["h2h"],
                                "before": before,
                                "after": after,
                                "base_acc": base_acc,
                                "base_epochs_to_99": np.nan,
                                "seconds": time.perf_counter() - t0,
                            }
                        )
                        bar.update(1)
    return pd.DataFrame(rows)


def _first(history: list[dict], level: float) -> float:
    """First epoch whose test accuracy reaches ``level`` (nan if none)."""
    return next((r["epoch"] for r in history if r["test_acc"] >= level), np.nan)


def safe_fraction(df: pd.DataFrame, column: str, tol: float) -> float:
    """Largest fraction up to which (every step) the mean ``column`` stays within ``tol`` of
    the mean base accuracy; 0 if already the first step drops."""
    base = df["base_acc"].mean()
    mean = df.groupby("fraction")[column].mean().sort_index()
    safe = 0.0
    for p, acc in mean.items():
        if acc < base - tol:
            break
        safe = p
    return safe


def pruning_tables(df: pd.DataFrame, tol: float = 0.02) -> tuple[str, str]:
    """Markdown: a summary per (cell, kind) and the full before / after grid."""
    pruned = df[df["kind"] != "none"]
    n_seeds = df["seed"].nunique()
    lines = [
        f"| cell | kind | base acc (mean ± std, {n_seeds} seed(s)) | safe before retraining "
        f"| recovered by retraining up to | acc at 100 % before / after |",
        "|---|---|---|---|---|---|",
    ]
    for mode in df["mode"].unique():
        base = df[(df["mode"] == mode) & (df["kind"] == "none")]["before"]
        for kind in KINDS:
            sub = pruned[(pruned["mode"] == mode) & (pruned["kind"] == kind)]
            last = sub[sub["fraction"] == sub["fraction"].max()]
            lines.append(
                f"| {mode} | {kind} | {base.mean():.3f} ± {base.std(ddof=0):.3f} | "
                f"{safe_fraction(sub, 'before', tol):.0%} | {safe_fraction(sub, 'after', tol):.0%}"
                f" | {last['before'].mean():.3f} / {last['after'].mean():.3f} |"
            )
    summary = "\n".join(lines)
    fr = sorted(pruned["fraction"].unique())
    grid = [
        "| cell | kind | " + " | ".join(f"{p:.0%}" for p in fr) + " |",
        "|---|---|" + "---|" * len(fr),
    ]
    for mode in df["mode"].unique():
        for kind in KINDS:
            sub = pruned[(pruned["mode"] == mode) & (pruned["kind"] == kind)]
            mean = sub.groupby("fraction")[["before", "after"]].mean()
            cells_ = " | ".join(
                f"{mean.loc[p, 'before']:.2f} / {mean.loc[p, 'after']:.2f}" for p in fr
            )
            grid.append(f"| {mode} | {kind} | {cells_} |")
    return summary, "\n".join(grid)


def plot_pruning(df: pd.DataFrame, path: str, title: str) -> None:
    """Accuracy against the fraction pruned, before and after retraining, one panel per kind
    (:func:`graphnets.plot.compression`, mean ± std over seeds)."""
    from graphnets.plot import compression, pyplot

    plt = pyplot()
    fig, axes = plt.subplots(1, len(KINDS), figsize=(5 * len(KINDS), 4), sharey=True)
    colors = dict(zip(MODES, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    for ax, kind in zip(axes, KINDS, strict=True):
        ax.set_xlabel(f"% of {'i2h and h2h' if kind == 'both' else kind} edges pruned")
        for mode in df["mode"].unique():
            base = df[(df["mode"] == mode) & (df["kind"] == "none")]
            sub = pd.concat(
                [base.assign(kind=kind), df[(df["mode"] == mode) & (df["kind"] == kind)]]
            )
            for column, style in (("after", "-"), ("before", "--")):
                acc = sub.pivot_table(index="seed", columns="fraction", values=column)
                compression(
                    acc.columns.to_numpy(),
                    acc.to_numpy(),
                    ax=ax,
                    linestyle=style,
                    color=colors[mode],
                    label=f"{mode} {'after retraining' if column == 'after' else 'pruned'}",
                )
            ax.get_legend().remove()
        ax.set_title(f"pruning {kind}" + (" (i2h and h2h)" if kind == "both" else ""))
        ax.set_ylim(0.4, 1.02)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy")
    axes[-1].legend(fontsize=7, loc="lower left")
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------- priors


def prior_configs(count: int, nodes: tuple[int, int], seed: int) -> list[dict]:
    """``count`` Watts–Strogatz and ``count`` Barabási–Albert configurations from ``seed``."""
    lo, hi = nodes
    if not 4 <= lo <= hi:
        raise ValueError(f"prior nodes must satisfy 4 <= lo <= hi, got {nodes}")
    rng = np.random.default_rng(seed)
    out = []
    for prior in PRIORS:
        for _ in range(count):
            n = int(rng.integers(lo, hi + 1))
            c = {"net": len(out), "prior": prior, "n": n, "graph_seed": seed * 100003 + len(out)}
            if prior == "watts_strogatz":
                c.update(
                    k=int(rng.choice([k for k in (2, 4, 6) if k < n])), p=float(rng.uniform(0, 1))
                )
            else:
                c.update(m=int(rng.integers(1, min(4, n - 1) + 1)))
            out.append(c)
    return out


def hidden_dag(cell: cells.GraphRNN) -> nx.DiGraph:
    """The delay-0 hidden DAG of a cell (its hidden → hidden i2h edges), nodes ``0..H-1``."""
    n_in = cell.num_inputs
    src, dst = cell.edge_index
    skip = src >= n_in
    D = nx.DiGraph()
    D.add_nodes_from(range(cell.num_hidden))
    D.add_edges_from(zip((src[skip] - n_in).tolist(), (dst[skip] - n_in).tolist(), strict=True))
    return D


def build_prior(mode: str, c: dict, tries: int = 100) -> tuple[cells.GraphRNN, int]:
    """The cell of a configuration; WS graphs are redrawn (next seed) until connected."""
    for t in range(tries):
        seed = c["graph_seed"] + 7919 * t
        if c["prior"] == "watts_strogatz":
            cell = cells.watts_strogatz(mode, NUM_SYMBOLS, c["n"], c["k"], c["p"], seed=seed)
        else:
            cell = cells.barabasi_albert(mode, NUM_SYMBOLS, c["n"], c["m"], seed=seed)
        if nx.is_weakly_connected(hidden_dag(cell)):
            return cell, seed
    raise RuntimeError(f"no connected graph for {c} in {tries} tries; raise k or p")


def graph_properties(cell: cells.GraphRNN) -> dict:
    """:func:`graphnets.analysis.properties` of the hidden DAG embedded like the classifier."""
    D = hidden_dag(cell)
    props = properties(embed(D, NUM_SYMBOLS, 2, outputs_from="all", seed=0))
    if props["nodes"] != cell.num_hidden or props["edges"] != D.number_of_edges():
        raise RuntimeError("the embedded hidden graph differs from the cell's")  # a bug here
    return props


def priors_experiment(
    modes,
    data,
    *,
    nets: int,
    nodes: tuple[int, int],
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    progress: bool = True,
) -> pd.DataFrame:
    """One row per (mode, net): configuration, accuracy, edge counts and graph properties."""
    from tqdm.auto import tqdm

    x_tr, y_tr, x_te, y_te = data[:4]
    configs = prior_configs(nets, nodes, seed)
    rows = []
    props: dict[int, dict] = {}
    with tqdm(
        total=len(modes) * len(configs), desc="priors", disable=not progress, dynamic_ncols=True
    ) as bar:
        for mode in modes:
            for c in configs:
                t0 = time.perf_counter()
                cell, used_seed = build_prior(mode, c)
                if c["net"] not in props:  # the same graph for every mode
                    props[c["net"]] = graph_properties(cell)
                net = TrimmedClassifier(cell, 2, seed=used_seed)
                history = fit(
                    net,
                    x_tr,
                    y_tr,
                    x_te,
                    y_te,
                    epochs=epochs,
                    batch_size=batch_size,
                    lr=lr,
                    seed=c["net"],
                    progress=False,
                )
                rows.append(
                    {
                        "mode": mode,
                        **c,
                        "used_seed": used_seed,
                        "i2h_edges": cell.num_edges["i2h"],
                        "h2h_edges": cell.num_edges["h2h"],
                        "levels": cell.num_levels,
                        "train_acc": history[-1]["train_acc"],
                        "test_acc": history[-1]["test_acc"],
                        "best_test_acc": max(r["test_acc"] for r in history),
                        "seconds": time.perf_counter() - t0,
                        **props[c["net"]],
                    }
                )
                bar.set_postfix(mode=mode, acc=f"{history[-1]['test_acc']:.3f}", refresh=False)
                bar.update(1)
    return pd.DataFrame(rows)


def regression_r2(df: pd.DataFrame, *, folds: int, seed: int = 0) -> dict[str, float]:
    """Cross-validated R² of the three regressors of §4.3 on the Table-1 properties."""
    from sklearn.ensemble import AdaBoostRegressor, RandomForestRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import BayesianRidge
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = df[list(TABLE1)].to_numpy(dtype=np.float64)
    y = df["test_acc"].to_numpy(dtype=np.float64)
    models = {
        "bayesian_ridge": BayesianRidge(),
        "random_forest": RandomForestRegressor(n_estimators=200, random_state=seed, n_jobs=1),
        "adaboost": AdaBoostRegressor(random_state=seed),
    }
    k = min(folds, len(df) // 2)  # R² needs at least two rows per test fold
    if k < 2 or np.ptp(y) == 0:
        return {name: np.nan for name in models}
    cv = KFold(k, shuffle=True, random_state=seed)
    return {
        name: float(
            cross_val_score(
                make_pipeline(SimpleImputer(), StandardScaler(), m), x, y, cv=cv, scoring="r2"
            ).mean()
        )
        for name, m in models.items()
    }


def _num(value: float, spec: str) -> str:
    return "nan" if not np.isfinite(value) else format(value, spec)


def prior_tables(df: pd.DataFrame, *, folds: int) -> tuple[str, str, str]:
    """Markdown: accuracy per prior, Table-1 correlations, regressor R² (ours vs the paper)."""
    from scipy import stats

    modes = list(df["mode"].unique())
    acc = [
        "| cell | WS acc mean ± std (min–max) | BA acc mean ± std (min–max) | "
        "BA − WS | Mann–Whitney p |",
        "|---|---|---|---|---|",
    ]
    for mode in modes:
        sub = df[df["mode"] == mode]
        ws = sub[sub["prior"] == "watts_strogatz"]["test_acc"]
        ba = sub[sub["prior"] == "barabasi_albert"]["test_acc"]
        p = (
            stats.mannwhitneyu(ws, ba).pvalue
            if len(ws) and len(ba) and np.ptp(np.r_[ws, ba]) > 0
            else np.nan
        )
        acc.append(
            f"| {mode} | {ws.mean():.3f} ± {ws.std(ddof=0):.3f} ({ws.min():.3f}–"
            f"{ws.max():.3f}) | {ba.mean():.3f} ± {ba.std(ddof=0):.3f} ({ba.min():.3f}–"
            f"{ba.max():.3f}) | {ba.mean() - ws.mean():+.3f} | {p:.2g} |"
        )
    corr = {
        m: correlations(df[df["mode"] == m], "test_acc", columns=TABLE1)["pearson"] for m in modes
    }
    table1 = [
        "| property | " + " | ".join(f"{m} (paper)" for m in modes) + " |",
        "|---|" + "---|" * len(modes),
    ]
    for i, prop in enumerate(TABLE1):
        table1.append(
            f"| {prop} | "
            + " | ".join(
                f"{_num(corr[m][prop], '+.2f')} ({PAPER_TABLE1[m][i]:+.2f})" for m in modes
            )
            + " |"
        )
    r2 = [
        "| cell | rows | " + " | ".join(f"{r} (paper)" for r in REGRESSORS) + " |",
        "|---|---|" + "---|" * len(REGRESSORS),
    ]
    for mode in modes:
        sub = df[df["mode"] == mode]
        ours = regression_r2(sub, folds=folds)
        r2.append(
            f"| {mode} | {len(sub)} | "
            + " | ".join(
                f"{_num(ours[r], '.2f')} ({PAPER_R2[mode][j]:.2f})"
                for j, r in enumerate(REGRESSORS)
            )
            + " |"
        )
    return "\n".join(acc), "\n".join(table1), "\n".join(r2)


def plot_priors(df: pd.DataFrame, path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = list(df["mode"].unique())
    fig, axes = plt.subplots(
        1, len(modes), figsize=(3.2 * len(modes), 3.8), sharey=True, squeeze=False
    )
    rng = np.random.default_rng(0)
    for ax, mode in zip(axes[0], modes, strict=True):
        sub = df[df["mode"] == mode]
        groups = [sub[sub["prior"] == p]["test_acc"].to_numpy() for p in PRIORS]
        ax.boxplot(groups, showfliers=False, widths=0.5)
        ax.set_xticks([1, 2], ["Watts–Strogatz", "Barabási–Albert"], fontsize=8)
        for i, g in enumerate(groups, start=1):
            ax.scatter(i + rng.uniform(-0.15, 0.15, len(g)), g, s=10, alpha=0.6)
        ax.set_title(mode)
        ax.grid(alpha=0.3, axis="y")
    axes[0][0].set_ylabel("test accuracy")
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------- main


def _cached(path: str, stamp: str, settings: dict, rebuild: bool, make) -> pd.DataFrame:
    if not rebuild and os.path.exists(path) and os.path.exists(stamp):
        with open(stamp) as f:
            if json.load(f) == settings:
                print(f"read cached {path} (same settings; --rebuild to run again)")
                return pd.read_csv(path)
    df = make()
    df.to_csv(path, index=False)
    with open(stamp, "w") as f:
        json.dump(settings, f, indent=1)
    return df


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--full", action="store_true", help="the paper's sizes (not a quick run)")
    p.add_argument("--part", choices=("pruning", "priors", "both"), default="both")
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    p.add_argument("--sequences", type=int, help="Reber strings, 75 %% train / 25 %% test")
    p.add_argument("--hidden", type=int, help="hidden neurons of the pruned base models")
    p.add_argument("--seeds", type=int, help="base models per cell type (pruning)")
    p.add_argument("--base-epochs", type=int)
    p.add_argument("--retrain-epochs", type=int)
    p.add_argument("--steps", type=int, help="pruning fractions 1/steps..1")
    p.add_argument("--nets", type=int, help="graphs per prior (the same for every cell type)")
    p.add_argument("--prior-nodes", type=int, nargs=2, metavar=("LO", "HI"))
    p.add_argument("--prior-epochs", type=int)
    p.add_argument("--prior-batch-size", type=int)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--prior-lr", type=float, help="Adam's lr for the prior nets")
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--prior-seed", type=int, default=0)
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds of the R²")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="results/recurrent_reber")
    p.add_argument("--pruning-fig", default="docs/recurrent_pruning.png")
    p.add_argument("--priors-fig", default="docs/recurrent_priors.png")
    p.add_argument("--rebuild", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    cfg = dict(FULL if a.full else DEFAULT)
    for key in cfg:
        if getattr(a, key) is not None:
            cfg[key] = getattr(a, key)
    cfg["prior_nodes"] = tuple(cfg["prior_nodes"])
    vars(a).update(cfg)
    return a


def main(argv=None) -> dict:
    """Run the selected parts; returns the data frames and the markdown tables."""
    a = parse(argv)
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    data = reber.dataset(a.sequences, test_size=0.25, seed=a.data_seed)
    modes = list(dict.fromkeys(a.modes))
    out: dict = {}
    common = {"sequences": a.sequences, "data_seed": a.data_seed, "modes": modes}
    progress = not a.no_progress
    if a.part in ("pruning", "both"):
        settings = {
            **common,
            "hidden": a.hidden,
            "seeds": a.seeds,
            "base_epochs": a.base_epochs,
            "retrain_epochs": a.retrain_epochs,
            "steps": a.steps,
            "batch_size": a.batch_size,
            "lr": a.lr,
        }
        t = time.perf_counter()
        df = _cached(
            os.path.join(a.out, "pruning.csv"),
            os.path.join(a.out, "pruning.json"),
            settings,
            a.rebuild,
            lambda: pruning(
                modes,
                data,
                hidden=a.hidden,
                seeds=list(range(a.seeds)),
                base_epochs=a.base_epochs,
                retrain_epochs=a.retrain_epochs,
                steps=a.steps,
                batch_size=a.batch_size,
                lr=a.lr,
                progress=progress,
            ),
        )
        setting = (
            f"Reber, {a.sequences} strings (75/25), one {a.hidden}-unit layer, base "
            f"{a.base_epochs} epochs, {a.retrain_epochs} retraining epoch(s), Adam lr "
            f"{a.lr}, batch {a.batch_size}, seeds 0..{a.seeds - 1}"
        )
        summary, grid = pruning_tables(df)
        print(
            f"\n### Pruning ({setting}; {time.perf_counter() - t:.0f} s)\n\n{summary}\n\n"
            f"test accuracy right after pruning / after retraining (mean over seeds):\n\n{grid}"
        )
        if a.pruning_fig:
            plot_pruning(df, a.pruning_fig, setting + "; dashed: pruned, solid: retrained")
            print(f"\nwrote {a.pruning_fig}")
        out.update(pruning=df, pruning_summary=summary, pruning_grid=grid)
    if a.part in ("priors", "both"):
        settings = {
            **common,
            "nets": a.nets,
            "prior_nodes": list(a.prior_nodes),
            "prior_epochs": a.prior_epochs,
            "prior_batch_size": a.prior_batch_size,
            "prior_lr": a.prior_lr,
            "prior_seed": a.prior_seed,
        }
        t = time.perf_counter()
        df = _cached(
            os.path.join(a.out, "priors.csv"),
            os.path.join(a.out, "priors.json"),
            settings,
            a.rebuild,
            lambda: priors_experiment(
                modes,
                data,
                nets=a.nets,
                nodes=a.prior_nodes,
                epochs=a.prior_epochs,
                batch_size=a.prior_batch_size,
                lr=a.prior_lr,
                seed=a.prior_seed,
                progress=progress,
            ),
        )
        setting = (
            f"Reber, {a.sequences} strings, {a.nets} WS + {a.nets} BA graphs of "
            f"{a.prior_nodes[0]}-{a.prior_nodes[1]} nodes per cell type, "
            f"{a.prior_epochs} epochs, Adam lr {a.prior_lr}, batch {a.prior_batch_size}"
        )
        acc, table1, r2 = prior_tables(df, folds=a.folds)
        print(
            f"\n### Priors ({setting}; {time.perf_counter() - t:.0f} s)\n\n{acc}\n\n"
            f"Pearson correlation with test accuracy, ours (paper's Table 1):\n\n{table1}\n\n"
            f"R² of the regressors on the Table-1 properties, {a.folds}-fold CV (paper):\n\n"
            f"{r2}"
        )
        if a.priors_fig:
            plot_priors(df, a.priors_fig, setting)
            print(f"\nwrote {a.priors_fig}")
        out.update(priors=df, priors_acc=acc, table1=table1, r2=r2)
    return out


if __name__ == "__main__":
    main()
