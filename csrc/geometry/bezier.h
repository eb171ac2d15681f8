// Bézier segments of degree 1 (line), 2 (quadratic) and 3 (cubic):
// evaluation, derivatives, Bernstein weights, power-basis coefficients,
// tight bounds and de Casteljau splitting.
#pragma once

#include "../core/vec.h"

namespace pdvg {

struct BBox2 {
    Vec2f lo, hi;
    HOST_DEVICE static BBox2 empty() { return {Vec2f(INFINITY, INFINITY), Vec2f(-INFINITY, -INFINITY)}; }
    HOST_DEVICE void expand(Vec2f p) {
        lo.x = min_value(lo.x, p.x); lo.y = min_value(lo.y, p.y);
        hi.x = max_value(hi.x, p.x); hi.y = max_value(hi.y, p.y);
    }
    HOST_DEVICE void expand(const BBox2& b) { expand(b.lo); expand(b.hi); }
    HOST_DEVICE void pad(float r) { lo.x -= r; lo.y -= r; hi.x += r; hi.y += r; }
    HOST_DEVICE bool contains(Vec2f p) const { return p.x >= lo.x && p.x <= hi.x && p.y >= lo.y && p.y <= hi.y; }
    HOST_DEVICE bool is_empty() const { return !(lo.x <= hi.x && lo.y <= hi.y); }
    // Squared distance from p to the box (0 inside).
    HOST_DEVICE float distance_squared(Vec2f p) const {
        float dx = max_value(max_value(lo.x - p.x, 0.0f), p.x - hi.x);
        float dy = max_value(max_value(lo.y - p.y, 0.0f), p.y - hi.y);
        return dx * dx + dy * dy;
    }
};

// A polynomial segment in Bernstein form; p[0..degree] are its control points.
struct Segment {
    int degree;
    Vec2f p[4];
};

HOST_DEVICE inline Segment make_line(Vec2f a, Vec2f b) {
    Segment s; s.degree = 1; s.p[0] = a; s.p[1] = b; s.p[2] = b; s.p[3] = b;
    return s;
}

// Bernstein basis values B_{k,degree}(t), k = 0..degree: the weight of control
// point k in the point at t, and so also d(point)/d(control point k).
HOST_DEVICE inline void bernstein_weights(int degree, float t, float w[4]) {
    float s = 1.0f - t;
    w[0] = w[1] = w[2] = w[3] = 0.0f;
    if (degree == 1) { w[0] = s; w[1] = t; }
    else if (degree == 2) { w[0] = s * s; w[1] = 2.0f * s * t; w[2] = t * t; }
    else { w[0] = s * s * s; w[1] = 3.0f * s * s * t; w[2] = 3.0f * s * t * t; w[3] = t * t * t; }
}

// Weights of the control points in the first derivative d(point)/dt.
HOST_DEVICE inline void bernstein_derivative_weights(int degree, float t, float w[4]) {
    float s = 1.0f - t;
    w[0] = w[1] = w[2] = w[3] = 0.0f;
    if (degree == 1) { w[0] = -1.0f; w[1] = 1.0f; }
    else if (degree == 2) { w[0] = -2.0f * s; w[1] = 2.0f * (s - t); w[2] = 2.0f * t; }
    else {
        w[0] = -3.0f * s * s;
        w[1] = 3.0f * s * s - 6.0f * s * t;
        w[2] = 6.0f * s * t - 3.0f * t * t;
        w[3] = 3.0f * t * t;
    }
}

// Weights of the control points in the second derivative.
HOST_DEVICE inline void bernstein_second_derivative_weights(int degree, float t, float w[4]) {
    w[0] = w[1] = w[2] = w[3] = 0.0f;
    if (degree == 2) { w[0] = 2.0f; w[1] = -4.0f; w[2] = 2.0f; }
    else if (degree == 3) {
        float s = 1.0f - t;
        w[0] = 6.0f * s; w[1] = 6.0f * (t - 2.0f * s); w[2] = 6.0f * (s - 2.0f * t); w[3] = 6.0f * t;
    }
}

HOST_DEVICE inline Vec2f combine(const Segment& s, const float w[4]) {
    Vec2f r(0.0f, 0.0f);
    for (int k = 0; k <= s.degree; ++k) r += s.p[k] * w[k];
    return r;
}

HOST_DEVICE inline Vec2f evaluate(const Segment& s, float t) {
    float w[4]; bernstein_weights(s.degree, t, w); return combine(s, w);
}
HOST_DEVICE inline Vec2f evaluate_derivative(const Segment& s, float t) {
    float w[4]; bernstein_derivative_weights(s.degree, t, w); return combine(s, w);
}
HOST_DEVICE inline Vec2f evaluate_second_derivative(const Segment& s, float t) {
    float w[4]; bernstein_second_derivative_weights(s.degree, t, w); return combine(s, w);
}

// Power-basis coefficients: point(t) = c[0] + c[1] t + c[2] t^2 + c[3] t^3,
// in double so that root finding on them keeps its precision.
HOST_DEVICE inline void power_basis(const Segment& s, Vec2d c[4]) {
    Vec2d p0(s.p[0]), p1(s.p[1]), p2(s.p[2]), p3(s.p[3]);
    c[0] = p0;
    if (s.degree == 1) { c[1] = p1 - p0; c[2] = Vec2d(); c[3] = Vec2d(); }
    else if (s.degree == 2) { c[1] = 2.0 * (p1 - p0); c[2] = p0 - 2.0 * p1 + p2; c[3] = Vec2d(); }
    else {
        c[1] = 3.0 * (p1 - p0);
        c[2] = 3.0 * (p0 - 2.0 * p1 + p2);
        c[3] = (p3 - p0) + 3.0 * (p1 - p2);
    }
}

// Tight axis-aligned bounds: the end points plus the points where dx/dt or
// dy/dt vanish. The derivative of a cubic is the quadratic
// 3[(p1-p0)(1-t)^2 + 2(p2-p1)(1-t)t + (p3-p2)t^2], solved per axis.
HOST_DEVICE inline BBox2 bounds(const Segment& s) {
    BBox2 box = BBox2::empty();
    box.expand(s.p[0]);
    box.expand(s.p[s.degree]);
    if (s.degree == 1) return box;
    for (int axis = 0; axis < 2; ++axis) {
        double a, b, c;  // derivative / degree as a t^2 + b t + c
        if (s.degree == 2) {
            a = 0.0;
            b = double(s.p[2][axis]) - 2.0 * s.p[1][axis] + s.p[0][axis];
            c = double(s.p[1][axis]) - s.p[0][axis];
        } else {
            double d0 = double(s.p[1][axis]) - s.p[0][axis];
            double d1 = double(s.p[2][axis]) - s.p[1][axis];
            double d2 = double(s.p[3][axis]) - s.p[2][axis];
            a = d0 - 2.0 * d1 + d2;
            b = 2.0 * (d1 - d0);
            c = d0;
        }
        double roots[2];
        int n = 0;
        if (fabs(a) < 1e-12) {
            if (fabs(b) > 1e-12) roots[n++] = -c / b;
        } else {
            double disc = b * b - 4.0 * a * c;
            if (disc >= 0.0) {
                double q = -0.5 * (b + (b >= 0 ? sqrt(disc) : -sqrt(disc)));
                roots[n++] = q / a;
                if (q != 0.0) roots[n++] = c / q;
            }
        }
        for (int i = 0; i < n; ++i)
            if (roots[i] > 0.0 && roots[i] < 1.0) box.expand(evaluate(s, float(roots[i])));
    }
    return box;
}

// de Casteljau split at t into [0, t] and [t, 1].
HOST_DEVICE inline void split(const Segment& s, float t, Segment* left, Segment* right) {
    Vec2f level[4];
    for (int k = 0; k <= s.degree; ++k) level[k] = s.p[k];
    left->degree = right->degree = s.degree;
    left->p[0] = level[0];
    right->p[s.degree] = level[s.degree];
    for (int r = 1; r <= s.degree; ++r) {
        for (int k = 0; k <= s.degree - r; ++k) level[k] = lerp(level[k], level[k + 1], t);
        left->p[r] = level[0];
        right->p[s.degree - r] = level[s.degree - r];
    }
    for (int k = s.degree + 1; k < 4; ++k) { left->p[k] = left->p[s.degree]; right->p[k] = right->p[s.degree]; }
}

// The piece of s over [ta, tb] (0 <= ta < tb <= 1), by two splits.
HOST_DEVICE inline Segment sub_segment(const Segment& s, float ta, float tb) {
    Segment left, mid, rest;
    split(s, tb, &left, &rest);
    if (ta > 0.0f) split(left, ta / tb, &rest, &mid); else mid = left;
    return mid;
}

}  // namespace pdvg
