"""The experiment's tables as Parquet: written beside the CSVs, read back by :func:`load`.

A CSV keeps no types: a column of ints with gaps (``k`` is a Watts–Strogatz parameter, missing
for the other priors) reads back as floats, and a list (a net's ``train_seeds``) as a string.
The Parquet file of each table keeps what the pipeline computed: such columns are pandas'
nullable ``Int64`` and lists of ints. Every table is written by the stage that writes its CSV,
through the folder's :class:`~graphnets.experiment.store.Store` (atomically, only when its
content changes, and stamped with its checksum like the CSV).
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence

from .._util.checks import is_int

__all__ = ["TABLES", "typed", "parquet_bytes", "load"]

#: The tables of a results folder, each ``<name>.csv`` and ``<name>.parquet``, and the stage
#: that writes them.
TABLES = {
    "samples": "sample",
    "results": "train",
    "curves": "train",
    "properties": "measure",
    "comparison": "predict",
    "comparison_folds": "predict",
    "predictions": "predict",
    "correlations": "predict",
    "ranking_curve": "predict",
}


def typed(rows: Sequence[Mapping]):
    """A DataFrame of ``rows`` (dicts) whose column types follow the values: a column of ints
    is ``int64``, or pandas' nullable ``Int64`` where some rows lack it; a column of lists stays
    a column of lists; the rest as pandas infers.

    Example:
        >>> t = typed([{"k": 4, "seeds": [1, 2]}, {"seeds": [3]}])
        >>> str(t["k"].dtype), t["k"].tolist(), t["seeds"].tolist()
        ('Int64', [4, <NA>], [[1, 2], [3]])
    """
    import pandas as pd

    table = pd.DataFrame(list(rows))
    for col in table.columns:
        values = [r[col] for r in rows if r.get(col) is not None]
        if not values:
            continue
        if all(is_int(v) for v in values) and table[col].dtype.kind != "i":
            table[col] = pd.array([r.get(col) for r in rows], dtype="Int64")
        elif all(isinstance(v, (list, tuple)) for v in values):
            table[col] = pd.Series(
                [None if r.get(col) is None else [*r[col]] for r in rows],
                index=table.index,
                dtype=object,
            )
    return table


def parquet_bytes(table, *, index: bool = True) -> bytes:
    """``table`` as the bytes of a Parquet file (pyarrow, snappy); the same table gives the
    same bytes, so rewriting an unchanged table writes nothing."""
    buf = io.BytesIO()
    table.to_parquet(buf, engine="pyarrow", index=index)
    return buf.getvalue()


def load(out: str | os.PathLike, tables: Sequence[str] | None = None) -> dict:
    """The tables of the results folder ``out`` as DataFrames, read from their Parquet files.

    Column types are the pipeline's: ints stay ints (``Int64`` where a column has gaps), lists
    stay lists (``train_seeds``); tables keep their index (``id``, ``predictor``,
    ``property``).

    Args:
        out (str or PathLike): a folder written by ``graphnets experiment``.
        tables (list of str, optional): which of :data:`TABLES` (default: every one present).

    Returns:
        dict: table name -> ``pandas.DataFrame``.

    Raises:
        ValueError: for a name not in :data:`TABLES`.
        FileNotFoundError: if ``out`` holds none of the tables, or not one that was asked for
            (naming the stage that writes it).

    Example:
        >>> import tempfile
        >>> load(tempfile.mkdtemp())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileNotFoundError: no tables in ...: expected the Parquet files of graphnets experiment ...
    """
    import pandas as pd

    out = os.fspath(out)
    if tables is None:
        names = [n for n in TABLES if os.path.isfile(os.path.join(out, f"{n}.parquet"))]
        if not names:
            raise FileNotFoundError(
                f"no tables in {out}: expected the Parquet files of graphnets experiment "
                f"({', '.join(f'{n}.parquet' for n in TABLES)}); run graphnets experiment "
                f"--out {out} to write them"
            )
    else:
        names = [tables] if isinstance(tables, str) else list(tables)
        unknown = [n for n in names if n not in TABLES]
        if unknown:
            raise ValueError(f"unknown table {unknown[0]!r}; expected some of {', '.join(TABLES)}")
    result = {}
    for name in names:
        path = os.path.join(out, f"{name}.parquet")
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"{path}: missing; the {TABLES[name]} stage writes it (graphnets experiment "
                f"--out {out})"
            )
        table = pd.read_parquet(path, engine="pyarrow")
        for col in table.columns:
            if table[col].dtype == object:
                table[col] = [v.tolist() if hasattr(v, "tolist") else v for v in table[col]]
        result[name] = table
    return result
