"""Unit tests of the geometry kernels (csrc/geometry/) against NumPy and closed forms.

The kernels are reached through the test entry points in pydiffvg._core.geometry.
Every comparison prints both numbers on failure.
"""
import math

import numpy as np
import pytest

from pydiffvg import _core

geometry = _core.geometry


# ----------------------------------------------------------------------------
# helpers


def f32(x):
    """Round to float32 as the kernels see their float inputs."""
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def match_roots(found, expected, tol, what=""):
    """Every expected root has a found root within tol and vice versa."""
    found = np.sort(np.asarray(found, dtype=np.float64))
    expected = np.sort(np.asarray(expected, dtype=np.float64))
    msg = f"{what}: found {found.tolist()} expected {expected.tolist()} (tol {tol})"
    assert np.all(np.diff(found) >= 0), msg
    for e in expected:
        assert found.size and np.min(np.abs(found - e)) <= tol, msg
    for r in found:
        assert expected.size and np.min(np.abs(expected - r)) <= tol, msg


def bezier(points, t):
    """Bernstein evaluation in float64; points (n+1, 2), t (m,) -> (m, 2)."""
    points = np.asarray(points, dtype=np.float64)
    n = len(points) - 1
    t = np.asarray(t, dtype=np.float64)[:, None]
    out = np.zeros((t.shape[0], 2))
    for k in range(n + 1):
        out += math.comb(n, k) * (1 - t) ** (n - k) * t ** k * points[k]
    return out


def refine_min(distance_of, lo, hi, samples=20001, rounds=3):
    """Global minimum of a 1-D function on [lo, hi] by dense sampling plus local refinement."""
    t = np.linspace(lo, hi, samples)
    d = distance_of(t)
    best = int(np.argmin(d))
    best_t, best_d = t[best], d[best]
    width = (hi - lo) / (samples - 1)
    for _ in range(rounds):
        t = np.clip(np.linspace(best_t - width, best_t + width, 2001), lo, hi)
        d = distance_of(t)
        best = int(np.argmin(d))
        if d[best] < best_d:
            best_t, best_d = t[best], d[best]
        width /= 1000.0
    return best_t, best_d


# ----------------------------------------------------------------------------
# quadratic and cubic solvers


@pytest.mark.parametrize("seed", range(20))
def test_solve_quadratic_random_roots(seed):
    rng = np.random.default_rng(seed)
    r = np.sort(rng.uniform(-10, 10, 2))
    a = rng.choice([-1, 1]) * 10 ** rng.uniform(-3, 3)
    coeffs = a * np.poly(r)
    found = geometry.solve_quadratic(*coeffs)
    assert len(found) == 2, (found, r)
    match_roots(found, r, 1e-9 * (1 + np.abs(r).max()), "quadratic")


def test_solve_quadratic_special_cases():
    assert geometry.solve_quadratic(1, 0, 1) == [], "no real roots"
    assert geometry.solve_quadratic(0, 0, 1) == [], "constant"
    assert geometry.solve_quadratic(0, 0, 0) == [], "zero polynomial"
    match_roots(geometry.solve_quadratic(0, 2, -1), [0.5], 0, "linear")
    # Double root: reported once, exactly.
    match_roots(geometry.solve_quadratic(1, -2, 1), [1.0], 0, "double root")
    match_roots(geometry.solve_quadratic(1, 0, 0), [0.0], 0, "double root at 0")
    # Double root whose discriminant rounds slightly negative.
    r = 1.0 / 3.0
    found = geometry.solve_quadratic(1, -2 * r, r * r)
    match_roots(found, [r], 1e-7, "rounded double root")
    # Tiny leading coefficient: one huge root, one accurate small root (vs numpy).
    found = geometry.solve_quadratic(1e-20, 1, -0.5)
    assert len(found) == 2, found
    assert abs(found[1] - 0.5) <= 1e-15, (found, 0.5)
    assert abs(found[0] / -1e20 - 1) <= 1e-12, (found, -1e20)
    # Cancellation-prone: roots 1e-8 and 1e8.
    found = geometry.solve_quadratic(1, -(1e8 + 1e-8), 1)
    assert abs(found[0] - 1e-8) <= 1e-22, (found[0], 1e-8)
    assert abs(found[1] - 1e8) <= 1e-7, (found[1], 1e8)


@pytest.mark.parametrize("seed", range(30))
def test_solve_cubic_random_real_roots(seed):
    rng = np.random.default_rng(seed)
    r = np.sort(rng.uniform(-5, 5, 3))
    r = r[np.r_[True, np.diff(r) > 1e-2]]  # keep well-separated roots
    if len(r) < 3:
        r = np.array([-3.0, 0.25, 4.0])
    a = rng.choice([-1, 1]) * 10 ** rng.uniform(-4, 4)
    coeffs = a * np.poly(r)
    found = geometry.solve_cubic(*coeffs)
    match_roots(found, r, 1e-8 * (1 + np.abs(r).max()), f"cubic {coeffs}")


@pytest.mark.parametrize("seed", range(20))
def test_solve_cubic_one_real_root(seed):
    rng = np.random.default_rng(100 + seed)
    real = rng.uniform(-5, 5)
    re, im = rng.uniform(-5, 5), rng.uniform(0.1, 5)
    coeffs = np.real(np.poly([real, re + 1j * im, re - 1j * im]))
    found = geometry.solve_cubic(*coeffs)
    match_roots(found, [real], 1e-9 * (1 + abs(real)), f"cubic {coeffs}")


