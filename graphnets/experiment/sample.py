"""The sample stage: draw net ``i``'s prior and parameters, and build it.

Net ``i`` of an experiment with seed ``s`` draws everything from
``numpy.random.SeedSequence([s, i])`` alone: its prior (with probability proportional to the
prior's ``weight``), its hidden size and prior parameters, the seed of its graph and weights and
the seeds of its trainings. Adding nets (a larger ``sample.graphs``) therefore leaves nets
``0..n-1`` exactly as they were.

A *spec* is the plain dict that describes one net::

    {"id": 3, "prior": "ws", "hidden": 57, "k": 4, "p": 0.31, "m": None, "degree": None,
     "graph_seed": 123..., "train_seeds": [456...]}

Not done here: no rejection of degenerate draws (an Erdős–Rényi net may have isolated hidden
nodes; the analysis stage measures what there is).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..builders import priors
from ..nn.graphnet import GraphNet

__all__ = ["PRIOR_NAMES", "spec", "specs", "build"]

#: Config name of each prior -> its builder in :mod:`graphnets.priors`.
PRIOR_NAMES = {"ws": "watts_strogatz", "ba": "barabasi_albert", "er": "erdos_renyi"}

#: Spec keys of prior parameters (``None`` where a prior has no such parameter).
PARAMETERS = ("k", "p", "m", "degree")


def spec(config: Mapping, i: int) -> dict:
    """The spec of net ``i`` (see the module docstring) under a validated ``config``.

    Example:
        >>> from graphnets.experiment.config import default_config
        >>> s = spec(default_config(), 0)
        >>> s == spec(default_config(), 0), sorted(s)[:4]
        (True, ['degree', 'graph_seed', 'hidden', 'id'])
    """
    sample = config["sample"]
    ss = np.random.SeedSequence([int(config["seed"]), int(i)])
    draw_seq, seed_seq = ss.spawn(2)
    rng = np.random.default_rng(draw_seq)
    names = list(PRIOR_NAMES)
    weights = np.array([sample["priors"][n]["weight"] for n in names], dtype=np.float64)
    prior = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    lo, hi = sample["hidden"]
    n = int(rng.integers(lo, hi + 1))
    out = {"id": int(i), "prior": prior, "hidden": n, **dict.fromkeys(PARAMETERS)}
    pc = sample["priors"][prior]
    if prior == "ws":
        out["k"] = int(rng.choice(pc["k"]))
        out["p"] = float(rng.uniform(*pc["p"]))
    elif prior == "ba":
        out["m"] = int(rng.integers(pc["m"][0], pc["m"][1] + 1))
    else:
        out["degree"] = float(rng.uniform(*pc["degree"]))
        out["p"] = out["degree"] / (n - 1)
    seeds = seed_seq.generate_state(1 + config["train"]["repeats"]).astype(np.int64).tolist()
    out["graph_seed"] = int(seeds[0])
    out["train_seeds"] = [int(s) for s in seeds[1:]]
    return out


def specs(config: Mapping, count: int | None = None) -> list[dict]:
    """Specs of nets ``0..count-1`` (default: ``config["sample"]["graphs"]``)."""
    count = config["sample"]["graphs"] if count is None else count
    return [spec(config, i) for i in range(count)]


def build(s: Mapping, n_inputs: int, n_outputs: int, *, seed: int | None = None) -> GraphNet:
    """The untrained net of spec ``s`` between ``n_inputs`` and ``n_outputs`` nodes.

    ``seed`` replaces the spec's ``graph_seed`` for the weights only (the graph stays the
    spec's), for repeated trainings from fresh weights.
    """

    n = s["hidden"]
    gs = s["graph_seed"]
    if s["prior"] == "ws":
        net = priors.watts_strogatz(n_inputs, n_outputs, n, s["k"], s["p"], seed=gs)
    elif s["prior"] == "ba":
        net = priors.barabasi_albert(n_inputs, n_outputs, n, s["m"], seed=gs)
    elif s["prior"] == "er":
        net = priors.erdos_renyi(n_inputs, n_outputs, n, s["p"], seed=gs)
    else:
        raise ValueError(f"unknown prior {s['prior']!r}; expected one of {', '.join(PRIOR_NAMES)}")
    if seed is not None:
        net.reset_parameters(seed)
    return net
