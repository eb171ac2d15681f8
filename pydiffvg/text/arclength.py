"""Arc length on a text path, measured the way resvg measures it.

resvg places text on a path with kurbo's approximate arc length: every
segment becomes a cubic (a line from p0 to p3 gets control points at 0.33
and 0.66 of the way, a quadratic is degree-raised), its length is an
adaptive Gauss-Legendre quadrature with a requested accuracy of 0.5 user
units, and the parameter at a distance s is found by ITP root finding
(Oliveira and Takahashi, ACM TOMS 47(1), 2020) to a tolerance of
accuracy / length in t. Glyphs therefore sit up to ~0.3 units from their
exact arc-length positions, enough to cost 2-5 dB against resvg's images;
we reproduce the procedure so that our glyphs land where resvg's do.

Quadrature (derivation): for B(t) cubic with B'(t) = 3 Q(t), the length is
∫_0^1 |B'(t)| dt. With u = 2t - 1 and the expansion of Q about t = 1/2,
Q = dm + dm1·u + dm2·u², the integral is (3/2) Σ w_i |Q(u_i)| over the
Gauss-Legendre nodes u_i of [-1, 1]. Its error is estimated from
∫ |Q'|²/|Q|² (a curvature measure) times the control polygon's excess
length over the chord; when even 24 nodes are not enough the cubic is
split in half, each half with half the accuracy.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable, List, Tuple

import numpy as np


@lru_cache(maxsize=None)
def _gauss_legendre(n: int) -> Tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return nodes, weights


def _half(n: int) -> Tuple[np.ndarray, np.ndarray]:
    nodes, weights = _gauss_legendre(n)
    keep = nodes >= 0.0
    return nodes[keep], weights[keep]


def as_cubic(ctrl: np.ndarray) -> np.ndarray:
    """A control polygon of 2, 3 or 4 points as the cubic resvg measures."""
    ctrl = np.asarray(ctrl, dtype=np.float64)
    if len(ctrl) == 2:
        p0, p3 = ctrl
        return np.array([p0, p0 + 0.33 * (p3 - p0), p0 + 0.66 * (p3 - p0), p3])
    if len(ctrl) == 3:
        p0, p1, p2 = ctrl
        return np.array([p0, p0 + (2.0 / 3.0) * (p1 - p0), p2 + (2.0 / 3.0) * (p1 - p2), p2])
    return ctrl


def _expansion(c: np.ndarray):
    d01, d12, d23 = c[1] - c[0], c[2] - c[1], c[3] - c[2]
    dd1, dd2 = d12 - d01, d23 - d12
    dm = 0.25 * (d01 + d23) + 0.5 * d12      # B'/3 at t = 1/2
    dm1 = 0.5 * (dd2 + dd1)                  # its first u-derivative
    dm2 = 0.25 * (dd2 - dd1)                 # half its second
    return d01, d12, d23, dm, dm1, dm2


def _quadrature(n: int, dm, dm1, dm2) -> float:
    nodes, weights = _half(n)
    total = 0.0
    for w, x in zip(weights, nodes):
        d = dm + dm2 * (x * x)
        if x == 0.0:  # the middle node of an odd rule counts once
            total += 1.5 * w * math.hypot(*d)
            continue
        total += 1.5 * w * (math.hypot(*(d + dm1 * x)) + math.hypot(*(d - dm1 * x)))
    return total


def cubic_length(c: np.ndarray, accuracy: float, depth: int = 0) -> float:
    d01, d12, d23, dm, dm1, dm2 = _expansion(c)
    excess = (math.hypot(*d01) + math.hypot(*d12) + math.hypot(*d23)
              - math.hypot(*(c[3] - c[0])))
    nodes, weights = _gauss_legendre(8)
    estimate = 0.0
    for w, x in zip(weights, nodes):
        d = dm + dm1 * x + dm2 * (x * x)
        dd = dm1 + dm2 * (2.0 * x)
        norm = float(d @ d)
        estimate += w * (float(dd @ dd) / norm if norm > 0 else 0.0)
    if min(estimate ** 3 * 2.5e-6, 3e-2) * excess < accuracy:
        return _quadrature(8, dm, dm1, dm2)
    if min(estimate ** 6 * 1.5e-11, 9e-3) * excess < accuracy:
        return _quadrature(16, dm, dm1, dm2)
    if min(estimate ** 9 * 3.5e-16, 3.5e-3) * excess < accuracy or depth >= 20:
        return _quadrature(24, dm, dm1, dm2)
    left, right = split_half(c)
    return (cubic_length(left, accuracy * 0.5, depth + 1)
            + cubic_length(right, accuracy * 0.5, depth + 1))


def split_half(c: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    a = 0.5 * (c[0] + c[1])
    b = 0.25 * (c[0] + 2.0 * c[1] + c[2])
    m = eval_cubic(c, 0.5)
    e = 0.25 * (c[1] + 2.0 * c[2] + c[3])
    f = 0.5 * (c[2] + c[3])
    return np.array([c[0], a, b, m]), np.array([m, e, f, c[3]])


def eval_cubic(c: np.ndarray, t: float) -> np.ndarray:
    mt = 1.0 - t
    return c[0] * (mt * mt * mt) + (c[1] * (mt * mt * 3.0) + (c[2] * (mt * 3.0) + c[3] * t) * t) * t


def deriv_cubic(c: np.ndarray, t: float) -> np.ndarray:
    mt = 1.0 - t
    q0, q1, q2 = 3.0 * (c[1] - c[0]), 3.0 * (c[2] - c[1]), 3.0 * (c[3] - c[2])
    return q0 * (mt * mt) + q1 * (2.0 * mt * t) + q2 * (t * t)


def subsegment(c: np.ndarray, t0: float, t1: float) -> np.ndarray:
    p0, p3 = eval_cubic(c, t0), eval_cubic(c, t1)
    k = (t1 - t0) / 3.0
    return np.array([p0, p0 + k * deriv_cubic(c, t0), p3 - k * deriv_cubic(c, t1), p3])


def _itp(f: Callable[[float], float], a: float, b: float, epsilon: float, ya: float,
         yb: float, n0: int = 1, k1: float = 0.2) -> float:
    """The ITP method (interpolate, truncate, project) with k2 = 2: a
    bracketing root finder with bisection's worst case and secant-like
    speed on smooth functions. Returns the bracket's midpoint."""
    n_half = max(0, int(math.ceil(math.log2((b - a) / epsilon)) - 1))
    scaled = epsilon * float(1 << (n0 + n_half))
    while b - a > 2.0 * epsilon:
        middle = 0.5 * (a + b)
        radius = scaled - 0.5 * (b - a)
        regula = (yb * a - ya * b) / (yb - ya)
        sigma = middle - regula
        delta = k1 * (b - a) ** 2
        truncated = regula + math.copysign(delta, sigma) if delta <= abs(sigma) else middle
        x = truncated if abs(truncated - middle) <= radius else middle - math.copysign(radius,
                                                                                       sigma)
        y = f(x)
        if y > 0.0:
            b, yb = x, y
        elif y < 0.0:
            a, ya = x, y
        else:
            return x
        scaled *= 0.5
    return 0.5 * (a + b)


