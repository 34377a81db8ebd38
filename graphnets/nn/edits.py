"""Graph edits on a live GraphNet: remove or add edges and nodes, set weights.

Each edit here is computed, not applied: a function reads the net and returns an :class:`Edit`
(the new structure, the new parameter values, the map from new to old ids, and the
:class:`~graphnets.nn.history.EditRecord`). The net then swaps all of it in at once
(``GraphNet._swap``), so an edit that fails while being computed (a cycle, an unknown label,
...) changes nothing, and one interrupted while being applied cannot leave half of it behind.

Parameters are replaced through ``.data``, so the ``weight`` and ``bias`` Parameter objects,
and with them any optimizer built before the edit, stay the same; an optimizer's per-element
state (momentum, Adam moments) is carried over with :func:`remapped_state`.

Edges are given as a boolean mask over the edges (``[E]``), edge ids (ints in the order of
``weight``), or ``(src, dst)`` label pairs.

:func:`replace_edges` is the edit of a rewiring round: some edges out, others in, by node ids,
in one step whose cost follows the moved edges where the levels allow it (see its docstring).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .._util.checks import check_finite
from ..core.activations import parse_activation
from ..core.init import fan_in_init
from ..core.levels import CycleError
from ..core.schedule import Schedule, replaced_order
from ..core.structure import Structure, check_delay
from ..kernels.planner import recompile_levels, restrict_schedule
from ..kernels.trace import trace
from .history import EditRecord
from .optim import remap_optimizer_state

__all__ = [  # remap_optimizer_state: the old path of graphnets.nn.optim's
    "Edit",
    "edge_mask",
    "edge_ids",
    "remove_edges",
    "remove_nodes",
    "prune_dead",
    "add_edges",
    "replace_edges",
    "add_nodes",
    "set_weights",
    "set_biases",
    "remap_optimizer_state",
]


@dataclass
class Edit:
    """An edit computed and checked, ready to be swapped into a net in one step.

    Attributes:
        structure: the new structure.
        weight, bias: the new parameter values (``[E']``, ``[N']``).
        edge_source, node_source: ``LongTensor [E']`` / ``[N']``, the old id of every new edge /
            node, ``-1`` for new ones (how optimizer state and gradients are carried over).
        record: what the edit did.
        schedule: the new schedule when one cheaper than a fresh compile is known.
    """

    structure: Structure
    weight: torch.Tensor
    bias: torch.Tensor
    edge_source: torch.Tensor
    node_source: torch.Tensor
    record: EditRecord
    schedule: Schedule | None = None


# -- which edges ---------------------------------------------------------------------------------
def edge_mask(structure: Structure, edges) -> np.ndarray:
    """A boolean mask ``[E]`` from a mask, edge ids or ``(src, dst)`` label pairs.

    A mask is boolean. Integers are edge ids, except ``E`` of them that are all 0 or 1 with a
    repeat (``(w.abs() > t).int()``): a 0/1 mask in the wrong dtype, which is refused rather
    than read as the ids 0 and 1.

    Raises:
        ValueError: for a mask of the wrong length, ids out of range, a 0/1 integer mask, or a
            pair that is not an edge of the graph (named).
        TypeError: for anything else.
    """
    E = structure.num_edges
    if isinstance(edges, (torch.Tensor, np.ndarray)) and edges.dtype in (torch.bool, np.bool_):
        mask = np.asarray(edges.cpu() if isinstance(edges, torch.Tensor) else edges).reshape(-1)
        if mask.size != E:
            raise ValueError(
                f"expected an edge mask of {E} booleans (one per edge), got {mask.size}"
            )
        return mask.copy()
    if isinstance(edges, (torch.Tensor, np.ndarray)):
        ids = np.asarray(edges.cpu() if isinstance(edges, torch.Tensor) else edges).reshape(-1)
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"edge ids must be integers, got dtype {ids.dtype}")
        return _ids_to_mask(ids.astype(np.int64), E)
    edges = list(edges)
    if all(isinstance(e, (int, np.integer)) and not isinstance(e, bool) for e in edges):
        return _ids_to_mask(np.asarray(edges, dtype=np.int64), E)
    if not all(isinstance(e, tuple) and len(e) == 2 for e in edges):
        raise TypeError(
            "edges must be a boolean mask over the edges, edge ids, or (src, dst) label pairs; "
            f"got {edges[:3]!r}"
        )
    src, dst = structure.edge_index.numpy()
    lookup = {
        (int(s), int(d)): e for e, (s, d) in enumerate(zip(src.tolist(), dst.tolist(), strict=True))
    }
    mask = np.zeros(E, dtype=bool)
    for u, v in edges:
        s, d = structure.lookup([u, v], "edges")
        e = lookup.get((s, d))
        if e is None:
            raise ValueError(f"{u!r} -> {v!r} is not an edge of the graph")
        mask[e] = True
    return mask


def edge_ids(structure: Structure, edges) -> np.ndarray:
    """Edge ids in the order given (a mask gives them in edge order); see :func:`edge_mask`."""
    if isinstance(edges, (torch.Tensor, np.ndarray)) and edges.dtype in (torch.bool, np.bool_):
        return np.flatnonzero(edge_mask(structure, edges))
    if isinstance(edges, (torch.Tensor, np.ndarray)):
        ids = np.asarray(edges.cpu() if isinstance(edges, torch.Tensor) else edges).reshape(-1)
        edge_mask(structure, ids)  # validates
        return ids.astype(np.int64)
    edges = list(edges)
    if all(isinstance(e, (int, np.integer)) and not isinstance(e, bool) for e in edges):
        ids = np.asarray(edges, dtype=np.int64)
        edge_mask(structure, ids)
        return ids
    if not edges:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([np.flatnonzero(edge_mask(structure, [e])) for e in edges]).astype(
        np.int64
    )


def _ids_to_mask(ids: np.ndarray, E: int) -> np.ndarray:
    if ids.size == E >= 2 and ids.max() <= 1 and ids.min() >= 0 and np.unique(ids).size < E:
        raise ValueError(
            f"got {E} integers that are all 0 or 1 for a net of {E} edges: that is an edge mask "
            "in an integer dtype, not edge ids; pass it as booleans (mask.bool() or "
            "np.asarray(mask, dtype=bool)), or pass distinct edge ids"
        )
    if ids.size and (ids.min() < 0 or ids.max() >= E):
        bad = int(ids.min() if ids.min() < 0 else ids.max())
        raise ValueError(f"edge id {bad} is out of range; the net has {E} edges (ids 0..{E - 1})")
    mask = np.zeros(E, dtype=bool)
    mask[ids] = True
    return mask


def _inverse(mapping: np.ndarray, size: int) -> torch.Tensor:
    """For a forward map old → new (``-1`` removed), the map new → old."""
    inv = np.full(size, -1, dtype=np.int64)
    kept = mapping >= 0
    inv[mapping[kept]] = np.flatnonzero(kept)
    return torch.from_numpy(inv)


# -- the edits -----------------------------------------------------------------------------------
def remove_edges(net, edges) -> Edit:
    """Remove edges; surviving edges keep their order and weights."""
    s = net.structure
    drop = edge_mask(s, edges)
    new, edge_map, node_map = s.subgraph(~drop, np.ones(s.num_nodes, dtype=bool))
    keep = torch.from_numpy(~drop).to(net.weight.device)
    # The node order stays valid: only the plans are rebuilt (planner.restrict_schedule).
    w = net.weight
    sched = None if s.is_recurrent else restrict_schedule(net.schedule, new, edge_map)
    record = EditRecord(
        "remove_edges",
        s.num_edges,
        s.num_nodes,
        labels=s.labels,
        removed_edge_ids=np.flatnonzero(drop),
        removed_pairs=s.edge_index.numpy()[:, drop],
    )
    return Edit(
        new,
        w.detach()[keep],
        net.bias.detach(),
        _inverse(edge_map, new.num_edges),
        torch.arange(s.num_nodes),
        record,
        sched,
    )


def remove_nodes(net, nodes: Sequence[Hashable]) -> Edit:
    """Remove hidden nodes with all their edges; inputs and outputs cannot be removed."""
    s = net.structure
    if isinstance(nodes, (str, bytes)):
        raise TypeError(
            f"nodes must be a list of node labels, got the string {nodes!r}; write "
            f"[{nodes!r}] for one node"
        )
    idx = s.lookup(list(nodes), "nodes")
    inputs, outputs = set(s.inputs.tolist()), set(s.outputs.tolist())
    for i in idx:
        if i in inputs or i in outputs:
            what = "input" if i in inputs else "output"
            raise ValueError(
                f"cannot remove {what} node {s.labels[i]!r}: inputs and outputs define the "
                "columns of x and y; remove hidden nodes only"
            )
    keep_nodes = np.ones(s.num_nodes, dtype=bool)
    keep_nodes[idx] = False
    src, dst = s.edge_index.numpy()
    drop = ~(keep_nodes[src] & keep_nodes[dst])
    new, edge_map, node_map = s.subgraph(~drop, keep_nodes)
    dev = net.weight.device
    record = EditRecord(
        "remove_nodes",
        s.num_edges,
        s.num_nodes,
        labels=s.labels,
        removed_edge_ids=np.flatnonzero(drop),
        removed_pairs=s.edge_index.numpy()[:, drop],
        removed_node_ids=np.asarray(sorted(set(idx)), dtype=np.int64),
    )
    return Edit(
        new,
        net.weight.detach()[torch.from_numpy(~drop).to(dev)],
        net.bias.detach()[torch.from_numpy(keep_nodes).to(dev)],
        _inverse(edge_map, new.num_edges),
        _inverse(node_map, new.num_nodes),
        record,
    )


def prune_dead(net) -> Edit:
    """Remove the dead nodes of ``net`` (see :meth:`GraphNet.dead_nodes`) without changing the
    function it computes.

    A hidden node that no input reaches computes a constant, ``act(b + Σ w a)`` over other such
    nodes; where it feeds a node that stays, its contribution ``w · a`` is added to that node's
    bias before the node is removed. Nodes with no path to an output change nothing and go.
    In a recurrent net a constant fed through a delayed edge is not constant in time (the state
    starts at zero), so there only the nodes with no path to an output are removed.
    """
    s = net.structure
    src, dst = s.edge_index.numpy()
    from_inputs, to_outputs, hidden = s.reach()
    dead = hidden & ~to_outputs if s.is_recurrent else hidden & ~(from_inputs & to_outputs)
    idx = np.flatnonzero(dead)
    edit = remove_nodes(net, [s.labels[i] for i in idx.tolist()])
    feeding = dead[src] & ~dead[dst]  # only constants feed nodes that stay (docstring)
    if not feeding.any():
        return edit
    dev = net.weight.device
    with torch.no_grad():
        x = net.weight.new_zeros(1, s.inputs.numel())
        values = trace(net, x).activations()[0]
        e = torch.from_numpy(np.flatnonzero(feeding)).to(dev)
        folded = net.bias.detach().clone()
        contribution = net.weight.detach()[e] * values[torch.from_numpy(src).to(dev)[e]]
        folded.index_add_(0, torch.from_numpy(dst).to(dev)[e], contribution)
    edit.bias = folded[torch.from_numpy(~dead).to(dev)]
    return edit


def add_edges(
    net, src: Sequence[Hashable], dst: Sequence[Hashable], weight=None, seed=None, delay=0
) -> Edit:
    """Add edges ``src[k] -> dst[k]`` (labels) after the existing ones."""
    s = net.structure
    src, dst = list(src), list(dst)
    if len(src) != len(dst):
        raise ValueError(f"expected as many sources as destinations, got {len(src)} and {len(dst)}")
    si = s.lookup(src, "src")
    di = s.lookup(dst, "dst")
    k = len(si)
    if isinstance(delay, (int, np.integer)) and not isinstance(delay, bool):
        delay = [int(delay)] * k
    try:
        new = s.add_edges(
            np.asarray(si, dtype=np.int64), np.asarray(di, dtype=np.int64), check_delay(delay, k)
        )
    except CycleError as err:
        raise CycleError(f"{err}; the net is unchanged", err.cycle) from None
    dev, dtype = net.weight.device, net.weight.dtype
    if weight is None:
        w_new = fan_in_init(new, seed, first=s.num_edges).to(dev, dtype)
    else:
        w_new = torch.as_tensor(weight, dtype=dtype).reshape(-1).to(dev)
        if w_new.numel() != k:
            raise ValueError(f"expected {k} weights (one per new edge), got {w_new.numel()}")
        check_finite(w_new, lambda i: f"weight of new edge {src[i]!r} -> {dst[i]!r}")
    old_e = s.num_edges
    edge_source = torch.cat([torch.arange(old_e), torch.full((k,), -1, dtype=torch.long)])
    record = EditRecord(
        "add_edges",
        old_e,
        s.num_nodes,
        labels=s.labels,
        added_pairs=new.edge_index[:, old_e:].numpy(),
    )
    return Edit(
        new,
        torch.cat([net.weight.detach(), w_new]),
        net.bias.detach(),
        edge_source,
        torch.arange(s.num_nodes),
        record,
    )


def _node_ids(values, num_nodes: int, what: str) -> np.ndarray:
    """``values`` (ints, an integer array or tensor) as node ids ``int64 [k]`` in range.

    Raises:
        TypeError: for anything that is not integers (labels included: map them with
            ``net.structure.index``).
        ValueError: for an id out of range.
    """
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    if not isinstance(values, np.ndarray):
        values = list(values)
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
            raise TypeError(
                f"{what} must be node ids (ints, an integer array or tensor), got "
                f"{values[:3]!r}; map labels to ids with net.structure.index"
            )
    arr = np.asarray(values)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"{what} must be a flat array of node ids (ints), got {arr.dtype} of shape "
            f"{list(arr.shape)}; map labels to ids with net.structure.index"
        )
    arr = arr.astype(np.int64)
    if arr.min() < 0 or arr.max() >= num_nodes:
        bad = int(arr.min() if arr.min() < 0 else arr.max())
        raise ValueError(
            f"{what} holds node id {bad}, but the net has {num_nodes} nodes "
            f"(ids 0..{num_nodes - 1})"
        )
    return arr


def replace_edges(net, edges, src, dst, weight=None, seed=None) -> Edit:
    """Remove ``edges`` and add ``src[k] -> dst[k]`` (node ids) after the survivors, as one
    edit: the result of :func:`remove_edges` then :func:`add_edges`.

    When every new edge goes from a lower level of the net's schedule to a higher one (SET and
    RigL on a layered net), the levels stay a layering: nothing is re-levelled, the new edges are
    merged into the scheduled order (``graphnets.core.schedule.replaced_order``) and only the
    levels whose in-edges changed are re-planned (``graphnets.kernels.planner.recompile_levels``).
    Otherwise (a recurrent net, a new edge within or against the levels, a repeated pair) the
    new structure is checked and levelled in full and compiled afresh, as by the two edits.
    """
    s = net.structure
    drop = edge_mask(s, edges)
    src = _node_ids(src, s.num_nodes, "src")
    dst = _node_ids(dst, s.num_nodes, "dst")
    if src.size != dst.size:
        raise ValueError(f"expected as many sources as destinations, got {src.size} and {dst.size}")
    k = src.size
    keep_ids, removed_ids = np.flatnonzero(~drop), np.flatnonzero(drop)  # once, for every gather
    kept = keep_ids.size
    edge_map = np.full(s.num_edges, -1, dtype=np.int64)
    edge_map[keep_ids] = np.arange(kept)
    order = None
    if not s.is_recurrent:
        position = net.schedule.position.cpu().numpy()
        order = replaced_order(net.schedule, edge_map, position[src], position[dst], kept)
    if order is None:  # the full check: it names the cycle, repeat, loop or edge into an input
        mid = s.subgraph(~drop, np.ones(s.num_nodes, dtype=bool))[0]
        try:
            new = mid.add_edges(src, dst)
        except CycleError as err:
            raise CycleError(f"{err}; the net is unchanged", err.cycle) from None
        sched = None
    else:  # a layering kept: only the new edges' pairs needed checking (replaced_order did)
        ei = s.edge_index.numpy()
        new = Structure._trusted(
            s.labels,
            torch.from_numpy(np.concatenate([ei.take(keep_ids, axis=1), np.stack([src, dst])], 1)),
            s.inputs,
            s.outputs,
            s.activations,
            torch.zeros(kept + k, dtype=torch.long),
            None,  # the net's own levels (layer index rule) are computed when asked for
            s._index,
        )
        lv_of = order.level_by_pos[position]
        changed = np.zeros(net.schedule.num_levels, dtype=bool)
        changed[lv_of[dst]] = True
        changed[lv_of[ei[1].take(removed_ids)]] = True
        sched = recompile_levels(net.schedule, new, order, changed, same_activations=True)
    dev, dtype = net.weight.device, net.weight.dtype
    if weight is None:
        w_new = fan_in_init(new, seed, first=kept).to(dev, dtype)
    else:
        w_new = torch.as_tensor(weight, dtype=dtype).reshape(-1).to(dev)
        if w_new.numel() != k:
            raise ValueError(f"expected {k} weights (one per new edge), got {w_new.numel()}")
        check_finite(
            w_new, lambda i: f"weight of new edge {s.labels[src[i]]!r} -> {s.labels[dst[i]]!r}"
        )
    survivors = torch.from_numpy(keep_ids)
    edge_source = torch.cat([survivors, torch.full((k,), -1, dtype=torch.long)])
    record = EditRecord(
        "replace_edges",
        s.num_edges,
        s.num_nodes,
        labels=s.labels,
        removed_edge_ids=removed_ids,
        removed_pairs=s.edge_index.numpy().take(removed_ids, axis=1),
        added_pairs=np.stack([src, dst]),
    )
    return Edit(
        new,
        torch.cat([net.weight.detach().index_select(0, survivors.to(dev)), w_new]),
        net.bias.detach(),
        edge_source,
        torch.arange(s.num_nodes),
        record,
        sched,
    )


def add_nodes(net, labels: Sequence[Hashable], activation: str = "relu", bias=None) -> Edit:
    """Add hidden nodes without edges."""
    s = net.structure
    if isinstance(labels, (str, bytes)):
        raise TypeError(
            f"labels must be a list of new node labels, got the string {labels!r}; "
            f"write [{labels!r}] for one node"
        )
    labels = list(labels)
    spec = parse_activation(activation).spec
    clash = [lab for lab in labels if lab in s.index]
    if clash:
        raise ValueError(f"node {clash[0]!r} is already in the graph; labels must be unique")
    new = Structure(
        s.edge_index,
        s.labels + tuple(labels),
        s.inputs,
        s.outputs,
        s.activations + (spec,) * len(labels),
        delay=s.delay,
    )
    dev, dtype = net.bias.device, net.bias.dtype
    b_new = torch.zeros(len(labels), dtype=dtype, device=dev)
    if bias is not None:
        b_new = torch.as_tensor(bias, dtype=dtype).reshape(-1).to(dev)
        if b_new.numel() != len(labels):
            raise ValueError(
                f"expected {len(labels)} biases (one per new node), got {b_new.numel()}"
            )
        if not bool(torch.isfinite(b_new).all()):
            raise ValueError("biases of new nodes must be finite")
    n = s.num_nodes
    node_source = torch.cat([torch.arange(n), torch.full((len(labels),), -1, dtype=torch.long)])
    record = EditRecord("add_nodes", s.num_edges, n, labels=new.labels, added_nodes=labels)
    return Edit(
        new,
        net.weight.detach(),
        torch.cat([net.bias.detach(), b_new]),
        torch.arange(s.num_edges),
        node_source,
        record,
    )


def set_weights(net, edges, values) -> tuple[torch.Tensor, torch.Tensor, EditRecord]:
    """The edge ids, the values to write there, and the record of setting them."""
    s = net.structure
    ids = edge_ids(s, edges)
    values = torch.as_tensor(values, dtype=net.weight.dtype).reshape(-1).to(net.weight.device)
    k = ids.size
    if values.numel() not in (1, k):
        raise ValueError(f"expected 1 or {k} values (one per selected edge), got {values.numel()}")
    if not bool(torch.isfinite(values).all()):
        raise ValueError("weights must be finite")
    record = EditRecord("set_weights", s.num_edges, s.num_nodes, edge_ids=ids)
    return torch.from_numpy(ids).to(net.weight.device), values, record


def set_biases(
    net, nodes: Sequence[Hashable], values
) -> tuple[torch.Tensor, torch.Tensor, EditRecord]:
    """The node ids of ``nodes`` (labels of computed nodes), the biases to write there, and the
    record of setting them."""
    s = net.structure
    if isinstance(nodes, (str, bytes)):
        raise TypeError(
            f"nodes must be a list of node labels, got the string {nodes!r}; write "
            f"[{nodes!r}] for one node"
        )
    ids = np.asarray(s.lookup(list(nodes), "nodes"), dtype=np.int64)
    inputs = np.flatnonzero(np.isin(ids, s.inputs.numpy()))
    if inputs.size:
        raise ValueError(
            f"cannot set the bias of input node {s.labels[ids[inputs[0]]]!r}: inputs take x as "
            "it is, so their bias stays 0"
        )
    values = torch.as_tensor(values, dtype=net.bias.dtype).reshape(-1).to(net.bias.device)
    k = ids.size
    if values.numel() not in (1, k):
        raise ValueError(f"expected 1 or {k} values (one per selected node), got {values.numel()}")
    check_finite(
        values, lambda i: f"bias of node {s.labels[ids[i]]!r}" if values.numel() == k else "bias"
    )
    record = EditRecord("set_biases", s.num_edges, s.num_nodes, node_ids=ids)
    return torch.from_numpy(ids).to(net.bias.device), values, record
