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


def sqrt_nearest(q: Fraction) -> float:
    """The double nearest to sqrt(q), q >= 0: 200 extra bits and a sticky bit, one rounding."""
    import math

    if q == 0:
        return 0.0
    k = 200
    scaled = q.numerator * (1 << (2 * k))
    r = math.isqrt(scaled // q.denominator)
    if r * r * q.denominator != scaled:
        r |= 1
    return float(Fraction(r, 1 << k))


def pixel_moments(images, channels: int):
    """Per channel (mean, var_pop, std_pop) of level / 255 (8-bit) or / 65535 (16-bit) values.

    ``images`` yields (H x W x C integer array, bits); sums are Python ints, every statistic one
    rounding of the exact rational.
    """
    n = 0
    s1 = [0] * channels
    s2 = [0] * channels
    for a, bits in images:
        scale = 257 if bits == 8 else 1  # 8-bit levels on the 16-bit scale
        n += a.shape[0] * a.shape[1]
        for c in range(channels):
            v = a[..., c].astype(object) * scale
            s1[c] += int(v.sum())
            s2[c] += int((v * v).sum())
    out = []
    for c in range(channels):
        var_pop = Fraction(n * s2[c] - s1[c] * s1[c], n * n * 65535 * 65535)
        out.append((float(Fraction(s1[c], n * 65535)), float(var_pop), sqrt_nearest(var_pop)))
    return out
