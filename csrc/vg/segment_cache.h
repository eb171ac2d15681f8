// Per-call caches of path segments that make the per-sample tests cheap.
//
// Ray casting: a segment is cut at the roots of dy/dt into at most three
// y-monotone pieces, and each piece into kSubPieces parameter steps. For
// each step we keep its end heights, the line through its end points
// (x = xa + slope (y - ya)) and the range [hmin, hmax] of the horizontal
// offsets of its control points from that line. The offset is affine in the
// point, so every curve point of the step has its offset in that range too:
// the crossing at height y lies in [line(y) + hmin, line(y) + hmax]. A
// sample left of that interval counts the crossing, one right of it does
// not, and only a sample inside it (a thin band around the curve) solves
// for the crossing (crossing_is_right_of). Cutting and end heights are
// computed exactly as winding_contribution does, so both give the same
// answers.
//
// Distances: four boxes around the quarters of each segment bound its
// distance from below far more tightly than one box around a long curve.
//
// Stroke membership ("is some curve point within r of p"): each curve is
// flattened into chords once per call (flatten_segment), so that a sample
// subdivides only the piece whose chord cannot decide it.
#pragma once

#include "../core/context.h"
#include "../geometry/closest_point.h"
#include "../geometry/roots.h"
#include "../geometry/segment_double.h"
#include "../geometry/winding.h"
#include "scene.h"

