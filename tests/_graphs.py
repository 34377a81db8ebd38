"""Test graphs shared by the core tests, and a helper that runs a net forward and backward.

Every builder returns a float32 GraphNet with nonzero biases on its non-input nodes, so that the
bias path of every kernel is exercised. Each graph stresses one part of the scheduler: complete
dense levels (mlp), skip connections and non-contiguous sources (skip_dag), a random prior,
every activation, hidden sources, an output feeding on, a deep narrow graph (auto -> fused) and a
wide sparse level (auto -> sparse).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import torch

import graphnets
from graphnets.reference import evaluate

#: Every activation the semantics name, each spelled as a user would.
MIXED_ACTIVATIONS = [
    "leaky_relu(0.2)",
    "elu",
    "softplus",
    "gelu",
    "gelu(tanh)",
    "silu",
    "sigmoid",
    "tanh",
    "identity",
    "relu",
]


def randomize_bias(net: graphnets.GraphNet, seed: int = 0) -> graphnets.GraphNet:
    """Give every non-input node a random bias (inputs keep 0, as the semantics require)."""
    gen = torch.Generator().manual_seed(seed)
    b = 0.5 * torch.randn(net.num_nodes, generator=gen, dtype=torch.float64)
    b[net.structure.inputs] = 0
    with torch.no_grad():
        net.bias.copy_(b.to(net.bias.dtype))
    return net


def mlp_net() -> graphnets.GraphNet:
    return randomize_bias(graphnets.mlp([5, 7, 6, 3], seed=0), 1)


def skip_dag_net(n: int = 16, n_in: int = 4, n_out: int = 3, p: float = 0.35, seed: int = 0):
    """A random DAG on ``0..n-1`` (edges low -> high) whose edges jump levels."""
    rng = np.random.default_rng(seed)
    edges = [
        (u, v)
        for v in range(n_in, n)
        for u in range(v)
        if rng.random() < p or (u == v - 1)  # a chain guarantees depth, the rest skips
    ]
    ei = torch.tensor(edges, dtype=torch.long).T
    net = graphnets.from_edges(
        ei, n, list(range(n_in)), list(range(n - n_out, n)), activation="tanh", seed=seed
    )
    return randomize_bias(net, 2)


def prior_net() -> graphnets.GraphNet:
    net = graphnets.priors.watts_strogatz(4, 3, 16, 4, 0.3, activation="leaky_relu(0.1)", seed=0)
    return randomize_bias(net, 3)


def mixed_activation_net() -> graphnets.GraphNet:
    """Two hidden layers; every hidden node has its own activation (one has none: the default)."""
    G = nx.DiGraph()
    ins = [f"x{k}" for k in range(3)]
    G.add_nodes_from(ins)
    hidden1 = [f"a{k}" for k in range(len(MIXED_ACTIVATIONS))]
    hidden2 = [f"b{k}" for k in range(len(MIXED_ACTIVATIONS))]
    for k, act in enumerate(MIXED_ACTIVATIONS):
        G.add_node(hidden1[k], activation=act)
        G.add_node(hidden2[k], activation=MIXED_ACTIVATIONS[-1 - k])
    G.add_node("plain")  # no activation attribute: the builder's default
    for h in hidden1:
        G.add_edges_from((x, h) for x in ins)
    for k, h in enumerate(hidden2):
        G.add_edges_from((hidden1[j], h) for j in range(len(hidden1)) if (j + k) % 3 != 0)
    G.add_edges_from([("x0", "plain"), ("a1", "plain")])
    outs = ["y0", "y1"]
    for o in outs:
        G.add_edges_from((h, o) for h in hidden2 + ["plain"])
    G.add_edge("x2", "y1")  # a skip from input to output
    net = graphnets.from_networkx(G, ins, outs, activation="softplus(2.0, 5.0)", seed=0)
    return randomize_bias(net, 4)


def hidden_source_net() -> graphnets.GraphNet:
    """Hidden nodes ``s1``, ``s2`` have no in-edges: they output act(bias)."""
    G = nx.DiGraph(
        [
            ("x0", "h0"),
            ("x1", "h0"),
            ("s1", "h0"),
            ("s1", "h1"),
            ("x1", "h1"),
            ("s2", "y0"),
            ("h0", "y0"),
            ("h1", "y1"),
            ("s2", "h1"),
        ]
    )
    net = graphnets.from_networkx(G, ["x0", "x1"], ["y0", "y1"], activation="elu", seed=0)
    return randomize_bias(net, 5)


def output_feeds_net() -> graphnets.GraphNet:
    """Output ``y0`` feeds hidden ``h1``, which feeds output ``y1``; outputs use tanh."""
    G = nx.DiGraph(
        [
            ("x0", "h0"),
            ("x1", "h0"),
            ("h0", "y0"),
            ("x0", "y0"),
            ("y0", "h1"),
            ("x1", "h1"),
            ("h1", "y1"),
            ("y0", "y1"),
        ]
    )
    net = graphnets.from_networkx(
        G, ["x0", "x1"], ["y0", "y1"], activation="gelu", output_activation="tanh", seed=0
    )
    return randomize_bias(net, 6)


def deep_net(depth: int = 14, width: int = 3) -> graphnets.GraphNet:
    """A deep narrow layered graph with skip edges: ``auto`` runs it on the fused kernel."""
    rng = np.random.default_rng(7)
    layers = [[(ell, u) for u in range(width)] for ell in range(depth)]
    G = nx.DiGraph()
    for layer in layers:
        G.add_nodes_from(layer)
    for ell in range(1, depth):
        for v in layers[ell]:
            for u in layers[ell - 1]:
                G.add_edge(u, v)
            if ell >= 3 and rng.random() < 0.5:
                G.add_edge(layers[ell - 3][int(rng.integers(width))], v)
    net = graphnets.from_networkx(G, layers[0], layers[-1], activation="tanh", seed=0)
    return randomize_bias(net, 7)


def wide_sparse_net() -> graphnets.GraphNet:
    """40 inputs -> 50 hidden (150 random edges: auto runs CSR) -> 30 hidden (30 random edges:
    auto scatters) -> 3 outputs (complete: dense)."""
    rng = np.random.default_rng(8)
    n_in, n_h1, n_h2, n_out = 40, 50, 30, 3
    h1, h2 = n_in, n_in + n_h1
    out = h2 + n_h2
    pairs = rng.choice(n_in * n_h1, size=150, replace=False)
    edges = [(int(p % n_in), h1 + int(p // n_in)) for p in pairs]
    pairs = rng.choice(n_h1 * n_h2, size=30, replace=False)
    edges += [(h1 + int(p % n_h1), h2 + int(p // n_h1)) for p in pairs]
    edges += [(h2 + h, out + o) for h in range(n_h2) for o in range(n_out)]
    ei = torch.tensor(edges, dtype=torch.long).T
    n = out + n_out
    net = graphnets.from_edges(
        ei, n, list(range(n_in)), list(range(out, n)), activation="silu", seed=0
    )
    return randomize_bias(net, 8)


def layered_net(acts=("relu",) * 4, outputs=("y0", "y1"), skip=False) -> graphnets.GraphNet:
    """3 inputs, 4 hidden nodes with activations ``acts``, 2 outputs listed as ``outputs``;
    every layer complete (a chain of dense layers), plus ``x0 -> y0`` with ``skip``."""
    G = nx.DiGraph()
    ins, hidden = ["x0", "x1", "x2"], [f"h{k}" for k in range(4)]
    G.add_nodes_from(ins)
    for h, act in zip(hidden, acts, strict=True):
        G.add_node(h, activation=act)
    G.add_edges_from((x, h) for x in ins for h in hidden)
    G.add_edges_from((h, y) for h in hidden for y in ("y0", "y1"))
    if skip:
        G.add_edge("x0", "y0")
    return graphnets.from_networkx(G, ins, list(outputs), seed=0)


GRAPHS = {
    "mlp": mlp_net,
    "skip_dag": skip_dag_net,
    "prior": prior_net,
    "mixed_activations": mixed_activation_net,
    "hidden_sources": hidden_source_net,
    "output_feeds": output_feeds_net,
    "deep": deep_net,
    "wide_sparse": wide_sparse_net,
}


def forward_backward(net, x: torch.Tensor, gy: torch.Tensor, fn=None):
    """``y`` and the gradients of ``(y * gy).sum()`` w.r.t. weight, bias and x.

    ``fn`` is the evaluator (default: the net itself; pass ``evaluate`` for the reference).
    """
    net.zero_grad(set_to_none=True)
    x = x.detach().clone().requires_grad_(True)
    y = net(x) if fn is None else fn(net, x)
    (y * gy).sum().backward()
    return y.detach(), net.weight.grad.clone(), net.bias.grad.clone(), x.grad.clone()


def reference(net, x: torch.Tensor, gy: torch.Tensor):
    return forward_backward(net, x, gy, evaluate)


def chain(**kw) -> nx.DiGraph:
    """x0, x1 -> h -> y as a networkx graph (the error tests' smallest net)."""
    return nx.DiGraph([("x0", "h"), ("x1", "h"), ("h", "y")], **kw)


def edges_net(pairs, n, inputs, outputs, **kw) -> graphnets.GraphNet:
    """``from_edges`` on a list of ``(src, dst)`` pairs."""
    return graphnets.from_edges(torch.tensor(pairs, dtype=torch.long).T, n, inputs, outputs, **kw)
