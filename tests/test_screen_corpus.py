"""Simulation on the real labelled corpus sets (../shared/corpus/screening)."""

from __future__ import annotations

from pathlib import Path

import pytest

from synth.screening.simulate import load_dataset, simulate

pytestmark = pytest.mark.corpus


def test_corpus_layouts_load_with_the_documented_sizes(corpus_dir: Path) -> None:
    # sizes from PROVENANCE-legacy.txt / labels.csv of each set
    kitchenham = load_dataset(corpus_dir / "screening" / "Kitchenham_2010.csv")
    assert (len(kitchenham.labels), sum(kitchenham.labels)) == (1704, 45)
    adhd = load_dataset(corpus_dir / "screening" / "cohen2006" / "ADHD.csv")
    assert (len(adhd.labels), sum(adhd.labels)) == (851, 20)
    ta = load_dataset(corpus_dir / "screening" / "cohen2006" / "ADHD.csv", "label_abstract_screening")
    assert sum(ta.labels) == 84


def test_prioritised_screening_saves_work_on_a_real_review(corpus_dir: Path) -> None:
    data = load_dataset(corpus_dir / "screening" / "synergy" / "Donners_2021" / "Donners_2021.csv")
    result = simulate(data, seed=0)
    assert result["n"] == 258 and result["n_included"] == 15
    # screening in random order saves nothing on average (WSS@95 about 0); prioritisation must save work
    assert result["wss@95"] > 0.3
    stop = next(s for s in result["stopping"] if s["rule"] == "hypergeometric")
    assert stop["stopped_at"] is None or stop["recall_at_stop"] >= 0.9
