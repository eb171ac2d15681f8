// Closest points on segments, circles, ellipses and rectangles.
//
// INTERFACE (signatures fixed by the design):
//   closest_point_on_segment, closest_point_on_ellipse, closest_point_on_rect.
#pragma once

#include "bezier.h"
#include "roots.h"
#include "segment_double.h"

namespace pdvg {

struct ClosestPoint {
    float t;          // segment parameter in [0, 1] (for ellipses: the angle in radians)
    Vec2f point;      // the closest point
    float distance;   // |point - query|
};

namespace closest_detail {

HOST_DEVICE inline ClosestPoint make_result(double t, Vec2d point, Vec2d query) {
    ClosestPoint r;
    r.t = float(t);
    r.point = Vec2f(float(point.x), float(point.y));
    r.distance = float(length(point - query));
    return r;
}

// Closest point to q on the segment a-b in double; writes the fraction along it.
HOST_DEVICE inline Vec2d closest_on_line(Vec2d a, Vec2d b, Vec2d q, double* fraction) {
    Vec2d ab = b - a;
    double len2 = dot(ab, ab);
    double t = len2 > 0.0 ? clamp_value(dot(q - a, ab) / len2, 0.0, 1.0) : 0.0;
    *fraction = t;
    return a + ab * t;
}

// Eberly's bisection for the first-quadrant problem ("Distance from a Point
// to an Ellipse, an Ellipsoid, or a Hyperellipsoid", 2013, section 2.9):
// semi-axes e0 >= e1 > 0, query (y0, y1) with y0, y1 >= 0. The closest point
// is x_i = y_i e_i^2 / (t + e_i^2) where t solves
//   F(t) = (e0 y0 / (t + e0^2))^2 + (e1 y1 / (t + e1^2))^2 - 1 = 0.
// With s = t / e1^2, z_i = y_i / e_i and r0 = (e0/e1)^2 this is
//   G(s) = (r0 z0 / (s + r0))^2 + (z1 / (s + 1))^2 - 1 = 0,
// decreasing on s > -1 with its root in [z1 - 1, |(r0 z0, z1)| - 1].
HOST_DEVICE inline void ellipse_first_quadrant(double e0, double e1, double y0, double y1,
                                               double* x0, double* x1) {
    if (y1 > 0.0) {
        if (y0 > 0.0) {
            double z0 = y0 / e0, z1 = y1 / e1;
            double g = z0 * z0 + z1 * z1 - 1.0;
            if (g == 0.0) { *x0 = y0; *x1 = y1; return; }
            double r0 = (e0 / e1) * (e0 / e1);
            double n0 = r0 * z0;
            double s0 = z1 - 1.0;
            double s1 = g < 0.0 ? 0.0 : sqrt(n0 * n0 + z1 * z1) - 1.0;
            double s = 0.0;
            for (int iteration = 0; iteration < 2200; ++iteration) {
                s = 0.5 * (s0 + s1);
                if (s == s0 || s == s1) break;
                double ratio0 = n0 / (s + r0), ratio1 = z1 / (s + 1.0);
                double value = ratio0 * ratio0 + ratio1 * ratio1 - 1.0;
                if (value > 0.0) s0 = s;
                else if (value < 0.0) s1 = s;
                else break;
            }
            *x0 = r0 * y0 / (s + r0);
            *x1 = y1 / (s + 1.0);
        } else {  // on the minor axis: the co-vertex
            *x0 = 0.0;
            *x1 = e1;
        }
    } else {
        // On the major axis. Inside the evolute's cusp (e0 y0 < e0^2 - e1^2)
        // the closest point leaves the axis: x0 = e0^2 y0 / (e0^2 - e1^2).
        double numerator = e0 * y0, denominator = e0 * e0 - e1 * e1;
        if (numerator < denominator) {
            double ratio = numerator / denominator;
            *x0 = e0 * ratio;
            *x1 = e1 * sqrt(max_value(0.0, 1.0 - ratio * ratio));
        } else {
            *x0 = e0;
            *x1 = 0.0;
        }
    }
}

// How a Bézier piece sits on its chord: the largest distance of its inner
// control points from the chord's line (`deviation`). A piece with
// coincident ends reports the largest distance of its points from the start.
struct ChordFit {
    Vec2f chord;
    float chord2 = 0.0f, deviation = 0.0f;
};

HOST_DEVICE inline ChordFit fit_chord(const Segment& g) {
    ChordFit f;
    const int n = g.degree;
    f.chord = g.p[n] - g.p[0];
    f.chord2 = dot(f.chord, f.chord);
    float chord_length = sqrtf(f.chord2);
    for (int k = 1; k < n; ++k) {
        Vec2f d = g.p[k] - g.p[0];
        f.deviation = max_value(f.deviation, chord_length > 0.0f ? fabsf(cross(f.chord, d)) / chord_length : length(d));
    }
    return f;
}

// How convex the squared distance from p to piece g is along its arc
// length: a lower bound m on f'' for f = |c - p|^2 / 2 over the piece, given
// `reach`, a bound on p's distance to every point of it. Where m > 0 the
// distance has a single minimum along the piece (at an end or at the one
// stationary point), and no point of it is nearer p than
// sqrt(|c0 - p|^2 - g^2 / (m |c'|^2)) for any point c0 of it, g = (c0 - p) . c'
// (unimodal_within_distance). Returns 0 when no bound holds.
//
// Along arc length f'' = 1 + (c - p) . kappa N >= 1 - kappa_max * reach. The
// curvature is bounded from the control-point differences a, b (and c):
//   quadratic: c' = 2((1-t) a + t b),               c' x c'' = 4 (a x b);
//   cubic:     c' = 3((1-t)^2 a + 2t(1-t) b + t^2 c),
//              c' x c'' = 18 ((1-t)^2 (a x b) + t(1-t) (a x c) + t^2 (b x c)),
// whose size is at most the largest Bernstein coefficient (a x c counts half
// in the cubic: its basis function is 2t(1-t)). And |c'| >= c' . u for the
// chord direction u, which is at least `degree` times the smallest of the
// differences' components along u (c' is a Bernstein blend of them); when
// that is not positive the piece may fold back or stop, and no bound holds.
HOST_DEVICE inline float distance_convexity(const Segment& g, const ChordFit& f, float reach) {
    const int n = g.degree;
    if (n < 2) return 1.0f;  // a line: kappa = 0
    if (!(f.chord2 > 0.0f)) return f.deviation == 0.0f ? 1.0f : 0.0f;  // a point, or a piece that returns
    const Vec2f u = f.chord * (1.0f / sqrtf(f.chord2));
    const Vec2f a = g.p[1] - g.p[0], b = g.p[2] - g.p[1];
    float along = min_value(dot(a, u), dot(b, u)), bend;
    if (n == 2) {
        bend = 4.0f * fabsf(cross(a, b));
    } else {
        const Vec2f c = g.p[3] - g.p[2];
        along = min_value(along, dot(c, u));
        bend = 18.0f * max_value(max_value(fabsf(cross(a, b)), fabsf(cross(b, c))), 0.5f * fabsf(cross(a, c)));
    }
    if (!(along > 0.0f)) return 0.0f;
    const float speed = float(n) * along;
    const float m = 1.0f - bend * reach / (speed * speed * speed);
    return m > 0.0f ? m : 0.0f;
}

// Pieces whose convexity bound is below this are split further (the bound is
// then too weak to be worth using).
constexpr float kMinConvexity = 0.125f;

// A bound on the distance from p to every point of piece g: the piece lies
// in the hull of its control points and the distance to p is convex, so its
// largest value over the hull is at a control point.
HOST_DEVICE inline float piece_reach(const Segment& g, Vec2f p) {
    float farthest = 0.0f;
    for (int k = 0; k <= g.degree; ++k) farthest = max_value(farthest, length_squared(g.p[k] - p));
    return sqrtf(farthest);
}

// The minimum over [lo, hi] of the distance from p to the polynomial curve
// c(t) (power basis, with p already subtracted from c[0]), when that distance
// is unimodal there. Returns the interior stationary point, a root of
//   g(t) = c(t) . c'(t),   g'(t) = |c'(t)|^2 + c(t) . c''(t),
// bracketed by g < 0 just after lo and g > 0 just before hi, or -1 when there
// is none (the minimum is then at an end). Where the velocity vanishes, as at
// a doubled control point, g is 0 at the end itself and the sign of g' there
// tells which way it goes. Newton's method starts at `start`, with bisection
// whenever a step leaves the bracket or the slope is not positive, until a
// step is below `tolerance` (in t).
HOST_DEVICE inline double unimodal_stationary_point(const Vec2d c[4], double lo, double hi, double start,
                                                    double tolerance = 1e-15) {
    auto stationarity = [&](double at, double* slope) {
        Vec2d value = ((c[3] * at + c[2]) * at + c[1]) * at + c[0];
        Vec2d d1 = (c[3] * (3.0 * at) + c[2] * 2.0) * at + c[1];
        Vec2d d2 = c[3] * (6.0 * at) + c[2] * 2.0;
        *slope = dot(d1, d1) + dot(value, d2);
        return dot(value, d1);
    };
    double slope_lo, slope_hi;
    double g_lo = stationarity(lo, &slope_lo), g_hi = stationarity(hi, &slope_hi);
    if (g_lo == 0.0) g_lo = slope_lo;
    if (g_hi == 0.0) g_hi = -slope_hi;
    if (!(g_lo < 0.0 && g_hi > 0.0)) return -1.0;
    double t = start;
    if (!(t > lo && t < hi)) t = 0.5 * (lo + hi);
    for (int iteration = 0; iteration < 80; ++iteration) {
        double slope, value = stationarity(t, &slope);
        if (value == 0.0) break;
        if (value < 0.0) lo = t; else hi = t;
        double next = slope > 0.0 ? t - value / slope : lo - 1.0;
        if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
        if (fabs(next - t) <= tolerance || hi - lo <= 1e-15) return next;
        t = next;
    }
    return t;
}

// Whether a piece whose squared distance from p is convex along it (lower
// bound m on f'', distance_convexity) comes within sqrt(r2) of p, decided
// from a few Newton iterates instead of the converged stationary point: 1
// yes, 0 no, -1 undecided. `c` is the piece in power basis with p
// subtracted, `start` a first guess in [0, 1].
//
// A function with f'' >= m on an interval stays above f(s0) - f'(s0)^2 / (2 m)
// there. With f = |c - p|^2 / 2 along arc length, f'(s0) = g / |c'| for
// g = (c - p) . c' (d/ds = d/dt / |c'|), so over the whole piece
//   min |c - p|^2 >= |c0 - p|^2 - g^2 / (m |c'|^2),
// which rules the piece out once the iterate is near enough the minimum.
// An iterate within reach of p rules it in.
HOST_DEVICE inline int unimodal_within_distance(const Vec2d c[4], double r2, double m, double start) {
    double t = start;
    for (int iteration = 0; iteration < 3; ++iteration) {
        Vec2d value = ((c[3] * t + c[2]) * t + c[1]) * t + c[0];
        Vec2d d1 = (c[3] * (3.0 * t) + c[2] * 2.0) * t + c[1];
        double d2 = dot(value, value);
        if (d2 <= r2) return 1;
        double g = dot(value, d1), speed2 = dot(d1, d1);
        if (speed2 > 0.0 && d2 - g * g / (m * speed2) > r2) return 0;
        double slope = speed2 + dot(value, c[3] * (6.0 * t) + c[2] * 2.0);
        if (!(slope > 0.0)) return -1;
        t = clamp_value(t - g / slope, 0.0, 1.0);
    }
    return -1;
}

}  // namespace closest_detail

// Global minimum of |s(t) - p| over t in [0, 1], end points included.
// Line: projection clamped. Quadratic: the cubic d/dt |s(t)-p|^2 = 0.
// Cubic: the quintic (s(t)-p).s'(t) = 0 through polynomial_roots_in_interval.
//
// With the power basis s(t) = sum_k c_k t^k, the stationarity condition is
//   (s(t) - p) . s'(t) = sum_{i,j} (c_i - [i=0] p) . (j c_j) t^{i+j-1} = 0,
// of degree 2n - 1. Candidates are its roots in [0, 1] and both end points;
// the smallest distance (evaluated in double by de Casteljau) wins, so a
// spurious root can never make the answer worse.
HOST_DEVICE inline ClosestPoint closest_point_on_segment(const Segment& s, Vec2f p) {
    using namespace closest_detail;
    Vec2d q(p);
    if (s.degree <= 1) {
        double t;
        Vec2d point = closest_on_line(Vec2d(s.p[0]), Vec2d(s.p[1]), q, &t);
        return make_result(t, point, q);
    }
    Vec2d c[4];
    power_basis(s, c);
    c[0] = c[0] - q;  // s(t) - p
    int n = s.degree;
    double stationary[6] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    for (int i = 0; i <= n; ++i)
        for (int j = 1; j <= n; ++j) stationary[i + j - 1] += double(j) * dot(c[i], c[j]);
    double candidates[7];
    int count = polynomial_roots_in_interval(stationary, 2 * n - 1, 0.0, 1.0, candidates);
    candidates[count++] = 0.0;
    candidates[count++] = 1.0;
    double best_t = 0.0, best_d2 = INFINITY;
    Vec2d best_point;
    for (int i = 0; i < count; ++i) {
        double t = clamp_value(candidates[i], 0.0, 1.0);
        Vec2d point = evaluate_double(s, t);
        double d2 = length_squared(point - q);
        if (d2 < best_d2) { best_d2 = d2; best_t = t; best_point = point; }
    }
    return make_result(best_t, best_point, q);
}

namespace closest_detail {

// The state of a bounded closest-point search on one cubic s: its power
// basis shifted by the query point, and the best candidate so far.
struct BoundedSearch {
    Vec2d c[4];        // s(t) - p in the power basis
    Vec2d q;           // p in double
    double best_d2, best_t = -1.0;
    Vec2d best_point;
    float tolerance;   // leaf flatness
};

HOST_DEVICE inline BoundedSearch start_bounded_search(const Segment& s, Vec2f p, float limit) {
    BoundedSearch b;
    power_basis(s, b.c);
    b.q = Vec2d(p);
    b.c[0] = b.c[0] - b.q;
    b.tolerance = 0.05f * limit;
    b.best_d2 = double(limit) * double(limit);
    return b;
}

// Searches the part of s over [t0, t1], whose control points are `piece`,
// for points nearer than the best so far. Returns false when the search
// degenerates (too many pieces survive), for the caller to fall back on the
// quintic.
HOST_DEVICE inline bool search_bounded_piece(const Segment& s, Vec2f p, const Segment& piece, float t0, float t1,
                                             BoundedSearch& b) {
    struct Piece { Segment seg; float t0, t1; };
    UninitialisedArray<Piece, 20> stack;
    int top = 0, visits = 0;
    stack[top++] = {piece, t0, t1};
    while (top > 0) {
        Piece at = stack[--top];
        const Segment& g = at.seg;
        BBox2 hull = BBox2::empty();
        for (int k = 0; k < 4; ++k) hull.expand(g.p[k]);
        // Pieces no nearer than the best so far are pruned; the float hull
        // distance gets a relative slack so that pieces tied with the best up
        // to rounding (a point-like curve) are pruned too.
        if (double(hull.distance_squared(p)) * (1.0 + 1e-5) >= b.best_d2) continue;
        if (++visits > 400) return false;
        // Leaf: flat within the tolerance, and the distance along it unimodal
        // for points within the limit.
        ChordFit fit = fit_chord(g);
        bool leaf = fit.deviation <= b.tolerance && distance_convexity(g, fit, piece_reach(g, p)) >= kMinConvexity;
        if (!leaf && top + 2 <= 20) {
            Segment left, right;
            split(g, 0.5f, &left, &right);
            float mid = 0.5f * (at.t0 + at.t1);
            // Visit the half whose start is nearer first: it tightens the bound sooner.
            bool right_first = length_squared(right.p[3] - p) < length_squared(left.p[0] - p);
            Piece l{left, at.t0, mid}, r{right, mid, at.t1};
            stack[top++] = right_first ? l : r;
            stack[top++] = right_first ? r : l;
            continue;
        }
        float u = fit.chord2 > 0.0f ? dot(p - g.p[0], fit.chord) / fit.chord2 : 0.5f;
        double start = at.t0 + (at.t1 - at.t0) * double(u);
        // The distance is unimodal over the leaf: an interior stationary point
        // is its minimum there, and otherwise the minimum is at an end. A step
        // of 1e-9 in t leaves the distance (stationary in t) and the point's
        // use by the backward pass unchanged at float precision.
        const double stationary = unimodal_stationary_point(b.c, at.t0, at.t1, start, 1e-9);
        double candidates[2] = {stationary, -1.0};
        if (stationary < 0.0) { candidates[0] = at.t0; candidates[1] = at.t1; }
        for (double t : candidates) {
            if (t < 0.0) continue;
            Vec2d point = evaluate_double(s, t);
            double d2 = length_squared(point - b.q);
            if (d2 < b.best_d2) { b.best_d2 = d2; b.best_t = t; b.best_point = point; }
        }
    }
    return true;
}

HOST_DEVICE inline ClosestPoint no_point_within(Vec2f p) {
    ClosestPoint none;
    none.t = 0.0f;
    none.point = p;
    none.distance = INFINITY;
    return none;
}

}  // namespace closest_detail

// closest_point_on_segment for callers that only want the answer when it is
// nearer than `limit` (prefiltering wants distances within its one-pixel
// band). Returns distance INFINITY when no point of s is nearer than limit.
//
// Lines and quadratics go straight to closest_point_on_segment, whose
// stationary polynomial is of degree at most 3. For cubics the quintic is
// the expensive part, and most of the curve is far from p: this subdivides
// instead (de Casteljau halves in float), pruning every piece whose control
// hull is no nearer than the best distance so far (the hull contains the
// piece). A piece whose inner control points lie within `tolerance` of its
// chord, and along which the distance is unimodal, is a leaf: its minimum is
// an end of its parameter interval or the stationary point between
// (closest_detail::unimodal_stationary_point), solved in double on the whole
// segment. The global minimum lies in some leaf that survives pruning, so the
// answer agrees with the quintic's to float rounding.
HOST_DEVICE inline ClosestPoint closest_point_on_segment_within(const Segment& s, Vec2f p, float limit) {
    using namespace closest_detail;
    if (!(limit > 0.0f)) return no_point_within(p);
    if (s.degree < 3 || !(limit < INFINITY)) {
        ClosestPoint c = closest_point_on_segment(s, p);
        return c.distance < limit ? c : no_point_within(p);
    }
    BoundedSearch b = start_bounded_search(s, p, limit);
    if (!search_bounded_piece(s, p, s, 0.0f, 1.0f, b)) {  // pathological: settle it with the quintic
        ClosestPoint c = closest_point_on_segment(s, p);
        return c.distance < limit ? c : no_point_within(p);
    }
    if (b.best_t < 0.0) return no_point_within(p);
    return make_result(b.best_t, b.best_point, b.q);
}

// Closest point on the ellipse {center + (rx cos a, ry sin a)}; exact to float
// precision for any aspect ratio, rx = ry included. t holds the angle a.
//
// Reflect p into the first quadrant of the ellipse frame, swap axes so the
// first semi-axis is the larger, solve there (closest_detail::
// ellipse_first_quadrant), then undo the swap and the reflections. Negative
// radii are treated by magnitude; a zero radius degenerates to a segment.
HOST_DEVICE inline ClosestPoint closest_point_on_ellipse(Vec2f center, Vec2f radius, Vec2f p) {
    using namespace closest_detail;
    double rx = fabs(double(radius.x)), ry = fabs(double(radius.y));
    Vec2d c(center), q(p);
    double dx = q.x - c.x, dy = q.y - c.y;
    double ax = fabs(dx), ay = fabs(dy);
    double x, y;  // first-quadrant closest point in the ellipse frame
    if (rx == 0.0 || ry == 0.0) {
        // Degenerate: the segment [-rx, rx] x {0} (or its transpose).
        x = min_value(ax, rx);
        y = min_value(ay, ry);
        if (rx == 0.0) x = 0.0;
        if (ry == 0.0) y = 0.0;
    } else if (rx >= ry) {
        ellipse_first_quadrant(rx, ry, ax, ay, &x, &y);
    } else {
        ellipse_first_quadrant(ry, rx, ay, ax, &y, &x);
    }
    x = dx < 0.0 ? -x : x;
    y = dy < 0.0 ? -y : y;
    // The angle with (x, y) = (rx cos a, ry sin a).
    double cos_a = rx > 0.0 ? x / rx : 0.0, sin_a = ry > 0.0 ? y / ry : 0.0;
    if (rx == 0.0) cos_a = sqrt(max_value(0.0, 1.0 - sin_a * sin_a));
    if (ry == 0.0) sin_a = (dy < 0.0 ? -1.0 : 1.0) * sqrt(max_value(0.0, 1.0 - cos_a * cos_a));
    double angle = atan2(sin_a, cos_a);
    return make_result(angle, Vec2d(c.x + x, c.y + y), q);
}

// Closest point on the boundary of the axis-aligned rectangle [lo, hi].
// t holds the perimeter parameter in [0, 4): side k (0: top y=lo.y going +x,
// 1: right going +y, 2: bottom going -x, 3: left going -y) plus the fraction
// along it.
//
// The four sides are segments traversed in that order; the nearest one wins
// (ties go to the lower side index), inside or outside alike.
HOST_DEVICE inline ClosestPoint closest_point_on_rect(Vec2f lo, Vec2f hi, Vec2f p) {
    using namespace closest_detail;
    Vec2d a(lo), b(hi), q(p);
    Vec2d corners[5] = {Vec2d(a.x, a.y), Vec2d(b.x, a.y), Vec2d(b.x, b.y), Vec2d(a.x, b.y), Vec2d(a.x, a.y)};
    double best_t = 0.0, best_d2 = INFINITY;
    Vec2d best_point;
    for (int side = 0; side < 4; ++side) {
        double fraction;
        Vec2d point = closest_on_line(corners[side], corners[side + 1], q, &fraction);
        double d2 = length_squared(point - q);
        if (d2 < best_d2) { best_d2 = d2; best_t = side + fraction; best_point = point; }
    }
    ClosestPoint result = make_result(best_t, best_point, q);
    if (!(result.t < 4.0f)) result.t = 0.0f;  // 4 - tiny rounds to 4.0f: wrap to the start
    return result;
}

// Distance from p to the line segment a-b, in float.
HOST_DEVICE inline float distance_to_line_segment(Vec2f p, Vec2f a, Vec2f b) {
    Vec2f ab = b - a;
    float len2 = dot(ab, ab);
    float t = len2 > 0.0f ? clamp_value(dot(p - a, ab) / len2, 0.0f, 1.0f) : 0.0f;
    return length(a + ab * t - p);
}

// Whether some point of segment s lies within distance r of p. Subdivides
// (de Casteljau halves), prunes halves whose control-point box is farther
// than r, and decides a half from its chord when p is clearly nearer or
// farther than r given the half's deviation from the chord; a half whose
// inner control points lie within `flatness` of its chord is tested as that
// chord. The answer is exact up to `flatness`, and usually needs a few
// halvings, far less work than the quintic of closest_point_on_segment.
HOST_DEVICE inline bool segment_within_distance(const Segment& s, Vec2f p, float r, float flatness = 1e-4f) {
    const float r2 = r * r;
    UninitialisedArray<Segment, 24> stack;
    int top = 0;
    stack[top++] = s;
    while (top > 0) {
        Segment c = stack[--top];
        int n = c.degree;
        if (length_squared(c.p[0] - p) <= r2 || length_squared(c.p[n] - p) <= r2) return true;
        BBox2 box = BBox2::empty();
        for (int k = 0; k <= n; ++k) box.expand(c.p[k]);
        if (box.distance_squared(p) > r2) continue;
        // Flatness: distance of inner control points from the chord.
        const closest_detail::ChordFit fit = closest_detail::fit_chord(c);
        const Vec2f chord = fit.chord;
        const float chord_length = sqrtf(fit.chord2), deviation = fit.deviation;
        if (n == 1 || deviation <= flatness || top + 2 > 24) {
            // Distance from p to the chord.
            float len2 = chord_length * chord_length;
            float t = len2 > 0.0f ? clamp_value(dot(p - c.p[0], chord) / len2, 0.0f, 1.0f) : 0.0f;
            if (length_squared(c.p[0] + chord * t - p) <= square(r + deviation)) {
                if (deviation <= flatness || n == 1) return true;
                // Depth limit hit before flat: settle this piece exactly, and
                // go on with the others if it is too far.
                if (closest_point_on_segment(c, p).distance <= r) return true;
            }
            continue;
        }
        // The piece lies in the band of half width `deviation` around the
        // chord's line (its hull does), and as it runs from one chord end to
        // the other its projection covers the whole chord, so every chord
        // point has a curve point within `deviation`. Hence
        //   dist(p, curve) <= dist(p, chord) + deviation        (accept)
        //   dist(p, curve) >= dist(p, chord line) - deviation   (reject),
        // and only points in the band between are looked at further.
        float len2 = chord_length * chord_length;
        float u = len2 > 0.0f ? clamp_value(dot(p - c.p[0], chord) / len2, 0.0f, 1.0f) : 0.0f;
        if (length(c.p[0] + chord * u - p) + deviation <= r) return true;
        if (chord_length > 0.0f && fabsf(cross(chord, p - c.p[0])) / chord_length - deviation > r) continue;
        // Where the distance along the piece is unimodal, its minimum is an
        // end (tested above) or the stationary point between, found by Newton
        // in double: the answer is exact. A few iterates with a bound on the
        // rest usually settle it first. Elsewhere the halves go on,
        // `deviation` shrinking fourfold per halving.
        const float convexity = closest_detail::distance_convexity(c, fit, closest_detail::piece_reach(c, p));
        if (convexity >= closest_detail::kMinConvexity) {
            Vec2d pc[4];
            power_basis(c, pc);
            pc[0] = pc[0] - Vec2d(p);
            int quick = closest_detail::unimodal_within_distance(pc, double(r) * double(r), double(convexity),
                                                                 double(u));
            if (quick >= 0) {
                if (quick == 1) return true;
                continue;
            }
            // Only the distance matters here, and it is stationary in t: a
            // step of 1e-9 moves it by far less than float resolution.
            double t = closest_detail::unimodal_stationary_point(pc, 0.0, 1.0, double(u), 1e-9);
            if (t < 0.0) continue;
            Vec2d at = ((pc[3] * t + pc[2]) * t + pc[1]) * t + pc[0];
            if (dot(at, at) <= double(r) * double(r)) return true;
            continue;
        }
        Segment left, right;
        split(c, 0.5f, &left, &right);
        stack[top++] = right;
        stack[top++] = left;
    }
    return false;
}

// A curve flattened into kFlatPieces chords of equal parameter steps: the
// chord end points (kFlatPieces + 1 points, x and y), then each chord's
// deviation, the largest distance of its piece's control points from the
// chord segment (plus rounding slack), then each piece's inner control points
// (two points; a quadratic's one is stored twice), so that a piece that needs
// a closer look is read rather than split out of the curve again.
//
// The piece lies within its deviation of the chord (its hull does, and the
// deviation's neighbourhood of a segment is convex). And as the piece runs
// from one chord end to the other, every chord point has a curve point within
// the deviation too: the curve crosses the chord's perpendicular at that
// point inside the band. So for a chord at distance d from p, d + deviation
// <= r proves some curve point within r, d - deviation > r proves none in
// that piece, and only a piece in between needs subdividing.
constexpr int kFlatPieces = 16;
constexpr int kFlatInnerOffset = 2 * (kFlatPieces + 1) + kFlatPieces;
constexpr int kFlatFloats = kFlatInnerOffset + 4 * kFlatPieces;

// Piece j of the curve s from its flattening: the chord ends and the stored
// inner control points. The ends are the shared chord points, which may
// differ from the piece's own by rounding (the deviations allow for it).
HOST_DEVICE inline Segment flat_piece(const Segment& s, const float* flat, int j) {
    Segment g;
    g.degree = s.degree;
    const float* inner = flat + kFlatInnerOffset + 4 * j;
    g.p[0] = Vec2f(flat[2 * j], flat[2 * j + 1]);
    g.p[1] = Vec2f(inner[0], inner[1]);
    g.p[2] = Vec2f(inner[2], inner[3]);
    g.p[s.degree] = Vec2f(flat[2 * j + 2], flat[2 * j + 3]);
    return g;
}

// Whether p lies outside the box of chord a-b grown by `reach` (then the
// chord is farther than reach).
HOST_DEVICE inline bool outside_chord_box(Vec2f p, Vec2f a, Vec2f b, float reach) {
    return p.x < min_value(a.x, b.x) - reach || p.x > max_value(a.x, b.x) + reach ||
           p.y < min_value(a.y, b.y) - reach || p.y > max_value(a.y, b.y) + reach;
}

HOST_DEVICE inline void flatten_segment(const Segment& s, float* out) {
    const int n = s.degree;
    float* deviations = out + 2 * (kFlatPieces + 1);
    out[0] = s.p[0].x;
    out[1] = s.p[0].y;
    for (int j = 0; j < kFlatPieces; ++j) {
        // Piece j is sub_segment(s, ta, tb), spelled out: its first split, at
        // tb, also gives the chord point there (as its left part's end).
        const float ta = float(j) / kFlatPieces, tb = float(j + 1) / kFlatPieces;
        Segment left, rest, piece;
        split(s, tb, &left, &rest);
        if (ta > 0.0f) split(left, ta / tb, &rest, &piece); else piece = left;
        const Vec2f q = j + 1 == kFlatPieces ? s.p[n] : left.p[n];
        out[2 * j + 2] = q.x;
        out[2 * j + 3] = q.y;
        Vec2f a(out[2 * j], out[2 * j + 1]), b(q.x, q.y);
        // The piece's own ends may differ from the shared chord points by rounding.
        float deviation = max_value(length(piece.p[0] - a), length(piece.p[n] - b));
        for (int i = 1; i < n; ++i) deviation = max_value(deviation, distance_to_line_segment(piece.p[i], a, b));
        float slack = 1e-5f * (fabsf(a.x) + fabsf(a.y) + fabsf(b.x) + fabsf(b.y) + 1.0f);
        deviations[j] = deviation + slack;
        float* inner = out + kFlatInnerOffset + 4 * j;
        const Vec2f second = n == 3 ? piece.p[2] : piece.p[1];
        inner[0] = piece.p[1].x; inner[1] = piece.p[1].y;
        inner[2] = second.x; inner[3] = second.y;
    }
}

// segment_within_distance from a flattening of s (flatten_segment): chords
// decide their pieces where they can, and only the others are subdivided.
// Bit q of `quarters` clear says no point of the quarter [q/4, (q+1)/4] of s
// is within r (its cached box is farther), which skips its four chords.
HOST_DEVICE inline bool flat_within_distance(const Segment& s, const float* flat, Vec2f p, float r,
                                             unsigned quarters = 0xFu) {
    static_assert(kFlatPieces == 16, "four chords per quarter");
    const float* deviations = flat + 2 * (kFlatPieces + 1);
    for (int j = 0; j < kFlatPieces; ++j) {
        if (!(quarters >> (j >> 2) & 1u)) { j |= 3; continue; }
        Vec2f a(flat[2 * j], flat[2 * j + 1]), b(flat[2 * j + 2], flat[2 * j + 3]);
        float reach = r + deviations[j];
        if (outside_chord_box(p, a, b, reach)) continue;
        float d = distance_to_line_segment(p, a, b);
        if (d + deviations[j] <= r) return true;
        if (d > reach) continue;
        if (segment_within_distance(flat_piece(s, flat, j), p, r)) return true;
    }
    return false;
}

// closest_point_on_segment_within from a flattening of s (flatten_segment).
// Each chord bounds the distance to its piece from below by its own distance
// less its deviation (the piece lies within the deviation of the chord), so
// pieces whose bound is no nearer than the best so far are skipped without
// splitting s, and the bounded search starts at the piece whose bound is
// smallest, which tightens the best distance soonest. The answer is the same
// as closest_point_on_segment_within's, up to float rounding of the pieces'
// control points (the stationary points are solved on s itself). Bit q of
// `quarters` clear says no point of the quarter [q/4, (q+1)/4] of s is nearer
// than the limit, which skips its four chords.
HOST_DEVICE inline ClosestPoint flat_closest_point_within(const Segment& s, const float* flat, Vec2f p,
                                                          float limit, unsigned quarters = 0xFu) {
    using namespace closest_detail;
    if (s.degree < 3 || !(limit > 0.0f) || !(limit < INFINITY)) return closest_point_on_segment_within(s, p, limit);
    const float* deviations = flat + 2 * (kFlatPieces + 1);
    // The pieces that may come within the limit, with their lower bounds.
    float bound[kFlatPieces];
    int piece[kFlatPieces], count = 0;
    for (int j = 0; j < kFlatPieces; ++j) {
        if (!(quarters >> (j >> 2) & 1u)) { j |= 3; continue; }
        Vec2f a(flat[2 * j], flat[2 * j + 1]), b(flat[2 * j + 2], flat[2 * j + 3]);
        if (outside_chord_box(p, a, b, limit + deviations[j])) continue;
        bound[count] = max_value(0.0f, distance_to_line_segment(p, a, b) - deviations[j]);
        piece[count++] = j;
    }
    BoundedSearch search = start_bounded_search(s, p, limit);
    while (count > 0) {
        int nearest = 0;
        for (int i = 1; i < count; ++i)
            if (bound[i] < bound[nearest]) nearest = i;
        if (double(bound[nearest]) * double(bound[nearest]) * (1.0 + 1e-5) >= search.best_d2) break;
        const int next = piece[nearest];
        bound[nearest] = bound[--count];
        piece[nearest] = piece[count];
        float t0 = float(next) / kFlatPieces, t1 = float(next + 1) / kFlatPieces;
        if (!search_bounded_piece(s, p, flat_piece(s, flat, next), t0, t1, search)) {
            ClosestPoint c = closest_point_on_segment(s, p);  // pathological: the quintic settles it
            return c.distance < limit ? c : no_point_within(p);
        }
    }
    if (search.best_t < 0.0) return no_point_within(p);
    return make_result(search.best_t, search.best_point, search.q);
}

// The largest U such that a point of the curve s within U of p proves p in
// the sweep of s of constant half width w, with its closest point interior
// (flat_sweep_decision below derives the margins).
HOST_DEVICE inline float interior_sweep_accept(const Segment& s, Vec2f p, float w) {
    const int n = s.degree;
    float speed = 0.0f;
    for (int k = 0; k < n; ++k) speed = max_value(speed, length(s.p[k + 1] - s.p[k]));
    const float ends = min_value(length(p - s.p[0]), length(p - s.p[n]));
    return min_value(w * (1.0f - 4e-6f), ends * (1.0f - 1e-6f) - 2e-6f * float(n) * speed);
}

// Whether p lies in the sweep of the curve s of constant half width w (the
// closest point of s to p has 0 < t < 1 and lies within w), decided from a
// flattening of s (flatten_segment) where that can be proven: 1 yes, 0 no,
// -1 undecided (closest_point_on_segment decides). `quarters` as in
// flat_within_distance.
//
// No: no point of s within w (flat_within_distance's test, exact).
// Yes: a chord at distance d with deviation e proves a curve point within
// U = d + e of p, so the closest distance d* <= U. When U is below both end
// distances by a margin, the closest point is not an end, so it is interior,
// and d* <= U <= w. The margins make the quintic agree bit for bit: its t
// must round to a float strictly inside (0, 1), and its distance, rounded to
// float, must not exceed the width blended at that t (a few ulps off w).
// |c'| <= L = n max |P_{i+1} - P_i|, so an end e_0 = |p - c(0)| >= U + 2e-6 L
// puts t* >= 2e-6 from it (e_0 - d* <= L t*), far beyond float rounding of
// t* (6e-8 near 1); the chords' deviations already carry slack for their
// own float rounding (flatten_segment).
HOST_DEVICE inline int flat_sweep_decision(const Segment& s, const float* flat, Vec2f p, float w,
                                           unsigned quarters = 0xFu) {
    static_assert(kFlatPieces == 16, "four chords per quarter");
    const float accept = interior_sweep_accept(s, p, w);
    const float* deviations = flat + 2 * (kFlatPieces + 1);
    bool within = false;
    unsigned unsure = 0u;  // pieces that may come within w, not proven to
    for (int j = 0; j < kFlatPieces; ++j) {
        if (!(quarters >> (j >> 2) & 1u)) { j |= 3; continue; }
        Vec2f a(flat[2 * j], flat[2 * j + 1]), b(flat[2 * j + 2], flat[2 * j + 3]);
        const float e = deviations[j], reach = w + e;
        if (outside_chord_box(p, a, b, reach)) continue;
        const float d = distance_to_line_segment(p, a, b);
        if (d + e <= accept) return 1;
        if (d + e <= w) within = true;
        else if (d <= reach) unsure |= 1u << j;
    }
    if (within) return -1;
    for (int j = 0; j < kFlatPieces; ++j)
        if ((unsure >> j & 1u) && segment_within_distance(flat_piece(s, flat, j), p, w)) return -1;
    return 0;
}

}  // namespace pdvg