@pytest.mark.parametrize(
    "roots, tol",
    [
        ([1.0, 1.0, 2.0], 1e-7),  # double root
        ([-0.5, 3.0, 3.0], 1e-7),  # double root, largest
        ([2.0, 2.0, 2.0], 1e-5),  # triple root: conditioning ~ eps^(1/3)
        ([1.0, 1.0 + 1e-4, 1.0 + 2e-4], 1e-4),  # clustered
        ([1e-6, 1.0, 1e6], 1e-9),  # widely spread scales
        ([0.0, 0.0, 1.0], 1e-7),  # double root at zero
    ],
)
def test_solve_cubic_ill_conditioned(roots, tol):
    coeffs = np.poly(roots)
    found = geometry.solve_cubic(*coeffs)
    match_roots(found, roots, tol * max(1.0, max(abs(x) for x in roots) * 1e-6 if max(roots) > 1e3 else 1.0),
                f"cubic with roots {roots}")


def test_solve_cubic_tiny_leading_coefficient_vs_numpy():
    for a, b, c, d in [(1e-12, 1.0, -3.0, 2.0), (1e-9, -2.0, 0.5, 0.25), (-1e-15, 1.0, 0.0, -4.0),
                       (1e-7, 1.0, 1.0, 1.0)]:
        expected = np.roots([a, b, c, d])
        expected = np.real(expected[np.abs(np.imag(expected)) <= 1e-9 * np.abs(expected)])
        found = geometry.solve_cubic(a, b, c, d)
        small_found = [x for x in found if abs(x) < 1e3]
        small_expected = [x for x in expected if abs(x) < 1e3]
        match_roots(small_found, small_expected, 1e-9, f"cubic {(a, b, c, d)} vs numpy {expected}")
        big = [x for x in found if abs(x) >= 1e3]
        big_expected = [x for x in expected if abs(x) >= 1e3]
        assert len(big) == len(big_expected), (found, expected)
        for x, y in zip(sorted(big), sorted(big_expected)):
            assert abs(x / y - 1) <= 1e-6, (x, y)
    # a == 0 exactly is the quadratic.
    match_roots(geometry.solve_cubic(0, 1, -3, 2), [1, 2], 1e-14, "cubic with a = 0")


# ----------------------------------------------------------------------------
# polynomial_roots_in_interval


@pytest.mark.parametrize("degree", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("seed", range(20))
def test_polynomial_roots_random(degree, seed):
    rng = np.random.default_rng(1000 * degree + seed)
    # Roots inside (0, 1) separated by >= 0.02, the rest outside [-0.1, 1.1] or complex.
    inside = []
    for _ in range(rng.integers(0, degree + 1)):
        x = rng.uniform(0.02, 0.98)
        if all(abs(x - y) > 0.02 for y in inside):
            inside.append(x)
    roots = list(inside)
    while len(roots) < degree:
        if degree - len(roots) >= 2 and rng.uniform() < 0.5:
            z = complex(rng.uniform(-1, 2), rng.uniform(0.05, 1))
            roots += [z, z.conjugate()]
        else:
            roots.append(rng.choice([-1, 1]) * rng.uniform(0.1, 3) + (1.0 if rng.uniform() < 0.5 else 0.0))
            if -0.1 < roots[-1] < 1.1:
                roots[-1] = 1.5
    scale = 10 ** rng.uniform(-6, 6)
    coeffs = scale * np.real(np.poly(roots))[::-1]  # lowest degree first
    found = geometry.polynomial_roots(coeffs.tolist(), 0.0, 1.0)
    match_roots(found, inside, 1e-9, f"degree {degree} roots {roots}")


@pytest.mark.parametrize(
    "roots, interval, tol",
    [
        ([0.3, 0.3, 0.7], (0, 1), 1e-6),  # double root inside
        ([0.5, 0.5, 0.5, 0.2, 0.9], (0, 1), 1e-4),  # triple root
        ([0.4, 0.4, 0.6, 0.6, 0.8], (0, 1), 1e-6),  # two double roots
        ([0.5, 0.5 + 1e-3, 0.5 + 2e-3, 0.5 + 3e-3, 0.5 + 4e-3], (0, 1), 2e-3),  # cluster of five
        ([0.25, 0.25 + 1e-6, 0.75], (0, 1), 1e-5),  # near-double pair
        ([1e-3, 1.0, 1e3, 1e5], (0, 1e6), 1e-9),  # spread over 8 decades (relative tol)
        ([0.0, 0.5, 1.0], (0, 1), 1e-12),  # roots at both end points
        ([-2.0, 0.1, 0.9, 3.0, 5.0], (-10, 10), 1e-9),
    ],
)
def test_polynomial_roots_ill_conditioned(roots, interval, tol):
    coeffs = np.poly(roots)[::-1]
    found = np.array(geometry.polynomial_roots(coeffs.tolist(), *interval))
    expected = [r for r in roots if interval[0] <= r <= interval[1]]
    # Relative tolerance for the wide-range case.
    for e in expected:
        assert found.size and np.min(np.abs(found - e)) <= tol * max(1.0, abs(e)), (found.tolist(), e)
    for r in found:
        assert np.min(np.abs(np.array(expected) - r)) <= tol * max(1.0, abs(r)), (r, expected)
    assert len(found) <= len(roots), (found.tolist(), roots)


def test_polynomial_roots_tiny_leading_and_huge_range():
    # 1e-14 t^5 + (t - 0.25)(t - 0.75): the quintic term is invisible on [0, 1].
    coeffs = [0.1875, -1.0, 1.0, 0.0, 0.0, 1e-14]
    match_roots(geometry.polynomial_roots(coeffs, 0, 1), [0.25, 0.75], 1e-12, "tiny leading")
    # Coefficients spanning 30 orders of magnitude: 1e15 (t - 1e-5)(t - 0.5) with a 1e-15 t^4 term.
    base = 1e15 * np.poly([1e-5, 0.5])[::-1]
    coeffs = list(base) + [0.0, 1e-15]
    match_roots(geometry.polynomial_roots(coeffs, 0, 1), [1e-5, 0.5], 1e-12, "huge range")
    # Exactly zero leading coefficients lower the degree; zero polynomial gives nothing.
    match_roots(geometry.polynomial_roots([-0.5, 1.0, 0.0, 0.0], 0, 1), [0.5], 0, "degree drop")
    assert geometry.polynomial_roots([0.0, 0.0, 0.0], 0, 1) == []
    assert geometry.polynomial_roots([1.0], 0, 1) == []
    assert geometry.polynomial_roots([-0.5, 1.0], 1, 0) == [], "empty interval"
    with pytest.raises(ValueError):
        geometry.polynomial_roots([1, 2, 3, 4, 5, 6, 7], 0, 1)


@pytest.mark.parametrize("seed", range(40))
def test_polynomial_roots_never_miss_a_sign_change(seed):
    """Random coefficients: every sign change on a fine grid has a root in that grid cell."""
    rng = np.random.default_rng(5000 + seed)
    degree = int(rng.integers(1, 6))
    coeffs = rng.normal(size=degree + 1) * 10 ** rng.uniform(-3, 3, size=degree + 1)
    found = np.array(geometry.polynomial_roots(coeffs.tolist(), -2.0, 2.0))
    t = np.linspace(-2, 2, 40001)
    values = np.polyval(coeffs[::-1], t)
    changes = np.nonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0)[0]
    for i in changes:
        inside = found[(found >= t[i] - 1e-12) & (found <= t[i + 1] + 1e-12)]
        assert inside.size >= 1, f"sign change in [{t[i]}, {t[i + 1]}] missed; found {found.tolist()}"
    # And every reported root is a real zero to working precision.
    for r in found:
        value = np.polyval(coeffs[::-1], r)
        bound = 1e-12 * np.sum(np.abs(coeffs) * np.abs(r) ** np.arange(degree + 1))
        assert abs(value) <= bound, (r, value, bound)
    assert len(found) <= degree


