"""Multilevel meta-analysis of dependent effect sizes (metafor ``rma.mv(yi, vi, random = ~ 1 | cluster/within)``)
with cluster-robust inference (CR1 as metafor's ``robust()``, CR2 with Satterthwaite df as clubSandwich's
``coef_test``).

Model: ``y = X b + u_cluster + u_within + e`` with ``u_cluster ~ N(0, sigma2_1)`` shared by the effects of one
cluster (study), ``u_within ~ N(0, sigma2_2)`` shared by the effects of one ``within`` level of a cluster (each
effect its own level when no ``within`` column is given) and ``e ~ N(0, vi)``. So the marginal covariance is
``M = diag(vi) + sigma2_1 A_1 + sigma2_2 A_2`` with ``A_l`` the same-level indicator matrices. ``sigma2`` is
estimated by REML or ML (Fisher scoring, constrained to >= 0, iterated to a relative change of 1e-12), ``b`` by
generalised least squares with weights ``M^-1``; tests are z (metafor's default for ``rma.mv``) or t with k - p df.

Cluster-robust variance (``robust``: a cluster column, often the same as ``cluster``):
``V = B (sum_j X_j' W_j A_j e_j e_j' A_j' W_j X_j) B`` with ``B = (X'WX)^-1``, ``W = M^-1``, residuals ``e``.
CR1: ``A_j = I`` and the small-sample factor ``m / (m - p)`` (m clusters), t tests with ``m - p`` df (metafor).
CR2: ``A_j = R_j' G_j^(-1/2) R_j`` with ``R_j`` the Cholesky factor of ``M_j`` and
``G_j = R_j (I - H)_jj M_j R_j'`` (Bell & McCaffrey 2002; Tipton & Pustejovsky 2015, working model = ``M``),
Satterthwaite df ``tr(P)^2 / ||P||_F^2`` with ``P = Q M Q'``, ``Q_j = g_j' (I - H)_j``, ``g_j = A_j W_j X_j B c``.

>>> import numpy as np
>>> fit = fit_multilevel(np.array([0.1, 0.3, 0.2, 0.5, 0.4]), np.full(5, 0.02), ["a", "a", "b", "b", "c"])
>>> fit.k, fit.clusters, fit.converged, [round(s, 4) for s in fit.sigma2]
(5, 3, True, [0.0, 0.005])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synth.errors import InputError
from synth.meta import dist


def _t_sf2(stat: float, df: float) -> float:
    """Two-sided p-value of ``stat`` on a t distribution with ``df`` df."""
    return float(2 * dist.t_sf(abs(stat), df))


@dataclass
class MultilevelFit:
    estimate: np.ndarray
    se: np.ndarray
    vcov: np.ndarray
    sigma2: list[float]
    k: int
    clusters: int
    converged: bool
    iterations: int
    method: str
    names: list[str] = field(default_factory=lambda: ["intercept"])
    q: float = float("nan")
    q_df: int = 0
    q_p: float = float("nan")
    loglik: float = float("nan")
    _parts: dict[str, Any] = field(default_factory=dict, repr=False)


def _levels(labels: list[str]) -> np.ndarray:
    index: dict[str, int] = {}
    return np.array([index.setdefault(x, len(index)) for x in labels])


def _indicator(codes: np.ndarray) -> np.ndarray:
    return (codes[:, None] == codes[None, :]).astype(float)


def _loglik(y: np.ndarray, X: np.ndarray, M: np.ndarray, method: str) -> float:
    Mi = np.linalg.inv(M)
    XtW = X.T @ Mi
    B = np.linalg.inv(XtW @ X)
    b = B @ (XtW @ y)
    r = y - X @ b
    ll = -0.5 * (np.linalg.slogdet(M)[1] + r @ Mi @ r)
    n = len(y)
    if method == "REML":
        return float(ll - 0.5 * np.linalg.slogdet(XtW @ X)[1] - 0.5 * (n - X.shape[1]) * np.log(2 * np.pi))
    return float(ll - 0.5 * n * np.log(2 * np.pi))


def multilevel_method(method: str) -> str:
    """The estimator of the variance components for a plan's tau^2 estimator: REML or ML as given; REML for
    the others (DL, PM, ... have no multilevel form)."""
    return method.upper() if method.upper() in ("REML", "ML") else "REML"


def fit_multilevel(y: np.ndarray, v: np.ndarray, cluster: list[str], within: list[str] | None = None,
                   X: np.ndarray | None = None, method: str = "REML", names: list[str] | None = None,
                   max_iter: int = 1000) -> MultilevelFit:
    """Fit the two-level model; ``within`` None means each effect is its own level within its cluster."""
    method = method.upper()
    if method not in ("REML", "ML"):
        raise InputError(f"The multilevel model is estimated by REML or ML, not {method}. Use --method REML or ML.")
    y = np.asarray(y, float)
    v = np.asarray(v, float)
    k = len(y)
    X = np.ones((k, 1)) if X is None else np.asarray(X, float)
    p = X.shape[1]
    c1 = _levels([str(c) for c in cluster])
    inner = [f"{c}\x00{w}" for c, w in zip(cluster, within, strict=True)] if within is not None else \
        [str(i) for i in range(k)]
    c2 = _levels(inner)
    m = int(c1.max()) + 1 if k else 0
    if k - p < 1:
        raise InputError(f"{k} effects cannot estimate {p} coefficients and two variance components. Add effects.")
    if m < 2:
        raise InputError("The multilevel model needs effects from at least 2 clusters. Check the --cluster column.")
    A = [_indicator(c1), _indicator(c2)]
    V0 = np.diag(v)
    # start: half the method-of-moments total heterogeneity on each level (non-negative)
    w0 = 1 / v
    b0 = np.linalg.lstsq(X * np.sqrt(w0)[:, None], y * np.sqrt(w0), rcond=None)[0]
    s0 = max(float(np.var(y - X @ b0, ddof=p) - np.mean(v)), 0.01 * float(np.mean(v)))
    theta = np.array([s0 / 2, s0 / 2])
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        M = V0 + theta[0] * A[0] + theta[1] * A[1]
        Mi = np.linalg.inv(M)
        B = np.linalg.inv(X.T @ Mi @ X)
        P = Mi - Mi @ X @ B @ X.T @ Mi if method == "REML" else None
        if P is None:
            r = y - X @ (B @ (X.T @ Mi @ y))
            Mr = Mi @ r
            PA = [Mi @ a for a in A]
            grad = np.array([-0.5 * np.trace(pa) + 0.5 * Mr @ a @ Mr for pa, a in zip(PA, A, strict=True)])
        else:
            Py = P @ y
            PA = [P @ a for a in A]
            grad = np.array([-0.5 * np.trace(pa) + 0.5 * Py @ a @ Py for pa, a in zip(PA, A, strict=True)])
        info = np.array([[0.5 * np.sum(PA[i] * PA[j].T) for j in range(2)] for i in range(2)])
        free = ~((theta <= 0) & (grad < 0))
        step = np.zeros(2)
        if free.any():
            sub = info[np.ix_(free, free)]
            # least squares: with one effect per cluster the two components are not separately identified
            step[free] = np.linalg.lstsq(sub, grad[free], rcond=None)[0]
        new = np.maximum(theta + step, 0.0)
        # step-halving keeps the log-likelihood from falling (Fisher scoring can overshoot)
        base = _loglik(y, X, V0 + theta[0] * A[0] + theta[1] * A[1], method)
        half = 0
        while _loglik(y, X, V0 + new[0] * A[0] + new[1] * A[1], method) < base - 1e-12 and half < 30:
            new = np.maximum(theta + step / 2 ** (half + 1), 0.0)
            half += 1
        change = np.max(np.abs(new - theta) / np.maximum(np.abs(theta), 1e-8))
        theta = new
        if change < 1e-12:
            converged = True
            break
    M = V0 + theta[0] * A[0] + theta[1] * A[1]
    Mi = np.linalg.inv(M)
    B = np.linalg.inv(X.T @ Mi @ X)
    b = B @ (X.T @ Mi @ y)
    W0 = np.diag(1 / v)
    P0 = W0 - W0 @ X @ np.linalg.inv(X.T @ W0 @ X) @ X.T @ W0
    q = float(max(0.0, y @ P0 @ y))
    return MultilevelFit(estimate=b, se=np.sqrt(np.diag(B)), vcov=B, sigma2=[float(theta[0]), float(theta[1])],
                         k=k, clusters=m, converged=converged, iterations=it, method=method,
                         names=names or ["intercept"] + [f"x{j}" for j in range(1, p)], q=q, q_df=k - p,
                         q_p=float(dist.chi2_sf(q, k - p)), loglik=_loglik(y, X, M, method),
                         _parts={"y": y, "v": v, "X": X, "M": M, "Mi": Mi, "B": B})


def robust_cr(fit: MultilevelFit, robust: list[str], level: float = 95.0) -> dict[str, list[dict[str, float]]]:
    """CR1 (metafor ``robust(adjust = TRUE)``) and CR2 (clubSandwich ``vcovCR(type = "CR2")`` +
    ``coef_test(test = "Satterthwaite")``) for every coefficient, clustered by ``robust``."""
    y, X, M, Mi, B = (fit._parts[key] for key in ("y", "X", "M", "Mi", "B"))
    k, p = X.shape
    codes = _levels([str(c) for c in robust])
    m = int(codes.max()) + 1
    if m - p < 1:
        raise InputError(f"Cluster-robust inference needs more clusters ({m}) than coefficients ({p}).")
    groups = [np.flatnonzero(codes == j) for j in range(m)]
    for g in groups:  # M must be block-diagonal by robust cluster for the working-model CR2
        others = np.setdiff1d(np.arange(k), g)
        if others.size and np.any(M[np.ix_(g, others)] != 0):
            raise InputError("The --robust clusters split a --cluster cluster; cluster-robust inference needs "
                             "each --cluster cluster inside one --robust cluster (e.g. --robust = --cluster).")
    e = y - X @ fit.estimate
    E = B @ X.T @ Mi  # p x k: the estimating matrix (b = E y)
    H = X @ E  # hat matrix
    IH = np.eye(k) - H
    alpha = 1 - level / 100
    # CR1
    meat = np.zeros((p, p))
    for g in groups:
        u = E[:, g] @ e[g]
        meat += np.outer(u, u)
    v1 = meat * m / (m - p)
    # CR2 adjustment matrices
    adj: list[np.ndarray] = []
    for g in groups:
        Mj = M[np.ix_(g, g)]
        R = np.linalg.cholesky(Mj).T  # upper: Mj = R' R
        G = R @ IH[np.ix_(g, g)] @ Mj @ R.T
        G = (G + G.T) / 2
        w, Q = np.linalg.eigh(G)
        w = np.where(w > 1e-12 * max(w.max(), 1.0), w, np.inf)
        adj.append(R.T @ (Q * (1 / np.sqrt(w))) @ Q.T @ R)
    meat2 = np.zeros((p, p))
    for g, Aj in zip(groups, adj, strict=True):
        u = E[:, g] @ Aj @ e[g]
        meat2 += np.outer(u, u)
    v2 = meat2
    out: dict[str, list[dict[str, float]]] = {"cr1": [], "cr2": []}
    for j in range(p):
        b = float(fit.estimate[j])
        se1 = float(np.sqrt(v1[j, j]))
        df1 = float(m - p)
        crit1 = dist.t_isf(alpha / 2, df1)
        out["cr1"].append({"se": se1, "ci_low": b - crit1 * se1, "ci_high": b + crit1 * se1, "df": df1,
                           "stat": b / se1, "p": _t_sf2(b / se1, df1)})
        se2 = float(np.sqrt(v2[j, j]))
        Qrows = np.vstack([(adj[i].T @ E[j, g]) @ IH[g, :] for i, g in enumerate(groups)])
        Pm = Qrows @ M @ Qrows.T
        df2 = float(np.trace(Pm) ** 2 / np.sum(Pm * Pm))
        crit2 = dist.t_isf(alpha / 2, df2)
        out["cr2"].append({"se": se2, "ci_low": b - crit2 * se2, "ci_high": b + crit2 * se2, "df": df2,
                           "stat": b / se2, "p": _t_sf2(b / se2, df2)})
    return out


def wald(fit: MultilevelFit, test: str = "z", level: float = 95.0) -> list[dict[str, float | None]]:
    """Model-based inference per coefficient: z (metafor's default for rma.mv) or t with k - p df."""
    alpha = 1 - level / 100
    df = None if test == "z" else float(fit.k - len(fit.estimate))
    crit = dist.norm_isf(alpha / 2) if df is None else dist.t_isf(alpha / 2, df)
    rows: list[dict[str, float | None]] = []
    for b, se in zip(fit.estimate.tolist(), fit.se.tolist(), strict=True):
        stat = b / se
        p = float(2 * dist.norm_sf(abs(stat))) if df is None else _t_sf2(stat, df)
        rows.append({"estimate": b, "se": se, "ci_low": b - crit * se, "ci_high": b + crit * se, "stat": stat,
                     "p": p, "df": df})
    return rows


def i2_levels(fit: MultilevelFit) -> tuple[float, list[float]]:
    """I^2 of the multilevel model, in total and per level: ``100 sigma2_l / (sum sigma2 + v~)`` with the typical
    sampling variance ``v~ = (k - p) / tr(P)``, ``P = W - W X (X'WX)^-1 X'W``, ``W = diag(1/v)`` (the metafor
    FAQ's "I^2 for multilevel and multivariate models"; Cheung 2014)."""
    v, X = fit._parts["v"], fit._parts["X"]
    w = 1 / v
    xtwx = (X * w[:, None]).T @ X
    tr_p = float(w.sum() - np.trace(np.linalg.solve(xtwx, (X * (w * w)[:, None]).T @ X)))
    total = sum(fit.sigma2)
    den = total + (fit.k - X.shape[1]) / tr_p
    return 100 * total / den, [100 * s / den for s in fit.sigma2]


def rowsum_weights(fit: MultilevelFit) -> np.ndarray:
    """Percent weight of each effect in the pooled estimate of an intercept-only model: the row sums of
    ``M^-1`` over their total (metafor ``weights(type = "rowsum")``), since the estimate is
    ``sum_i (M^-1 1)_i y_i / 1' M^-1 1``."""
    r = fit._parts["Mi"].sum(axis=1)
    return np.asarray(100 * r / r.sum(), dtype=float)


def prediction_interval(fit: MultilevelFit, se: float, crit: float) -> tuple[float, float]:
    """Where the true effect of a new study is expected: ``b +/- crit sqrt(se^2 + sigma2_1 + sigma2_2)``
    (metafor ``predict.rma.mv``; ``se`` and ``crit`` of the inference used, model-based or CR2)."""
    b = float(fit.estimate[0])
    half = crit * float(np.sqrt(se * se + sum(fit.sigma2)))
    return b - half, b + half


def multilevel_frame(df: Any, cluster: str, *, yi: str = "yi", vi: str = "vi", within: str | None = None,
                     robust: str | None = None, mods: list[str] | None = None, method: str = "REML",
                     test: str = "z", level: float = 95.0) -> dict[str, Any]:
    """The multilevel model for a DataFrame with one row per effect size: columns ``yi``/``vi``, the cluster
    (study) column, optionally the ``within`` level, the ``robust`` cluster column and moderators.

    A row with a missing value in any of these columns is omitted (metafor's na.omit) and listed under
    ``omitted``. ``test`` is ``z`` (metafor's default for rma.mv) or ``t`` (k - p df)."""
    from synth.meta.io import as_pandas, check, missing_cells, numeric, study_labels
    from synth.meta.regression import design

    if test not in ("z", "t"):
        raise InputError(f"The multilevel model takes --test z or t, not {test}; for small numbers of clusters "
                         "use --robust COL (CR2 with Satterthwaite df).")
    df = as_pandas(df)
    cols = [yi, vi, cluster, *(c for c in (within, robust) if c), *(m.removeprefix("cat:") for m in mods or [])]
    for col in cols:
        if col not in df.columns:
            raise InputError(f"Column {col!r} is not in the data (columns: {', '.join(map(str, df.columns))}). "
                             "Name an existing column.")
    labels = study_labels(df)
    gone = missing_cells(df, tuple(dict.fromkeys(cols)))
    omitted = [{"study": labels[i], "fields": c, "reason": f"{', '.join(c)} missing (NA): omitted from the model"}
               for i, c in sorted(gone.items())]
    keep = [i for i in range(len(df)) if i not in gone]
    sub = df.iloc[keep].reset_index(drop=True)
    sub_labels = [labels[i] for i in keep]
    nums = {col: numeric(sub, col, sub_labels) for col in (yi, vi)}
    check(nums[vi] > 0, sub_labels, vi, nums[vi], "sampling variances must be > 0")
    X, names = design(sub, mods, sub_labels) if mods else (np.ones((len(sub), 1)), ["intercept"])
    text = {c: [str(x).strip() for x in sub[c].tolist()] for c in (cluster, within, robust) if c}
    fit = fit_multilevel(nums[yi], nums[vi], text[cluster], text[within] if within else None, X, method, names)
    coefs = [{"name": n, **row} for n, row in zip(names, wald(fit, test, level), strict=True)]
    out: dict[str, Any] = {
        "model": f"multilevel (rma.mv, ~ 1 | {cluster}/{within or 'effect'})", "k": fit.k, "clusters": fit.clusters,
        "method": fit.method, "test": test, "level": level, **{key: coefs[0][key] for key in
                                                               ("estimate", "se", "ci_low", "ci_high", "stat", "p")},
        "sigma2": fit.sigma2, "sigma2_levels": [cluster, within or "effect"], "q": fit.q, "q_df": fit.q_df,
        "q_p": fit.q_p, "converged": fit.converged, "iterations": fit.iterations, "omitted": omitted,
        "warnings": [] if fit.converged else [f"{fit.method} did not converge in {fit.iterations} iterations"],
    }
    levels = len(set(zip(text[cluster], text[within], strict=True))) if within else fit.k
    if levels == fit.clusters:
        out["warnings"].append(f"every {cluster} has a single {within or 'effect'}: the two variance components are "
                               "not separately identified (only their sum is); the estimate is that of a "
                               "standard random-effects model")
    alpha = 1 - level / 100
    if mods:
        out["coefficients"] = coefs
    else:
        out["i2"], out["i2_levels"] = i2_levels(fit)
        crit = dist.norm_isf(alpha / 2) if test == "z" else dist.t_isf(alpha / 2, fit.k - 1)
        out["pi_low"], out["pi_high"] = prediction_interval(fit, out["se"], float(crit))
    if robust:
        rb = robust_cr(fit, text[robust], level)
        out["robust"] = {"cluster": robust, **{kind: {key: rows[0][key] for key in ("se", "ci_low", "ci_high", "df", "p")}
                                              for kind, rows in rb.items()}}
        if not mods:
            cr2 = out["robust"]["cr2"]
            cr2["pi_low"], cr2["pi_high"] = prediction_interval(fit, cr2["se"], float(dist.t_isf(alpha / 2, cr2["df"])))
        if mods:
            for j, c in enumerate(out["coefficients"]):
                c["robust"] = {kind: rows[j] for kind, rows in rb.items()}
    out["methods"] = (f"Multilevel random-effects model (effects within {cluster}"
                      f"{f', {within} within {cluster}' if within else ''}); variance components by {fit.method}; "
                      f"{'z' if test == 'z' else 't'} test" + (f"; cluster-robust CR1 (metafor robust, adjust) and "
                                                                f"CR2 with Satterthwaite df (clubSandwich), clustered "
                                                                f"by {robust}" if robust else "") + ".")
    return out


def multilevel_rows(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Flat rows of a :func:`multilevel_frame` result for CSV and table output: one row (overall estimate, both
    variance components, ``cr1_*``/``cr2_*`` when asked for), or with moderators one row per coefficient."""
    if "coefficients" not in res:
        return [_overall_row(res)]
    rows = []
    for c in res["coefficients"]:
        row = {"name": c["name"], **{key: c[key] for key in ("estimate", "se", "ci_low", "ci_high", "p")}}
        for kind, r in (c.get("robust") or {}).items():
            row.update({f"{kind}_{key}": r[key] for key in ("se", "ci_low", "ci_high", "df", "p")})
        rows.append(row)
    return rows


def _overall_row(res: dict[str, Any]) -> dict[str, Any]:
    keys = ("k", "clusters", "method", "test", "estimate", "se", "ci_low", "ci_high", "p", "q", "q_p")
    row: dict[str, Any] = {key: res[key] for key in keys}
    row["sigma2_between"], row["sigma2_within"] = res["sigma2"]
    for kind in ("cr1", "cr2"):
        for key, val in (res.get("robust") or {}).get(kind, {}).items():
            row[f"{kind}_{key}"] = val
    return row
