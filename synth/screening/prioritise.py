"""Prioritisation: rank unscreened records by how likely they are to be included (active learning, certainty
sampling), as ASReview and its "ELAS" models do.

Features are TF-IDF over word 1- and 2-grams of the title (counted twice: it is the most telling field) and
abstract (sublinear tf, terms in at most 95% of records); the classifier is a linear SVM (default, squared
hinge, C = 0.11 as ASReview's ELAS u4), logistic regression or complement naive Bayes. Training samples are
weighted as ASReview's "balanced" balancer with ratio 9.8: every include weighs 1 and the excludes together
weigh 1/9.8 of the includes, rescaled to a mean weight of 1. scikit-learn is imported only when a model is built.

:class:`BackgroundRanker` refits in a daemon thread and hands the new order to a callback (the screening
queue's ``reorder``), so the reviewer never waits for a model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from synth.screening.stopping import check as stop_check

MODELS = ("svm", "logistic", "nb")
BALANCE_RATIO = 9.8
#: how many of the best-ranked records get the terms that raised their score (the screen's "why next")
EXPLAIN = 25


@dataclass(frozen=True)
class Ranking:
    """One re-ranking: the order, each record's score in that order, and for the first :data:`EXPLAIN` records
    the terms that raised their score most (what the screen shows as "why is this record next"). Scores travel
    as an array aligned with ``order`` (cheap to send from the worker process, unlike a dict of 50,000)."""

    order: list[int]
    ordered_scores: Any  # a float array, aligned with order
    trained_on: int
    includes: int
    terms: dict[int, list[str]] = field(default_factory=dict)

    def place(self, rid: int) -> tuple[int, float] | None:
        """``rid``'s 1-based rank and score, or None when it was not ranked. Fast for the records at the top,
        which are the ones shown."""
        try:
            i = self.order.index(rid)
        except ValueError:
            return None
        return i + 1, float(self.ordered_scores[i])

    def scores(self) -> dict[int, float]:
        return dict(zip(self.order, self.ordered_scores.tolist(), strict=True))


def document(title: str, abstract: str) -> str:
    """The text a record is ranked on."""
    return f"{title or ''} {title or ''} {abstract or ''}"


def _vectoriser() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        ngram_range=(1, 2), sublinear_tf=True, max_df=0.95, min_df=1, strip_accents="unicode", lowercase=True
    )


def build_features(texts: Sequence[str]) -> Any:
    """TF-IDF matrix (rows in the order of ``texts``)."""
    return _vectoriser().fit_transform([t or "" for t in texts])


def make_classifier(model: str, seed: int = 0) -> Any:
    if model == "svm":
        from sklearn.svm import LinearSVC

        return LinearSVC(C=0.11, loss="squared_hinge", random_state=seed)
    if model == "logistic":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=1.0, solver="liblinear", random_state=seed)
    if model == "nb":
        from sklearn.naive_bayes import ComplementNB

        return ComplementNB(alpha=1.0)
    raise ValueError(f"unknown model '{model}' (use one of: {', '.join(MODELS)})")


def fit(model: str, features: Any, train_rows: Sequence[int], train_labels: Sequence[int], seed: int = 0) -> Any:
    """The classifier fitted on ``train_rows`` (balanced weights), or ``None`` when the training labels do not
    yet hold both classes."""
    import numpy as np

    labels = np.asarray(train_labels)
    if len(set(labels.tolist())) < 2:
        return None
    n_inc = int((labels == 1).sum())
    n_exc = len(labels) - n_inc
    weights = np.where(labels == 1, 1.0, n_inc / (BALANCE_RATIO * n_exc))
    weights *= len(labels) / weights.sum()
    clf = make_classifier(model, seed)
    clf.fit(features[np.asarray(train_rows)], labels, sample_weight=weights)
    return clf


def decision_scores(clf: Any, features: Any) -> Any:
    if hasattr(clf, "decision_function"):
        return clf.decision_function(features)
    return clf.predict_log_proba(features)[:, 1]


def scores(model: str, features: Any, train_rows: Sequence[int], train_labels: Sequence[int], seed: int = 0) -> Any:
    """Relevance scores for every row of ``features`` from a model fitted on ``train_rows``; ``None`` when the
    training labels do not yet hold both classes."""
    clf = fit(model, features, train_rows, train_labels, seed)
    return None if clf is None else decision_scores(clf, features)


def term_weights(clf: Any) -> Any:
    """Each feature's weight towards *include*: a linear model's coefficients, naive Bayes' log-ratio."""
    if hasattr(clf, "coef_"):
        return clf.coef_.ravel()
    return clf.feature_log_prob_[1] - clf.feature_log_prob_[0]