namespace pdvg {

// Each monotone piece is cut again into kSubPieces equal parameter steps,
// each with its end height and x-range, so a ray finds the sub-piece at its
// height and bisects only when p falls inside that narrow x-range.
constexpr int kSubPieces = 8;
constexpr int kStepFloats = 4;  // xa, slope, hmin, hmax
constexpr int kMonotoneStride = 2 + (kSubPieces + 1) + kStepFloats * kSubPieces;  // t0, t1, heights, steps
// Each segment's block starts with a header: the y-range and largest x of
// its control points (padded for rounding) and its number of pieces. A ray
// outside that y-range, or starting right of that x, crosses nothing.
constexpr int kMonotoneHeader = 4;
constexpr int kSegmentMonotoneFloats = kMonotoneHeader + 3 * kMonotoneStride;
constexpr int kBoxStride = 4;

// The segments of a path that a per-point query visits: all of the
// shape's, or the list of a tile entry (TileGrid::entry_segments), which
// leaves out segments that cannot matter anywhere near the tile. Visiting a
// subset in the same ascending order gives the same answers: the winding
// number is a sum of integers to which the left-out segments add 0, and the
// distance and stroke queries skip them anyway by their bounds.
struct SegmentSet {
    const int* list = nullptr;  // null: the segments begin..end-1 themselves
    int begin = 0, end = 0;     // with a list: its positions begin..end-1
    HOST_DEVICE int size() const { return end - begin; }
    HOST_DEVICE int operator[](int i) const { return list ? list[begin + i] : begin + i; }
};

// Calls f(k) for each segment k of `segs` in ascending order while f returns
// true; returns false when f stopped the walk. The list-or-range choice is
// made once per walk: as a test inside the loop (operator[]) it cost the
// 4-segment winding loop of fills2048 ~15% (perf, one thread).
template <typename F>
HOST_DEVICE FORCE_INLINE bool visit_segments(const SegmentSet& segs, F&& f) {
    if (!segs.list) {
        for (int k = segs.begin; k < segs.end; ++k)
            if (!f(k)) return false;
    } else {
        for (int n = segs.begin; n < segs.end; ++n)
            if (!f(segs.list[n])) return false;
    }
    return true;
}

HOST_DEVICE inline SegmentSet all_segments(const SceneView& scene, int s) {
    return {nullptr, scene.shape_segment_begin[s], scene.shape_segment_begin[s + 1]};
}

// Which parts of a segment's cache its shape's pairs can ask for
// (prepare_scene): the ray-casting pieces serve fills only, and the
// flattening serves strokes, plus the closest-point searches of fills when
// prefiltering or writing distances. A part left out keeps a marker that sends
// a query to the uncached routine, so a wrong guess costs time, not answers.
enum SegmentCacheNeed : int { kNeedMonotone = 1, kNeedFlat = 2 };

// Where a flattening's first deviation sits: NaN there marks a flattening
// that was not built (flat_is_built).
constexpr int kFlatBuiltMarker = 2 * (kFlatPieces + 1);

// The y-monotone pieces of curve s for ray casting, written to `out` (just
// after the segment's header); returns their number. Always inlined: compiled
// on its own, the float steps below contract into FMAs differently, and the
// last bits of the bands (so of some boundary samples) would move.
HOST_DEVICE FORCE_INLINE int build_monotone_pieces(const Segment& s, float* out) {
    const int n = s.degree;
    // Cuts at the roots of dy/dt (see winding_contribution).
    double cuts[4];
    int cut_count = 0;
    cuts[cut_count++] = 0.0;
    if (n >= 2) {
        double a = 0.0, b, c;
        double d0 = double(s.p[1].y) - s.p[0].y, d1 = double(s.p[2].y) - s.p[1].y;
        if (n == 2) { b = d1 - d0; c = d0; }
        else {
            double d2 = double(s.p[3].y) - s.p[2].y;
            a = d0 - 2.0 * d1 + d2; b = 2.0 * (d1 - d0); c = d0;
        }
        double extrema[2];
        int extrema_count = solve_quadratic(a, b, c, extrema);
        for (int i = 0; i < extrema_count; ++i)
            if (extrema[i] > cuts[cut_count - 1] && extrema[i] < 1.0) cuts[cut_count++] = extrema[i];
    }
    cuts[cut_count++] = 1.0;
    double y_start = s.p[0].y;
    for (int piece = 0; piece + 1 < cut_count; ++piece) {
        double t0 = cuts[piece], t1 = cuts[piece + 1];
        double y_end = piece + 2 == cut_count ? double(s.p[n].y) : evaluate_double(s, t1).y;
        float* q = out + kMonotoneStride * piece;
        q[0] = float(t0); q[1] = float(t1);
        float* heights = q + 2;
        float* steps = q + 2 + kSubPieces + 1;
        // The curve at the step ends t0 + (t1 - t0) j / kSubPieces, once each:
        // x for the steps' lines, y for the inner heights.
        Vec2d at[kSubPieces + 1];
        for (int j = 0; j <= kSubPieces; ++j) at[j] = evaluate_double(s, t0 + (t1 - t0) * j / kSubPieces);
        heights[0] = float(y_start);
        heights[kSubPieces] = float(y_end);
        for (int j = 0; j + 1 < kSubPieces; ++j) heights[j + 1] = float(at[j + 1].y);
        float x_start = float(at[0].x);
        for (int j = 0; j < kSubPieces; ++j) {
            double ta = t0 + (t1 - t0) * j / kSubPieces, tb = t0 + (t1 - t0) * (j + 1) / kSubPieces;
            float x_end = float(at[j + 1].x);
            Segment mid = sub_segment(s, float(ta), float(tb));
            float ya = heights[j], dy = heights[j + 1] - ya;
            float slope = dy != 0.0f ? (x_end - x_start) / dy : 0.0f;
            if (!is_finite(slope)) slope = 0.0f;  // a flat step: the offsets are then the x-range
            float hmin = INFINITY, hmax = -INFINITY, x_size = fabsf(x_start), y_size = fabsf(ya);
            for (int i = 0; i <= n; ++i) {
                float h = mid.p[i].x - (x_start + slope * (mid.p[i].y - ya));
                hmin = min_value(hmin, h);
                hmax = max_value(hmax, h);
                x_size = max_value(x_size, fabsf(mid.p[i].x));
                y_size = max_value(y_size, fabsf(mid.p[i].y));
            }
            // Widen by the rounding of the float split and of the line's
            // evaluation here and at the sample, so the band still holds the curve.
            float slack = 2e-5f * (1.0f + x_size + fabsf(slope) * y_size);
            float* step = steps + kStepFloats * j;
            step[0] = x_start;
            step[1] = slope;
            step[2] = hmin - slack;
            step[3] = hmax + slack;
            x_start = x_end;
        }
        y_start = y_end;
    }
    return cut_count - 1;
}

HOST_DEVICE inline void build_segment_cache(const SceneView& scene, int k, float* monotone, float* boxes,
                                            float* flat, int needs = kNeedMonotone | kNeedFlat) {
    Segment s = scene.segment(k);
    int n = s.degree;
    float* out = monotone + kSegmentMonotoneFloats * k;
    for (int i = 0; i < kSegmentMonotoneFloats; ++i) out[i] = 0.0f;
    {
        float ymin = s.p[0].y, ymax = s.p[0].y, xmax = s.p[0].x;
        for (int i = 1; i <= n; ++i) {
            ymin = min_value(ymin, s.p[i].y); ymax = max_value(ymax, s.p[i].y); xmax = max_value(xmax, s.p[i].x);
        }
        float slack = 1e-5f * (fabsf(ymin) + fabsf(ymax) + fabsf(xmax) + 1.0f);
        out[0] = ymin - slack;
        out[1] = ymax + slack;
        out[2] = xmax + slack;
    }
    // No pieces cached (-1): cached_winding_contribution asks winding_contribution.
    out[3] = (needs & kNeedMonotone) ? float(build_monotone_pieces(s, out + kMonotoneHeader)) : -1.0f;
    // Quarter boxes.
    for (int quarter = 0; quarter < 4; ++quarter) {
        Segment mid = sub_segment(s, 0.25f * quarter, 0.25f * (quarter + 1));
        BBox2 box = BBox2::empty();
        for (int j = 0; j <= n; ++j) box.expand(mid.p[j]);
        box.pad(1e-5f * (fabsf(box.lo.x) + fabsf(box.hi.x) + fabsf(box.lo.y) + fabsf(box.hi.y) + 1.0f));
        float* b = boxes + 16 * k + kBoxStride * quarter;
        b[0] = box.lo.x; b[1] = box.lo.y; b[2] = box.hi.x; b[3] = box.hi.y;
    }
    // Flattening (curves only; lines are their own chord). Unbuilt: a NaN
    // first deviation (flat_is_built).
    float* f = flat + kFlatFloats * k;
    if (n > 1 && (needs & kNeedFlat)) flatten_segment(s, f);
    else f[kFlatBuiltMarker] = NAN;
}

HOST_DEVICE inline bool flat_is_built(const float* f) { return f[kFlatBuiltMarker] == f[kFlatBuiltMarker]; }

// Segment k's flattening, or null where none was built (no caches, or its
// shape's pairs never read one).
HOST_DEVICE inline const float* built_flattening(const SceneView& scene, int k) {
    const float* f = scene.segment_flat ? scene.segment_flat + kFlatFloats * k : nullptr;
    return f && flat_is_built(f) ? f : nullptr;
}

// Whether some point of segment k lies within r of p, from its flattening.
// `quarters` as in flat_within_distance (cached_quarters_within).
HOST_DEVICE inline bool cached_within_distance(const SceneView& scene, int k, Vec2f p, float r,
                                               unsigned quarters = 0xFu) {
    Segment s = scene.segment(k);
    const float* f = s.degree == 1 ? nullptr : built_flattening(scene, k);
    if (!f) return segment_within_distance(s, p, r);
    return flat_within_distance(s, f, p, r, quarters);
}

// closest_point_on_segment_within for segment k (whose control points are
// s), from its flattening.
// `quarters` as in flat_within_distance (cached_quarters_within).
HOST_DEVICE inline ClosestPoint cached_closest_point_within(const SceneView& scene, int k, const Segment& s, Vec2f p,
                                                            float limit, unsigned quarters = 0xFu) {
    const float* f = s.degree < 3 ? nullptr : built_flattening(scene, k);
    if (!f) return closest_point_on_segment_within(s, p, limit);
    return flat_closest_point_within(s, f, p, limit, quarters);
}

// Signed crossings of the ray from p toward +x with segment k, from the cache.
HOST_DEVICE inline int cached_winding_contribution(const SceneView& scene, int k, Vec2f p) {
    const float* header = scene.segment_monotone + kSegmentMonotoneFloats * k;
    if (p.y < header[0] || p.y > header[1] || p.x > header[2]) return 0;
    const float* pieces = header + kMonotoneHeader;
    const int count = int(header[3]);
    if (count < 0) return winding_contribution(scene.segment(k), p);
    int winding = 0;
    for (int i = 0; i < count; ++i) {
        const float* q = pieces + kMonotoneStride * i;
        if (!(q[1] > q[0])) continue;
        const float* heights = q + 2;
        float y0 = heights[0], y1 = heights[kSubPieces];
        if (!(min_value(y0, y1) <= p.y && p.y < max_value(y0, y1))) continue;
        int direction = y1 > y0 ? 1 : -1;
        // The step whose height range holds p.y (heights are monotone).
        int j = 0;
        if (direction > 0) while (j + 1 < kSubPieces && heights[j + 1] <= p.y) ++j;
        else while (j + 1 < kSubPieces && heights[j + 1] >= p.y) ++j;
        const float* step = q + 2 + kSubPieces + 1 + kStepFloats * j;
        float line = step[0] + step[1] * (p.y - heights[j]);
        if (p.x < line + step[2]) { winding += direction; continue; }
        if (p.x >= line + step[3]) continue;
        float ta = q[0] + (q[1] - q[0]) * j / kSubPieces, tb = q[0] + (q[1] - q[0]) * (j + 1) / kSubPieces;
        if (crossing_is_right_of(scene.segment(k), ta, tb, p.x, p.y)) winding += direction;
    }
    return winding;
}

// Bit q set for each quarter of segment k whose cached box lies within
// squared distance r2 of p (the others hold no point that near).
HOST_DEVICE inline unsigned cached_quarters_within(const SceneView& scene, int k, Vec2f p, float r2) {
    const float* b = scene.segment_boxes + 16 * k;
    unsigned quarters = 0;
    for (int i = 0; i < 4; ++i, b += kBoxStride) {
        BBox2 box{Vec2f(b[0], b[1]), Vec2f(b[2], b[3])};
        if (box.distance_squared(p) <= r2) quarters |= 1u << i;
    }
    return quarters;
}

// cached_within_distance over the quarters of segment k that its cached
// boxes leave within r of p (all four without boxes).
HOST_DEVICE inline bool cached_within_distance_pruned(const SceneView& scene, int k, Vec2f p, float r) {
    const unsigned quarters = scene.segment_boxes ? cached_quarters_within(scene, k, p, r * r) : 0xFu;
    return cached_within_distance(scene, k, p, r, quarters);
}

// Returns a copy of `scene` with its segment caches built (scratch from the
// context).
// `fill_distances`: whether fills' closest points are searched (prefiltering,
// distance output), which the flattening speeds up.
SceneView prepare_scene(const SceneView& scene, int num_segments, bool fill_distances,
                        const ExecutionContext& context);

}  // namespace pdvg
