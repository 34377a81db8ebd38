"""Speed that follows sparsity: the pruned 784-300-100-10 net vs dense and masked nn.Sequential.

The net is pruned one-shot to 50/80/90/95/99% with class-blinded magnitude pruning
(``graphnets.prune.one_shot``), which removes the edges. References in the same run: the dense
``nn.Sequential``, and the same ``nn.Sequential`` pruned to the same amount with
``torch.nn.utils.prune.global_unstructured`` (L1), which keeps every weight and multiplies by a
mask. Forward + cross-entropy + backward per batch of 256, interleaved, medians.

Run: ``python benchmarks/bench_prune_speed.py``
"""

from __future__ import annotations

import argparse

import torch
from common import interleaved, machine, train_step
from torch.nn.utils import prune as torch_prune

import graphnets

AMOUNTS = (0.5, 0.8, 0.9, 0.95, 0.99)


def sequential() -> torch.nn.Sequential:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(784, 300),
        torch.nn.ReLU(),
        torch.nn.Linear(300, 100),
        torch.nn.ReLU(),
        torch.nn.Linear(100, 10),
    )


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=40)
    args = ap.parse_args(argv)
    x, y = torch.randn(256, 784), torch.randint(0, 10, (256,))
    dense = sequential()
    rows = [
        f"machine: {machine()}",
        "| removed | edges | GraphNet | kernels | vs dense nn.Sequential "
        "| vs masked nn.Sequential |",
        "|---|---|---|---|---|---|",
    ]
    for amount in AMOUNTS:
        net = graphnets.from_torch(sequential())
        graphnets.prune.one_shot(net, amount)
        masked = sequential()
        linears = [(m, "weight") for m in masked if isinstance(m, torch.nn.Linear)]
        torch_prune.global_unstructured(
            linears, pruning_method=torch_prune.L1Unstructured, amount=amount
        )
        t = interleaved(
            {
                "net": train_step(net, x, y),
                "dense": train_step(dense, x, y),
                "masked": train_step(masked, x, y),
            },
            repeats=args.repeats,
        )
        kinds = ",".join(sorted(set(net.schedule.kinds()) - {"bias"}))
        rows.append(
            f"| {amount:.0%} | {net.num_edges:,} | {t['net'] * 1e3:.2f} ms | {kinds} | "
            f"**{t['net'] / t['dense']:.2f}** ({t['dense'] * 1e3:.2f} ms) | "
            f"**{t['net'] / t['masked']:.2f}** ({t['masked'] * 1e3:.2f} ms) |"
        )
    print("\n".join(rows))
    return rows


if __name__ == "__main__":
    main()
