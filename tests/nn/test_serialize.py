"""Files saved by graphnets 0.1 (before the layered package) still load and compute the same.

``tests/fixtures`` holds a feed-forward net saved as format 1 and a recurrent net saved as
format 2, each with an input and the output it gave when it was saved.
"""

from pathlib import Path

import pytest
import torch

import graphnets

DATA = Path(__file__).parents[1] / "fixtures"


def test_saved_format1_feedforward_net_loads_and_computes_the_same():
    assert torch.load(DATA / "format1_ws.pt", weights_only=True)["version"] == 1
    net = graphnets.load(DATA / "format1_ws.pt")
    io = torch.load(DATA / "format1_ws_io.pt", weights_only=True)
    assert not net.is_recurrent and net.num_edges > 0
    torch.testing.assert_close(net(io["x"]), io["y"], rtol=0, atol=1e-6)


def test_saved_format2_recurrent_net_loads_and_computes_the_same():
    assert torch.load(DATA / "format2_recurrent.pt", weights_only=True)["version"] == 2
    net = graphnets.load(DATA / "format2_recurrent.pt")
    io = torch.load(DATA / "format2_recurrent_io.pt", weights_only=True)
    assert net.is_recurrent
    torch.testing.assert_close(net.run(io["x"]), io["y"], rtol=0, atol=1e-6)


def test_save_interrupted_keeps_the_previous_file(tmp_path, monkeypatch):
    import graphnets._util.files as files

    old = graphnets.mlp([3, 4, 2], seed=0)
    path = tmp_path / "net.pt"
    old.save(path)

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        graphnets.mlp([3, 8, 2], seed=1).save(path)
    monkeypatch.undo()
    back = graphnets.load(path)
    assert back.edges() == old.edges() and torch.equal(back.weight, old.weight)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.pt"]  # no temporary file left


KILLER = """
import sys, torch, graphnets
nets = [graphnets.mlp([64, 200, 10], seed=s) for s in range(2)]
print("ready", flush=True)
for i in range(100000):
    nets[i % 2].save(sys.argv[1])
"""


@pytest.mark.parametrize("trial", range(3))
def test_save_killed_mid_write_leaves_a_whole_file(tmp_path, trial):
    import random
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "net.pt"
    graphnets.mlp([64, 200, 10], seed=0).save(path)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(random.Random(trial).uniform(0.05, 0.4))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    net = graphnets.load(path)  # whichever net was written last, whole
    assert net.num_edges == 64 * 200 + 200 * 10
