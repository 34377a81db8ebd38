"""The ``graphnets`` command line: ``graphnets <command> [options]`` (or ``python -m graphnets``).

Every subcommand is a :class:`Command` in :data:`COMMANDS`: a name, a one-line help, a function
that adds its options to an ``argparse`` parser and a function that runs it and returns the exit
code. Adding a subcommand means writing those two functions and appending one ``Command``.

Option values are checked by ``argparse`` types (:func:`positive_int`, :func:`positive_float`,
:func:`probability`), so a bad value exits with status 2 and a message naming it; checks that
involve two options go through :func:`usage_error`.

Commands:
    experiment    Sample, train, measure and predict random-graph nets; write a report.
    search        Architecture search (random, genetic, predictor-assisted), resumable.
    demo          Train a Watts–Strogatz random-graph network on the bundled digits data.
    build-kernel  Compile the C++ kernels now (``make setup`` runs it), not on first use.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._util.version import VERSION
from .builders import priors
from .data import digits
from .experiment import (
    EXECUTORS,
    STAGES,
    ConfigError,
    FolderError,
    StageError,
    format_summary,
    resolve,
    run,
)
from .kernels import KERNELS
from .train import fit, format_record

__all__ = [
    "Command",
    "COMMANDS",
    "build_parser",
    "main",
    "positive_int",
    "positive_float",
    "probability",
    "nonnegative_int",
    "usage_error",
]


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

    graph = parser.add_argument_group(
        "network (a Watts–Strogatz prior between 64 inputs and 10 outputs)"
    )
    graph.add_argument(
        "--nodes",
        type=positive_int,
        default=200,
        metavar="N",
        help="hidden nodes of the small-world graph (default: %(default)s)",
    )
    graph.add_argument(
        "--k",
        type=positive_int,
        default=6,
        metavar="K",
        help="ring neighbours of every node, 2 <= K < N; odd K acts as K-1, as in "
        "networkx (default: %(default)s)",
    )
    graph.add_argument(
        "--p",
        type=probability,
        default=0.3,
        metavar="P",
        help="rewiring probability in [0, 1] (default: %(default)s)",
    )
    graph.add_argument(
        "--kernel",
        choices=KERNELS,
        default="auto",
        help="kernel of the schedule (default: %(default)s)",
    )
    train = parser.add_argument_group("training (Adam, cross-entropy)")
    train.add_argument(
        "--epochs",
        type=positive_int,
        default=10,
        help="passes over the training set (default: %(default)s)",
    )
    train.add_argument(
        "--batch-size",
        type=positive_int,
        default=64,
        metavar="B",
        help="samples per step (default: %(default)s)",
    )
    train.add_argument(
        "--lr", type=positive_float, default=1e-2, help="learning rate (default: %(default)s)"
    )
    parser.add_argument(
        "--seed",
        type=nonnegative_int,
        default=0,
        help="seed of the graph, the weights, the split and the shuffles (default: %(default)s)",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="hide the per-epoch progress bars"
    )


def run_demo(args: argparse.Namespace) -> int:
    """Build a Watts–Strogatz net, train it on digits, print its summary and accuracy."""
    if args.k < 2 or args.k >= args.nodes:
        usage_error(args, f"argument --k: expected 2 <= K < --nodes ({args.nodes}), got {args.k}")

    start = time.perf_counter()
    x_train, y_train, x_test, y_test = digits(seed=args.seed)
    print(
        f"Watts–Strogatz prior: {args.nodes} hidden nodes, k={args.k}, p={args.p}, "
        f"seed={args.seed}, between {x_train.shape[1]} inputs and 10 outputs"
    )
    print(
        f"data: digits (scikit-learn), {len(x_train)} training and {len(x_test)} test samples",
        flush=True,
    )
    net = priors.watts_strogatz(
        x_train.shape[1], 10, args.nodes, args.k, args.p, seed=args.seed, kernel=args.kernel
    )
    print()
    print(net.summary())
    print()
    print(f"training: {args.epochs} epochs, batch size {args.batch_size}, Adam lr {args.lr}")
    history = fit(
        net,
        x_train,
        y_train,
        x_test,
        y_test,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        progress=not args.no_progress,
        log=lambda record: print(format_record(record), flush=True),
    )
    seconds = time.perf_counter() - start
    print(
        f"test accuracy: {history[-1]['test_acc']:.4f} "
        f"(best {max(r['test_acc'] for r in history):.4f}; {seconds:.1f} s in all)"
    )
    return 0


_EXPERIMENT_HELP = """\
Sample architectures from random-graph priors, train them, measure their structure, learn to
predict their performance, and write a report: the stages sample -> train -> measure -> predict
-> report, into the results folder --out.

Settings come from the bundled default configuration (shown by --show-config; documented in
docs/experiment.md), a TOML file given with --config merged over it, and the flags below, which
override both. Without --config, a folder that already holds results keeps its own settings
(its config.json), so `graphnets experiment --out DIR` resumes DIR and `--graphs N` extends it.