# ----------------------------------------------------------------------------
# closest point on Bézier segments


def check_closest_segment(points, p):
    points = f32(points)
    p = f32(p)
    t, point, dist = geometry.closest_point(points.tolist(), tuple(p))
    scale = 1.0 + np.abs(points).max() + np.abs(p).max()
    # The returned point is the curve at t, and the distance is to it.
    on_curve = bezier(points, [t])[0]
    assert 0.0 <= t <= 1.0, t
    assert np.linalg.norm(np.array(point) - on_curve) <= 1e-5 * scale, (point, on_curve, t)
    assert abs(dist - np.linalg.norm(np.array(point) - p)) <= 1e-5 * scale, (dist, point, p)
    # It is the global minimum.
    _, ref = refine_min(lambda ts: np.linalg.norm(bezier(points, ts) - p, axis=1), 0.0, 1.0)
    assert abs(dist - ref) <= 2e-6 * scale, f"distance {dist} reference {ref} points {points.tolist()} p {p}"


@pytest.mark.parametrize("degree", [1, 2, 3])
@pytest.mark.parametrize("seed", range(25))
def test_closest_point_random_segments(degree, seed):
    rng = np.random.default_rng(200 * degree + seed)
    points = rng.uniform(-10, 10, (degree + 1, 2))
    for p in [rng.uniform(-12, 12, 2), rng.uniform(-1, 1, 2), points[0] + rng.normal(0, 0.1, 2),
              bezier(points, [rng.uniform()])[0]]:
        check_closest_segment(points, p)


@pytest.mark.parametrize("degree", [2, 3])
@pytest.mark.parametrize("seed", range(6))
def test_within_distance_matches_dense_distance(degree, seed):
    # The stroke membership test against the distance to a dense sampling of
    # the curve: wiggly segments (like the benchmark's strokes) and points
    # spread around them, radii of 0.3 to 3. Points within 1e-3 of the radius
    # are ambiguous at float precision and skipped.
    rng = np.random.default_rng(900 + 10 * degree + seed)
    points = rng.uniform(0, 30, (degree + 1, 2))
    dense = bezier(points, np.linspace(0.0, 1.0, 200001))
    lo, hi = points.min(0) - 4, points.max(0) + 4
    wrong = []
    for i in range(400):
        # Half spread over the box, half near the curve, where the answers flip.
        p = rng.uniform(lo, hi) if i % 2 else dense[rng.integers(len(dense))] + rng.normal(0.0, 1.5, 2)
        r = float(rng.uniform(0.3, 3.0))
        d = float(np.sqrt(((dense - p) ** 2).sum(1)).min())
        if abs(d - r) < 1e-3:
            continue
        for test in (geometry.within_distance, geometry.within_distance_flat, geometry.within_distance_cached):
            got = test(points.tolist(), tuple(p), r)
            if got != (d <= r):
                wrong.append((test.__name__, p.tolist(), r, d, got))
    assert not wrong, f"{len(wrong)} wrong answers, e.g. (test, p, r, dense distance, answer) {wrong[:3]}"


