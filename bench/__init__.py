"""Benchmarks of threadstore against the anchors and the hardware (not part of the package).

``python -m bench`` runs them (see :mod:`bench.cli` and ``bench/README.md``). The modules the
anchors' environment imports (:mod:`bench.corpus`, :mod:`bench.claude_home`, :mod:`bench.measure`,
:mod:`bench.anchors`) use the standard library only.
"""
