"""Graph edits on a live GraphNet: remove or add edges and nodes, set weights.

Every edit builds the new :class:`~graphnets.structure.Structure` first and only then swaps it
in, so an edit that fails (a cycle, an unknown label, ...) changes nothing. Parameters are
replaced through ``.data``, so the ``weight`` and ``bias`` Parameter objects, and with them any
optimizer built before the edit, stay the same; pass ``optimizer=`` to carry its per-parameter
state over (see :func:`remap_optimizer_state`). Each edit returns an :class:`EditRecord` and
appends it to ``net.history``.

Edges are given as a boolean mask over the edges (``[E]``), edge ids (ints in the order of
``weight``), or ``(src, dst)`` label pairs.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import torch

from .activations import parse_activation
from .levels import CycleError
from .schedule import restrict_schedule
from .structure import Structure

__all__ = ["EditRecord", "remap_optimizer_state"]


class EditRecord:
    """What one edit did.

    Attributes:
        kind: ``"remove_edges"``, ``"add_edges"``, ``"remove_nodes"``, ``"add_nodes"`` or
            ``"set_weights"``.
        edge_map: ``LongTensor [E_before]``: new id of every old edge, ``-1`` if removed.
        node_map: ``LongTensor [N_before]``: new index of every old node, ``-1`` if removed.
        removed_edges, added_edges: ``(src, dst)`` label pairs (built on first access: a
            pruning step may remove half a million edges).
        removed_nodes, added_nodes: labels.
    """

    __slots__ = ("kind", "edge_map", "node_map", "_removed", "_added", "_labels",
                 "removed_nodes", "added_nodes")

    def __init__(self, kind: str, edge_map: torch.Tensor, node_map: torch.Tensor, *,
                 labels: tuple = (), removed: torch.Tensor | None = None,
                 added: torch.Tensor | None = None, removed_nodes: list | None = None,
                 added_nodes: list | None = None) -> None:
        self.kind = kind
        self.edge_map = edge_map
        self.node_map = node_map
        self._labels = labels  # labels that removed / added index into
        self._removed = removed  # [2, k] node indices of removed edges
        self._added = added
        self.removed_nodes = removed_nodes or []
        self.added_nodes = added_nodes or []

    def _pairs(self, ei: torch.Tensor | None) -> list:
        if ei is None:
            return []
        lab = self._labels
        return [(lab[a], lab[b]) for a, b in ei.T.tolist()]

    @property
    def removed_edges(self) -> list:
        return self._pairs(self._removed)

    @property
    def added_edges(self) -> list:
        return self._pairs(self._added)

    def __repr__(self) -> str:
        counts = (("removed_edges", 0 if self._removed is None else self._removed.shape[1]),
                  ("added_edges", 0 if self._added is None else self._added.shape[1]),
                  ("removed_nodes", len(self.removed_nodes)),
                  ("added_nodes", len(self.added_nodes)))
        parts = [f"{k}={v}" for k, v in counts if v]
        return f"EditRecord({self.kind}, {', '.join(parts) or 'no change'})"


def edge_mask(structure: Structure, edges) -> np.ndarray:
    """A boolean mask ``[E]`` from a mask, edge ids or ``(src, dst)`` label pairs.

    Raises:
        ValueError: for a mask of the wrong length, ids out of range, or a pair that is not an
            edge of the graph (named).
        TypeError: for anything else.
    """
    E = structure.num_edges
    if isinstance(edges, (torch.Tensor, np.ndarray)) and edges.dtype in (torch.bool, np.bool_):
        mask = np.asarray(edges.cpu() if isinstance(edges, torch.Tensor) else edges).reshape(-1)
        if mask.size != E:
            raise ValueError(f"expected an edge mask of {E} booleans (one per edge), got {mask.size}")
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
    lookup = {(int(s), int(d)): e for e, (s, d) in enumerate(zip(src.tolist(), dst.tolist()))}
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
    return np.concatenate([np.flatnonzero(edge_mask(structure, [e])) for e in edges]).astype(
        np.int64) if edges else np.zeros(0, dtype=np.int64)


def _ids_to_mask(ids: np.ndarray, E: int) -> np.ndarray:
    if ids.size and (ids.min() < 0 or ids.max() >= E):
        bad = int(ids.min() if ids.min() < 0 else ids.max())
        raise ValueError(f"edge id {bad} is out of range; the net has {E} edges (ids 0..{E - 1})")
    mask = np.zeros(E, dtype=bool)
    mask[ids] = True
    return mask


def subgraph(structure: Structure, keep_edges: np.ndarray, keep_nodes: np.ndarray
             ) -> tuple[Structure, np.ndarray, np.ndarray]:
    """The structure restricted to kept nodes and edges, with the old → new index maps.

    A subgraph of a valid structure is valid (no new cycle, duplicate or edge into an input),
    so only the indices and the levels are recomputed. Kept edges must join kept nodes; every
    input and output must be kept.
    """
    node_map = np.full(structure.num_nodes, -1, dtype=np.int64)
    node_map[keep_nodes] = np.arange(int(keep_nodes.sum()))
    edge_map = np.full(structure.num_edges, -1, dtype=np.int64)
    edge_map[keep_edges] = np.arange(int(keep_edges.sum()))
    ei = structure.edge_index.numpy()[:, keep_edges]
    new = Structure.__new__(Structure)
    new.labels = tuple(lab for lab, k in zip(structure.labels, keep_nodes) if k)
    new._index = None
    new.edge_index = torch.from_numpy(node_map[ei])
    new.inputs = torch.from_numpy(node_map[structure.inputs.numpy()])
    new.outputs = torch.from_numpy(node_map[structure.outputs.numpy()])
    new.activations = tuple(a for a, k in zip(structure.activations, keep_nodes) if k)
    new.delay = structure.delay[torch.from_numpy(np.asarray(keep_edges, dtype=bool))]
    new._level = None  # computed when first asked for: the schedule may not need it
    return new, edge_map, node_map


def remap_optimizer_state(optimizer, param: torch.nn.Parameter, old_size: int,
                          index: torch.Tensor, new_size: int) -> None:
    """Carry ``optimizer``'s per-element state of ``param`` over an edit.

    Every state tensor of ``param`` with ``old_size`` entries along dim 0 (SGD's
    ``momentum_buffer``, Adam's ``exp_avg`` / ``exp_avg_sq``, ...) becomes a tensor of
    ``new_size`` entries: entry ``index[j]`` of the old one for every new entry ``j`` with
    ``index[j] >= 0``, zero for new entries (``index[j] == -1``). Scalars such as Adam's
    ``step`` are shared by the whole tensor in torch's optimizers and stay as they are: a new
    edge therefore starts with zero moments but the tensor's bias correction, so its first
    updates are up to ``(1-β1)/√(1-β2)`` times (≈3× with default betas) larger than a fresh
    Adam's first step.
    """
    if optimizer is None:
        return
    state = optimizer.state.get(param)
    if not state:
        return
    keep = index >= 0
    for key, value in list(state.items()):
        if isinstance(value, torch.Tensor) and value.dim() >= 1 and value.shape[0] == old_size:
            new = value.new_zeros((new_size,) + tuple(value.shape[1:]))
            new[keep] = value[index[keep]]
            state[key] = new


def _param_optimizer_check(net, optimizer) -> None:
    if optimizer is None:
        return
    params = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if id(net.weight) not in params and id(net.bias) not in params:
        raise ValueError(
            "optimizer does not optimise this net's weight or bias; pass the optimizer built "
            "on net.parameters() (or none)"
        )


def apply(net, structure: Structure, weight: torch.Tensor, bias: torch.Tensor,
          edge_index_old: torch.Tensor, node_index_old: torch.Tensor, optimizer,
          schedule=None) -> None:
    """Swap ``structure`` and parameters into ``net``; remap ``optimizer``'s state.

    ``edge_index_old[j]`` / ``node_index_old[j]`` is the old id of new edge / node ``j``
    (``-1`` for new ones). ``schedule`` is the new schedule if the caller has one (else the
    net recompiles).
    """
    old_e, old_n = net.weight.numel(), net.bias.numel()
    remap_optimizer_state(optimizer, net.weight, old_e, edge_index_old.to(weight.device),
                          weight.numel())
    remap_optimizer_state(optimizer, net.bias, old_n, node_index_old.to(bias.device),
                          bias.numel())
    net.structure = structure
    net.weight.data = weight
    net.bias.data = bias
    if net.weight.grad is not None:
        net.weight.grad = None
    if net.bias.grad is not None:
        net.bias.grad = None
    if schedule is None:
        net.compile(net.kernel)
    else:
        net._schedule = schedule


def _inverse(mapping: np.ndarray, size: int) -> torch.Tensor:
    """For a forward map old → new (``-1`` removed), the map new → old."""
    inv = np.full(size, -1, dtype=np.int64)
    kept = mapping >= 0
    inv[mapping[kept]] = np.flatnonzero(kept)
    return torch.from_numpy(inv)


def remove_edges(net, edges, optimizer=None) -> EditRecord:
    s = net.structure
    _param_optimizer_check(net, optimizer)
    drop = edge_mask(s, edges)
    keep_nodes = np.ones(s.num_nodes, dtype=bool)
    new, edge_map, node_map = subgraph(s, ~drop, keep_nodes)
    keep = torch.from_numpy(~drop).to(net.weight.device)
    # The node order stays valid: only the plans are rebuilt (schedule.restrict_schedule).
    old = net._schedule
    w = net.weight
    sched = (restrict_schedule(old, new, edge_map)
             if old is not None and old.device == w.device and old.dtype == w.dtype
             and not s.is_recurrent else None)
    apply(net, new, net.weight.data[keep], net.bias.data,
          _inverse(edge_map, new.num_edges), _inverse(node_map, new.num_nodes), optimizer, sched)
    return EditRecord("remove_edges", torch.from_numpy(edge_map), torch.from_numpy(node_map),
                      labels=s.labels, removed=s.edge_index[:, torch.from_numpy(drop)])


def remove_nodes(net, nodes: Sequence[Hashable], optimizer=None) -> EditRecord:
    s = net.structure
    _param_optimizer_check(net, optimizer)
    idx = s.lookup(list(nodes), "nodes")
    roles = set(s.inputs.tolist()) | set(s.outputs.tolist())
    for i in idx:
        if i in roles:
            what = "input" if i in set(s.inputs.tolist()) else "output"
            raise ValueError(
                f"cannot remove {what} node {s.labels[i]!r}: inputs and outputs define the "
                "columns of x and y; remove hidden nodes only"
            )
    keep_nodes = np.ones(s.num_nodes, dtype=bool)
    keep_nodes[idx] = False
    src, dst = s.edge_index.numpy()
    drop = ~(keep_nodes[src] & keep_nodes[dst])
    new, edge_map, node_map = subgraph(s, ~drop, keep_nodes)
    dev = net.weight.device
    apply(net, new, net.weight.data[torch.from_numpy(~drop).to(dev)],
          net.bias.data[torch.from_numpy(keep_nodes).to(dev)],
          _inverse(edge_map, new.num_edges), _inverse(node_map, new.num_nodes), optimizer)
    return EditRecord("remove_nodes", torch.from_numpy(edge_map), torch.from_numpy(node_map),
                      labels=s.labels, removed=s.edge_index[:, torch.from_numpy(drop)],
                      removed_nodes=[s.labels[i] for i in idx])


def add_edges(net, src: Sequence[Hashable], dst: Sequence[Hashable], weight=None,
              optimizer=None, seed=None, delay=0) -> EditRecord:
    s = net.structure
    _param_optimizer_check(net, optimizer)
    src, dst = list(src), list(dst)
    if len(src) != len(dst):
        raise ValueError(f"expected as many sources as destinations, got {len(src)} and {len(dst)}")
    si = s.lookup(src, "src")
    di = s.lookup(dst, "dst")
    k = len(si)
    new_delay = _new_delays(delay, k)
    if s.is_recurrent or bool(new_delay.any()):
        # delayed edges take no part in the levels: validate the whole structure again
        new = Structure(torch.cat([s.edge_index, torch.tensor([si, di], dtype=torch.long)
                                   .reshape(2, k)], 1),
                        s.labels, s.inputs, s.outputs, s.activations,
                        delay=torch.cat([s.delay, new_delay]))
    else:
        new = _insert(s, np.asarray(si, dtype=np.int64), np.asarray(di, dtype=np.int64))
    dev, dtype = net.weight.device, net.weight.dtype
    if weight is None:
        w_new = _fan_in_init(new, net.structure.num_edges, seed).to(dev, dtype)
    else:
        w_new = torch.as_tensor(weight, dtype=dtype).reshape(-1).to(dev)
        if w_new.numel() != k:
            raise ValueError(f"expected {k} weights (one per new edge), got {w_new.numel()}")
        bad = ~torch.isfinite(w_new)
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            raise ValueError(f"weight of new edge {src[i]!r} -> {dst[i]!r} is {float(w_new[i])}; "
                             "weights must be finite")
    old_e = s.num_edges
    edge_old = torch.cat([torch.arange(old_e), torch.full((k,), -1, dtype=torch.long)])
    apply(net, new, torch.cat([net.weight.data, w_new]), net.bias.data, edge_old,
          torch.arange(s.num_nodes), optimizer)
    return EditRecord("add_edges", torch.arange(old_e), torch.arange(s.num_nodes),
                      labels=s.labels, added=new.edge_index[:, old_e:])


def _new_delays(delay, k: int) -> torch.Tensor:
    """One delay per new edge from an int or a sequence; ``ValueError`` naming a bad one."""
    if isinstance(delay, (int, np.integer)) and not isinstance(delay, bool):
        delay = [int(delay)] * k
    from .structure import _check_delay

    return _check_delay(delay, k)


def _insert(s: Structure, si: np.ndarray, di: np.ndarray) -> Structure:
    """``s`` with the edges ``si -> di`` appended: only the new edges are validated, and the
    levels are updated online instead of recomputed.

    Online update (the layered form of online topological ordering, ``001_…`` §2.5): an edge
    ``u -> v`` with ``level[v] <= level[u]`` lifts ``v`` to ``level[u] + 1`` and the lift
    propagates to successors that are no longer above their predecessor. The edge closes a
    cycle exactly when the lift reaches ``u``: ``v`` then reaches ``u``. Only lifted nodes are
    visited.
    """
    n = s.num_nodes
    lab = s.labels
    loops = np.flatnonzero(si == di)
    if loops.size:
        u = lab[si[loops[0]]]
        raise ValueError(f"self loop on node {u!r} (edge {u!r} -> {u!r}); a feed-forward edge "
                         "must join two different nodes")
    is_input = np.zeros(n, dtype=bool)
    is_input[s.inputs.numpy()] = True
    into = np.flatnonzero(is_input[di])
    if into.size:
        e = into[0]
        raise ValueError(f"edge {lab[si[e]]!r} -> {lab[di[e]]!r} enters input node "
                         f"{lab[di[e]]!r}; input nodes take no in-edges (their value is the input x)")
    old_src, old_dst = s.edge_index.numpy()
    keys_old = np.sort(old_src * n + old_dst)
    keys_new = si * n + di
    seen_new, first = np.unique(keys_new, return_index=True)
    dup = None
    if seen_new.size != keys_new.size:
        dup = np.setdiff1d(np.arange(keys_new.size), first)[0]
    hit = np.searchsorted(keys_old, keys_new)
    clash = np.flatnonzero((hit < keys_old.size) & (keys_old[np.minimum(hit, keys_old.size - 1)]
                                                    == keys_new)) if keys_old.size else []
    if len(clash):
        dup = clash[0] if dup is None else min(dup, clash[0])
    if dup is not None:
        raise ValueError(f"duplicate edge {lab[si[dup]]!r} -> {lab[di[dup]]!r}; give each pair "
                         "at most one edge (sum their weights)")
    level = s.level.copy()
    if np.any(level[di] <= level[si]):
        all_src = np.concatenate([old_src, si])
        all_dst = np.concatenate([old_dst, di])
        order = np.argsort(all_src, kind="stable")
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(all_src, minlength=n), out=ptr[1:])
        succ = all_dst[order]
        for u, v in zip(si.tolist(), di.tolist()):
            if level[v] > level[u]:
                continue
            level[v] = level[u] + 1
            parent = {v: u}
            stack = [v]
            while stack:
                x = stack.pop()
                for w in succ[ptr[x] : ptr[x + 1]].tolist():
                    if level[w] > level[x]:
                        continue
                    if w == u:  # v reaches u: u -> v closes a cycle
                        cycle = [u]
                        node = x
                        while node != u:
                            cycle.append(node)
                            node = parent[node]
                        cycle.reverse()
                        cycle = [u] + cycle[:-1]
                        names = " -> ".join(repr(lab[i]) for i in cycle + cycle[:1])
                        raise CycleError(
                            f"adding these edges would close a feed-forward cycle: {names}; "
                            "the net is unchanged", cycle)
                    level[w] = level[x] + 1
                    parent[w] = x
                    stack.append(w)
    new = Structure.__new__(Structure)
    new.labels = s.labels
    new._index = s._index
    new.edge_index = torch.cat([s.edge_index, torch.from_numpy(np.stack([si, di]))], 1)
    new.inputs, new.outputs, new.activations = s.inputs, s.outputs, s.activations
    new.delay = torch.zeros(new.edge_index.shape[1], dtype=torch.long)
    new._level = level
    return new


def _fan_in_init(structure: Structure, first_new: int, seed) -> torch.Tensor:
    """Fan-in initialisation (as :meth:`GraphNet.reset_parameters`) of edges ``first_new:``."""
    from .graphnet import _gain, _generator

    dst = structure.edge_index[1]
    fan_in = torch.bincount(dst, minlength=structure.num_nodes).clamp(min=1).double()
    new_dst = dst[first_new:]
    gain = torch.tensor([_gain(structure.activations[i]) for i in new_dst.tolist()],
                        dtype=torch.float64)
    bound = 3.0 ** 0.5 * gain / fan_in[new_dst].sqrt()
    u = torch.rand(new_dst.numel(), generator=_generator(seed), dtype=torch.float64)
    return (2 * u - 1) * bound


def add_nodes(net, labels: Sequence[Hashable], activation: str = "relu", bias=None,
              optimizer=None) -> EditRecord:
    s = net.structure
    _param_optimizer_check(net, optimizer)
    labels = list(labels)
    spec = parse_activation(activation).spec
    clash = [lab for lab in labels if lab in s.index]
    if clash:
        raise ValueError(f"node {clash[0]!r} is already in the graph; labels must be unique")
    new = Structure(s.edge_index, s.labels + tuple(labels), s.inputs, s.outputs,
                    s.activations + (spec,) * len(labels), delay=s.delay)
    dev, dtype = net.bias.device, net.bias.dtype
    b_new = torch.zeros(len(labels), dtype=dtype, device=dev)
    if bias is not None:
        b_new = torch.as_tensor(bias, dtype=dtype).reshape(-1).to(dev)
        if b_new.numel() != len(labels):
            raise ValueError(f"expected {len(labels)} biases (one per new node), got {b_new.numel()}")
        if not bool(torch.isfinite(b_new).all()):
            raise ValueError("biases of new nodes must be finite")
    n = s.num_nodes
    node_old = torch.cat([torch.arange(n), torch.full((len(labels),), -1, dtype=torch.long)])
    apply(net, new, net.weight.data, torch.cat([net.bias.data, b_new]),
          torch.arange(s.num_edges), node_old, optimizer)
    return EditRecord("add_nodes", torch.arange(s.num_edges), torch.arange(n),
                      added_nodes=labels)


def set_weights(net, edges, values) -> EditRecord:
    s = net.structure
    ids = torch.from_numpy(edge_ids(s, edges)).to(net.weight.device)
    values = torch.as_tensor(values, dtype=net.weight.dtype).reshape(-1).to(net.weight.device)
    k = ids.numel()
    if values.numel() not in (1, k):
        raise ValueError(f"expected 1 or {k} values (one per selected edge), got {values.numel()}")
    if not bool(torch.isfinite(values).all()):
        raise ValueError("weights must be finite")
    with torch.no_grad():
        net.weight[ids] = values
    ident_e, ident_n = torch.arange(s.num_edges), torch.arange(s.num_nodes)
    return EditRecord("set_weights", ident_e, ident_n)
