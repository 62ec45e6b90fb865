"""Evaluating a clustering against a gold clustering.

Two views are reported:

* **pairwise** (the record-linkage standard, Christen 2012, *Data Matching*, ch. 7): every unordered pair of
  records put in one cluster is a predicted link; precision, recall and F1 over links, and the false-positive
  pairs themselves (the links that would wrongly merge two items);
* **record-level**, the method of the BibDedupe benchmark (``compare_dedupe_id``, see
  ``bibdedupe_evaluation_method.rst``): the merged list keeps one record per predicted cluster; per gold
  cluster the first kept record is a true negative, further kept ones false negatives, removed ones true
  positives; removing every record of a gold cluster, or removing a record that has no duplicate, is a false
  positive. Its sensitivity is the figure BibDedupe publishes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field


@dataclass
class PairwiseScores:
    true_positive_pairs: int
    false_positive_pairs: int
    false_negative_pairs: int
    precision: float
    recall: float
    f1: float
    false_positive_examples: list[list[str]] = field(default_factory=list)
    false_negative_examples: list[list[str]] = field(default_factory=list)


@dataclass
class RecordScores:
    tp: int
    fp: int
    fn: int
    tn: int
    sensitivity: float
    specificity: float
    precision: float
    f1: float


@dataclass
class Evaluation:
    records: int
    predicted_clusters: int
    gold_clusters: int
    pairwise: PairwiseScores
    record_level: RecordScores

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def _ratio(num: float, den: float, empty: float = 1.0) -> float:
    return num / den if den else empty


def pairwise(predicted: Sequence[Sequence[str]], gold: Sequence[Sequence[str]], *, examples: int = 50
             ) -> PairwiseScores:
    """Pairwise precision, recall and F1 of ``predicted`` clusters against ``gold`` clusters (ids as strings).

    Singletons may be given or omitted in either list; they contribute no pairs.
    """
    gold_of = {rid: i for i, members in enumerate(gold) for rid in members}
    pred_pairs = sum(_pairs(len(c)) for c in predicted)
    gold_pairs = sum(_pairs(len(c)) for c in gold)
    tp = 0
    fp_examples: list[list[str]] = []
    for members in predicted:
        counts = Counter(gold_of.get(rid, ("solo", rid)) for rid in members)
        tp += sum(_pairs(n) for n in counts.values())
        if len(counts) > 1 and len(fp_examples) < examples:
            ids = sorted(members)
            for x in range(len(ids)):
                for y in range(x + 1, len(ids)):
                    gx, gy = gold_of.get(ids[x]), gold_of.get(ids[y])
                    if gx is None or gx != gy:
                        fp_examples.append([ids[x], ids[y]])
    pred_of = {rid: i for i, members in enumerate(predicted) for rid in members}
    fn_examples: list[list[str]] = []
    for members in gold:
        ids = sorted(members)
        for x in range(len(ids)):
            for y in range(x + 1, len(ids)):
                px, py = pred_of.get(ids[x]), pred_of.get(ids[y])
                if (px is None or px != py) and len(fn_examples) < examples:
                    fn_examples.append([ids[x], ids[y]])
    fp = pred_pairs - tp
    fn = gold_pairs - tp
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2 * precision * recall, precision + recall, 0.0)
    return PairwiseScores(tp, fp, fn, precision, recall, f1, fp_examples[:examples], fn_examples[:examples])


def record_level(all_ids: Iterable[str], kept: Iterable[str], gold: Sequence[Sequence[str]]) -> RecordScores:
    """BibDedupe's record-level confusion matrix: ``kept`` is the merged list (one id per predicted cluster)."""
    ids = set(all_ids)
    kept_set = set(kept)
    in_gold: set[str] = set()
    tp = fp = fn = tn = 0
    for members in gold:
        members = [m for m in members if m in ids]
        in_gold.update(members)
        retained = [m for m in members if m in kept_set]
        if not retained:
            fp += 1
            tp += len(members) - 1
        else:
            tn += 1
            fn += len(retained) - 1
            tp += len(members) - len(retained)
    for rid in ids - in_gold:
        if rid in kept_set:
            tn += 1
        else:
            fp += 1
    sensitivity = _ratio(tp, tp + fn)
    specificity = _ratio(tn, tn + fp)
    precision = _ratio(tp, tp + fp)
    f1 = _ratio(2 * precision * sensitivity, precision + sensitivity, 0.0)
    return RecordScores(tp, fp, fn, tn, sensitivity, specificity, precision, f1)


def evaluate(clusters: Sequence[Sequence[str]], kept: Iterable[str], gold: Sequence[Sequence[str]]
             ) -> Evaluation:
    """Both views at once. ``clusters`` must cover every record (singletons included)."""
    all_ids = [rid for c in clusters for rid in c]
    known = set(all_ids)
    gold_known = [[m for m in g if m in known] for g in gold]
    return Evaluation(
        records=len(all_ids),
        predicted_clusters=sum(1 for c in clusters if len(c) > 1),
        gold_clusters=sum(1 for g in gold_known if len(g) > 1),
        pairwise=pairwise(clusters, gold_known),
        record_level=record_level(all_ids, kept, gold_known),
    )
