"""Build GraphNets from what other libraries hold: networkx and igraph graphs, edge lists and
``torch.nn`` models.

The other direction (a net to networkx, igraph or a dense matrix) is in
:mod:`graphnets.nn.export`, reached as ``net.to_networkx()`` etc.; a round trip rebuilds the
same function, in the same dtype.

Numbers: a graph's weights and biases are Python numbers, read as float64 and converted once to
the net's ``dtype`` (default: the graph's ``dtype`` attribute, which the exports write, else
torch's default dtype, as ``torch.tensor`` does). So a float64 net comes back float64 with every
value exact, and a value the dtype cannot hold (``1e300`` in float32) is an error, not ``inf``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import torch
from torch import nn

from ..core.activations import from_module, parse_activation
from ..core.structure import Structure, layered
from ..nn.graphnet import GraphNet

__all__ = ["from_networkx", "from_edges", "from_igraph", "from_torch"]


def _roles(
    labels: Sequence[Hashable], index: dict, which: Sequence[Hashable], what: str
) -> list[int]:
    if isinstance(which, (str, bytes)) or not isinstance(which, Sequence):
        raise TypeError(f"{what} must be an ordered list of node labels, got {which!r}")
    if len(which) == 0:
        raise ValueError(f"{what} must name at least one node, got an empty list")
    out = []
    seen = set()
    for lab in which:
        try:
            i = index[lab]
        except (KeyError, TypeError):
            shown = ", ".join(repr(x) for x in list(labels)[:3])
            raise ValueError(
                f"{what} name {lab!r}, which is not a node of the graph (its nodes are e.g. "
                f"{shown}{', ...' if len(labels) > 3 else ''})"
            ) from None
        if i in seen:
            raise ValueError(f"{what} list node {lab!r} more than once; each node may appear once")
        seen.add(i)
        out.append(i)
    return out


def _activations(
    n: int,
    inputs: list[int],
    outputs: list[int],
    activation: str,
    output_activation: str | None,
    given: dict[int, str] | None = None,
    labels: Sequence[Hashable] = (),
) -> list[str]:
    hidden = parse_activation(activation).spec
    out = parse_activation(output_activation).spec
    acts = [hidden] * n
    for i in outputs:
        acts[i] = out
    for i in inputs:
        acts[i] = "identity"
    for i, a in (given or {}).items():
        spec = parse_activation(a).spec
        if i in set(inputs) and spec != "identity":
            raise ValueError(
                f"input node {labels[i]!r} has activation {a!r}; inputs are never activated, so "
                "give them 'identity' or no activation"
            )
        acts[i] = spec
    return acts


def _make(
    edge_index,
    labels,
    inputs,
    outputs,
    acts,
    weight,
    weight_given,
    bias,
    seed,
    kernel,
    delay=None,
    dtype=None,
    device=None,
) -> GraphNet:
    structure = Structure(edge_index, labels, inputs, outputs, acts, delay)
    return GraphNet(
        structure,
        weight,
        bias,
        seed=seed,
        kernel=kernel,
        weight_given=weight_given,
        dtype=dtype,
        device=device,
    )


def _dtype(dtype: object, stored: object, where: str) -> torch.dtype:
    """The net's dtype: ``dtype`` if given, else the graph's ``dtype`` attribute (a name such as
    ``"float64"``, written by the exports), else torch's default dtype."""
    if dtype is not None:
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(
                f"dtype must be a floating torch.dtype such as torch.float64, got {dtype!r}"
            )
        return dtype
    if stored is None:
        return torch.get_default_dtype()
    name = str(stored).removeprefix("torch.")
    found = getattr(torch, name, None) if isinstance(stored, (str, torch.dtype)) else None
    if not isinstance(found, torch.dtype) or not found.is_floating_point:
        raise ValueError(
            f"{where} is {stored!r}; expected the name of a floating torch dtype such as "
            "'float64' (or pass dtype=)"
        )
    return found


def _cast(values: np.ndarray, dtype: torch.dtype, name, what: str) -> torch.Tensor:
    """float64 ``values`` in ``dtype``; a finite value that overflows there is an error."""
    out = torch.from_numpy(values).to(dtype)
    bad = np.flatnonzero(np.isfinite(values) & ~torch.isfinite(out).numpy())
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{what} of {name(i)} is {float(values[i])!r}, which {dtype} cannot hold (it would be "
            f"{float(out[i])}); pass dtype=torch.float64"
        )
    return out


