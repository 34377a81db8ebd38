"""Reproduce ``004_…`` (Golkar) on 2 CPU cores: emergent MLPs on two shells, and the synaptic
regulator on images.

**Shells (§2, Fig. 3, 4).** A URN of ``S`` neurons and ``I = 4`` iterations learns to tell two
concentric 10-d shells apart (``graphnets.data.shells``) under the L1 regulators of Eq. 5:
Adam (lr 7e-4), the activity term in the loss, the weight term as a proximal step, zero weights
removed every 50 steps. After training, :func:`graphnets.urn.emerge` reads the URN off as a
feed-forward GraphNet on the training data and checks it (``max_diff``, the paper's check by
zeroing every other weight), in float64. Reported per variant, mean ± std over trials: test
accuracy, active neurons, the emergent hidden layer sizes, the weights left. Variants: the plain
rule (Eq. 3) and residual outputs (Eq. 6), both with linear output neurons, and the plain rule
with ReLU outputs as in Eq. 3 to the letter (see ``docs/urn.md`` for why that one is separate).

**Images (§3, Fig. 6).** scikit-learn's digits (8×8) upsampled bilinearly onto the first plane of
a ``side × side × depth`` grid of neurons (``graphnets.urn.grid``; monochrome CIFAR-10 cannot be
downloaded here), 10 outputs at the centre of the last plane, residual outputs (Eq. 6), trained
with and without the synaptic-length term ``c_syn Σ |W_ij| d_ij^γ`` (Eq. 8, 9). Reported: test
accuracy, and the kept weights that go forward (up in ``z``), backward and laterally, with their
mean length in the plane.

The default is small (``S = 500``, 2,000 samples, 100 epochs, 3 trials; a 12×12×4 grid, 20
epochs of batch 64; about 20 minutes on 2 cores) and uses regulators 100 times the paper's,
since it has 10 times fewer neurons and 5 times fewer steps to thin out in. ``--full`` runs
the paper's setting: ``S = 5000``, 5,000 samples (4,000 for training), 200 epochs, 5 trials,
``c_W = 5e-7``, ``c_N = 2e-5``, and a 24×24×6 grid (hours to days on 2 cores: see
``docs/urn.md``).

Run: ``python benchmarks/urn_shells.py [--full] [--figures docs] [--part shells|digits|all]``
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time

import torch.nn.functional as F

from graphnets.data import digits, shells
from graphnets.urn import URN, accuracy, emerge, emergence_figure, fit, grid

PAPER = {
    "active": "123 ± 15",
    "hidden": "115 ± 15, 4 ± 1.4, 3 ± 0.7",
    "residual": "one hidden layer",
}


def _ms(values: list[float], digits_: int = 1) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits_}f}"
    return f"{statistics.mean(values):.{digits_}f} ± {statistics.stdev(values):.{digits_}f}"


def shells_trial(args, seed: int, residual: str | None, output_activation: str | None) -> dict:
    x, y, x_test, y_test = shells(args.samples, seed=seed)
    urn = URN(args.S, 4, 10, 2, residual=residual, output_activation=output_activation, seed=seed)
    t0 = time.perf_counter()
    records = fit(
        urn,
        x,
        y,
        x_test,
        y_test,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=7e-4,
        c_W=args.c_W,
        c_N=args.c_N,
        sparsify_every=50,
        seed=seed,
    )
    seconds = time.perf_counter() - t0
    exact = copy.deepcopy(urn).double()
    net, report = emerge(exact, x.double(), tol=1e-5)
    return {
        "urn": urn,
        "exact": exact,
        "x": x.double(),
        "report": report,
        "net": net,
        "acc": records[-1]["test_acc"],
        "density": urn.density,
        "seconds": seconds,
        "first": records[0]["seconds"],
        "last": records[-1]["seconds"],
    }


def shells_part(args) -> list[str]:
    variants = [
        ("plain (Eq. 3), linear outputs", None, "identity"),
        ("residual outputs (Eq. 6), linear outputs", "output", "identity"),
        ("plain (Eq. 3), ReLU outputs", None, None),
    ]
    rows = [
        f"S = {args.S}, I = 4, {args.samples} samples ({args.samples * 4 // 5} to train), "
        f"{args.epochs} epochs, batch {args.batch_size}, c_W = {args.c_W:g}, c_N = {args.c_N:g}, "
        f"{args.trials} trials (seeds 0..{args.trials - 1})",
        "",
        "| variant | test accuracy | active neurons | emergent hidden layers (iterations 1, 2, 3)"
        " | weights left | neurons kept at 2+ iterations | max diff | seconds (first → last "
        "epoch) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, residual, out_act in variants:
        trials = []
        for s in range(args.trials):
            trials.append(shells_trial(args, s, residual, out_act))
            t = trials[-1]
            print(
                f"{name}, seed {s}: acc {t['acc']:.3f}, hidden {t['report'].hidden}, "
                f"{t['seconds']:.0f} s",
                file=sys.stderr,
                flush=True,
            )
        reps = [t["report"] for t in trials]
        hidden = [
            _ms([float(r.hidden[k]) for r in reps]) for k in range(3)
        ]  # iterations 1..3 (the last iteration holds the outputs)
        rows.append(
            f"| {name} | {_ms([t['acc'] for t in trials], 3)} | "
            f"{_ms([float(r.active) for r in reps])} | {', '.join(hidden)} | "
            f"{_ms([t['density'] * 100 for t in trials], 2)} % | "
            f"{_ms([float(r.reused) for r in reps])} | "
            f"{max(r.max_diff for r in reps):.1e} | "
            f"{_ms([t['first'] for t in trials], 2)} → {_ms([t['last'] for t in trials], 2)} |"
        )
        for k, t in enumerate(trials):
            r = t["report"]
            rows.append(
                f"|   seed {k} | {t['acc']:.3f} | {r.active} | {r.hidden[:3]} | "
                f"{t['density']:.2%} | {r.reused} | {r.max_diff:.1e} | "
                f"{t['first']:.2f} → {t['last']:.2f} |"
            )
        if args.figures and out_act == "identity":
            t = trials[0]
            tag = "shells" if residual is None else "shells_residual"
            emergence_figure(
                t["exact"],
                t["x"],
                t["report"],
                f"{args.figures}/urn_{tag}.png",
                title=f"URN on two shells, {name} (seed 0)",
            )
            rows.append(f"\nseed 0, {name}:\n\n{t['report'].table()}\n")
    rows.append(
        f"\npaper (S = 5000): {PAPER['active']} active neurons; hidden layers {PAPER['hidden']}; "
        f"with residual outputs {PAPER['residual']}; 100% test accuracy"
    )
    return rows


def _digits_on_plane(side: int):
    x, y, x_test, y_test = digits(seed=0)

    def up(a):
        return F.interpolate(
            a.view(-1, 1, 8, 8), size=(side, side), mode="bilinear", align_corners=False
        ).reshape(-1, side * side)

    return up(x), y, up(x_test), y_test


def digits_run(args, c_syn: float) -> dict:
    side, depth = args.side, args.depth
    x, y, x_test, y_test = _digits_on_plane(side)
    geometry = grid(side, side, depth, 10, beta=args.beta)
    urn = URN(
        side * side * depth,
        4,
        side * side,
        10,
        residual="output",
        output_activation="identity",
        geometry=geometry,
        seed=0,
    )
    t0 = time.perf_counter()
    fit(
        urn,
        x,
        y,
        epochs=args.digit_epochs,
        batch_size=64,
        lr=7e-4,
        c_W=args.digit_c_W,
        c_N=args.digit_c_N,
        c_syn=c_syn,
        gamma=args.gamma,
        sparsify_every=50,
        seed=0,
    )
    seconds = time.perf_counter() - t0
    acc = accuracy(urn, x_test, y_test)
    exact = copy.deepcopy(urn).double()
    _, report = emerge(exact, x_test.double(), tol=1e-5)
    # every nonzero weight, by height, and the in-plane length of the kept ones
    src, dst = urn.net.edge_index
    z = geometry.z()
    up_, down, flat = int((z[dst] > z[src]).sum()), int((z[dst] < z[src]).sum()), 0
    flat = urn.num_edges - up_ - down
    plane = (geometry.coords[dst, :2] - geometry.coords[src, :2]).norm(dim=1)
    return {
        "acc": acc,
        "report": report,
        "all": (up_, down, flat),
        "plane": float(plane.mean()) if plane.numel() else 0.0,
        "edges": urn.num_edges,
        "density": urn.density,
        "seconds": seconds,
    }


def digits_part(args) -> list[str]:
    S = args.side**2 * args.depth
    rows = [
        f"digits 8×8 upsampled to {args.side}×{args.side}, a {args.side}×{args.side}×"
        f"{args.depth} grid (S = {S}), 10 outputs at the centre of the last plane, I = 4, "
        f"residual outputs, {args.digit_epochs} epochs of batch 64, c_W = {args.digit_c_W:g}, "
        f"c_N = {args.digit_c_N:g}, β = {args.beta:g}, γ = {args.gamma:g}",
        "",
        "| c_syn | test accuracy | weights left | forward / backward / lateral (all weights) | "
        "forward / backward / lateral (emergent net) | mean in-plane length | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for c_syn in (0.0, args.c_syn):
        r = digits_run(args, c_syn)
        total = max(sum(r["all"]), 1)
        zd = r["report"].z_directions
        kept = max(sum(zd.values()), 1)
        rows.append(
            f"| {c_syn:g} | {r['acc']:.3f} | {r['edges']:,} ({r['density']:.2%}) | "
            + " / ".join(f"{v / total:.1%}" for v in r["all"])
            + " | "
            + " / ".join(f"{zd[k] / kept:.1%}" for k in ("forward", "backward", "lateral"))
            + f" | {r['plane']:.2f} | {r['seconds']:.0f} |"
        )
    rows.append(
        "\npaper (monochrome CIFAR-10, 60×60×6): with c_syn a feed-forward, locally connected "
        "net with very few backward or lateral weights, 52% test accuracy, 10 points above the "
        "same URN without c_syn"
    )
    return rows


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="the paper's setting (very long)")
    ap.add_argument("--part", choices=("shells", "digits", "all"), default="all")
    ap.add_argument("--figures", default=None, help="folder for the PNG figures")
    ap.add_argument("--trials", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--digit-epochs", type=int, default=None)
    args = ap.parse_args(argv)
    full = args.full
    args.S = 5000 if full else 500
    args.samples = 5000 if full else 2000
    args.epochs = args.epochs or (200 if full else 100)
    args.trials = args.trials or (5 if full else 3)
    args.batch_size = 32
    args.c_W, args.c_N = (5e-7, 2e-5) if full else (5e-5, 2e-3)
    args.side, args.depth = (24, 6) if full else (12, 4)
    args.digit_epochs = args.digit_epochs or (100 if full else 20)
    args.digit_c_W, args.digit_c_N = (5e-7, 2e-5) if full else (5e-5, 2e-3)
    args.beta, args.gamma = 1.0, 1.0
    args.c_syn = args.digit_c_W
    rows: list[str] = []
    if args.part in ("shells", "all"):
        rows += shells_part(args)
    if args.part in ("digits", "all"):
        rows += ["", *digits_part(args)]
    print("\n".join(rows))
    return rows


if __name__ == "__main__":
    main()
