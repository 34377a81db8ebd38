"""Methods on top of the nets: each asks the lower layers for what it needs and answers with
edits or plain data.

:mod:`~graphnets.methods.prune` (scores × selection × schedule), :mod:`~graphnets.methods.analysis`
(graph properties with igraph) and :mod:`~graphnets.methods.predict` (a GNN that predicts and
ranks performance from structure). Rewiring, the URN and architecture search go here too, one
module or package each.
"""