def param_at_length(c: np.ndarray, s: float, accuracy: float, total: float) -> float:
    """t with length(0, t) = s, as kurbo's inv_arclen computes it."""
    if s <= 0.0:
        return 0.0
    if s >= total:
        return 1.0
    epsilon = accuracy / total
    steps = 1.0 - min(math.ceil(math.log2(epsilon)), 0.0)
    inner = accuracy / steps
    state = [0.0, 0.0]  # last t, length up to it

    def f(t: float) -> float:
        last_t, last_len = state
        if t > last_t:
            piece = cubic_length(subsegment(c, last_t, t), inner)
            last_len += piece
        else:
            piece = cubic_length(subsegment(c, t, last_t), inner)
            last_len -= piece
        state[0], state[1] = t, last_len
        return last_len - s

    return _itp(f, 0.0, 1.0, epsilon, -s, total - s)


class ResvgPath:
    """A text path as resvg measures it: cubic segments, their lengths."""

    def __init__(self, segments: List[np.ndarray], accuracy: float = 0.5):
        self.accuracy = accuracy
        self.cubics = [as_cubic(ctrl) for ctrl in segments]
        self.lengths = [cubic_length(c, accuracy) for c in self.cubics]
        self.length = float(sum(self.lengths))

    def place(self, offsets: List[float]):
        """For each offset: (point, tangent angle in degrees) or None when it
        lies before the start or past the end."""
        out = []
        start = 0.0
        pending = list(enumerate(offsets))
        results = [None] * len(offsets)
        index = 0
        for c, length in zip(self.cubics, self.lengths):
            remaining = []
            for i, offset in pending:
                if offset < 0.0:
                    continue
                if start <= offset <= start + length:
                    t = min(max(param_at_length(c, offset - start, self.accuracy, length),
                                0.0), 1.0)
                    d = deriv_cubic(c, t)
                    results[i] = (eval_cubic(c, t), math.degrees(math.atan2(d[1], d[0])))
                else:
                    remaining.append((i, offset))
            pending = remaining
            start += length
            index += 1
        return results
