// Paints evaluated at a shape-space point: solid colours, linear gradients
// and radial gradients with an elliptic radius, all with stops padded at
// both ends (SVG's spreadMethod="pad").
#pragma once

#include "scene.h"

namespace pdvg {

// Gradient parameter of paint `index` at p: projection onto begin->end for
// linear gradients, the elliptic radius |(p - c) / r| for radial ones.
HOST_DEVICE inline float gradient_parameter(const SceneView& scene, int index, Vec2f p) {
    const float* q = scene.paint_params + 4 * index;
    if (scene.paint_kind[index] == kPaintLinear) {
        // t = (p - b) . (e - b) / |e - b|^2
        Vec2f b(q[0], q[1]), d(q[2] - q[0], q[3] - q[1]);
        float len2 = dot(d, d);
        return len2 > 0.0f ? dot(p - b, d) / len2 : 0.0f;
    }
    // t = sqrt(((px - cx) / rx)^2 + ((py - cy) / ry)^2)
    float ux = q[2] != 0.0f ? (p.x - q[0]) / q[2] : 0.0f;
    float uy = q[3] != 0.0f ? (p.y - q[1]) / q[3] : 0.0f;
    return sqrtf(ux * ux + uy * uy);
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

// Straight (not premultiplied) RGBA of paint `index` at shape-space point p.
HOST_DEVICE inline Vec4f evaluate_paint(const SceneView& scene, int index, Vec2f p) {
    int kind = scene.paint_kind[index];
    if (kind == kPaintSolid) {
        const float* q = scene.paint_params + 4 * index;
        return {q[0], q[1], q[2], q[3]};
    }
    if (kind == kPaintNone) return {0, 0, 0, 0};
    if (scene.paint_stop_begin[index] == scene.paint_stop_begin[index + 1]) return {0, 0, 0, 0};
    StopBracket b = bracket_stops(scene, index, gradient_parameter(scene, index, p));
    Vec4f c0 = stop_color(scene, b.lo), c1 = stop_color(scene, b.hi);
    return c0 * (1.0f - b.weight) + c1 * b.weight;
}

}  // namespace pdvg
