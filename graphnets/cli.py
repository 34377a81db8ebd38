"""The ``graphnets`` command line: ``graphnets <command> [options]`` (or ``python -m graphnets``).

Every subcommand is a :class:`Command` in :data:`COMMANDS`: a name, a one-line help, a function
that adds its options to an ``argparse`` parser and a function that runs it and returns the exit
code. Adding a subcommand means writing those two functions and appending one ``Command``.

Option values are checked by ``argparse`` types (:func:`positive_int`, :func:`positive_float`,
:func:`probability`), so a bad value exits with status 2 and a message naming it; checks that
involve two options go through :func:`usage_error`.

Commands:
    demo    Train a Watts–Strogatz random-graph network on the bundled digits data.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Command", "COMMANDS", "build_parser", "main", "positive_int", "positive_float",
           "probability", "nonnegative_int", "usage_error"]


# -- argument types ---------------------------------------------------------------------------
def _typed(text: str, cast: Callable[[str], float], ok: Callable[[float], bool], expected: str):
    """``cast(text)`` if it parses and passes ``ok``, else the argparse error naming it."""
    try:
        value = cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """``argparse`` type: an int ``>= 1``.

    Example:
        >>> positive_int("3")
        3
    """
    return _typed(text, int, lambda v: v >= 1, "a positive int")


def nonnegative_int(text: str) -> int:
    """``argparse`` type: an int ``>= 0`` (e.g. a seed)."""
    return _typed(text, int, lambda v: v >= 0, "an int >= 0")


def positive_float(text: str) -> float:
    """``argparse`` type: a finite float ``> 0``."""
    return _typed(text, float, lambda v: 0 < v < float("inf"), "a positive finite number")


def probability(text: str) -> float:
    """``argparse`` type: a float in ``[0, 1]``."""
    return _typed(text, float, lambda v: 0.0 <= v <= 1.0, "a probability in [0, 1]")


def usage_error(args: argparse.Namespace, message: str) -> None:
    """Exit with status 2 and ``message``, as ``argparse`` does for a bad option value."""
    args.command_parser.error(message)


# -- commands ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Command:
    """A subcommand: ``configure`` adds its options, ``run`` runs it and returns the exit code."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _configure_demo(parser: argparse.ArgumentParser) -> None:
    from .schedule import KERNELS

    graph = parser.add_argument_group(
        "network (a Watts–Strogatz prior between 64 inputs and 10 outputs)"
    )
    graph.add_argument("--nodes", type=positive_int, default=200, metavar="N",
                       help="hidden nodes of the small-world graph (default: %(default)s)")
    graph.add_argument("--k", type=positive_int, default=6, metavar="K",
                       help="ring neighbours of every node, 2 <= K < N; odd K acts as K-1, as in "
                            "networkx (default: %(default)s)")
    graph.add_argument("--p", type=probability, default=0.3, metavar="P",
                       help="rewiring probability in [0, 1] (default: %(default)s)")
    graph.add_argument("--kernel", choices=KERNELS, default="auto",
                       help="kernel of the schedule (default: %(default)s)")
    train = parser.add_argument_group("training (Adam, cross-entropy)")
    train.add_argument("--epochs", type=positive_int, default=10,
                       help="passes over the training set (default: %(default)s)")
    train.add_argument("--batch-size", type=positive_int, default=64, metavar="B",
                       help="samples per step (default: %(default)s)")
    train.add_argument("--lr", type=positive_float, default=1e-2,
                       help="learning rate (default: %(default)s)")
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="seed of the graph, the weights, the split and the shuffles "
                             "(default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true",
                        help="hide the per-epoch progress bars")


def run_demo(args: argparse.Namespace) -> int:
    """Build a Watts–Strogatz net, train it on digits, print its summary and accuracy."""
    if args.k < 2 or args.k >= args.nodes:
        usage_error(args, f"argument --k: expected 2 <= K < --nodes ({args.nodes}), got {args.k}")

    from . import priors
    from .data import digits
    from .train import fit, format_record

    start = time.perf_counter()
    x_train, y_train, x_test, y_test = digits(seed=args.seed)
    print(
        f"Watts–Strogatz prior: {args.nodes} hidden nodes, k={args.k}, p={args.p}, "
        f"seed={args.seed}, between {x_train.shape[1]} inputs and 10 outputs"
    )
    print(f"data: digits (scikit-learn), {len(x_train)} training and {len(x_test)} test samples",
          flush=True)
    net = priors.watts_strogatz(
        x_train.shape[1], 10, args.nodes, args.k, args.p, seed=args.seed, kernel=args.kernel
    )
    print()
    print(net.summary())
    print()
    print(f"training: {args.epochs} epochs, batch size {args.batch_size}, Adam lr {args.lr}")
    history = fit(
        net, x_train, y_train, x_test, y_test, epochs=args.epochs, batch_size=args.batch_size,
        lr=args.lr, seed=args.seed, progress=not args.no_progress,
        log=lambda record: print(format_record(record), flush=True),
    )
    seconds = time.perf_counter() - start
    print(f"test accuracy: {history[-1]['test_acc']:.4f} "
          f"(best {max(r['test_acc'] for r in history):.4f}; {seconds:.1f} s in all)")
    return 0


#: The subcommands, in the order ``graphnets --help`` lists them.
COMMANDS: list[Command] = [
    Command("demo", "train a Watts–Strogatz random-graph net on the bundled digits data",
            _configure_demo, run_demo),
]


# -- entry point ------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per :data:`COMMANDS` entry."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="graphnets",
        description="Neural networks as explicit directed graphs of neurons.",
    )
    parser.add_argument("--version", action="version", version=f"graphnets {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                title="commands")
    for cmd in COMMANDS:
        description = cmd.help[:1].upper() + cmd.help[1:] + "."
        p = sub.add_parser(cmd.name, help=cmd.help, description=description)
        cmd.configure(p)
        p.set_defaults(run=cmd.run, command_parser=p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    Bad usage exits through ``SystemExit(2)`` with a message on stderr, as ``argparse`` does.

    Example:
        >>> main(["demo", "--epochs", "0"])
        Traceback (most recent call last):
        ...
        SystemExit: 2
    """
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        return args.run(args)
    except BrokenPipeError:
        # the reader went away (``graphnets demo | head``): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
