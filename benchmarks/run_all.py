"""Run every benchmark and print its markdown table (what docs/benchmarks.md records).

Run: ``python benchmarks/run_all.py`` (or ``make bench``). Takes a few minutes; run it on a
quiet machine, the ratios are measured in one run but noise still widens them. ``--long`` adds
the benchmarks that take several minutes each or gigabytes of memory (sparse training with
rewiring, the URN, the 10M-edge net); ``--only NAME ...`` runs the named ones (any of both
lists, e.g. ``--only bench_deep bench_scale``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

#: Minutes in all (``bench_gpu`` prints one line and stops without CUDA).
QUICK = (
    "bench_mlp",
    "bench_deep",
    "bench_build",
    "bench_kernels",
    "bench_edits",
    "bench_prune_speed",
    "bench_analysis",
    "bench_cells",
    "bench_recurrent",
    "bench_gpu",
)
#: Several minutes each, or gigabytes: only with ``--long`` or ``--only``.
LONG = ("bench_rewire", "bench_urn", "bench_scale")


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--long", action="store_true", help=f"also run {', '.join(LONG)}")
    ap.add_argument(
        "--only", nargs="+", metavar="NAME", choices=QUICK + LONG, help="run only these"
    )
    args = ap.parse_args(argv)
    names = args.only or (QUICK + LONG if args.long else QUICK)
    for name in names:
        print(f"\n## {name}\n", flush=True)
        importlib.import_module(name).main([])
    return list(names)


if __name__ == "__main__":
    main()
