"""Builders of nets from a few numbers: dense layered nets (:mod:`~graphnets.build.mlp`),
random-graph priors (:mod:`~graphnets.build.priors`) and graph-structured recurrent cells
(:mod:`~graphnets.build.cells`)."""
