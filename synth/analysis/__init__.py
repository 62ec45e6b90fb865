"""From reconciled extractions to pooled outcomes: the bridge between :mod:`synth.extraction` and the
meta-analysis engine :mod:`synth.meta`, used by ``synth meta --outcome``, ``synth run`` and the evidence report.

* :mod:`~synth.analysis.options` — the one place pooling options are built (explicit choice, else the
  protocol's ``[analysis]``, else synth's defaults).
* :mod:`~synth.analysis.table` — one outcome's per-study frame and effect table from the extraction files.
* :mod:`~synth.analysis.outcome` — the protocol's analysis plan for one outcome (pool, sensitivity without
  high-risk studies, planned subgroups), and the input of a ``synth meta`` command (a CSV file or an outcome).
* :mod:`~synth.analysis.pooled` — arrays in, plain dicts out: pooling, Egger's test and the cumulative
  meta-analysis for the evidence report.
"""
