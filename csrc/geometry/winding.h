// Winding numbers by ray casting.
//
// INTERFACE (signatures fixed by the design):
//   winding_contribution, winding_number_ellipse, winding_number_rect.
//
// Convention: a crossing of the ray {(x, p.y) : x > p.x} counts +1 when the
// curve crosses it moving toward +y (downward on the canvas) and -1 moving
// toward -y. Crossings are counted on y-monotone pieces with a half-open rule
// in y (a piece from y_a to y_b counts when min(y_a,y_b) <= p.y < max(y_a,y_b)),
// so a vertex exactly on the ray is counted once when the path passes through
// it and zero times when the path turns back at it. With this convention the
// rectangle lo->(hi.x,lo.y)->hi->(lo.x,hi.y)->lo and the circle traced with
// increasing angle have winding number +1 inside, matching SVG's directions.
#pragma once

#include "bezier.h"
#include "roots.h"
#include "segment_double.h"

namespace pdvg {

// Signed crossings of the ray from p toward +x with one segment.
//
// The segment is cut at the interior zeros of dy/dt into y-monotone pieces.
// Piece end values y_a, y_b are computed once per cut (the segment's own end
// points are the control points themselves), so adjacent pieces and adjacent
// segments see identical values and the half-open rule is consistent. On a
// counted piece the crossing parameter solves y(t) = p.y (monotone, so a
// bracketed solve), and it counts when x(t) > p.x.
// Whether the single crossing of y = py by the y-monotone piece [ta, tb] of
// s lies strictly right of px. Callers reach this only when px lies inside
// the piece's x-range (a cheaper hull test decides the rest), so the crossing
// is solved directly: safeguarded Newton on y(t) = py over the bracket
// [ta, tb], in double and in the power basis, then x(t) is compared with px.
HOST_DEVICE inline bool crossing_is_right_of(const Segment& s, double ta, double tb, double px, double py) {
    Vec2d c[4];
    power_basis(s, c);
    const int n = s.degree;
    auto y_at = [&](double t, double* dy) {
        double v = c[n].y, d = 0.0;
        for (int k = n - 1; k >= 0; --k) { d = d * t + v; v = v * t + c[k].y; }
        *dy = d;
        return v;
    };
    // A crossing exactly at an end point of the segment: use the exact
    // control point (the power basis need not reproduce it bit for bit).
    if (ta == 0.0 && py == double(s.p[0].y)) return double(s.p[0].x) > px;
    if (tb == 1.0 && py == double(s.p[n].y)) return double(s.p[n].x) > px;
    double d0, d1;
    double y0 = y_at(ta, &d0) - py, y1 = y_at(tb, &d1) - py;
    if (y0 == 0.0) tb = ta;
    else if (y1 == 0.0) ta = tb;
    // The bracket comes from float heights: rounding can leave the crossing
    // just outside it, at the end nearer in height. Newton inside the
    // bracket would wander off to the far end, so take the near end.
    if (ta != tb && (y0 < 0.0) == (y1 < 0.0)) {
        if (fabs(y0) <= fabs(y1)) tb = ta; else ta = tb;
    }
    if (ta == tb) {
        double x = c[n].x;
        for (int k = n - 1; k >= 0; --k) x = x * ta + c[k].x;
        return x > px;
    }
    double lo = ta, hi = tb;
    bool lo_below = y0 < 0.0;  // sign of y - py at the lo end
    double t = (y1 != y0) ? ta - y0 * (tb - ta) / (y1 - y0) : 0.5 * (ta + tb);
    if (!(t > ta && t < tb)) t = 0.5 * (ta + tb);
    for (int step = 0; step < 48; ++step) {
        double dy;
        double f = y_at(t, &dy) - py;
        if (f == 0.0) break;
        if ((f < 0.0) == lo_below) lo = t; else hi = t;
        double next = dy != 0.0 ? t - f / dy : 0.5 * (lo + hi);
        if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
        if (fabs(next - t) <= 1e-15 * (1.0 + fabs(t))) { t = next; break; }
        t = next;
    }
    double x = c[n].x;
    for (int k = n - 1; k >= 0; --k) x = x * t + c[k].x;
    return x > px;
}

HOST_DEVICE inline int winding_contribution(const Segment& s, Vec2f p) {
    double px = p.x, py = p.y;
    int n = s.degree;
    double y_first = s.p[0].y, y_last = s.p[n].y;
    if (n <= 1) {
        if (!(min_value(y_first, y_last) <= py && py < max_value(y_first, y_last))) return 0;
        // x on the line at height py: x0 + (py - y0) (x1 - x0) / (y1 - y0).
        double x0 = s.p[0].x, x1 = s.p[1].x;
        double x = x0 + (py - y_first) * (x1 - x0) / (y_last - y_first);
        if (!(x > px)) return 0;
        return y_last > y_first ? 1 : -1;
    }
    // Quick reject: the control polygon bounds the curve.
    double y_min = y_first, y_max = y_first, x_max = s.p[0].x, x_min = s.p[0].x;
    for (int k = 1; k <= n; ++k) {
        y_min = min_value(y_min, double(s.p[k].y));
        y_max = max_value(y_max, double(s.p[k].y));
        x_max = max_value(x_max, double(s.p[k].x));
        x_min = min_value(x_min, double(s.p[k].x));
    }
    if (py < y_min || py > y_max || x_max <= px) return 0;
    // Left of the whole control hull, every crossing lies to the right of p,
    // so only the crossing directions matter and no root is solved.
    const bool all_right = px < x_min;

    // Zeros of dy/dt / n = a t^2 + b t + c with d_k = y_{k+1} - y_k:
    // quadratic segment: d0 (1-t) + d1 t; cubic: d0 (1-t)^2 + 2 d1 (1-t) t + d2 t^2.
    double a = 0.0, b, c;
    double d0 = double(s.p[1].y) - s.p[0].y, d1 = double(s.p[2].y) - s.p[1].y;
    if (n == 2) {
        b = d1 - d0;
        c = d0;
    } else {
        double d2 = double(s.p[3].y) - s.p[2].y;
        a = d0 - 2.0 * d1 + d2;
        b = 2.0 * (d1 - d0);
        c = d0;
    }
    double extrema[2];
    int extrema_count = solve_quadratic(a, b, c, extrema);
    double cuts[4];
    int cut_count = 0;
    cuts[cut_count++] = 0.0;
    for (int i = 0; i < extrema_count; ++i)
        if (extrema[i] > cuts[cut_count - 1] && extrema[i] < 1.0) cuts[cut_count++] = extrema[i];
    cuts[cut_count++] = 1.0;

    // Power basis of y(t) - py for the crossing solve.
    Vec2d power[4];
    power_basis(s, power);
    double y_polynomial[4];
    for (int k = 0; k <= n; ++k) y_polynomial[k] = power[k].y;
    y_polynomial[0] -= py;

    int winding = 0;
    double y_start = y_first;
    for (int piece = 0; piece + 1 < cut_count; ++piece) {
        double t_start = cuts[piece], t_end = cuts[piece + 1];
        double y_end = piece + 2 == cut_count ? y_last : evaluate_double(s, t_end).y;
        if (min_value(y_start, y_end) <= py && py < max_value(y_start, y_end)) {
            if (all_right) {
                winding += y_end > y_start ? 1 : -1;
                y_start = y_end;
                continue;
            }
            if (crossing_is_right_of(s, t_start, t_end, px, py)) winding += y_end > y_start ? 1 : -1;
        }
        y_start = y_end;
    }
    return winding;
}

// Winding number of closed primitives: +1 inside, 0 outside.
//
// Both follow the ray-casting convention above for the primitive traced in
// SVG's direction, which reduces to a half-open membership test: the right
// boundary (crossed toward +y) counts when strictly right of p, the left
// boundary (toward -y) when strictly right of p, so p counts when
// x_left <= p.x < x_right and y_top <= p.y < y_bottom. Radii and corners are
// taken by magnitude / sorted, so the result is +1 inside for any input.
HOST_DEVICE inline int winding_number_ellipse(Vec2f center, Vec2f radius, Vec2f p) {
    double rx = fabs(double(radius.x)), ry = fabs(double(radius.y));
    double dy = double(p.y) - center.y;
    if (!(-ry <= dy && dy < ry)) return 0;
    // Half chord at height dy: rx sqrt(1 - (dy/ry)^2).
    double v = dy / ry;
    double half_chord = rx * sqrt(max_value(0.0, (1.0 - v) * (1.0 + v)));
    double dx = double(p.x) - center.x;
    return (-half_chord <= dx && dx < half_chord) ? 1 : 0;
}

HOST_DEVICE inline int winding_number_rect(Vec2f lo, Vec2f hi, Vec2f p) {
    float x0 = min_value(lo.x, hi.x), x1 = max_value(lo.x, hi.x);
    float y0 = min_value(lo.y, hi.y), y1 = max_value(lo.y, hi.y);
    return (x0 <= p.x && p.x < x1 && y0 <= p.y && p.y < y1) ? 1 : 0;
}

}  // namespace pdvg
