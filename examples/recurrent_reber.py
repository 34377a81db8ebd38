"""A recurrent GraphNet from a small-world prior learns the Reber grammar.

The net: a Watts–Strogatz graph of ``--nodes`` tanh neurons, oriented into a DAG and embedded
between the 7 one-hot Reber symbols and 2 outputs (``002_…`` Fig. 6b), then made recurrent with
delay-1 edges inside every level (Fig. 6c, ``graphnets.priors.add_recurrent``). It reads a
string one symbol per time step (``net.run``) and classifies it as grammatical or not from its
outputs at the string's last symbol. Data: ``graphnets.data.reber.dataset``, balanced, with
one-edit corruptions as negatives. Training: ``graphnets.train.fit`` (Adam, cross-entropy).

Run it:

    python examples/recurrent_reber.py              # 15 epochs on 3,000 strings: about 97%,
                                                    # in a few seconds
    python examples/recurrent_reber.py --epochs 1   # a quick look

Over seeds 0-3 the test accuracy after 15 epochs is 97.5%, 96.5%, 99.6% and 94.9% (seconds
each on the sequence kernel of ``net.run``). At the learning rate ``1e-2`` of an earlier version
it was 90.9%, 91.5%, 99.7% and 99.3%: half the seeds oscillated, and whether seed 0 did
depended on float rounding. ``5e-3`` is steadier.
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

import graphnets
from graphnets.data import reber
from graphnets.train import fit, format_record


class LastStep(nn.Module):
    """A recurrent GraphNet read at each zero-padded sequence's last real step.

    Shapes: ``x [B, T, n_inputs]`` (rows after a sequence's end are all zero) →
    ``[B, n_outputs]``.
    """

    def __init__(self, net: graphnets.GraphNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net.run(x, batch_first=True)  # [B, T, n_outputs]
        last = (x.abs().sum(-1) > 0).sum(1).clamp(min=1) - 1  # index of the last real step
        return y[torch.arange(len(x)), last]


def main(argv: list[str] | None = None) -> float:
    """Build, train and report; returns the final test accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=40, help="hidden neurons (default: 40)")
    parser.add_argument(
        "--strings",
        type=int,
        default=3000,
        help="Reber strings, half of them corrupted (default: 3000)",
    )
    parser.add_argument("--epochs", type=int, default=15, help="training epochs (default: 15)")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of graph, weights, data and shuffles (default: 0)"
    )
    args = parser.parse_args(argv)

    torch.set_num_threads(1)  # small per-step calls: threads only add overhead
    data = reber.dataset(args.strings, seed=args.seed)
    net = graphnets.priors.watts_strogatz(
        7, 2, args.nodes, 4, 0.3, seed=args.seed, activation="tanh", recurrent="level"
    )
    print(net.summary())
    model = LastStep(net)
    history = fit(
        model,
        data.x_train,
        data.y_train,
        data.x_test,
        data.y_test,
        epochs=args.epochs,
        batch_size=32,
        lr=5e-3,
        seed=args.seed,
        progress=False,
        log=lambda r: print(format_record(r), flush=True),
    )
    acc = history[-1]["test_acc"]
    print(f"test accuracy: {acc:.4f} on {len(data.y_test)} strings")
    return acc


if __name__ == "__main__":
    main()
