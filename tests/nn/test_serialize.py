"""Files saved by graphnets 0.1 (before the layered package) still load and compute the same.

``tests/fixtures`` holds a feed-forward net saved as format 1 and a recurrent net saved as
format 2, each with an input and the output it gave when it was saved.
"""

from pathlib import Path

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