@pytest.mark.parametrize("degree", [2, 3])
@pytest.mark.parametrize("seed", range(4))
def test_within_distance_just_off_the_offset_curve(degree, seed):
    # The boundary term asks whether a point 1e-3 outside (or inside) a
    # stroke's outline is in the stroke: the point lies on the normal through
    # a curve point, where the distance is stationary and chords cannot decide.
    # Tight bends (radii down to below the width) and random widths; the
    # reference is the distance to a dense sampling, refined.
    rng = np.random.default_rng(1700 + 10 * degree + seed)
    points = rng.uniform(0, 12, (degree + 1, 2))
    dense_t = np.linspace(0.0, 1.0, 200001)
    dense = bezier(points, dense_t)
    velocity = np.gradient(dense, dense_t, axis=0)
    wrong, checked = [], 0
    for _ in range(150):
        i = int(rng.integers(1, len(dense) - 1))
        speed = float(np.hypot(*velocity[i]))
        if speed < 1e-3:
            continue
        normal = np.array([-velocity[i][1], velocity[i][0]]) / speed * (1 if rng.uniform() < 0.5 else -1)
        r = float(rng.uniform(0.3, 3.0))
        for offset in (-2e-3, 2e-3):
            p = dense[i] + normal * (r + offset)
            _, d = refine_min(lambda t: np.sqrt(((bezier(points, t) - p) ** 2).sum(1)), 0.0, 1.0)
            if abs(d - r) < 5e-4:
                continue
            checked += 1
            for test in (geometry.within_distance, geometry.within_distance_flat, geometry.within_distance_cached):
                got = test(points.tolist(), tuple(p), r)
                if got != (d <= r):
                    wrong.append((test.__name__, p.tolist(), r, d, got))
    assert checked > 100
    assert not wrong, f"{len(wrong)} wrong answers, e.g. (test, p, r, reference distance, answer) {wrong[:3]}"


@pytest.mark.parametrize(
    "points",
    [
        [(1, 1), (1, 1)],  # point-like line
        [(0, 0), (0, 0), (4, 2)],  # quadratic with coincident control points
        [(0, 0), (2, 2), (4, 4)],  # collinear quadratic
        [(0, 0), (4, 0), (-2, 0)],  # quadratic folding back on itself
        [(3, 3), (3, 3), (3, 3), (3, 3)],  # cubic collapsed to a point
        [(0, 0), (0, 0), (5, 5), (5, 5)],  # cubic with doubled end points
        [(0, 0), (1, 1), (0, 1), (1, 0)],  # cusp at t = 0.5
        [(0, 0), (3, 3), (-1, 3), (2, 0)],  # loop
        [(0, 0), (1, 0), (2, 0), (3, 0)],  # straight cubic
        [(0, 0), (5, 0), (-2, 0), (3, 0)],  # straight cubic doubling back
    ],
)
def test_closest_point_degenerate_segments(points):
    rng = np.random.default_rng(len(points) * 7 + int(sum(x for x, _ in points)))
    queries = [rng.uniform(-2, 6, 2) for _ in range(12)] + [np.array(points[0], float), np.array([0.5, 0.5]),
                                                            np.array([0.5, 0.75])]
    for p in queries:
        check_closest_segment(points, p)


BOUNDED_CUBICS = [
    [(0, 0), (1, 1), (0, 1), (1, 0)],  # cusp at t = 0.5
    [(0, 0), (3, 3), (-1, 3), (2, 0)],  # loop
    [(0, 0), (5, 0), (-2, 0), (3, 0)],  # straight, doubling back
    [(3, 3), (3, 3), (3, 3), (3, 3)],  # collapsed to a point
    [(0, 0), (0, 0), (5, 5), (5, 5)],  # doubled end points
]


@pytest.mark.parametrize("search", ["closest_point_within", "closest_point_within_flat"])
@pytest.mark.parametrize("case", range(30))
def test_closest_point_within_matches_quintic(case, search):
    # The bounded subdivision + Newton search (used by prefiltering), started
    # from the whole curve or from its flattening into chords, against the
    # quintic solve: where the quintic's distance is under the limit they
    # agree to float rounding, and otherwise the bounded one reports None.
    rng = np.random.default_rng(4100 + case)
    if case < len(BOUNDED_CUBICS):
        points = f32(BOUNDED_CUBICS[case])
    else:
        points = f32(rng.uniform(0, 30, (4, 2)))
    lo, hi = points.min(0) - 3, points.max(0) + 3
    scale = 1.0 + np.abs(points).max()
    checked = 0
    for _ in range(300):
        p = f32(rng.uniform(lo, hi))
        limit = float(rng.choice([0.5, 1.0, 2.5, 40.0]))
        _, _, ref = geometry.closest_point(points.tolist(), tuple(p))
        got = getattr(geometry, search)(points.tolist(), tuple(p), limit)
        if abs(ref - limit) <= 1e-5 * scale:
            continue  # on the limit: either answer is right
        if ref >= limit:
            assert got is None, f"limit {limit}: reference distance {ref}, bounded search found {got}"
            continue
        assert got is not None, f"limit {limit}: reference distance {ref}, bounded search found nothing"
        t, point, dist = got
        on_curve = bezier(points, [t])[0]
        assert np.linalg.norm(np.array(point) - on_curve) <= 1e-5 * scale, (point, on_curve, t)
        assert abs(dist - ref) <= 2e-6 * scale, f"distance {dist} reference {ref} points {points.tolist()} p {p}"
        checked += 1
    assert checked >= 30


