"""Build a GraphNet from a hand-made networkx DAG and train it on the digits data.

The graph: 64 input pixels ``("x", i)``, ``--hidden`` hidden neurons ``("h", j)`` and 10 outputs
``("y", c)``. Hidden neuron ``j`` draws ``--fan-in`` predecessors at random among the inputs and
the hidden neurons before it, so the hidden part is a random DAG with skip connections of every
length; every hidden neuron feeds every output. Hidden neurons alternate between ReLU and tanh,
set per node through the ``activation`` attribute.

Run it:

    python examples/build_from_networkx.py             # 10 epochs, about 96% test accuracy
    python examples/build_from_networkx.py --epochs 1  # a quick look
"""

from __future__ import annotations

import argparse

import networkx as nx
import numpy as np

import graphnets
from graphnets.data import digits
from graphnets.train import fit, format_record


def random_dag(n_inputs: int, n_hidden: int, n_outputs: int, fan_in: int, seed: int) -> nx.DiGraph:
    """The example's DAG: random fan-in over earlier nodes, a dense read-out into the outputs."""
    rng = np.random.default_rng(seed)
    inputs = [("x", i) for i in range(n_inputs)]
    hidden = [("h", j) for j in range(n_hidden)]
    outputs = [("y", c) for c in range(n_outputs)]
    G = nx.DiGraph(inputs=inputs, outputs=outputs)
    G.add_nodes_from(inputs)
    for j, h in enumerate(hidden):
        G.add_node(h, activation="relu" if j % 2 == 0 else "tanh")
    G.add_nodes_from(outputs)
    earlier = list(inputs)
    for h in hidden:
        k = min(fan_in, len(earlier))
        for i in rng.choice(len(earlier), size=k, replace=False):
            G.add_edge(earlier[i], h)
        earlier.append(h)
    G.add_edges_from((h, y) for h in hidden for y in outputs)
    return G


def main(argv: list[str] | None = None) -> float:
    """Build, train and report; returns the final test accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=128, help="hidden neurons (default: 128)")
    parser.add_argument(
        "--fan-in", type=int, default=16, help="in-edges per hidden neuron (default: 16)"
    )
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (default: 10)")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of graph, weights, data split and shuffles (default: 0)",
    )
    args = parser.parse_args(argv)

    G = random_dag(64, args.hidden, 10, args.fan_in, args.seed)
    print(
        f"networkx DAG: {G.number_of_nodes()} nodes, {G.number_of_edges()} edges, "
        f"acyclic: {nx.is_directed_acyclic_graph(G)}"
    )

    # inputs and outputs come from G.graph["inputs"] / G.graph["outputs"]
    net = graphnets.from_networkx(G, seed=args.seed)
    print(net.summary())

    x_train, y_train, x_test, y_test = digits(seed=args.seed)
    history = fit(
        net,
        x_train,
        y_train,
        x_test,
        y_test,
        epochs=args.epochs,
        seed=args.seed,
        progress=False,
        log=lambda r: print(format_record(r)),
    )
    acc = history[-1]["test_acc"]
    print(f"test accuracy: {acc:.4f}")
    return acc


if __name__ == "__main__":
    main()
