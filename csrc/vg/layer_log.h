// How a LayerLog (render.h) stores one sample's layers, and how the backward
// pass replays them. Writing and reading live here together so that the
// format has one definition.
//
// A sample's entry is a word count n followed by n words, its layers bottom
// to top. A layer is one head word: its paint index (2g fill, 2g + 1 stroke)
// and two flags. Sampled output has coverage 1 everywhere, so the head is
// all. With prefiltering, a layer whose coverage is a fraction (its boundary
// lies within the anti-aliasing band) is followed by what the backward pass
// differentiates: the coverage, the shape and distance that gave it, and the
// closest boundary point there, so that nothing is searched for again.
#pragma once

#include <cstring>

#include "shade.h"

namespace pdvg {

constexpr int32_t kLogPartial = int32_t(1) << 30;  // coverage and boundary point follow
constexpr int32_t kLogInside = int32_t(1) << 29;   // the fill rule put the point inside
constexpr int32_t kLogPaintMask = kLogInside - 1;
constexpr int kLogPartialWords = 10;               // words of a partial layer, head included

HOST_DEVICE inline int32_t float_bits(float v) {
    int32_t i;
    memcpy(&i, &v, sizeof i);
    return i;
}

HOST_DEVICE inline float bits_float(int32_t i) {
    float v;
    memcpy(&v, &i, sizeof v);
    return v;
}

// Most words one layer takes.
HOST_DEVICE inline int log_words_per_layer(bool prefiltering) { return prefiltering ? kLogPartialWords : 1; }

// Writes layer e at `out`; returns the end of what it wrote.
HOST_DEVICE inline int32_t* log_layer(const LayerEvent& e, bool prefiltering, int32_t* out) {
    if (!prefiltering) {
        *out++ = e.paint;
        return out;
    }
    const GroupCoverage& c = *e.coverage_info;
    const bool stroke = (e.paint & 1) != 0;
    const int shape = stroke ? c.stroke_shape : c.fill_shape;
    const bool partial = e.coverage < 1.0f && shape >= 0;
    *out++ = e.paint | (partial ? kLogPartial : 0) | (c.inside ? kLogInside : 0);
    if (!partial) return out;
    const LazyBoundaryPoint& known = stroke ? c.stroke_point : c.fill_point;
    BoundaryPoint bp;  // unknown (distance INFINITY) unless set
    if (known.known) bp = known.value;
    *out++ = float_bits(e.coverage);
    *out++ = shape;
    *out++ = float_bits(stroke ? c.stroke_distance : c.fill_distance);
    *out++ = float_bits(bp.distance);
    *out++ = float_bits(bp.width);
    *out++ = bp.segment;
    *out++ = float_bits(bp.t);
    *out++ = float_bits(bp.point.x);
    *out++ = float_bits(bp.point.y);
    return out;
}

// shade_point from a logged entry: its `words` words of layers, composited
// again in order (paint evaluation and "over" only). `visit` sees the same
// events as in shade_point, with the coverage facts the backward pass uses.
template <typename Visitor>
HOST_DEVICE inline Vec4f replay_layers(const SceneView& scene, const RenderOptions& o, int b, int x, int y,
                                       Vec2f position, const int32_t* log, int words, Visitor& visit) {
    Vec4f accum = background_premultiplied(o, b, x, y);
    for (const int32_t* end = log + words; log < end;) {
        const int32_t head = *log++;
        LayerEvent e;
        e.paint = head & kLogPaintMask;
        e.group = e.paint >> 1;
        e.coverage = 1.0f;
        GroupCoverage c;
        c.local = scene.to_shape(e.group).apply_point(position);
        c.inside = (head & kLogInside) != 0;
        if (head & kLogPartial) {
            e.coverage = bits_float(*log++);
            const int shape = *log++;
            const float distance = bits_float(*log++);
            BoundaryPoint bp;
            bp.distance = bits_float(log[0]);
            bp.width = bits_float(log[1]);
            bp.segment = log[2];
            bp.t = bits_float(log[3]);
            bp.point = {bits_float(log[4]), bits_float(log[5])};
            log += 6;
            if (e.paint & 1) {
                c.stroke_shape = shape; c.stroke_distance = distance; c.stroke_point.set(bp);
            } else {
                c.fill_shape = shape; c.fill_distance = distance; c.fill_point.set(bp);
            }
        }
        e.color = evaluate_paint(scene, e.paint, c.local);
        e.below = accum;
        e.coverage_info = &c;
        visit(e);
        composite_over(accum, e.color, e.coverage);
    }
    return accum;
}

}  // namespace pdvg
