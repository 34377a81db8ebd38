"""The measure stage: graph properties of every trained net (:mod:`graphnets.analysis`).

Properties are of the topology only, so they are the same before and after training; they are
measured on the saved nets so the stage can be rerun (e.g. with other ``measure.properties``)
without training again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..methods.analysis import properties
from ..nn.graphnet import load

__all__ = ["measure"]


def measure(
    paths: Sequence[tuple[int, str]], which: Sequence[str] | str = "all", *, progress: bool = True
):
    """Properties of the nets saved at ``paths`` (``(id, path)`` pairs), one row per net.

    Args:
        paths: ``(id, file of GraphNet.save)`` pairs.
        which: names of :data:`graphnets.analysis.PROPERTIES`, or ``"all"`` (default).
        progress: show a tqdm bar with ETA on stderr (default: ``True``).

    Returns:
        pandas.DataFrame: indexed by ``id``; a column per property and ``measure_seconds``.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    which = None if which == "all" else list(which)
    rows = {}
    for i, path in tqdm(
        paths, desc="measure", unit="net", disable=not progress, dynamic_ncols=True
    ):
        start = time.perf_counter()
        row = properties(load(path), which=which)
        row["measure_seconds"] = time.perf_counter() - start
        rows[i] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "id"
    return table