Resuming: every finished training is saved at once (nets/<id>.pt, runs/<id>.json); an
interrupted run (Ctrl-C, a crash, a kill) loses at most the trainings in flight. Rerunning the
same command skips the finished nets and trains the rest; a larger --graphs trains only the new
nets. Settings that define a row (seed, [data], [sample], [train]) cannot change in a folder:
such a run is refused with the list of changes; use a new --out folder. Changing [measure],
[predict] or [report] settings reruns only those stages.

The folder defends itself: one run at a time (a second run on the same --out is refused while
the first holds its lock, DIR/.lock); every finished run records the SHA-256 of its files, and a
damaged or missing one is named and trained again; settings are checked before any net trains;
a finished folder on a read-only disk opens (a rerun with nothing to do writes nothing).

Outputs: results.csv (one row per net), curves.csv, nets/, comparison.csv, correlations.csv,
predictions.csv (each table also as .parquet, with its column types; read them all with
graphnets.experiment.load), plots/*.png and report.md. Exit status: 0 done, 1 refused or
failed (message on stderr), 2 bad usage, 130 interrupted.
"""


def _configure_experiment(parser: argparse.ArgumentParser) -> None:

    parser.description = _EXPERIMENT_HELP
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--out",
        default=os.path.join("results", "experiment"),
        metavar="DIR",
        help="results folder; created, or resumed if it holds results (default: %(default)s)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="TOML configuration merged over the bundled default (see "
        "--show-config and docs/experiment.md)",
    )
    parser.add_argument(
        "--stage",
        choices=STAGES + ("all",),
        default="all",
        help="run one stage on the folder: sample, train (only the unfinished "
        "nets), measure (graph properties), predict (cross-validated "
        "predictors and correlations), report (plots and report.md); "
        "'all' runs them in order and skips measure/predict when they are "
        "up to date (default: %(default)s)",
    )
    parser.add_argument(
        "--graphs",
        type=positive_int,
        metavar="N",
        help="number of nets (sample.graphs); growing it trains only new nets",
    )
    parser.add_argument(
        "--epochs", type=positive_int, metavar="N", help="training epochs per net (train.epochs)"
    )
    parser.add_argument(
        "--seed",
        type=nonnegative_int,
        metavar="N",
        help="experiment seed: net i's graph, weights and shuffles come from (seed, i) only",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="parallel trainings (run.workers): 1 trains in this process, N > 1 "
        "in N local processes with one torch thread each; with --executor "
        "ray, the CPUs of a local Ray runtime",
    )
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        help="local processes, or Ray tasks (run.executor; needs pip install 'graphnets[ray]')",
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="Ray cluster to join, e.g. auto or HOST:6379 (run.ray_address); "
        "empty: start a local Ray runtime",
    )
    parser.add_argument(
        "--show-config",
        action="store_true",
        help="print the resolved configuration as JSON and exit",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="hide the progress bars (stderr)"
    )


def run_experiment(args: argparse.Namespace) -> int:
    """Resolve the configuration, run the stages, print the summary."""
    import json

    overrides: dict = {}
    for flag, (section, key) in {
        "graphs": ("sample", "graphs"),
        "epochs": ("train", "epochs"),
        "workers": ("run", "workers"),
        "executor": ("run", "executor"),
        "ray_address": ("run", "ray_address"),
    }.items():
        if getattr(args, flag) is not None:
            overrides.setdefault(section, {})[key] = getattr(args, flag)
    if args.seed is not None:
        overrides["seed"] = args.seed
    try:
        config = resolve(args.out, args.config, overrides)
        if args.show_config:
            print(json.dumps(config, indent=2))
            return 0
        summary = run(
            config,
            args.out,
            stage=args.stage,
            progress=not args.no_progress,
            log=lambda line: print(line, flush=True),
        )
    except (ConfigError, StageError, FolderError, OSError, ImportError) as err:
        # one line naming what and where; OSError: a file or folder the library could not
        # name better (FileNotFoundError for --config among them)
        print(f"graphnets experiment: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "graphnets experiment: interrupted; finished trainings are saved, rerun the same "
            "command to resume",
            file=sys.stderr,
        )
        return 130
    print(format_summary(summary))
    return 0


def _configure_build_kernel(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Compile the C++ kernels (the fused feed-forward kernel and the recurrent one of cells "
        "and net.run) for this environment, torch and CPU, so that the first forward pass does "
        "not stop for them (about 20-60 s each, once; `make setup` runs this). A "
        "cached build made for another torch or CPU is never loaded: it has another name, and "
        "this builds a new one. Without a C++ compiler it says so in one line and exits 0: "
        "graphnets then uses its pure-torch kernels."
    )


def run_build_kernel(args: argparse.Namespace) -> int:
    """Build the fused and the recurrent kernels (or say why not, one line each); 0 unless
    asked for and broken."""
    import logging
    import warnings

    from .kernels import fused

    if os.environ.get("GRAPHNETS_NO_CPP", "") not in ("", "0"):
        print(
            "graphnets build-kernel: GRAPHNETS_NO_CPP is set, nothing to build: graphnets uses "
            "its pure-torch kernels"
        )
        return 0
    path = fused.built_path()
    missing = None if path is not None else fused.compiler_missing()
    if missing is not None:
        print(
            f"graphnets build-kernel: {missing}: graphnets uses its pure-torch kernels; install "
            "g++ (or set CXX) and rerun this for the faster fused C++ kernel"
        )
        return 0
    from .kernels import recurrent

    # torch's own compiler warnings would bury the lines below
    log = logging.getLogger("torch.utils.cpp_extension")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        for what, module in (("fused", fused), ("recurrent", recurrent)):
            built = module.built_path()
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                ok = module.available()
            if ok and built is not None:
                print(f"graphnets build-kernel: the {what} C++ kernel is already built: {built}")
            elif ok:
                print(
                    f"graphnets build-kernel: built the {what} C++ kernel in "
                    f"{time.perf_counter() - start:.0f} s: {module.built_path()}"
                )
            else:
                print(
                    f"graphnets build-kernel: the {what} C++ kernel is not available "
                    f"({module.why_unavailable()}); graphnets uses its pure-torch kernels"
                )
    finally:
        log.setLevel(level)
    return 0


# -- search ----------------------------------------------------------------------------------
def _configure_search(parser: argparse.ArgumentParser) -> None:
    from .experiment.search import DEFAULTS, SPACES
    from .methods.search import STRATEGIES

    parser.add_argument(
        "--out",
        default=os.path.join("results", "search"),
        metavar="DIR",
        help="results folder; created, or resumed if it holds this search (default: %(default)s)",
    )
    parser.add_argument(
        "--space",
        choices=SPACES,
        default=DEFAULTS["space"],
        help="nas201: the NAS-Bench-201 cell on a known synthetic score; neurons: neuron-level "
        "DAGs trained on digits (default: %(default)s)",
    )
    parser.add_argument(
        "--strategy",
        choices=tuple(STRATEGIES),
        default=DEFAULTS["strategy"],
        help="(default: %(default)s)",
    )
    for name, help_text in (
        ("budget", "evaluations in all"),
        ("batch-size", "genotypes proposed and evaluated in parallel per step"),
        ("epochs", "training epochs per net (space neurons)"),
        ("max-hidden", "most hidden neurons (space neurons)"),
        ("max-edges", "most edges (space neurons)"),
        ("max-depth", "most edges on a path (space neurons)"),
        ("train-samples", "digits used for training; the next quarter of the set validates"),
    ):
        key = name.replace("-", "_")
        parser.add_argument(
            f"--{name}",
            type=positive_int,
            default=DEFAULTS[key],
            metavar="N",
            help=f"{help_text} (default: %(default)s)",
        )
    parser.add_argument(
        "--seed",
        type=nonnegative_int,
        default=DEFAULTS["seed"],
        metavar="N",
        help="search seed (default: %(default)s)",
    )
    parser.add_argument(
        "--objective-seed",
        type=nonnegative_int,
        default=DEFAULTS["objective_seed"],
        metavar="N",
        help="seed of the synthetic score (space nas201) (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        metavar="N",
        help="parallel evaluations: local processes, or the CPUs of a local Ray runtime",
    )
    parser.add_argument("--executor", choices=EXECUTORS, default="local", help="(default: local)")
    parser.add_argument(
        "--ray-address", default="", metavar="ADDR", help="Ray cluster to join (default: local)"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar (stderr)")


def run_search(args: argparse.Namespace) -> int:
    """Run or resume the search; 130 after an interrupt (finished evaluations are kept)."""
    from .experiment.search import DEFAULTS, search

    settings = {k: getattr(args, k) for k in DEFAULTS}
    try:
        search(
            args.out,
            settings,
            executor=args.executor,
            workers=args.workers,
            address=args.ray_address,
            progress=not args.no_progress,
        )
    except (ValueError, FolderError) as err:
        print(f"graphnets search: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


#: The subcommands, in the order ``graphnets --help`` lists them.
COMMANDS: list[Command] = [
    Command(
        "experiment",
        "sample, train, measure and predict random-graph nets; write a report (the main job)",
        _configure_experiment,
        run_experiment,
    ),
    Command(
        "search",
        "architecture search (random, genetic, predictor-assisted) into a resumable folder",
        _configure_search,
        run_search,
    ),
    Command(
        "demo",
        "train a Watts–Strogatz random-graph net on the bundled digits data",
        _configure_demo,
        run_demo,
    ),
    Command(
        "build-kernel",
        "compile the C++ kernels now rather than on first use (make setup runs it)",
        _configure_build_kernel,
        run_build_kernel,
    ),
]


# -- entry point ------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per :data:`COMMANDS` entry."""
    parser = argparse.ArgumentParser(
        prog="graphnets",
        description="Neural networks as explicit directed graphs of neurons.",
    )
    parser.add_argument("--version", action="version", version=f"graphnets {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, title="commands")
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
