import torch

import graphnets
from graphnets.reference import evaluate


def test_mlp_matches_reference():
    net = graphnets.mlp([6, 5, 4, 3], seed=0)
    x = torch.randn(7, 6)
    torch.testing.assert_close(net(x), evaluate(net, x))