def test_closest_point_equidistant_ends():
    # Query on the symmetry axis of a symmetric arch: either end point or the
    # interior minimum, whichever is really closest.
    points = [(0.0, 0.0), (1.0, 2.0), (2.0, 0.0)]
    for y in np.linspace(-1, 2, 13):
        check_closest_segment(points, (1.0, y))
    with pytest.raises(ValueError):
        geometry.closest_point([(0, 0)], (0, 0))
    with pytest.raises(ValueError):
        geometry.closest_point([(0, 0)] * 5, (0, 0))


# ----------------------------------------------------------------------------
# ellipse and rectangle


def ellipse_points(center, radius, angles):
    return np.stack([center[0] + radius[0] * np.cos(angles), center[1] + radius[1] * np.sin(angles)], axis=1)


def check_closest_ellipse(center, radius, p):
    center, radius, p = f32(center), f32(radius), f32(p)
    angle, point, dist = geometry.closest_point_ellipse(tuple(center), tuple(radius), tuple(p))
    point = np.array(point)
    scale = np.abs(radius).max() + np.abs(center).max() + np.abs(p).max()
    expected_point = ellipse_points(center, radius, np.array([angle]))[0]
    assert np.linalg.norm(point - expected_point) <= 2e-6 * scale, (point, expected_point, angle)
    assert abs(dist - np.linalg.norm(point - p)) <= 2e-6 * scale, (dist, point, p)
    _, ref = refine_min(lambda a: np.linalg.norm(ellipse_points(center, radius, a) - p, axis=1),
                        -np.pi, np.pi, samples=40001)
    assert abs(dist - ref) <= 2e-6 * scale, f"distance {dist} reference {ref} center {center} radius {radius} p {p}"


@pytest.mark.parametrize("aspect", [1.0, 1.5, 4.0, 20.0, 100.0, 1 / 3.0, 1 / 100.0])
@pytest.mark.parametrize("seed", range(6))
def test_closest_point_ellipse(aspect, seed):
    rng = np.random.default_rng(int(aspect * 1000) + seed)
    rx = 10 ** rng.uniform(-1, 1.5)
    radius = np.array([rx, rx / aspect])
    center = rng.uniform(-20, 20, 2)
    r_max = radius.max()
    queries = [
        center,  # the centre
        center + rng.uniform(-0.3, 0.3, 2) * radius,  # inside
        center + rng.uniform(-3, 3, 2) * r_max,  # anywhere
        center + np.array([rng.uniform(-1, 1) * radius[0], 0.0]),  # on the major/minor axis
        center + np.array([0.0, rng.uniform(-1, 1) * radius[1]]),
        ellipse_points(center, radius, np.array([rng.uniform(-np.pi, np.pi)]))[0],  # on the curve
    ]
    for p in queries:
        check_closest_ellipse(center, radius, p)


def test_closest_point_ellipse_closed_forms():
    # Circle: the radial projection; at the centre any point at distance r.
    angle, point, dist = geometry.closest_point_ellipse((1.0, 2.0), (3.0, 3.0), (1.0 + 6.0, 2.0 + 8.0))
    assert abs(dist - 7.0) <= 1e-6, (dist, 7.0)
    assert abs(angle - math.atan2(8, 6)) <= 1e-6, (angle, math.atan2(8, 6))
    _, _, dist = geometry.closest_point_ellipse((0.0, 0.0), (3.0, 3.0), (0.0, 0.0))
    assert abs(dist - 3.0) <= 1e-6, (dist, 3.0)
    # Ellipse centre: the co-vertex, distance = minor radius.
    _, point, dist = geometry.closest_point_ellipse((0.0, 0.0), (5.0, 2.0), (0.0, 0.0))
    assert abs(dist - 2.0) <= 1e-6 and abs(point[0]) <= 1e-6, (dist, point)
    _, point, dist = geometry.closest_point_ellipse((0.0, 0.0), (2.0, 5.0), (0.0, 0.0))
    assert abs(dist - 2.0) <= 1e-6 and abs(point[1]) <= 1e-6, (dist, point)
    # Degenerate radius: a segment.
    _, point, dist = geometry.closest_point_ellipse((0.0, 0.0), (4.0, 0.0), (1.0, 3.0))
    assert abs(dist - 3.0) <= 1e-6 and abs(point[0] - 1.0) <= 1e-6, (dist, point)


def rect_perimeter_point(lo, hi, t):
    side, f = int(t), t - int(t)
    (x0, y0), (x1, y1) = lo, hi
    return [(x0 + f * (x1 - x0), y0), (x1, y0 + f * (y1 - y0)), (x1 - f * (x1 - x0), y1), (x0, y1 - f * (y1 - y0))][side]


