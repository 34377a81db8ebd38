"""Tables that describe a net: one row per level, the text of ``net.summary()`` and its repr."""

from __future__ import annotations

__all__ = ["level_table", "summary", "describe"]


def level_table(net) -> list[dict]:
    """One dict per level of ``net.schedule``: nodes, in-edges, distinct sources, fill, kernel,
    activations."""
    sched = net.schedule
    rows = []
    kinds = sched.kinds()
    n_in = sched.num_inputs
    for ell, lv in enumerate(sched.levels):
        n_dst = lv.stop - lv.start
        e = lv.estop - lv.estart
        n_src = len(set(sched.src_pos[lv.estart : lv.estop].tolist())) if e else 0
        rows.append(
            {
                "level": ell,
                "nodes": n_dst + (n_in if ell == 0 else 0),
                "edges": e,
                "sources": n_src,
                "fill": e / (n_dst * n_src) if e else 0.0,
                "kernel": "input" if ell == 0 and e == 0 and n_dst == 0 else kinds[ell],
                "activations": ",".join(sorted({g[0].spec for g in lv.groups})) or "-",
            }
        )
    return rows


def summary(net) -> str:
    """A table of the levels (nodes, in-edges, distinct sources, fill, kernel, activation), the
    parameter count, the recurrent edges and the dead nodes."""
    rows = level_table(net)
    head = (
        f"{'level':>5} {'nodes':>7} {'edges':>9} {'sources':>8} {'fill':>7}  kernel   activations"
    )
    lines = [repr(net), head, "-" * len(head)]
    shown = rows if len(rows) <= 24 else rows[:10] + [None] + rows[-10:]
    for r in shown:
        if r is None:
            lines.append(f"{'...':>5}  ({len(rows) - 20} more levels)")
            continue
        lines.append(
            f"{r['level']:>5} {r['nodes']:>7} {r['edges']:>9} {r['sources']:>8} "
            f"{r['fill']:>7.2%}  {r['kernel']:<8} {r['activations']}"
        )
    s = net.structure
    n_in = len(s.inputs)
    n_par = s.num_edges + s.num_nodes - n_in
    lines.append(
        f"parameters: {n_par:,} ({net.num_edges:,} weights, {net.num_nodes - n_in:,} biases)"
    )
    if s.is_recurrent:
        d = s.delay
        lines.append(
            f"recurrent: {int((d > 0).sum()):,} delayed edges (delays "
            f"1..{int(d.max())}, not in the table), state of "
            f"{len(net.state_labels):,} values"
        )
    dead = net.dead_nodes()
    if dead:
        lines.append(f"dead nodes: {len(dead)} (see dead_nodes())")
    return "\n".join(lines)


def describe(net) -> str:
    """The one-line description of a net's repr: sizes, levels and the kernels of its levels."""
    s = net.structure
    kinds = net.schedule.kinds() if net._schedule is not None else []
    counts: dict[str, int] = {}
    for k, lv in zip(kinds, net.schedule.levels if kinds else [], strict=True):
        if lv.stop > lv.start:  # level 0 often holds only inputs: nothing to run
            counts[k] = counts.get(k, 0) + 1
    plan = ",".join(f"{k}x{v}" for k, v in counts.items())
    rec = f", delayed={int((s.delay > 0).sum())}" if s.is_recurrent else ""
    return (
        f"nodes={s.num_nodes}, edges={s.num_edges}{rec}, inputs={len(s.inputs)}, "
        f"outputs={len(s.outputs)}, levels={s.num_levels}, kernel={net.kernel}[{plan}]"
    )
