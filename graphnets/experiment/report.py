"""The report stage: plots (PNG, drawn by :mod:`graphnets.plot`) and ``report.md`` tying them
together.

Reads only what the earlier stages wrote into the results folder, so it can be rerun alone.
Three figures:

- ``plots/accuracy_vs_properties.png``: the target against the properties with the largest
  ``|Spearman ρ|``, one panel each, coloured by prior;
- ``plots/predicted_vs_actual.png``: out-of-fold predictions of the best predictors;
- ``plots/learning_curves.png``: training loss and test accuracy per epoch of every net;
- ``plots/ranking_curve.png``: Kendall τ of the GNN and of the best baseline against the
  number of training nets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from .. import plot
from ..methods.predict.compare import METRICS
from .store import write_file

__all__ = [
    "plot_properties",
    "plot_predictions",
    "plot_curves",
    "plot_ranking_curve",
    "write_report",
    "PRIOR_LABELS",
]

#: Legend names of the priors.
PRIOR_LABELS = {"ws": "Watts–Strogatz", "ba": "Barabási–Albert", "er": "Erdős–Rényi"}
_COLOURS = {"ws": "tab:blue", "ba": "tab:orange", "er": "tab:green"}


def _figure(width: float, height: float, panels: int = 1):
    """A figure of ``panels`` axes in a row, made without pyplot (no backend, no global state:
    safe in workers and threads); PNGs are written by its own Agg canvas."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots(1, panels, squeeze=False)[0]


def _save(fig, path: str) -> str:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    write_file(path, buf.getvalue())
    return path


def strongest(correlations, count: int) -> list[str]:
    """The ``count`` properties of largest finite ``|spearman|``."""
    s = correlations["spearman"].astype(float).abs().dropna()
    return list(s.sort_values(ascending=False, kind="stable").index[:count])


def plot_properties(results, correlations, target: str, count: int, path: str) -> str:
    """Scatter plots of ``target`` against the ``count`` most correlated properties
    (:func:`graphnets.plot.scatter`)."""
    names = strongest(correlations, count)
    cols = max(1, len(names))
    fig, axes = _figure(3.6 * cols, 3.2, cols)
    table = results.reset_index()
    for ax, name in zip(axes, names, strict=False):
        plot.scatter(table, name, target, hue="prior", colors=_COLOURS, names=PRIOR_LABELS, ax=ax)
        ax.set_title(f"Spearman ρ = {correlations.loc[name, 'spearman']:.2f}", fontsize=9)
        ax.get_legend().remove()
    axes[0].legend(fontsize=7)
    for ax in axes[1:]:
        ax.set_ylabel("")
    fig.tight_layout()
    return _save(fig, path)