def _given(weight, given, bias, labels, src, dst, dtype) -> tuple:
    """``weight`` (with the mask ``given``) and ``bias`` in ``dtype``, ``None`` where unset."""
    _check_given(weight, given, bias, labels, src, dst)
    w = b = g = None
    if given.any():
        edge = lambda e: f"edge {labels[src[e]]!r} -> {labels[dst[e]]!r}"  # noqa: E731
        w = _cast(np.where(given, weight, 0.0), dtype, edge, "weight")
        g = torch.from_numpy(given)
    if bias.any():
        b = _cast(bias, dtype, lambda i: f"node {labels[i]!r}", "bias")
    return w, g, b


def _delay(d: object, u: object, v: object) -> int:
    """An edge's ``delay`` attribute as an int ``>= 0`` (``None``: 0)."""
    if d is None:
        return 0
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0:
        raise ValueError(
            f"edge {u!r} -> {v!r} has delay {d!r}; a delay is an int >= 0 "
            "(0: feed-forward, d >= 1: from d time steps back)"
        )
    return int(d)


def from_networkx(
    G,
    inputs: Sequence[Hashable] | None = None,
    outputs: Sequence[Hashable] | None = None,
    *,
    activation: str = "relu",
    output_activation: str | None = None,
    seed: int | torch.Generator | None = None,
    kernel: str = "auto",
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> GraphNet:
    """Build a GraphNet from a ``networkx.DiGraph`` with any hashable node labels.

    Node order (and so ``bias``) follows ``G.nodes``; edge order (and so ``weight``) follows
    ``G.edges``. Edge attributes ``weight`` and ``delay`` and node attributes ``bias`` and
    ``activation`` are used where present; missing weights get the fan-in initialisation of
    :meth:`GraphNet.reset_parameters`, missing biases 0.

    Args:
        G (networkx.DiGraph): the graph. Its edges without a ``delay`` attribute (or with
            ``delay=0``) must be acyclic; an edge with ``delay=d >= 1`` is recurrent (it
            carries its source's value from ``d`` time steps back, see :meth:`GraphNet.step`).
        inputs (list): input labels in the order of ``x``'s columns
            (default: ``G.graph["inputs"]``).
        outputs (list): output labels in the order of ``y``'s columns
            (default: ``G.graph["outputs"]``).
        activation (str): activation of hidden nodes without an ``activation`` attribute
            (default: ``"relu"``).
        output_activation (str, optional): activation of output nodes without one
            (default: ``None``, outputs are linear).
        seed (int or Generator, optional): randomness of the initialisation.
        kernel (str): see :meth:`GraphNet.compile` (default: ``"auto"``).
        dtype (torch.dtype, optional): the parameters' dtype; weights and biases are converted
            to it once, from float64 (default: ``G.graph["dtype"]`` if set, as by
            :meth:`GraphNet.to_networkx`, else torch's default dtype).
        device (torch.device or str, optional): the parameters' device (default: CPU).

    Raises:
        TypeError: if ``G`` is not a directed simple graph, or ``dtype`` not a floating dtype.
        ValueError: on cycles, self loops, edges into inputs, unknown labels, overlapping or empty
            ``inputs``/``outputs``, non-finite weights or biases (or ones ``dtype`` cannot hold),
            unknown activations, bad delays.

    Example:
        >>> import networkx as nx, torch, graphnets
        >>> G = nx.DiGraph([("x1", "h"), ("x2", "h"), ("h", "y"), ("x1", "y")])
        >>> net = graphnets.from_networkx(G, ["x1", "x2"], ["y"], seed=0)
        >>> net.levels
        [['x1', 'x2'], ['h'], ['y']]
        >>> net64 = graphnets.from_networkx(G, ["x1", "x2"], ["y"], dtype=torch.float64)
        >>> graphnets.from_networkx(net64.to_networkx()).weight.dtype
        torch.float64
    """
    import networkx as nx

    if not isinstance(G, nx.DiGraph):
        kind = type(G).__name__
        hint = (
            " (orient it first, e.g. with graphnets.priors.orient)"
            if isinstance(G, nx.Graph)
            else ""
        )
        raise TypeError(f"expected a networkx.DiGraph, got {kind}{hint}")
    if G.is_multigraph():
        raise TypeError(
            f"expected a simple networkx.DiGraph, got a {type(G).__name__}; merge parallel edges "
            "into one edge first"
        )
    inputs = G.graph.get("inputs") if inputs is None else inputs
    outputs = G.graph.get("outputs") if outputs is None else outputs
    if inputs is None or outputs is None:
        raise ValueError(
            "inputs and outputs are needed: pass them, or set G.graph['inputs'] and "
            "G.graph['outputs']"
        )
    labels = list(G.nodes)
    index = {lab: i for i, lab in enumerate(labels)}
    inp = _roles(labels, index, inputs, "inputs")
    out = _roles(labels, index, outputs, "outputs")
    E = G.number_of_edges()
    src = np.empty(E, dtype=np.int64)
    dst = np.empty(E, dtype=np.int64)
    weight = np.full(E, np.nan)
    given = np.zeros(E, dtype=bool)
    delay = np.zeros(E, dtype=np.int64)
    for e, (u, v, data) in enumerate(G.edges(data=True)):
        src[e] = index[u]
        dst[e] = index[v]
        w = data.get("weight")
        if w is not None:
            weight[e] = float(w)
            given[e] = True
        delay[e] = _delay(data.get("delay"), u, v)
    bias = np.zeros(len(labels))
    acts_given: dict[int, str] = {}
    for i, (_, data) in enumerate(G.nodes(data=True)):
        if data:
            b = data.get("bias")
            if b is not None:
                bias[i] = float(b)
            a = data.get("activation")
            if a is not None:
                acts_given[i] = a
    acts = _activations(len(labels), inp, out, activation, output_activation, acts_given, labels)
    dtype = _dtype(dtype, G.graph.get("dtype"), "G.graph['dtype']")
    w, w_given, b = _given(weight, given, bias, labels, src, dst, dtype)
    return _make(
        torch.from_numpy(np.stack([src, dst])),
        labels,
        inp,
        out,
        acts,
        w,
        w_given,
        b,
        seed,
        kernel,
        torch.from_numpy(delay),
        dtype,
        device,
    )


def _check_given(weight, given, bias, labels, src, dst) -> None:
    bad = np.flatnonzero(given & ~np.isfinite(weight))
    if bad.size:
        e = bad[0]
        raise ValueError(
            f"weight of edge {labels[src[e]]!r} -> {labels[dst[e]]!r} is {weight[e]}; weights and "
            "biases must be finite"
        )
    bad = np.flatnonzero(~np.isfinite(bias))
    if bad.size:
        raise ValueError(
            f"bias of node {labels[bad[0]]!r} is {bias[bad[0]]}; weights and biases must be finite"
        )


def from_edges(
    edge_index: torch.Tensor,
    num_nodes: int,
    inputs: Sequence[Hashable],
    outputs: Sequence[Hashable],
    *,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    labels: Sequence[Hashable] | None = None,
    delay: torch.Tensor | Sequence[int] | None = None,
    activation: str = "relu",
    output_activation: str | None = None,
    seed: int | torch.Generator | None = None,
    kernel: str = "auto",
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> GraphNet:
    """Build a GraphNet from an ``edge_index [2, E]`` tensor.

    Args:
        edge_index (LongTensor): ``[2, E]``, row 0 the sources; the order becomes ``weight``'s.
        num_nodes (int): number of nodes ``N``.
        inputs, outputs (list): ordered node labels (node indices unless ``labels`` is given).
        weight (Tensor, optional): ``[E]`` edge weights (default: fan-in initialisation).
        bias (Tensor, optional): ``[N]`` biases (default: zeros).
        labels (list, optional): ``N`` unique node labels (default: ``0..N-1``).
        delay (LongTensor, optional): ``[E]`` delays, ``0`` feed-forward, ``d >= 1`` recurrent
            (see :doc:`/recurrent`) (default: all ``0``).
        activation, output_activation, seed, kernel, device: as in :func:`from_networkx`.
        dtype (torch.dtype, optional): the parameters' dtype; a list ``weight`` or ``bias`` is
            read in it directly (default: that of a floating ``weight`` or ``bias`` tensor, else
            torch's default dtype).

    Shapes:
        - **edge_index:** ``[2, E]``; **weight:** ``[E]``; **bias:** ``[N]``; **delay:** ``[E]``

    Example:
        >>> import torch, graphnets
        >>> ei = torch.tensor([[0, 1, 2], [2, 2, 3]])
        >>> graphnets.from_edges(ei, 4, [0, 1], [3], seed=0).depth
        3
    """
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, (int, np.integer)) or num_nodes < 1:
        raise ValueError(f"num_nodes must be a positive int, got {num_nodes!r}")
    labels = list(range(num_nodes)) if labels is None else list(labels)
    if len(labels) != num_nodes:
        raise ValueError(f"expected {num_nodes} labels (num_nodes), got {len(labels)}")
    index = {lab: i for i, lab in enumerate(labels)}
    if len(index) != len(labels):
        seen: set = set()
        dup = next(x for x in labels if x in seen or seen.add(x))  # type: ignore[func-returns-value]
        raise ValueError(f"duplicate node label {dup!r}; labels must be unique")
    inp = _roles(labels, index, inputs, "inputs")
    out = _roles(labels, index, outputs, "outputs")
    acts = _activations(num_nodes, inp, out, activation, output_activation)
    if dtype is not None:
        dtype = _dtype(dtype, None, "")
        # Read lists in dtype itself: through torch's default dtype they would be rounded.
        weight = None if weight is None else _as_tensor(weight, dtype, "weight", "edge")
        bias = None if bias is None else _as_tensor(bias, dtype, "bias", "node")
    return _make(
        edge_index, labels, inp, out, acts, weight, None, bias, seed, kernel, delay, dtype, device
    )


def _as_tensor(values, dtype: torch.dtype, what: str, item: str) -> torch.Tensor:
    """``values`` (a tensor, array or list) in ``dtype``, read without a detour through torch's
    default dtype."""
    t = values if isinstance(values, torch.Tensor) else torch.as_tensor(values, dtype=torch.float64)
    arr = t.detach().cpu().to(torch.float64).reshape(-1).numpy()
    return _cast(arr, dtype, lambda i: f"{item} {i}", what).reshape(t.shape)


def from_igraph(
    g,
    inputs: Sequence[Hashable] | None = None,
    outputs: Sequence[Hashable] | None = None,
    *,
    activation: str = "relu",
    output_activation: str | None = None,
    seed: int | torch.Generator | None = None,
    kernel: str = "auto",
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> GraphNet:
    """Build a GraphNet from a directed ``igraph.Graph``.

    Node labels are the vertex attribute ``label`` if present, else ``name``, else the vertex
    index. Edge attributes ``weight`` and ``delay`` and vertex attributes ``bias`` and
    ``activation`` are used when present (a ``None`` weight is initialised, a ``None`` delay is
    0). ``inputs``/``outputs`` are labels (default: the graph attributes ``inputs`` /
    ``outputs``, as vertex indices, written by :meth:`GraphNet.to_igraph`). ``dtype`` defaults to
    the graph attribute ``dtype`` (also written by :meth:`GraphNet.to_igraph`); the other
    arguments are as in :func:`from_networkx`.

    Raises:
        TypeError: if ``g`` is not a directed ``igraph.Graph``.
        ValueError: as :func:`from_networkx`, and for ``g["inputs"]`` / ``g["outputs"]`` that
            are not vertex indices.

    Example:
        >>> import igraph as ig, graphnets
        >>> g = ig.Graph(n=4, edges=[(0, 2), (1, 2), (2, 3)], directed=True)
        >>> graphnets.from_igraph(g, [0, 1], [3], seed=0).num_edges
        3
    """
    import igraph as ig

    if not isinstance(g, ig.Graph):
        raise TypeError(f"expected an igraph.Graph, got {type(g).__name__}")
    if not g.is_directed():
        raise TypeError(
            "expected a directed igraph.Graph; orient it first (graphnets.priors.orient)"
        )
    n = g.vcount()
    vattrs = set(g.vs.attributes())
    if "label" in vattrs:
        labels = [tuple(x) if isinstance(x, list) else x for x in g.vs["label"]]
    elif "name" in vattrs:
        labels = list(g.vs["name"])
    else:
        labels = list(range(n))
    gattrs = set(g.attributes())
    if inputs is None and "inputs" in gattrs:
        inputs = [labels[i] for i in _vertex_ids(g["inputs"], n, "inputs")]
    if outputs is None and "outputs" in gattrs:
        outputs = [labels[i] for i in _vertex_ids(g["outputs"], n, "outputs")]
    if inputs is None or outputs is None:
        raise ValueError(
            "inputs and outputs are needed: pass them, or set g['inputs'] / g['outputs']"
        )
    index = {lab: i for i, lab in enumerate(labels)}
    if len(index) != n:
        raise ValueError("vertex labels must be unique")
    inp = _roles(labels, index, inputs, "inputs")
    out = _roles(labels, index, outputs, "outputs")
    el = np.asarray(g.get_edgelist(), dtype=np.int64).reshape(-1, 2).T
    E = el.shape[1]
    eattrs = set(g.es.attributes())
    weight = np.full(E, np.nan)
    given = np.zeros(E, dtype=bool)
    if "weight" in eattrs:
        given = np.array([w is not None for w in g.es["weight"]], dtype=bool)
        weight = np.array([np.nan if w is None else float(w) for w in g.es["weight"]])
    delay = np.zeros(E, dtype=np.int64)
    if "delay" in eattrs:
        delay = np.array(
            [
                _delay(d, labels[u], labels[v])
                for d, (u, v) in zip(g.es["delay"], el.T.tolist(), strict=True)
            ],
            dtype=np.int64,
        ).reshape(E)
    bias = np.zeros(n)
    acts_given: dict[int, str] = {}
    if "bias" in vattrs:
        bias = np.array([0.0 if b is None else float(b) for b in g.vs["bias"]])
    if "activation" in vattrs:
        acts_given = {i: a for i, a in enumerate(g.vs["activation"]) if a is not None}
    acts = _activations(n, inp, out, activation, output_activation, acts_given, labels)
    dtype = _dtype(dtype, g["dtype"] if "dtype" in gattrs else None, "g['dtype']")
    w, w_given, b = _given(weight, given, bias, labels, el[0], el[1], dtype)
    return _make(
        torch.from_numpy(el),
        labels,
        inp,
        out,
        acts,
        w,
        w_given,
        b,
        seed,
        kernel,
        torch.from_numpy(delay),
        dtype,
        device,
    )


def _vertex_ids(ids: object, n: int, what: str) -> list[int]:
    """The graph attribute ``g[what]``: vertex indices in ``0..n-1`` (as ``to_igraph`` writes)."""
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Sequence):
        raise ValueError(f"g[{what!r}] must be a list of vertex indices, got {ids!r}")
    for i in ids:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < n:
            raise ValueError(
                f"g[{what!r}] holds {i!r}, which is not a vertex index (0..{n - 1}); it lists "
                f"vertex indices, as GraphNet.to_igraph writes them (or pass {what}= labels)"
            )
    return [int(i) for i in ids]


_ELEMENTWISE = "ReLU, Tanh, Sigmoid, Identity, LeakyReLU, GELU, ELU, Softplus, SiLU"
_DROPOUT = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
)


