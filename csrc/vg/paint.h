// Paints evaluated at a shape-space point: solid colours, linear gradients
// and two-circle radial gradients with elliptic radii, all with stops padded at
// both ends (SVG's spreadMethod="pad").
#pragma once

#include "scene.h"

namespace pdvg {

// Radial gradients are SVG 2's two-circle (conical) gradients (SVG 2 14.3,
// as canvas's createRadialGradient): circle(t) has centre f + t (c - f) and
// radius fr + t (r - fr); the parameter at p is the largest t whose circle
// passes through p and has radius >= 0. Where no such t exists (outside the
// cone spanned by the two circles, when the focal circle is not inside the
// end circle) nothing is painted. With the focal circle at the centre and
// fr = 0 this is the elliptic radius |(p - c) / r|.
//
// Worked in units of the radii, u = (p - c) / r per axis: the end circle is
// the unit circle at 0 and the focal circle has centre g = (f - c) / r and
// radius rho = fr / rx. With q = u - g and delta = 1 - rho, |q - t(-g)|² =
// (rho + t delta)² is the quadratic
//   F(t) = a t² - 2 b t + c0 = 0,  a = |g|² - delta²,  b = rho delta - q·g,
//   c0 = |q|² - rho².
struct RadialFrame {
    Vec2f q, g, inv_r;
    float rho, a, b, t;
    bool painted;
};

HOST_DEVICE inline RadialFrame radial_frame(const float* P, Vec2f p) {
    RadialFrame r;
    r.inv_r = Vec2f(P[2] != 0.0f ? 1.0f / P[2] : 0.0f, P[3] != 0.0f ? 1.0f / P[3] : 0.0f);
    r.q = Vec2f((p.x - P[4]) * r.inv_r.x, (p.y - P[5]) * r.inv_r.y);
    r.g = Vec2f((P[4] - P[0]) * r.inv_r.x, (P[5] - P[1]) * r.inv_r.y);
    r.rho = P[6] * r.inv_r.x;
    const float delta = 1.0f - r.rho;
    r.a = dot(r.g, r.g) - delta * delta;
    r.b = r.rho * delta - dot(r.q, r.g);
    const float c0 = dot(r.q, r.q) - r.rho * r.rho;
    r.t = 0.0f;
    r.painted = false;
    const float disc = r.b * r.b - r.a * c0;
    if (!(disc >= 0.0f)) return r;  // outside the cone
    // The roots k / a and c0 / k with k = b + sign(b) sqrt(disc) (no
    // cancellation); a = 0 (focal circle touching the end circle) leaves c0 / k.
    const float k = r.b + copysignf(sqrtf(disc), r.b);
    float roots[2];
    int n = 0;
    if (r.a != 0.0f) roots[n++] = k != 0.0f ? k / r.a : 0.0f;
    if (k != 0.0f) roots[n++] = c0 / k;
    for (int i = 0; i < n; ++i) {
        if (r.rho + roots[i] * delta >= 0.0f && (!r.painted || roots[i] > r.t)) {
            r.t = roots[i];
            r.painted = true;
        }
    }
    return r;
}

// The two-circle parameter, or NaN outside the cone. Out of line: inlined
// into the compositing loops, this solve slowed every paint's path (code
// size) by up to 10% on the procedural benchmark, focal or not.
HOST_DEVICE NOINLINE inline float focal_parameter(const float* q, Vec2f p) {
    RadialFrame r = radial_frame(q, p);
    return r.painted ? r.t : NAN;
}

// Gradient parameter of paint `index` at p: projection onto begin->end for
// linear gradients, the conical parameter above for radial ones. NaN where a
// radial gradient paints nothing.
HOST_DEVICE inline float gradient_parameter(const SceneView& scene, int index, Vec2f p) {
    const float* q = scene.paint_params + kPaintFloats * index;
    if (scene.paint_kind[index] == kPaintLinear) {
        // t = (p - b) . (e - b) / |e - b|^2
        Vec2f b(q[0], q[1]), d(q[2] - q[0], q[3] - q[1]);
        float len2 = dot(d, d);
        return len2 > 0.0f ? dot(p - b, d) / len2 : 0.0f;
    }
    if (q[4] == q[0] && q[5] == q[1] && q[6] == 0.0f) {
        // focal circle = the centre with radius 0 (diffvg's and SVG 1.1's
        // common case): the quadratic's root is the elliptic radius itself
        float ux = q[2] != 0.0f ? (p.x - q[0]) / q[2] : 0.0f;
        float uy = q[3] != 0.0f ? (p.y - q[1]) / q[3] : 0.0f;
        return sqrtf(ux * ux + uy * uy);
    }
    return focal_parameter(q, p);
}

HOST_DEVICE inline Vec4f stop_color(const SceneView& scene, int k) {
    const float* c = scene.stop_colors + 4 * k;
    return {c[0], c[1], c[2], c[3]};
}

// Locates t among the stops of paint `index`: the pair (lo, hi) bracketing t
// and the blend weight of hi. Before the first stop or after the last, both
// indices name that stop.
struct StopBracket { int lo, hi; float weight; };

HOST_DEVICE inline StopBracket bracket_stops(const SceneView& scene, int index, float t) {
    int begin = scene.paint_stop_begin[index], end = scene.paint_stop_begin[index + 1];
    StopBracket r{begin, begin, 0.0f};
    if (end - begin <= 1 || t <= scene.stop_offsets[begin]) return r;
    if (t >= scene.stop_offsets[end - 1]) { r.lo = r.hi = end - 1; return r; }
    for (int k = begin; k + 1 < end; ++k) {
        float o0 = scene.stop_offsets[k], o1 = scene.stop_offsets[k + 1];
        if (t >= o0 && t < o1) {
            r.lo = k; r.hi = k + 1;
            r.weight = o1 > o0 ? (t - o0) / (o1 - o0) : 1.0f;
            return r;
        }
    }
    r.lo = r.hi = end - 1;
    return r;
}


// A gradient paint's colour at p.
HOST_DEVICE inline Vec4f evaluate_gradient_paint(const SceneView& scene, int index, Vec2f p) {
    if (scene.paint_stop_begin[index] == scene.paint_stop_begin[index + 1]) return {0, 0, 0, 0};
    float t = gradient_parameter(scene, index, p);
    if (t != t) return {0, 0, 0, 0};  // outside a radial gradient's cone
    StopBracket b = bracket_stops(scene, index, t);
    Vec4f c0 = stop_color(scene, b.lo), c1 = stop_color(scene, b.hi);
    return c0 * (1.0f - b.weight) + c1 * b.weight;
}

// Straight (not premultiplied) RGBA of paint `index` at shape-space point p.
HOST_DEVICE inline Vec4f evaluate_paint(const SceneView& scene, int index, Vec2f p) {
    int kind = scene.paint_kind[index];
    if (kind == kPaintSolid) {
        const float* q = scene.paint_params + kPaintFloats * index;
        return {q[0], q[1], q[2], q[3]};
    }
    if (kind == kPaintNone) return {0, 0, 0, 0};
    return evaluate_gradient_paint(scene, index, p);
}


}  // namespace pdvg