@pytest.mark.parametrize("seed", range(20))
def test_closest_point_rect(seed):
    rng = np.random.default_rng(3000 + seed)
    lo = f32(rng.uniform(-10, 0, 2))
    hi = f32(lo + rng.uniform(0.1, 10, 2))
    corners = np.array([lo, [hi[0], lo[1]], hi, [lo[0], hi[1]], lo])
    for p in [rng.uniform(-15, 15, 2), rng.uniform(lo, hi), (lo + hi) / 2, corners[1] + 1.0]:
        p = f32(p)
        t, point, dist = geometry.closest_point_rect(tuple(lo), tuple(hi), tuple(p))
        assert 0 <= t < 4, t
        assert np.allclose(rect_perimeter_point(lo, hi, t), point, atol=1e-5), (t, point)
        ref = min(np.linalg.norm(bezier([corners[k], corners[k + 1]], np.linspace(0, 1, 100001)) - p, axis=1).min()
                  for k in range(4))
        assert abs(dist - ref) <= 1e-4, (dist, ref)
        assert abs(dist - np.linalg.norm(np.array(point) - p)) <= 1e-5, (dist, point, p)
    # Perimeter convention on the four sides.
    for p, side in [((0.5, -1.0), 0), ((2.0, 0.5), 1), ((0.5, 2.0), 2), ((-1.0, 0.5), 3)]:
        t, _, _ = geometry.closest_point_rect((0.0, 0.0), (1.0, 1.0), p)
        assert abs(t - (side + 0.5)) <= 1e-6, (p, t, side + 0.5)


# ----------------------------------------------------------------------------
# winding numbers


def winding_by_angle_sum(polyline, p):
    """Total turning angle of the closed polyline around p / 2 pi (y down, SVG direction positive)."""
    d = np.asarray(polyline, dtype=np.float64) - np.asarray(p, dtype=np.float64)
    angles = np.arctan2(d[:, 1], d[:, 0])
    steps = np.diff(np.concatenate([angles, angles[:1]]))
    steps = (steps + np.pi) % (2 * np.pi) - np.pi
    return int(round(steps.sum() / (2 * np.pi)))


def distance_to_polyline(polyline, p):
    a = np.asarray(polyline)
    b = np.roll(a, -1, axis=0)
    ab = b - a
    t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-300), 0, 1)
    return np.linalg.norm(a + ab * t[:, None] - p, axis=1).min()


@pytest.mark.parametrize("seed", range(20))
def test_winding_random_polygons(seed):
    rng = np.random.default_rng(4000 + seed)
    n = int(rng.integers(3, 12))
    vertices = f32(rng.uniform(-10, 10, (n, 2)))  # self-intersecting in general
    segments = [[tuple(vertices[i]), tuple(vertices[(i + 1) % n])] for i in range(n)]
    checked = 0
    queries = f32(rng.uniform(-11, 11, (200, 2)))
    queries[::4, 1] = vertices[np.arange(50) % n, 1]  # rays through vertices
    for p in queries:
        if distance_to_polyline(vertices, p) < 1e-3:
            continue
        got = geometry.winding_number_path(segments, tuple(p))
        want = winding_by_angle_sum(vertices, p)
        assert got == want, f"p {p.tolist()}: winding {got} reference {want}"
        checked += 1
    assert checked > 100


@pytest.mark.parametrize("degree", [1, 2, 3])
@pytest.mark.parametrize("seed", range(6))
def test_cached_winding_contribution_matches_direct(degree, seed):
    # The per-call cache decides most crossings from a thin band around each
    # step of the curve; it must give exactly the direct solve's answer, for
    # points far away, a hair off the curve, and on the heights where the
    # cache's steps meet (where a rounded bracket once misled the solve).
    rng = np.random.default_rng(5200 + 10 * degree + seed)
    checked = 0
    for _ in range(20):
        points = f32(rng.uniform(-50, 250, (degree + 1, 2)))
        on = bezier(points, rng.uniform(0, 1, 40))
        normal_offsets = rng.choice([-1, 1], (40, 1)) * 10 ** rng.uniform(-3, 0, (40, 1))
        steps = bezier(points, np.repeat(np.arange(1, 8) / 8, 3))
        queries = [rng.uniform(-60, 260, (40, 2)), on + normal_offsets * np.array([1.0, 0.3]),
                   steps + np.stack([rng.uniform(-1, 1, len(steps)), np.zeros(len(steps))], 1)]
        for p in f32(np.concatenate(queries)):
            want = geometry.winding_contribution(points.tolist(), tuple(p))
            got = geometry.winding_contribution_cached(points.tolist(), tuple(p))
            if got != want:
                # Only a point within rounding of the curve may differ.
                gap = np.linalg.norm(bezier(points, np.linspace(0, 1, 200001)) - p, axis=1).min()
                assert gap <= 1e-4, f"p {p.tolist()}: cached {got} direct {want}; points {points.tolist()}"
            checked += 1
    assert checked == 20 * 101