def _is_noop(name: str, layer: nn.Module) -> bool:
    """Whether ``layer`` leaves a ``[B, features]`` tensor as it is: ``nn.Flatten()`` and a
    dropout layer in eval mode (or with ``p=0``); other settings of those two are errors."""
    kind = type(layer).__name__
    if isinstance(layer, nn.Flatten):
        if (layer.start_dim, layer.end_dim) not in ((1, -1), (-1, -1)):
            raise TypeError(
                f"cannot convert layer {name} ({kind}(start_dim={layer.start_dim}, "
                f"end_dim={layer.end_dim})): from_torch takes nn.Flatten() (start_dim=1), a "
                "no-op on the [B, features] input of a GraphNet"
            )
        return True
    if isinstance(layer, _DROPOUT):
        if layer.training and layer.p > 0:
            raise ValueError(
                f"layer {name} ({kind}) is in training mode, where it zeroes values at random; "
                "a GraphNet has no dropout, so it can compute the module's eval-mode function "
                "only: convert module.eval() (graphnets.from_torch(model.eval()))"
            )
        return True
    return False


def _check_finite(name: str, which: str, t: torch.Tensor) -> None:
    bad = (~torch.isfinite(t)).nonzero()
    if bad.numel():
        idx = ", ".join(str(int(i)) for i in bad[0])
        raise ValueError(
            f"layer {name} (Linear) has {which}[{idx}] = {float(t[tuple(bad[0])])}; a GraphNet's "
            "weights and biases must be finite"
        )


