"""Deduplication as reversible, explainable record linkage.

Pure core: :mod:`~synth.dedup.normalise` (field preparation), :mod:`~synth.dedup.blocking`,
:mod:`~synth.dedup.compare` (rules), :mod:`~synth.dedup.vetoes`, :mod:`~synth.dedup.cluster` (constrained
union-find, representative), :mod:`~synth.dedup.core` (:func:`deduplicate`), :mod:`~synth.dedup.evaluate`,
:mod:`~synth.dedup.explain`, :mod:`~synth.dedup.goldcsv` (gold-set files). I/O shell:
:mod:`~synth.dedup.service` and :mod:`~synth.dedup.review`; SQL in :mod:`synth.store.dedup`.
"""
