// Per-shape queries at a point in shape space: winding number, distance to
// the boundary, and stroke membership. Forward and backward passes both use
// these, so membership and the boundary pieces the sampler draws agree.
#pragma once

#include "../geometry/closest_point.h"
#include "../geometry/winding.h"
#include "scene.h"
#include "segment_cache.h"
#include "stroke_style.h"

namespace pdvg {

// Winding number of shape s at p. An open path is filled as if closed by a
// straight line from its last point to its first (SVG's fill rule). A path
// visits the segments of `segs` (SegmentSet).
HOST_DEVICE inline int shape_winding_number(const SceneView& scene, int s, Vec2f p, const SegmentSet& segs) {
    const float* q = scene.shape_params + 4 * s;
    switch (scene.shape_kind[s]) {
        case kCircle:
        case kEllipse: return winding_number_ellipse({q[0], q[1]}, {q[2], q[3]}, p);
        case kRect: return winding_number_rect({min_value(q[0], q[2]), min_value(q[1], q[3])},
                                               {max_value(q[0], q[2]), max_value(q[1], q[3])}, p);
        default: break;
    }
    int begin = scene.shape_segment_begin[s], end = scene.shape_segment_begin[s + 1];
    if (begin == end) return 0;
    int winding = 0;
    if (scene.segment_monotone) {
        visit_segments(segs, [&](int k) { winding += cached_winding_contribution(scene, k, p); return true; });
    } else visit_segments(segs, [&](int k) {
        // Cheap rejection: a segment whose control hull lies entirely above,
        // below or left of the ray cannot cross it.
        const int* idx = scene.segment_points + 4 * k;
        int degree = scene.segment_degree[k];
        float ymin = INFINITY, ymax = -INFINITY, xmax = -INFINITY;
        for (int j = 0; j <= degree; ++j) {
            Vec2f c = scene.point(idx[j]);
            ymin = min_value(ymin, c.y); ymax = max_value(ymax, c.y); xmax = max_value(xmax, c.x);
        }
        if (!(p.y < ymin || p.y > ymax || xmax < p.x)) winding += winding_contribution(scene.segment(k), p);
        return true;
    });
    if (!scene.shape_closed[s]) {
        Vec2f first = scene.point(scene.segment_points[4 * begin]);
        Vec2f last = scene.point(scene.segment_points[4 * (end - 1) + scene.segment_degree[end - 1]]);
        // The closing line crosses nothing outside its half-open y-range
        // (winding_contribution's own first test), nor from a point right
        // of both its ends (its crossing, computed in double from float
        // ends, cannot pass the larger end by a whole float step).
        if (min_value(first.y, last.y) <= p.y && p.y < max_value(first.y, last.y) &&
            !(p.x > max_value(first.x, last.x)))
            winding += winding_contribution(make_line(last, first), p);
    }
    return winding;
}

HOST_DEVICE inline int shape_winding_number(const SceneView& scene, int s, Vec2f p) {
    return shape_winding_number(scene, s, p, all_segments(scene, s));
}

// The closest boundary point of a shape, and the stroke half width there.
struct BoundaryPoint {
    float distance = INFINITY;
    float width = 0.0f;     // stroke half width at the closest point
    int segment = -1;       // path segment (-1 for circles, ellipses, rects and the closing line)
    float t = 0.0f;         // parameter on the segment (angle for ellipses, perimeter for rects)
    Vec2f point;
};

// Closest point on the boundary of shape s. With `closing_line`, an open
// path's implicit closing line counts as boundary (for fills, not strokes).
// Segments farther than `cutoff` are not examined; if none is nearer, the
// result has distance INFINITY and segment -1. A path visits the segments of
// `segs`, which must hold every one within `cutoff` of p.
HOST_DEVICE inline BoundaryPoint shape_closest_boundary_point(const SceneView& scene, int s, Vec2f p,
                                                             bool closing_line, float cutoff,
                                                             const SegmentSet& segs) {
    BoundaryPoint best;
    best.distance = cutoff;
    const float* q = scene.shape_params + 4 * s;
    int kind = scene.shape_kind[s];
    if (kind == kCircle || kind == kEllipse) {
        ClosestPoint c = closest_point_on_ellipse({q[0], q[1]}, {q[2], q[3]}, p);
        best.distance = c.distance; best.t = c.t; best.point = c.point; best.width = scene.shape_width[s];
        return best;
    }
    if (kind == kRect) {
        ClosestPoint c = closest_point_on_rect({min_value(q[0], q[2]), min_value(q[1], q[3])},
                                               {max_value(q[0], q[2]), max_value(q[1], q[3])}, p);
        best.distance = c.distance; best.t = c.t; best.point = c.point; best.width = scene.shape_width[s];
        return best;
    }
    int begin = scene.shape_segment_begin[s], end = scene.shape_segment_begin[s + 1];
    visit_segments(segs, [&](int k) {
        // Skip segments whose bounds are farther than the best distance so
        // far, and (bounded search) the quarters of a segment that are.
        unsigned quarters = 0xFu;
        if (scene.segment_boxes) {
            quarters = cached_quarters_within(scene, k, p, best.distance * best.distance);
            if (!quarters) return true;
        }
        Segment seg = scene.segment(k);
        if (!scene.segment_boxes) {
            BBox2 hull = BBox2::empty();
            for (int j = 0; j <= seg.degree; ++j) hull.expand(seg.p[j]);
            if (hull.distance_squared(p) >= best.distance * best.distance) return true;
        }
        // With a cutoff (prefiltering's band) most of a curve is far: the
        // bounded search prunes it. Without one the quintic is cheaper.
        ClosestPoint c = cutoff < INFINITY ? cached_closest_point_within(scene, k, seg, p, best.distance, quarters)
                                           : closest_point_on_segment(seg, p);
        if (c.distance < best.distance) {
            best.distance = c.distance; best.t = c.t; best.point = c.point; best.segment = k;
        }
        return true;
    });
    bool found = best.segment >= 0;
    if (found) best.width = scene.segment_width(best.segment, best.t);
    if (closing_line && !scene.shape_closed[s] && end > begin) {
        Segment last = scene.segment(end - 1);
        Segment close = make_line(last.p[last.degree], scene.segment(begin).p[0]);
        ClosestPoint c = closest_point_on_segment(close, p);
        if (c.distance < best.distance) {
            best.distance = c.distance; best.t = c.t; best.point = c.point; best.segment = -1;
            found = true;
        }
    }
    if (!found) best.distance = INFINITY;
    return best;
}

HOST_DEVICE inline BoundaryPoint shape_closest_boundary_point(const SceneView& scene, int s, Vec2f p,
                                                             bool closing_line, float cutoff = INFINITY) {
    return shape_closest_boundary_point(scene, s, p, closing_line, cutoff, all_segments(scene, s));
}

// Signed distance to the stroke outline of shape s: negative inside. Round
// caps and joins: the stroke is every point within the half width of the
// closest centre-line point. Other styles: stroke_style.h (beyond `cutoff`
// it reports INFINITY outside and -cutoff inside). With `closest`, a round
// stroke also reports the closest centre-line point there (styled strokes
// leave it untouched).
// A path visits the segments of `segs`, which must hold every one whose
// stroke may come within `cutoff` of p.
// `accept` (styled strokes only) as for styled_stroke_signed_distance.
HOST_DEVICE inline float stroke_signed_distance(const SceneView& scene, int s, Vec2f p, float cutoff,
                                                BoundaryPoint* closest, const SegmentSet& segs,
                                                float accept = -1.0f) {
    if (!stroke_is_round(scene, s)) return styled_stroke_signed_distance(scene, s, p, cutoff, segs, accept);
    BoundaryPoint b = shape_closest_boundary_point(scene, s, p, false, cutoff, segs);
    if (closest) *closest = b;
    return b.distance - b.width;
}

HOST_DEVICE inline float stroke_signed_distance(const SceneView& scene, int s, Vec2f p,
                                                float cutoff = INFINITY, BoundaryPoint* closest = nullptr) {
    return stroke_signed_distance(scene, s, p, cutoff, closest, all_segments(scene, s));
}

// Whether p lies in the stroke of shape s (round caps and joins): the
// closest centre-line point is within its half width. Same membership as
// stroke_signed_distance(...) <= 0, but a path skips every segment whose
// control hull is farther than that segment's largest width, and the
// closest-point solve runs only for the few segments near p.
// A path visits the segments of `segs`, which must hold every one whose
// stroke may reach p.
HOST_DEVICE inline bool inside_stroke(const SceneView& scene, int s, Vec2f p, const SegmentSet& segs) {
    if (scene.shape_kind[s] != kPath) return stroke_signed_distance(scene, s, p) <= 0.0f;
    if (scene.shape_stroke_style[s] != 0) return inside_styled_stroke(scene, s, p, segs);
    float best = INFINITY, best_width = 0.0f;
    bool hit = false;
    visit_segments(segs, [&](int k) {
        const int* idx = scene.segment_points + 4 * k;
        int degree = scene.segment_degree[k];
        float wmax = 0.0f, wmin = INFINITY;
        for (int j = 0; j <= degree; ++j) {
            float w = scene.point_width[idx[j]];
            wmax = max_value(wmax, w);
            wmin = min_value(wmin, w);
        }
        float reach = min_value(best, wmax);
        unsigned quarters = 0xFu;  // the quarters of the segment that may come within reach
        if (scene.segment_boxes) {
            // The cached quarter boxes bound the distance more tightly than the hull.
            quarters = cached_quarters_within(scene, k, p, reach * reach);
            if (!quarters) return true;
        } else {
            BBox2 hull = BBox2::empty();
            for (int j = 0; j <= degree; ++j) hull.expand(scene.point(idx[j]));
            if (hull.distance_squared(p) > reach * reach) return true;
        }
        // Constant width along the segment: membership is "some curve point
        // within w", answered by subdivision without solving for the closest point.
        if (wmin == wmax && !(best < INFINITY)) {
            hit = cached_within_distance(scene, k, p, wmax, quarters);
            return !hit;
        }
        ClosestPoint c = closest_point_on_segment(scene.segment(k), p);
        if (c.distance < best) { best = c.distance; best_width = scene.segment_width(k, c.t); }
        return true;
    });
    if (hit) return true;
    return best <= best_width;
}

HOST_DEVICE inline bool inside_stroke(const SceneView& scene, int s, Vec2f p) {
    return inside_stroke(scene, s, p, all_segments(scene, s));
}

// Conservative shape-space bounds of shape s, padded by `pad`.
HOST_DEVICE inline BBox2 shape_bounds(const SceneView& scene, int s, float pad) {
    const float* q = scene.shape_params + 4 * s;
    BBox2 box = BBox2::empty();
    int kind = scene.shape_kind[s];
    if (kind == kCircle || kind == kEllipse) {
        box.expand(Vec2f(q[0] - fabsf(q[2]), q[1] - fabsf(q[3])));
        box.expand(Vec2f(q[0] + fabsf(q[2]), q[1] + fabsf(q[3])));
    } else if (kind == kRect) {
        box.expand(Vec2f(q[0], q[1]));
        box.expand(Vec2f(q[2], q[3]));
    } else {
        int begin = scene.shape_segment_begin[s], end = scene.shape_segment_begin[s + 1];
        for (int k = begin; k < end; ++k) box.expand(bounds(scene.segment(k)));
    }
    if (!box.is_empty()) box.pad(pad);
    return box;
}

// Largest stroke half width a shape can have anywhere.
HOST_DEVICE inline float shape_max_width(const SceneView& scene, int s) {
    if (scene.shape_kind[s] != kPath) return fabsf(scene.shape_width[s]);
    return path_max_width(scene, s);
}

// How far a shape's stroke reaches beyond its geometry (for padding bounds):
// the largest half width, or more with square caps and miter joins.
HOST_DEVICE inline float shape_stroke_pad(const SceneView& scene, int s) {
    if (stroke_is_round(scene, s)) return shape_max_width(scene, s);
    return styled_stroke_pad(scene, s);
}

}  // namespace pdvg