def raising_terms(features: Any, row: int, weights: Any, names: Any, k: int = 3) -> list[str]:
    """The ``k`` terms of one record that add most to its score (tf-idf value x weight, positive only)."""
    import numpy as np

    x = features[row]
    contrib = x.data * weights[x.indices]
    best = np.argsort(-contrib)[:k]
    return [str(names[x.indices[i]]) for i in best if contrib[i] > 0]


class Prioritiser:
    """Ranks record ids given the labels so far. Features are built once, on first use."""

    def __init__(self, texts: Mapping[int, str], model: str = "svm") -> None:
        if model not in MODELS:
            raise ValueError(f"unknown model '{model}' (use one of: {', '.join(MODELS)})")
        self.ids = list(texts)
        self.row = {rid: i for i, rid in enumerate(self.ids)}
        self._texts = [texts[r] for r in self.ids]
        self.model = model
        self._features: Any = None
        self._names: Any = None

    @property
    def features(self) -> Any:
        if self._features is None:
            vectoriser = _vectoriser()
            self._features = vectoriser.fit_transform([t or "" for t in self._texts])
            self._names = vectoriser.get_feature_names_out()
        return self._features

    def rank(self, labels: Mapping[int, int], candidates: Sequence[int] | None = None) -> list[int] | None:
        """``candidates`` (default: every unlabelled record) best first, or ``None`` until there is at least
        one include and one exclude."""
        ranking = self.ranking(labels, candidates, explain=0)
        return None if ranking is None else ranking.order

    def ranking(self, labels: Mapping[int, int], candidates: Sequence[int] | None = None,
                explain: int = EXPLAIN) -> Ranking | None:
        """As :meth:`rank`, with every candidate's score and the raising terms of the first ``explain``."""
        import numpy as np

        known = [(self.row[r], v) for r, v in labels.items() if r in self.row]
        if len({v for _, v in known}) < 2:
            return None
        features = self.features
        clf = fit(self.model, features, [k for k, _ in known], [v for _, v in known])
        if clf is None:
            return None
        s = np.asarray(decision_scores(clf, features))
        if candidates is None:
            candidates = [r for r in self.ids if r not in labels]
        cand = np.asarray([c for c in candidates if c in self.row], dtype=np.int64)
        rows = np.asarray([self.row[int(c)] for c in cand], dtype=np.int64)
        order = np.lexsort((cand, -s[rows])) if len(cand) else np.asarray([], dtype=np.int64)
        ranked = cand[order].tolist()
        weights = term_weights(clf) if explain else None
        terms = {rid: raising_terms(features, self.row[rid], weights, self._names) for rid in ranked[:explain]}
        return Ranking(order=ranked, ordered_scores=s[rows][order], trained_on=len(known),
                       includes=sum(v for _, v in known), terms=terms)

    def stop_state(self, rule: str, labels: Sequence[int], n_total: int, recall: float,
                   confidence: float) -> dict[str, Any]:
        """The stopping rule's state (:meth:`synth.screening.stopping.StopCheck.to_dict`)."""
        return stop_check(rule, labels, n_total, recall, confidence).to_dict()

    def close(self) -> None:
        """Nothing to release (see :class:`ProcessPrioritiser`)."""


_WORKER: Prioritiser | None = None