def from_torch(module: nn.Module, *, kernel: str = "auto") -> GraphNet:
    """Convert an ``nn.Sequential`` of ``nn.Linear`` and elementwise activations.

    The GraphNet computes the same function (to float tolerance), in the module's dtype and on
    its device: layer ``l``'s units become nodes ``(l, unit)``, ``Linear.weight[o, i]`` the edge
    ``(l, i) -> (l+1, o)``. A ``Linear`` without an activation after it gives identity nodes; a
    final activation becomes the output activation. Nested ``nn.Sequential`` s are flattened.
    The activations converted are ``ReLU``, ``Tanh``, ``Sigmoid``, ``Identity``, ``LeakyReLU``,
    ``GELU``, ``ELU``, ``Softplus`` and ``SiLU``.

    Layers that leave a ``[B, features]`` tensor as it is are skipped: ``nn.Flatten()`` (give
    the GraphNet ``x.flatten(1)`` where the module took images) and dropout layers in eval mode.
    In training mode dropout is random, which a GraphNet is not: convert ``model.eval()``.

    Raises:
        TypeError: for any other layer, naming it (and its position).
        ValueError: for an activation before the first ``Linear``, two activations in a row,
            a dropout layer in training mode, or a non-finite weight or bias (named).

    Example:
        >>> import torch, graphnets
        >>> seq = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
        >>> net = graphnets.from_torch(seq)
        >>> x = torch.randn(3, 4)
        >>> torch.allclose(net(x), seq(x), atol=1e-6)
        True
        >>> cnn_head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5),
        ...                                torch.nn.ReLU(), torch.nn.Dropout(0.5),
        ...                                torch.nn.Linear(5, 2))
        >>> images = torch.randn(3, 1, 3, 4)
        >>> net = graphnets.from_torch(cnn_head.eval())
        >>> torch.allclose(net(images.flatten(1)), cnn_head(images), atol=1e-6)
        True
    """
    if isinstance(module, nn.Linear):
        module = nn.Sequential(module)
    if not isinstance(module, nn.Sequential):
        raise TypeError(
            f"expected an nn.Sequential of nn.Linear and elementwise activations, got "
            f"{type(module).__name__}"
        )
    layers: list[tuple[str, nn.Module]] = []

    def flatten(seq: nn.Sequential, prefix: str) -> None:
        # _modules, not named_children(): the latter skips a module used twice (a shared ReLU).
        for name, child in seq._modules.items():
            if isinstance(child, nn.Sequential):
                flatten(child, f"{prefix}{name}.")
            else:
                layers.append((f"{prefix}{name}", child))

    flatten(module, "")
    sizes: list[int] = []
    weights: list[torch.Tensor] = []
    biases: list[torch.Tensor | None] = []
    acts: list[str | None] = []
    for name, layer in layers:
        if isinstance(layer, nn.Linear):
            if sizes and layer.in_features != sizes[-1]:
                raise ValueError(
                    f"layer {name} (Linear) expects {layer.in_features} inputs but the layer "
                    f"before gives {sizes[-1]}"
                )
            _check_finite(name, "weight", layer.weight.detach())
            if layer.bias is not None:
                _check_finite(name, "bias", layer.bias.detach())
            if not sizes:
                sizes.append(layer.in_features)
            sizes.append(layer.out_features)
            weights.append(layer.weight.detach())
            biases.append(None if layer.bias is None else layer.bias.detach())
            acts.append(None)
            continue
        if _is_noop(name, layer):
            continue
        act = from_module(layer)
        if act is None:
            raise TypeError(
                f"cannot convert layer {name} ({type(layer).__name__}): from_torch takes "
                f"nn.Linear and the elementwise activations {_ELEMENTWISE} (and skips nn.Flatten "
                "and dropout in eval mode)"
            )
        if not acts:
            raise ValueError(
                f"layer {name} ({type(layer).__name__}) comes before any nn.Linear; inputs are "
                "never activated"
            )
        if acts[-1] is not None:
            raise ValueError(
                f"layer {name} ({type(layer).__name__}) follows another activation; a node has "
                "one activation, so merge them into one module"
            )
        acts[-1] = act.spec
    if not weights:
        raise ValueError("the module holds no nn.Linear layer")
    dtype, device = weights[0].dtype, weights[0].device
    # Given values, in the module's dtype, copied once (no initialisation drawn: seed=0).
    weight = torch.cat([w.reshape(-1).cpu().to(dtype) for w in weights])
    bias = torch.cat(
        [torch.zeros(sizes[0], dtype=dtype)]
        + [
            torch.zeros(k, dtype=dtype) if b is None else b.cpu().to(dtype)
            for k, b in zip(sizes[1:], biases, strict=True)
        ]
    )
    structure = layered(sizes, [a or "identity" for a in acts])
    return GraphNet(structure, weight, bias, seed=0, kernel=kernel, dtype=dtype, device=device)
