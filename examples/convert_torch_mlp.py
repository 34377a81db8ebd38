"""Convert a trained ``torch.nn.Sequential`` into a GraphNet and check that both agree.

A small MLP is trained with plain torch on the digits data, converted with
:func:`graphnets.from_torch`, and the two are compared on the test set: the largest difference
of the logits, whether every prediction agrees, and both accuracies. The GraphNet is then an
explicit graph (nodes ``(layer, unit)``) that can be inspected or edited like any other.

Run it:

    python examples/convert_torch_mlp.py
    python examples/convert_torch_mlp.py --epochs 1
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

import graphnets
from graphnets.data import digits
from graphnets.train import accuracy, fit


def main(argv: list[str] | None = None) -> float:
    """Train, convert, compare; returns the largest absolute difference of the logits."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="torch training epochs (default: 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    seq = nn.Sequential(
        nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, 10)
    )
    x_train, y_train, x_test, y_test = digits(seed=args.seed)
    if args.epochs > 0:  # --epochs 0 converts the untrained model
        # fit trains any nn.Module that maps x to logits, here the plain torch model
        fit(
            seq,
            x_train,
            y_train,
            x_test,
            y_test,
            epochs=args.epochs,
            seed=args.seed,
            progress=False,
        )

    net = graphnets.from_torch(seq)
    print(seq)
    print(net)
    print(
        f"levels: {[len(level) for level in net.levels]} nodes, activations "
        f"{sorted(set(net.activations.values()))}"
    )

    with torch.no_grad():
        y_torch, y_graph = seq(x_test), net(x_test)
    diff = float((y_torch - y_graph).abs().max())
    same = bool((y_torch.argmax(1) == y_graph.argmax(1)).all())
    print(f"largest |torch - graphnets| logit difference: {diff:.2e}")
    print(f"same predictions on all {len(x_test)} test samples: {same}")
    print(
        f"test accuracy: torch {accuracy(seq, x_test, y_test):.4f}, "
        f"graphnets {accuracy(net, x_test, y_test):.4f}"
    )
    return diff


if __name__ == "__main__":
    main()
