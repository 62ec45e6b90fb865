"""Pooling for the evidence report with the meta-analysis engine :mod:`synth.meta`: arrays in, plain dicts out.

Every pooled number in the evidence report (estimate, CI, prediction interval, tau^2, I^2, study weights,
Egger's test, the cumulative meta-analysis) is computed by :mod:`synth.meta` (validated against metafor) with
the protocol's tau^2 estimator, test/CI method, level and prediction-interval convention (the options of
:func:`synth.analysis.options.pool_options`); this module only converts arrays to the engine's input and its
results to the dicts :mod:`synth.evidence.maturity` reads.
There is no second implementation: when :mod:`synth.meta` cannot pool (an estimator that does not converge,
invalid variances) :class:`~synth.errors.InputError` is raised with the reason, and the report says so
instead of computing a number another way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from synth.errors import InputError
from synth.meta.analysis import pool_dependent, pool_effects
from synth.meta.bias import egger as meta_egger
from synth.meta.effects import compute_effects, effects_frame
from synth.meta.sensitivity import cumulative

if TYPE_CHECKING:
    from synth.meta.pooling import PoolOptions

TEST_LABEL = {"hksj": "HKSJ CI", "hksj-adhoc": "HKSJ (ad hoc) CI", "z": "Wald z CI", "t": "t CI"}


def pool(yi: Sequence[float], vi: Sequence[float], opts: PoolOptions, *, measure: str = "GEN",
         labels: Sequence[str] | None = None, report_pi: bool = True) -> dict[str, Any]:
    """Pool one outcome with :func:`synth.meta.analysis.pool_effects`.

    ``yi``/``vi`` are on the analysis scale of ``measure`` (log for RR/OR/ROM); the result is labelled with
    ``measure`` so ``natural`` holds the natural-scale estimate, CI and PI. Returns synth.meta's result dict
    (``k``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p``, ``tau2``, ``i2``, ``q``, ``pi_low``,
    ``pi_high``, ``natural``, ``studies`` with percent weights, ``warnings``, ``methods``, ...) plus
    ``weights`` (fractions, in input order) and a short ``pooled_method``. With ``report_pi=False`` (the
    protocol's ``prediction_interval = "none"``) the prediction interval is not reported. k = 1 gives the single study with its Wald CI (nothing pooled).

    Raises :class:`InputError` when synth.meta cannot give a pooled result for k >= 2.
    """
    table = compute_effects(effects_frame(list(yi), list(vi), labels), "GEN")
    table.measure = measure  # the effects are already on this measure's analysis scale
    res = dict(pool_effects(table, opts))
    k = int(res.get("k") or 0)
    if k >= 2 and (not res.get("pooled") or res.get("estimate") is None):
        why = "; ".join(str(w) for w in res.get("warnings") or []) or "no pooled estimate was returned"
        raise InputError(f"synth.meta could not pool the {k} studies with {opts.method}/{opts.test} ({why}). "
                         "Check the studies' effects and variances, or choose another estimator in the protocol's "
                         "[analysis] estimator.")
    if not report_pi:
        _drop_pi(res)
    res["weights"] = [float(s["weight"]) / 100 for s in res.get("studies", [])]
    if k >= 2:
        res["pooled_method"] = f"{opts.method} tau^2, {TEST_LABEL.get(opts.test, opts.test)} (synth.meta)"
    else:
        res["pooled_method"] = "single study, Wald CI, nothing pooled (synth.meta)"
    return res


def pool_clustered(yi: Sequence[float], vi: Sequence[float], study: Sequence[str], opts: PoolOptions, *,
                   measure: str = "GEN", labels: Sequence[str] | None = None,
                   report_pi: bool = True) -> dict[str, Any]:
    """Pool effects of which several come from one study with :func:`synth.meta.analysis.pool_dependent`
    (multilevel model, CR2 inference; the protocol's estimator when it is REML or ML, else REML), as
    :func:`pool` returns it: ``weights`` (fractions, input order) and ``pooled_method`` added."""
    names = list(labels) if labels is not None else [f"effect {i + 1}" for i in range(len(yi))]
    res = pool_dependent(list(yi), list(vi), [str(s) for s in study], names, measure, opts.method, opts.level,
                         opts.back)
    if not res.get("pooled"):
        raise InputError(f"synth.meta could not fit the multilevel model to the {len(yi)} effects "
                         f"({'; '.join(res['warnings'][1:])}). Check the effects and variances.")
    if not report_pi:
        _drop_pi(res)
    res["weights"] = [float(s["weight"]) / 100 for s in res["studies"]]
    res["pooled_method"] = (f"multilevel model (effects within studies), {res['method']}, CR2 cluster-robust CI "
                            "(synth.meta)")
    return res


def cumulative_clustered(years: Sequence[int | None], yi: Sequence[float], vi: Sequence[float],
                         study: Sequence[str], n_by_study: Mapping[str, int], opts: PoolOptions
                         ) -> list[dict[str, Any]]:
    """Cumulative meta-analysis by year with the model of :func:`pool_clustered`: studies (with all their
    effects) added in year order (undated last); a row per year from the first year with two studies in,
    as :func:`cumulative_by_year` gives them (``k`` counts studies)."""
    undated = 10**6  # after every year
    when = [y if y is not None else undated for y in years]
    out: list[dict[str, Any]] = []
    for year in sorted(set(when)):
        idx = [i for i in range(len(yi)) if when[i] <= year]
        ids = [str(study[i]) for i in idx]
        if len(set(ids)) < 2:
            continue
        try:
            r = pool_clustered([yi[i] for i in idx], [vi[i] for i in idx], ids, opts)
        except InputError:
            r = {"estimate": None, "ci_low": None, "ci_high": None, "tau2": None}
        out.append({"year": None if year == undated else year, "k": len(set(ids)),
                    "participants": sum(int(n_by_study.get(s, 0)) for s in set(ids)), "estimate": r["estimate"],
                    "ci_low": r["ci_low"], "ci_high": r["ci_high"], "tau2": r.get("tau2")})
    return out


def _drop_pi(res: dict[str, Any]) -> None:
    """Leave out the prediction interval (the protocol's ``prediction_interval = "none"``)."""
    res["pi_low"] = res["pi_high"] = None
    if res.get("natural"):
        res["natural"] = {**res["natural"], "pi_low": None, "pi_high": None}


def egger(yi: Sequence[float], vi: Sequence[float]) -> dict[str, Any]:
    """Egger's regression test from :func:`synth.meta.bias.egger` (needs k >= 3), plus ``test`` and ``k``."""
    import numpy as np

    res = meta_egger(np.asarray(yi, dtype=float), np.asarray(vi, dtype=float))
    return {"test": "egger", "k": len(yi), **res}


def cumulative_by_year(years: Sequence[int | None], yi: Sequence[float], vi: Sequence[float], n: Sequence[int],
                       opts: PoolOptions) -> list[dict[str, Any]]:
    """Cumulative meta-analysis by year (Lau et al. 1992) with :func:`synth.meta.sensitivity.cumulative`.

    Studies are added in year order (undated last, ties in input order); one row per year, the state after
    that year's last study: ``year``, ``k``, ``participants``, ``estimate``, ``ci_low``, ``ci_high``, ``tau2``.
    A step synth.meta could not pool has ``None`` in its numbers.
    """
    import numpy as np

    order = sorted(range(len(yi)), key=lambda i: (years[i] if years[i] is not None else 9999, i))
    rows = cumulative(np.asarray(yi, dtype=float), np.asarray(vi, dtype=float), opts, np.array(order, dtype=int))
    out: list[dict[str, Any]] = []
    participants = 0
    for step, (i, row) in enumerate(zip(order, rows, strict=True)):
        participants += int(n[i])
        nxt = order[step + 1] if step + 1 < len(order) else None
        if nxt is not None and years[nxt] == years[i]:
            continue
        out.append({"year": years[i], "k": row["k"], "participants": participants, "estimate": row["estimate"],
                    "ci_low": row["ci_low"], "ci_high": row["ci_high"], "tau2": row.get("tau2")})
    return out
