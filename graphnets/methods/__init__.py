"""Methods on top of the nets: each asks the lower layers for what it needs and answers with
edits or plain data.

:mod:`~graphnets.methods.prune` (scores × selection × schedule), :mod:`~graphnets.methods.analysis`
(graph properties with igraph), :mod:`~graphnets.methods.predict` (a GNN that predicts and
ranks performance from structure) and :mod:`~graphnets.methods.rewire` (SET, RigL and the
thesis's rewiring while training). The URN and architecture search go here too, one module or
package each.
"""