@pytest.mark.parametrize("seed", range(15))
def test_winding_random_cubic_paths(seed):
    rng = np.random.default_rng(4500 + seed)
    n = int(rng.integers(1, 5))
    anchors = f32(rng.uniform(-10, 10, (n, 2)))
    segments, polyline = [], []
    ts = np.linspace(0, 1, 4001)[:-1]
    for i in range(n):
        a, b = anchors[i], anchors[(i + 1) % n]
        pts = np.array([a, f32(rng.uniform(-14, 14, 2)), f32(rng.uniform(-14, 14, 2)), b])
        segments.append([tuple(x) for x in pts])
        polyline.append(bezier(pts, ts))
    polyline = np.concatenate(polyline)
    checked = 0
    queries = f32(rng.uniform(-12, 12, (150, 2)))
    queries[::3, 1] = anchors[np.arange(50) % n, 1]  # rays through the joins
    for p in queries:
        if distance_to_polyline(polyline, p) < 2e-2:
            continue
        got = geometry.winding_number_path(segments, tuple(p))
        want = winding_by_angle_sum(polyline, p)
        assert got == want, f"p {p.tolist()}: winding {got} reference {want}; segments {segments}"
        checked += 1
    assert checked > 40


@pytest.mark.parametrize("seed", range(8))
def test_winding_random_quadratic_paths(seed):
    rng = np.random.default_rng(4800 + seed)
    n = int(rng.integers(2, 6))
    anchors = f32(rng.uniform(-10, 10, (n, 2)))
    segments, polyline = [], []
    ts = np.linspace(0, 1, 4001)[:-1]
    for i in range(n):
        pts = np.array([anchors[i], f32(rng.uniform(-14, 14, 2)), anchors[(i + 1) % n]])
        segments.append([tuple(x) for x in pts])
        polyline.append(bezier(pts, ts))
    polyline = np.concatenate(polyline)
    for p in f32(rng.uniform(-12, 12, (100, 2))):
        if distance_to_polyline(polyline, p) < 2e-2:
            continue
        got = geometry.winding_number_path(segments, tuple(p))
        want = winding_by_angle_sum(polyline, p)
        assert got == want, f"p {p.tolist()}: winding {got} reference {want}"


def polygon(*vertices):
    return [[vertices[i], vertices[(i + 1) % len(vertices)]] for i in range(len(vertices))]


def test_winding_vertex_on_ray():
    # Diamond: the vertices (1, 0) and (-1, 0) lie on the ray's line; the path
    # passes through (1, 0), which counts once.
    diamond = polygon((0, -1), (1, 0), (0, 1), (-1, 0))
    assert geometry.winding_number_path(diamond, (0, 0)) == 1
    # The two edges at the pass-through vertex: exactly one of them counts.
    assert geometry.winding_contribution([(0, -1), (1, 0)], (0, 0)) == 0
    assert geometry.winding_contribution([(1, 0), (0, 1)], (0, 0)) == 1
    # Turn-back vertex on the ray (outside): counts zero.
    spike = polygon((2, -1), (3, 0), (4, -1), (4, -2), (2, -2))
    assert geometry.winding_number_path(spike, (0, 0)) == 0
    contributions = [geometry.winding_contribution(s, (0, 0)) for s in spike[:2]]
    assert contributions == [0, 0], contributions
    # Turn-back vertex of a notch whose tip touches the ray, inside the shape.
    notched = polygon((-2, -2), (2, -2), (2, 2), (1, 0), (-2, 2))
    assert geometry.winding_number_path(notched, (0, 0)) == 1
    assert winding_by_angle_sum(np.array([s[0] for s in notched], float), (0, 0)) == 1
    # Turn-back downward: vertex on the ray with both edges below it.
    valley = polygon((-2, -2), (2, -2), (2, 2), (1, 0.0), (-2, -1))
    assert geometry.winding_number_path(valley, (0, 0)) == winding_by_angle_sum(
        np.array([s[0] for s in valley], float), (0, 0))


def test_winding_horizontal_edges():
    # Staircase with a horizontal edge lying on the ray.
    stairs = polygon((0, 0), (2, 0), (2, 1), (3, 1), (3, 2), (0, 2))
    assert geometry.winding_number_path(stairs, (1, 1)) == 1
    assert geometry.winding_number_path(stairs, (1, 0.5)) == 1
    assert geometry.winding_number_path(stairs, (2.5, 0.5)) == 0
    assert geometry.winding_number_path(stairs, (2.5, 1.5)) == 1
    assert geometry.winding_contribution([(2, 1), (3, 1)], (0, 1)) == 0
    assert geometry.winding_contribution([(3, 1), (2, 1)], (0, 1)) == 0
    # The half-open rule on the boundary of a rectangle: top and left edges belong to it.
    square = polygon((0, 0), (1, 0), (1, 1), (0, 1))
    for p, want in [((0.5, 0.0), 1), ((0.5, 1.0), 0), ((0.0, 0.5), 1), ((1.0, 0.5), 0), ((0, 0), 1), ((1, 1), 0)]:
        assert geometry.winding_number_path(square, p) == want, (p, want)
        assert geometry.winding_number_rect((0, 0), (1, 1), p) == want, (p, want)