def _die_with_parent() -> None:
    """End this worker as soon as the process that started it is gone (even after kill -9, when no shutdown
    message can arrive): a thread waits on the parent's sentinel, which the OS closes when the parent dies."""
    import multiprocessing
    import os
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="synth-parent-watch", daemon=True).start()


def _init_worker(texts: dict[int, str], model: str) -> None:
    import contextlib
    import os
    import signal

    global _WORKER
    # Ctrl-C reaches the whole process group: the screen handles it (and closes this worker); here it
    # would only print a traceback over the reviewer's terminal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    # Background work yields the CPU to the screen (and to anything else the reviewer runs): a re-rank that
    # finishes a little later costs nothing, a key press that waits for it costs the reviewer. On Linux the
    # idle scheduling class runs it only when nothing else wants the CPU; elsewhere, a lower priority.
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        with contextlib.suppress(OSError, AttributeError):
            os.nice(10)
    _WORKER = Prioritiser(texts, model)
    _WORKER.features  # noqa: B018 - build the TF-IDF matrix now, in the worker


def _worker_ranking(labels: dict[int, int], candidates: list[int] | None, explain: int) -> Ranking | None:
    assert _WORKER is not None
    return _WORKER.ranking(labels, candidates, explain)


def _worker_stop_state(rule: str, labels: list[int], n_total: int, recall: float,
                       confidence: float) -> dict[str, Any]:
    assert _WORKER is not None
    return _WORKER.stop_state(rule, labels, n_total, recall, confidence)


class ProcessPrioritiser:
    """A :class:`Prioritiser` in a separate process, so tokenising and fitting never hold this process's GIL
    (the screen stays responsive with 50,000 records). Same interface."""

    def __init__(self, texts: Mapping[int, str], model: str = "svm") -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if model not in MODELS:
            raise ValueError(f"unknown model '{model}' (use one of: {', '.join(MODELS)})")
        self._pool = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker, initargs=(dict(texts), model),
        )

    def rank(self, labels: Mapping[int, int], candidates: Sequence[int] | None = None) -> list[int] | None:
        ranking = self.ranking(labels, candidates, explain=0)
        return None if ranking is None else ranking.order

    def ranking(self, labels: Mapping[int, int], candidates: Sequence[int] | None = None,
                explain: int = EXPLAIN) -> Ranking | None:
        return self._pool.submit(_worker_ranking, dict(labels), list(candidates) if candidates else None,
                                 explain).result()

    def stop_state(self, rule: str, labels: Sequence[int], n_total: int, recall: float,
                   confidence: float) -> dict[str, Any]:
        return dict(self._pool.submit(_worker_stop_state, rule, list(labels), n_total, recall,
                                      confidence).result())

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class BackgroundRanker:
    """Re-ranks in a daemon thread. :meth:`request` is non-blocking: it records the latest labels and wakes the
    worker, which ranks and calls ``on_ranked(ranking)``; requests made while it works coalesce into one."""

    def __init__(self, prioritiser: Prioritiser | ProcessPrioritiser,
                 on_ranked: Callable[[Ranking], None]) -> None:
        self.prioritiser = prioritiser
        self.on_ranked = on_ranked
        self._cond = threading.Condition()
        self._pending: tuple[dict[int, int], list[int] | None] | None = None
        self._stop = False
        self.rounds = 0
        self.error: str | None = None
        self._busy = False
        self._thread = threading.Thread(target=self._run, name="synth-reranker", daemon=True)
        self._thread.start()

    def request(self, labels: Mapping[int, int], candidates: Sequence[int] | None = None) -> None:
        with self._cond:
            self._pending = (dict(labels), list(candidates) if candidates is not None else None)
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                job = self._pending
                self._pending = None
                self._busy = True
            assert job is not None
            try:
                ranking = self.prioritiser.ranking(*job)
                if ranking is not None:
                    self.on_ranked(ranking)
                    self.rounds += 1
            except Exception as exc:  # a failed re-rank must never stop screening
                self.error = f"{type(exc).__name__}: {exc}"
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no job is pending or running (tests and benchmarks)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout=timeout)

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self.prioritiser.close()
