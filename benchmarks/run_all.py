"""Run every benchmark and print its markdown table (what docs/benchmarks.md records).

Run: ``python benchmarks/run_all.py`` (or ``make bench``). Takes a few minutes; run it on a
quiet machine, the ratios are measured in one run but noise still widens them.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_analysis  # noqa: E402
import bench_build  # noqa: E402
import bench_cells  # noqa: E402
import bench_deep  # noqa: E402
import bench_edits  # noqa: E402
import bench_gpu  # noqa: E402
import bench_kernels  # noqa: E402
import bench_mlp  # noqa: E402
import bench_prune_speed  # noqa: E402
import bench_recurrent  # noqa: E402

if __name__ == "__main__":
    for mod in (
        bench_mlp,
        bench_deep,
        bench_build,
        bench_kernels,
        bench_edits,
        bench_prune_speed,
        bench_analysis,
        bench_cells,
        bench_recurrent,
        bench_gpu,
    ):
        print(f"\n## {mod.__name__}\n")
        mod.main([])
