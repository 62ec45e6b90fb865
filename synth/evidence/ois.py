"""Optimal information size (OIS), heterogeneity-adjusted required information size (RIS), and the share reached.

* OIS (GRADE 6, Guyatt et al. 2011; GRADE handbook): the total sample size of one adequately powered two-arm
  trial (alpha two-sided, power ``1 - beta``) to detect the minimal important effect.
  - continuous (SMD, or MD with an SD): ``N = 4 (z_{1-a/2} + z_{1-b})^2 sigma^2 / delta^2``;
  - binary (RR, OR, RD) from a control-group risk ``p0``:
    ``N = 2 (z_{1-a/2} + z_{1-b})^2 [p0(1-p0) + p1(1-p1)] / (p0 - p1)^2``.
* Diversity (Wetterslev, Thorlund, Brok & Gluud 2009, BMC Med Res Methodol 9:86): ``D^2 = (v_R - v_F)/v_R``
  where ``v_R`` and ``v_F`` are the variances of the random- and fixed-effect pooled estimates;
  ``RIS = OIS / (1 - D^2)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

RATIO_MEASURES = ("RR", "OR")


@dataclass(frozen=True)
class InformationSize:
    ois: float
    diversity: float
    ris: float
    participants: int
    ois_fraction: float
    ris_fraction: float
    assumptions: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _z(alpha: float, power: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))


def ois_continuous(delta: float, sd: float = 1.0, alpha: float = 0.05, power: float = 0.8) -> float:
    """Total participants (two equal arms) to detect a mean difference ``delta`` with outcome SD ``sd``."""
    if delta == 0 or sd <= 0:
        raise ValueError(f"need delta != 0 and sd > 0, got delta={delta}, sd={sd}")
    return 4 * _z(alpha, power) ** 2 * sd**2 / delta**2


def treated_risk(measure: str, p0: float, effect: float) -> float:
    """Risk in the intervention arm from the control risk and an effect on the analysis scale.

    ``RR``/``OR``: ``effect`` is a log ratio; ``RD``: a difference in risk.
    """
    if measure == "RR":
        return min(max(p0 * math.exp(effect), 1e-9), 1 - 1e-9)
    if measure == "OR":
        odds = p0 / (1 - p0) * math.exp(effect)
        return odds / (1 + odds)
    if measure == "RD":
        return min(max(p0 + effect, 1e-9), 1 - 1e-9)
    raise ValueError(f"not a binary measure: {measure}")


def ois_binary(p0: float, p1: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Total participants (two equal arms) to detect risks ``p0`` vs ``p1``."""
    if not (0 < p0 < 1 and 0 < p1 < 1) or p0 == p1:
        raise ValueError(f"need 0 < p0, p1 < 1 and p0 != p1, got p0={p0}, p1={p1}")
    return 2 * _z(alpha, power) ** 2 * (p0 * (1 - p0) + p1 * (1 - p1)) / (p0 - p1) ** 2


def diversity(v: Sequence[float], tau2: float) -> float:
    """``D^2 = (v_R - v_F)/v_R`` with ``v_F = 1/sum(1/v)`` and ``v_R = 1/sum(1/(v + tau2))``."""
    arr = np.asarray(v, dtype=float)
    if arr.size == 0:
        return 0.0
    v_f = 1.0 / np.sum(1.0 / arr)
    v_r = 1.0 / np.sum(1.0 / (arr + max(tau2, 0.0)))
    return float(max(0.0, (v_r - v_f) / v_r))


def information_size(
    measure: str,
    delta: float,
    participants: int,
    v: Sequence[float],
    tau2: float,
    *,
    p0: float | None = None,
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> InformationSize:
    """OIS and RIS for one outcome, and the share of each that the included participants reach.

    ``delta`` is the protocol's minimal important effect on the analysis scale (log for RR/OR). For binary
    measures ``p0`` (the control-group risk, e.g. the median across studies) is needed; for MD an ``sd``.
    The direction of ``delta`` is taken as a reduction for ratio measures (``exp(-|delta|)``).
    """
    m = measure.upper()
    if m in RATIO_MEASURES or m == "RD":
        if p0 is None:
            raise ValueError(f"{measure}: a control-group risk p0 is needed for the OIS")
        eff = -abs(delta)
        p1 = treated_risk(m, p0, eff)
        ois = ois_binary(p0, p1, alpha, power)
        assumptions = (f"two-arm trial, alpha {alpha:g} two-sided, power {power:g}; control risk {p0:.3f}, "
                       f"intervention risk {p1:.3f} ({m} {math.exp(eff):.3f})" if m != "RD" else
                       f"two-arm trial, alpha {alpha:g}, power {power:g}; risks {p0:.3f} vs {p1:.3f}")
    elif m == "SMD":
        ois = ois_continuous(abs(delta), 1.0, alpha, power)
        assumptions = f"two-arm trial, alpha {alpha:g} two-sided, power {power:g}; SMD {abs(delta):g}"
    else:
        if sd is None:
            raise ValueError(f"{measure}: an outcome SD is needed for the OIS")
        ois = ois_continuous(abs(delta), sd, alpha, power)
        assumptions = f"two-arm trial, alpha {alpha:g} two-sided, power {power:g}; difference {abs(delta):g}, SD {sd:g}"
    d2 = diversity(v, tau2)
    ris = ois / (1 - d2) if d2 < 1 else math.inf
    return InformationSize(
        ois=float(ois), diversity=d2, ris=float(ris), participants=int(participants),
        ois_fraction=float(participants / ois), ris_fraction=float(participants / ris) if math.isfinite(ris) else 0.0,
        assumptions=assumptions,
    )