def plot_predictions(predictions, names, target: str, path: str) -> str:
    """Out-of-fold prediction against the actual target, one panel per predictor
    (:func:`graphnets.plot.predictions`)."""
    fig, axes = _figure(3.6 * len(names), 3.4, len(names))
    y = predictions["actual"].to_numpy()
    for ax, name in zip(axes, names, strict=True):
        ax.set_xlabel(f"actual {target}")
        ax.set_ylabel(f"predicted ({name})")
        plot.predictions(y, predictions[name].to_numpy(), ax=ax)
        ax.set_title(name, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_curves(curves, priors: Mapping[int, str], path: str) -> str:
    """Training loss and test accuracy per epoch of every training, coloured by prior
    (:func:`graphnets.plot.learning_curves`)."""
    fig, (ax_loss, ax_acc) = _figure(9, 3.4, 2)
    curves = curves.assign(prior=curves["id"].map(dict(priors)))
    by = [c for c in ("id", "repeat") if c in curves.columns]
    style = dict(by=by, hue="prior", colors=_COLOURS, names=PRIOR_LABELS)
    plot.learning_curves(curves, "loss", ax=ax_loss, **style)
    plot.learning_curves(curves, "test_acc", ax=ax_acc, **style)
    ax_acc.get_legend().remove()
    fig.tight_layout()
    return _save(fig, path)


def plot_ranking_curve(curve, path: str | None = None, *, ax=None):
    """Kendall τ (mean ± std over folds) against the number of training nets, one line per
    predictor of ``curve`` (a :func:`~graphnets.experiment.ranking.learning_curve` table).
    Writes a PNG to ``path`` and returns it, or draws on ``ax`` and returns ``ax``."""
    own = ax is None
    if own:
        fig, (ax,) = _figure(4.6, 3.4)
    if len(curve):
        for name, part in curve.groupby("predictor", sort=False):
            stats = part.groupby("size")["kendall"].agg(["mean", "std"]).fillna(0.0)
            ax.errorbar(
                stats.index, stats["mean"], yerr=stats["std"], marker="o", capsize=3, label=name
            )
        ax.set_xscale("log")
        ax.legend(fontsize=8)
    else:
        ax.text(
            0.5, 0.5, "no GNN or no baseline in the comparison", ha="center", transform=ax.transAxes
        )
    ax.set_xlabel("training nets")
    ax.set_ylabel("Kendall τ on the test fold")
    if not own:
        return ax
    fig.tight_layout()
    return _save(fig, path)


def _ranking_summary(curve) -> str:
    """One sentence comparing the GNN with the baseline at every size of the curve."""
    if not len(curve):
        return "No ranking curve: the comparison lacks the GNN or every baseline."
    means = curve.groupby(["predictor", "size"])["kendall"].mean().unstack(0)
    names = list(dict.fromkeys(curve.predictor))
    if len(names) < 2:
        return ""
    gnn, base = names
    cells = [
        f"{int(size)} nets: {row[gnn]:.3f} vs {row[base]:.3f}" for size, row in means.iterrows()
    ]
    return f"Kendall τ of {gnn} vs {base} (mean over folds): " + "; ".join(cells) + "."


def _md_table(table, digits: int = 3) -> str:
    """A DataFrame as a Markdown table (no extra dependency): columns of whole numbers as ints,
    other numbers with ``digits`` decimals (significant digits below 0.001), missing as –."""

    def column(values):
        v = np.asarray(values, dtype=object)
        numeric = [
            x for x in v if isinstance(x, (int, float, np.number)) and not isinstance(x, bool)
        ]
        finite = [float(x) for x in numeric if np.isfinite(float(x))]
        whole = len(numeric) == len(v) and all(x == int(x) for x in finite)

        def cell(x):
            if not isinstance(x, (int, float, np.number)) or isinstance(x, bool):
                return str(x)
            x = float(x)
            if not np.isfinite(x):
                return "–"
            if whole:
                return str(int(x))
            return f"{x:.{digits}g}" if 0 < abs(x) < 1e-3 else f"{x:.{digits}f}"

        return [cell(x) for x in v]

    header = [str(table.index.name or "")] + [str(c) for c in table.columns]
    cols = [column(table.index)] + [column(table[c].to_numpy(dtype=object)) for c in table.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in zip(*cols, strict=True)]
    return "\n".join(lines)


def write_report(
    path: str,
    *,
    config: Mapping,
    results,
    comparison,
    correlations,
    plots: Mapping[str, str],
    best: list[str],
    timings: Mapping[str, float],
    ranking_curve=None,
) -> str:
    """Write ``report.md``: setup, summary, comparison, correlations and the plots."""

    c = config
    target = c["predict"]["target"]
    y = results[target]
    by_prior = results.groupby("prior")[target].agg(["count", "mean", "std", "min", "max"])
    by_prior.index = [PRIOR_LABELS.get(p, p) for p in by_prior.index]
    by_prior.index.name = "prior"
    top = results.sort_values("test_acc", ascending=False).head(5)
    top_cols = [
        k
        for k in ("prior", "hidden", "k", "p", "m", "degree", "num_edges", "depth", "test_acc")
        if k in top.columns
    ]
    pri = c["sample"]["priors"]
    rel = lambda p: os.path.relpath(p, os.path.dirname(path))  # noqa: E731
    data = c["data"]
    lines = [
        "# Structure vs performance: random-graph nets on digits",
        "",
        "Written by `graphnets experiment`; every number below is read from the files of this "
        "folder (`results.csv`, `comparison.csv`, `correlations.csv`).",
        "",
        "## Setup",
        "",
        f"- **Data**: scikit-learn's digits (64 pixels, 10 classes), stratified split with seed "
        f"{data['split_seed']}, test size {data['test_size']}, training samples "
        f"{data['train_samples']}.",
        f"- **Architectures**: {len(results)} nets drawn with seed {c['seed']}; hidden nodes "
        f"uniform in {c['sample']['hidden']}; priors (weight): Watts–Strogatz "
        f"({pri['ws']['weight']:g}, k in {pri['ws']['k']}, p in {pri['ws']['p']}), "
        f"Barabási–Albert ({pri['ba']['weight']:g}, m in {pri['ba']['m']}), Erdős–Rényi "
        f"({pri['er']['weight']:g}, mean degree in {pri['er']['degree']}), each embedded "
        "between the 64 inputs and 10 outputs (`graphnets.priors`).",
        f"- **Training**: Adam, lr {c['train']['lr']}, batch {c['train']['batch_size']}, "
        f"{c['train']['epochs']} epochs, {c['train']['repeats']} training(s) per net.",
        f"- **Prediction**: target `{target}`; {c['predict']['folds']}-fold cross-validation, "
        f"seeds {c['predict']['cv_seeds']}; GNN up to {c['predict']['gnn_epochs']} epochs "
        f"(patience {c['predict']['gnn_patience']}); top-k precision with k = "
        f"{c['predict']['top_k']}.",
        "",
        "## Summary",
        "",
        f"{target}: mean {y.mean():.3f}, std {y.std(ddof=0):.3f}, min {y.min():.3f}, "
        f"max {y.max():.3f} over {len(results)} nets.",
        "",
        _md_table(by_prior),
        "",
        "Best nets (by test accuracy; their files are `nets/<id>.pt`):",
        "",
        _md_table(top[top_cols]),
        "",
        "## Predicting performance from structure",
        "",
        "Cross-validated predictors (`graphnets.compare.compare`): the GNN on the nets, three "
        "regressors on the graph properties, and single-number baselines; mean (± std over "
        "folds × seeds). Kendall τ and Spearman ρ measure how well the predicted ranking "
        "matches the real one; top-k precision is the share of the truly best nets among "
        "the predicted best.",
        "",
        _md_table(_with_std(comparison)),
        "",
        f"Best by Kendall τ: **{best[0]}**" + (f", then {best[1]}" if len(best) > 1 else "") + ".",
        "",
        f"![predicted vs actual]({rel(plots['predictions'])})",
        "",
        f"*Out-of-fold predictions of {', '.join(best)} (cv seed {c['predict']['cv_seeds'][0]})"
        "; the dashed line is a perfect prediction.*",
        "",
        "### How τ grows with the number of training nets",
        "",
        "The GNN and the best baseline trained on random subsets of each training fold (the "
        "comparison's folds, first cv seed), scored on the whole test fold.",
        "",
        _ranking_summary(ranking_curve if ranking_curve is not None else []),
        "",
        f"![ranking curve]({rel(plots['ranking_curve'])})" if "ranking_curve" in plots else "",
        "",
        "## Which properties go with accuracy (Table 1 layout)",
        "",
        f"Pearson and Spearman correlation of every property with `{target}` "
        "(`graphnets.analysis.correlations`; the 12 properties of Table 1 first).",
        "",
        _md_table(correlations),
        "",
        f"![accuracy vs properties]({rel(plots['properties'])})",
        "",
        "## Learning curves",
        "",
        f"![learning curves]({rel(plots['curves'])})",
        "",
        "## Files",
        "",
        "- `results.csv`: one row per net (spec, seeds, metrics, timings, properties)",
        "- `curves.csv`: per-epoch loss and accuracies; `runs/<id>.json`: the same per net",
        "- `nets/<id>.pt`: trained nets, `graphnets.load(path)`",
        "- `comparison.csv`, `comparison_folds.csv`, `predictions.csv`, `correlations.csv`, "
        "`ranking_curve.csv`",
        "- `config.json`: the settings; rerun `graphnets experiment --out <this folder>` to "
        "resume or extend",
        "",
        "Time per stage (this run): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
        + ".",
        "",
    ]
    write_file(path, "\n".join(lines))
    return path


def _with_std(table):
    """``mean ± std`` cells for every metric of a comparison table."""
    import pandas as pd

    out = pd.DataFrame(index=table.index)
    for m in METRICS:
        out[m] = [
            f"{a:.3f} ± {b:.3f}" if np.isfinite(a) else "nan"
            for a, b in zip(table[f"{m}_mean"], table[f"{m}_std"], strict=True)
        ]
    out["n"] = table["n"]
    out.index.name = "predictor"
    return out
