import os

import pandas as pd
import pytest
from test_experiment import TINY, _quiet, _same_rows

from graphnets.experiment import merge, run

ray = pytest.importorskip("ray")


def test_experiment_ray_equals_local(tmp_path):
    rows = {}
    for executor, workers in (("local", 1), ("ray", 2)):
        out = str(tmp_path / executor)
        lines = []
        config = merge(TINY, {"run": {"executor": executor, "workers": workers}})
        summary = run(config, out, stage="train", progress=False, log=_quiet(lines))
        assert summary["trained"] == 6
        rows[executor] = pd.read_csv(os.path.join(out, "results.csv"), index_col="id")
    assert lines[0].endswith("training 6 as Ray tasks (local runtime)")
    assert not ray.is_initialized()  # the runtime it started is shut down
    _same_rows(rows["local"], rows["ray"])
