"""Every figure synth draws, in one place, with one risk-of-bias palette (robvis's).

* :mod:`~synth.figures.forest` — the RevMan-style forest plot of an effect table (``synth meta forest``, the
  ``figures/forest-<outcome>.svg`` of ``synth run`` and the forest embedded in the report are the same drawing).
* :mod:`~synth.figures.funnel` — the contour-enhanced funnel plot.
* :mod:`~synth.figures.cumulative` — the cumulative meta-analysis by year of the evidence report.
* :mod:`~synth.figures.rob` — the robvis traffic-light plot and the share-of-weight summary by judgement.
* :mod:`~synth.figures.gapmap` — the evidence-gap map (plain SVG).
* :mod:`~synth.figures.palette` and :mod:`~synth.figures.mpl` — the colours and the matplotlib set-up they share.

matplotlib is imported only when a figure is drawn (Agg backend), so importing synth stays fast. SVG output is
reproducible: a fixed hash salt, no date in the metadata, text kept as text.
"""
