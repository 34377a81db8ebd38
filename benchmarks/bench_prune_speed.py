"""Speed that follows sparsity: the pruned 784-300-100-10 net vs the dense nn.Sequential.

The rows of issue 16 §1, each against its target: the dense GraphNet; the net pruned one-shot to
50/80/90/95/99% with class-blinded magnitude pruning (``graphnets.prune.one_shot``, which
removes the edges); and the net with a random 90/99% of its edges removed (``remove_edges``).
Reference in the same run, interleaved: the dense ``nn.Sequential`` (and, for the
magnitude rows, in a second interleave of its own, the same ``nn.Sequential`` pruned with
``torch.nn.utils.prune`` masks).
Forward + cross-entropy + backward per batch of 256, medians. The FLOP column is the pruned
net's multiply-adds over the dense net's: the arithmetic limit of the ratio. The last two rows,
the floors, time against the same dense net what every step pays whatever its arithmetic: the
loss alone (cross-entropy and its backward on ``[256, 10]`` logits), and the smallest torch model
from the same inputs to the same outputs (one ``nn.Linear(784, 10)``, the same loss and
backward).

``--threads`` sets torch's (and the C++ kernels') thread count for both sides alike. ``--window
W`` times each side in turns of ``W`` consecutive steps (default 1: every step right after the
other sides', whose data then fill the caches; a training loop's steady state is a window of
many, see ``common.interleaved``).

Run: ``python benchmarks/bench_prune_speed.py [--repeats N] [--threads T] [--window W]``
"""

from __future__ import annotations

import argparse

import torch
from common import interleaved, machine, train_step
from torch.nn.utils import prune as torch_prune

import graphnets

MAGNITUDE = ((0.5, 1.0), (0.8, 0.8), (0.9, 0.5), (0.95, 0.3), (0.99, 0.1))
RANDOM = ((0.9, 0.4), (0.99, 0.1))
DENSE_EDGES = 784 * 300 + 300 * 100 + 100 * 10


def sequential() -> torch.nn.Sequential:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(784, 300),
        torch.nn.ReLU(),
        torch.nn.Linear(300, 100),
        torch.nn.ReLU(),
        torch.nn.Linear(100, 10),
    )


def random_pruned(removed: float) -> graphnets.GraphNet:
    """The dense net with a random ``removed`` fraction of its edges gone."""
    net = graphnets.from_torch(sequential())
    order = torch.randperm(net.num_edges, generator=torch.Generator().manual_seed(0))
    gone = torch.zeros(net.num_edges, dtype=torch.bool)
    gone[order[: round(net.num_edges * removed)]] = True
    net.remove_edges(gone)
    return net


