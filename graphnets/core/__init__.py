"""The bottom layer: plain data and pure functions, no modules.

:mod:`~graphnets.core.activations` (one registry row per activation),
:mod:`~graphnets.core.structure` (the validated topology), :mod:`~graphnets.core.levels`
(levels, cycles, reachability, online re-levelling), :mod:`~graphnets.core.schedule` (the
kernel-agnostic node and edge order) and :mod:`~graphnets.core.init` (fan-in initialisation).
Nothing here imports a module of the layers above.
"""