def test_winding_curves_touching_the_ray():
    arch = [(0.0, 0.0), (1.0, 2.0), (2.0, 0.0)]  # y = 4t(1-t), apex exactly y = 1 at t = 0.5
    assert geometry.winding_contribution(arch, (-1.0, 1.0)) == 0  # turn-back at the apex
    assert geometry.winding_contribution(arch, (-1.0, 0.999)) == 0  # two crossings cancel
    assert geometry.winding_contribution(arch, (1.0, 0.5)) == -1  # only the descending half is right of p
    assert geometry.winding_contribution(arch, (-1.0, 0.0)) == 0  # both ends on the ray
    # A closed path of two cubics joined at vertices on the ray: pass-through counts once.
    right = [(0.0, -1.0), (2.0, -1.0), (2.0, 1.0), (0.0, 1.0)]
    left = [(0.0, 1.0), (-2.0, 1.0), (-2.0, -1.0), (0.0, -1.0)]
    assert geometry.winding_number_path([right, left], (0.0, 0.0)) == 1
    assert geometry.winding_number_path([right, left], (-0.5, 0.0)) == 1
    # The join vertices (0, -1) and (0, 1) are the top and bottom extremes with
    # horizontal tangents: turn-backs, so points left of them on the ray are outside.
    for p in [(-0.5, 1.0), (-0.5, -1.0), (-3.0, -1.0), (-3.0, 1.0)]:
        contributions = [geometry.winding_contribution(s, p) for s in (right, left)]
        assert sum(contributions) == 0, (p, contributions)
    # Exactly one crossing of the right cubic at its top vertex (half-open in y).
    assert geometry.winding_contribution(right, (-0.5, -1.0)) == 1
    assert geometry.winding_contribution(right, (-0.5, 1.0)) == 0
    # Cubic with a horizontal inflection exactly on the ray: y = (2t-1)^3 passes through once.
    flat = [(0.0, -1.0), (1.0, 1.0), (2.0, -1.0), (3.0, 1.0)]
    assert geometry.winding_contribution(flat, (-1.0, 0.0)) == 1


@pytest.mark.parametrize("seed", range(10))
def test_winding_ellipse_and_rect(seed):
    rng = np.random.default_rng(6000 + seed)
    center = f32(rng.uniform(-5, 5, 2))
    radius = f32(rng.uniform(0.1, 6, 2))
    circle = ellipse_points(center, radius, np.linspace(0, 2 * np.pi, 20001)[:-1])
    lo = f32(rng.uniform(-5, 0, 2))
    hi = f32(lo + rng.uniform(0.5, 5, 2))
    rect_path = polygon(tuple(lo), (hi[0], lo[1]), tuple(hi), (lo[0], hi[1]))
    for p in f32(rng.uniform(-12, 12, (200, 2))):
        if distance_to_polyline(circle, p) > 1e-3:
            got = geometry.winding_number_ellipse(tuple(center), tuple(radius), tuple(p))
            want = winding_by_angle_sum(circle, p)
            assert got == want, (p, got, want)
        got = geometry.winding_number_rect(tuple(lo), tuple(hi), tuple(p))
        want = geometry.winding_number_path(rect_path, tuple(p))
        assert got == want, (p, got, want)
    # Points exactly on the rectangle's sides and the ellipse's extreme points.
    for p in [tuple(lo), (hi[0], lo[1]), tuple(hi), (lo[0], hi[1]), ((lo[0] + hi[0]) / 2, lo[1])]:
        assert geometry.winding_number_rect(tuple(lo), tuple(hi), p) == geometry.winding_number_path(rect_path, p), p
    center, radius = (1.5, 2.25), (3.0, 1.75)  # exact in float32, so the extreme points are exact
    top = (center[0], center[1] - radius[1])
    bottom = (center[0], center[1] + radius[1])
    # The top and bottom points have zero-width chords: the right half (+1) and
    # the left half (-1) cross the ray at the same x, so they cancel.
    assert geometry.winding_number_ellipse(tuple(center), tuple(radius), top) == 0
    assert geometry.winding_number_ellipse(tuple(center), tuple(radius), bottom) == 0
    # Left and right extreme points: the left one belongs to the inside (half-open in x).
    left = (center[0] - radius[0], center[1])
    right = (center[0] + radius[0], center[1])
    assert geometry.winding_number_ellipse(tuple(center), tuple(radius), left) == 1
    assert geometry.winding_number_ellipse(tuple(center), tuple(radius), right) == 0


# ----------------------------------------------------------------------------
# Bézier basics (bezier.h) through the same entry points


@pytest.mark.parametrize("degree", [1, 2, 3])
def test_evaluate_bounds_split(degree):
    rng = np.random.default_rng(7000 + degree)
    for _ in range(10):
        points = f32(rng.uniform(-10, 10, (degree + 1, 2)))
        pts = points.tolist()
        for t in [0.0, 0.3, 1.0]:
            got = np.array(geometry.evaluate(pts, t))
            want = bezier(points, [t])[0]
            assert np.allclose(got, want, atol=1e-5), (got, want)
        lo, hi = (np.array(x) for x in geometry.bounds(pts))
        dense = bezier(points, np.linspace(0, 1, 100001))
        assert np.allclose(lo, dense.min(axis=0), atol=1e-4), (lo, dense.min(axis=0))
        assert np.allclose(hi, dense.max(axis=0), atol=1e-4), (hi, dense.max(axis=0))
        t = 0.37
        left, right = geometry.split(pts, t)
        for u in [0.0, 0.5, 1.0]:
            assert np.allclose(bezier(left, [u])[0], bezier(points, [u * t])[0], atol=1e-4), u
            assert np.allclose(bezier(right, [u])[0], bezier(points, [t + u * (1 - t)])[0], atol=1e-4), u
