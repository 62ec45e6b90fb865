"""Meta-analysis engine: effect sizes, random-effects pooling (vectorised across analyses), heterogeneity,
small-study tests, sensitivity analyses, subgroups, meta-regression and plots; validated against R metafor
(see ``validation/metafor/`` and ``docs/meta-analysis.md``).

Library API (plain DataFrames/arrays in, plain dicts out)::

    from synth.meta import PoolOptions, compute_effects, pool_by, pool_effects, pool_frame
    res = pool_frame(df, "OR", PoolOptions(method="REML", test="hksj"))
"""

from synth.meta.analysis import pool_by, pool_effects, pool_frame
from synth.meta.effects import EffectTable, compute_effects
from synth.meta.pooling import PoolOptions, pool_arrays, pool_batch

__all__ = ["EffectTable", "PoolOptions", "compute_effects", "pool_arrays", "pool_batch", "pool_by",
           "pool_effects", "pool_frame"]
