"""Exact oracles with fractions: the correctly rounded mean and variance of doubles."""

from __future__ import annotations

from fractions import Fraction
from typing import Iterable, Tuple


def exact_moments(values: Iterable[float]) -> Tuple[float, float, float]:
    """(mean, var_pop, var_samp) of ``values``, each the double nearest the exact rational value.

    ``float(Fraction)`` divides two Python ints, which CPython rounds correctly (to nearest, ties
    to even).
    """
    xs = [Fraction(v) for v in values]
    n = len(xs)
    s = sum(xs, Fraction(0))
    mean = s / n
    ss = sum(((x - mean) ** 2 for x in xs), Fraction(0))
    var_samp = float(ss / (n - 1)) if n > 1 else float("nan")
    return float(mean), float(ss / n), var_samp