def masked(amount: float) -> torch.nn.Sequential:
    seq = sequential()
    linears = [(m, "weight") for m in seq if isinstance(m, torch.nn.Linear)]
    torch_prune.global_unstructured(
        linears, pruning_method=torch_prune.L1Unstructured, amount=amount
    )
    return seq


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--window", type=int, default=1, help="consecutive steps per turn")
    ap.add_argument("--plot", default=None, help="also draw the ratios against the edges kept")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    x, y = torch.randn(256, 784), torch.randint(0, 10, (256,))
    dense = sequential()
    cases: list[tuple[str, graphnets.GraphNet, float, torch.nn.Module | None]] = [
        ("dense", graphnets.from_torch(sequential()), 1.05, None)
    ]
    for amount, target in MAGNITUDE:
        net = graphnets.from_torch(sequential())
        graphnets.prune.one_shot(net, amount)
        cases.append((f"magnitude {amount:.0%}", net, target, masked(amount)))
    for amount, target in RANDOM:
        cases.append((f"random {amount:.0%}", random_pruned(amount), target, None))
    rows = [
        f"machine: {machine()}; steps timed in windows of {args.window}",
        "| net | edges | FLOP limit | GraphNet | kernels | vs dense nn.Sequential | target "
        "| vs masked nn.Sequential |",
        "|---|---|---|---|---|---|---|---|",
    ]
    points: list[tuple[str, float, float, float | None]] = []
    for name, net, target, mask_ref in cases:
        # each ratio from its own pair, so that at window 1 the net's step always follows its
        # reference's (with the masked net as a third side, the magnitude rows' steps followed
        # the masked one, whose fresh 1 MB of masked weights per step cost them ~0.2 ms cold)
        step = train_step(net, x, y)
        t = interleaved(
            {"net": step, "dense": train_step(dense, x, y)},
            repeats=args.repeats,
            warmup=10,
            window=args.window,
        )
        kinds = ",".join(sorted(set(net.schedule.kinds()) - {"bias"}))
        ratio = t["net"] / t["dense"]
        points.append((name, net.num_edges / DENSE_EDGES, ratio, target))
        vs_masked = "-"
        if mask_ref is not None:
            tm = interleaved(
                {"net": step, "masked": train_step(mask_ref, x, y)},
                repeats=args.repeats,
                warmup=10,
                window=args.window,
            )
            vs_masked = f"{tm['net'] / tm['masked']:.2f}"
        rows.append(
            f"| {name} | {net.num_edges:,} | {net.num_edges / DENSE_EDGES:.3f} | "
            f"{t['net'] * 1e3:.2f} ms | {kinds} | **{ratio:.2f}** ({t['dense'] * 1e3:.2f} ms) | "
            f"{'<=' if ratio <= target else 'MISSED >'} {target} | {vs_masked} |"
        )
    # the floors: what any torch model from these 784 inputs to these 10 outputs pays per step
    # whatever its arithmetic, timed against the same dense net: the loss alone (cross-entropy
    # and its backward on a [256, 10] leaf, as in every step), and the smallest model (one
    # nn.Linear(784, 10): one product, the same loss and backward)
    logits = torch.randn(256, 10, requires_grad=True)
    loss_fn = torch.nn.CrossEntropyLoss()

    def loss_alone() -> None:
        logits.grad = None
        loss_fn(logits, y).backward()

    floors = (
        ("floor: the loss alone", 0, loss_alone),
        ("floor: nn.Linear(784, 10)", 784 * 10, train_step(torch.nn.Linear(784, 10), x, y)),
    )
    for name, edges, fn in floors:
        t = interleaved(
            {"net": fn, "dense": train_step(dense, x, y)},
            repeats=args.repeats,
            warmup=10,
            window=args.window,
        )
        points.append((name, edges / DENSE_EDGES, t["net"] / t["dense"], None))
        rows.append(
            f"| {name} | {edges:,} | {edges / DENSE_EDGES:.3f} | {t['net'] * 1e3:.2f} ms | torch "
            f"| **{t['net'] / t['dense']:.2f}** ({t['dense'] * 1e3:.2f} ms) | - | - |"
        )
    print("\n".join(rows))
    if args.plot:
        plot(points, args.plot, f"{torch.get_num_threads()} thread(s), windows of {args.window}")
    return rows


def plot(points: list[tuple[str, float, float, float | None]], path: str, how: str) -> None:
    """The step-time ratios against the fraction of edges kept, log-log, with the targets, the
    FLOP limit (the ratio equal to the edges kept) and the floors."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.add_subplot()
    kept = [1.0, 0.5, 0.2, 0.1, 0.05, 0.01]
    ax.plot(kept, kept, ":", color="grey", label="FLOP limit (ratio = edges kept)")
    ax.axhline(1.0, color="black", lw=0.8)
    for kind, marker in (("magnitude", "o"), ("random", "s")):
        pts = sorted(
            (p for p in points if p[0].startswith(kind) or (p[0] == "dense")),
            key=lambda p: -p[1],
        )
        ax.plot([p[1] for p in pts], [p[2] for p in pts], marker=marker, label=f"GraphNet, {kind}")
    targets = [p for p in points if p[3] is not None]
    ax.scatter(
        [p[1] for p in targets],
        [p[3] for p in targets],
        marker="_",
        s=300,
        color="red",
        label="target (at most)",
        zorder=3,
    )
    for name, _, ratio, _ in points:
        if name.startswith("floor"):
            ax.axhline(
                ratio,
                ls="--",
                lw=0.8,
                color="tab:green" if "loss" in name else "tab:olive",
                label=name,
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("edges kept (fraction of the dense 784-300-100-10 net)")
    ax.set_ylabel("training step / dense nn.Sequential's")
    ax.set_title(f"Pruned GraphNet vs dense nn.Sequential, batch 256 ({how})", fontsize=9)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    main()
