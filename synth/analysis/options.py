"""Pooling options, built in one place: an explicit choice wins, then the protocol's ``[analysis]`` plan, then
synth's defaults (REML, HKSJ, 95%, the default prediction interval)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synth.meta.pooling import PoolOptions

if TYPE_CHECKING:
    from synth.protocol.model import Analysis


def pool_options(plan: Analysis | None = None, *, method: str | None = None, test: str | None = None,
                 level: float | None = None, pi: str | None = None, back: str | None = None,
                 default_test: str = "hksj") -> PoolOptions:
    """Validated :class:`~synth.meta.pooling.PoolOptions`.

    ``plan`` is a protocol's ``[analysis]`` (``protocol.analysis``), or ``None`` for synth's defaults, where the
    test is ``default_test`` (bias tests and funnel plots use ``z``). The plan's ``prediction_interval = "none"``
    means "do not report one"; the engine then uses its default interval and the caller leaves it out.
    """
    d_method: str
    d_test: str
    if plan is not None:
        d_method, d_test, d_level = plan.estimator.value, plan.ci_method, float(plan.level)
        d_pi = plan.prediction_interval if plan.prediction_interval != "none" else "default"
    else:
        d_method, d_test, d_level, d_pi = "REML", default_test, 95.0, "default"
    opts = PoolOptions(method=(method or d_method).upper(), test=(test or d_test).lower(),
                       level=float(level if level is not None else d_level), pi=(pi or d_pi).lower(),
                       back=back.lower() if back else None)
    opts.validate()
    return opts
