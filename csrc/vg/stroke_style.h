// Stroke caps and joins (SVG stroke-linecap, stroke-linejoin,
// stroke-miterlimit) for paths whose style is not round-round. The
// round-round case keeps the plain "within the half width of the centre
// line" model of shape_queries.h, which is faster; everything here is used
// only when a path asks for butt or square caps or miter or bevel joins.
//
// Membership model. A point p is in the stroke if it is in
//  - a segment's sweep: the closest centre-line point c(t*) has 0 < t* < 1
//    and |p - c(t*)| <= w(t*) (for a line: the rectangle with butt ends);
//  - the join region at a vertex shared by two segments (every vertex of a
//    closed subpath): the disc of radius w (round), the triangle vertex,
//    outer offset ends (bevel), or that triangle plus the miter tip (miter,
//    while miter length / stroke width <= stroke-miterlimit, else bevel);
//  - the cap region at an open end: nothing (butt), the half square
//    {v + a t + b n : 0 <= a <= w, |b| <= w} (square), the disc (round).
// Segments whose control points all coincide have no sweep and no joins;
// the joint skips over them. A subpath with no other segment is a dot:
// a disc (round cap), an axis-aligned square (square cap) or nothing (butt).
//
// Joint geometry. At a vertex v (half width w) the incoming unit tangent is
// t1 = d1/|d1|, d1 = v - P_before (P_before: the nearest distinct control
// point of the segment that ends at v; for a start cap the first distinct one
// after v, so t1 always points out of the path at a cap), and the outgoing
// one t2 = d2/|d2|, d2 = P_after - v. With R the quarter turn and σ = ±1 the
// outer side of the turn, the outer offset ends are o1 = v + w σ R t1 and
// o2 = v + w σ R t2, and the miter tip is the intersection of the two outer
// offset lines, tip = v + w (n1 + n2) / (1 + n1·n2), n_i = σ R t_i.
// Every joint point is x = v + w D(t1, t2); its adjoints (joint_point_backward)
// follow from ∂t/∂d = (I - t tᵀ)/|d|.
#pragma once

#include "../geometry/closest_point.h"
#include "gradients.h"
#include "scene.h"
#include "segment_cache.h"

namespace pdvg {

// ---- Arcs (round caps and joins) ---------------------------------------------

// A circular arc around `center` of radius w from direction `start`, sweeping
// `sweep` radians.
struct ArcRef {
    Vec2f center, start;  // start: unit direction at t = 0
    float sweep, width;
};

HOST_DEVICE inline Vec2f arc_direction(const ArcRef& arc, float t) {
    float angle = arc.sweep * t, cs = cosf(angle), sn = sinf(angle);
    return {arc.start.x * cs - arc.start.y * sn, arc.start.x * sn + arc.start.y * cs};
}

// The outer arc of a round join between the offset normals of tangents t1
// (arriving) and t2 (leaving). Its middle direction lies along t1 - t2, which
// also picks the side of a 180° turn (where the two normals are opposite).
HOST_DEVICE inline ArcRef join_arc(Vec2f vertex, Vec2f t1, Vec2f t2, float width) {
    ArcRef arc;
    arc.center = vertex;
    arc.width = width;
    float turn = cross(t1, t2);
    float side = turn > 0.0f ? -1.0f : 1.0f;  // the outer side of the turn
    Vec2f a = perpendicular(t1) * side, b = perpendicular(t2) * side;
    arc.start = a;
    arc.sweep = atan2f(cross(a, b), dot(a, b));
    if (dot(arc_direction(arc, 0.5f), t1 - t2) < 0.0f)
        arc.sweep = arc.sweep > 0.0f ? arc.sweep - 2.0f * kPi : arc.sweep + 2.0f * kPi;
    return arc;
}

// Whether direction u (unit) lies within the angular range of the arc.
HOST_DEVICE inline bool arc_covers_direction(const ArcRef& arc, Vec2f u) {
    float angle = atan2f(cross(arc.start, u), dot(arc.start, u));
    if (arc.sweep < 0.0f) angle = -angle;
    if (angle < 0.0f && fabsf(arc.sweep) > kPi) angle += 2.0f * kPi;
    return angle >= 0.0f && angle <= fabsf(arc.sweep);
}

// ---- Segments and joints --------------------------------------------------------

HOST_DEVICE inline bool stroke_is_round(const SceneView& scene, int s) {
    return scene.shape_kind[s] != kPath || scene.shape_stroke_style[s] == 0;
}

// Two control points count as distinct when they are farther apart than a
// tiny fraction of their magnitude: tangents from nearer points would be
// noise, and their derivatives would blow up.
HOST_DEVICE inline bool points_distinct(Vec2f a, Vec2f b) {
    float scale = 1.0f + max_value(fabsf(a.x), fabsf(a.y));
    return length_squared(a - b) > 1e-12f * scale * scale;
}

// The control point of segment k nearest (in index) to its end `end` (0 start,
// 1 end) that is distinct from that end point: index into points, or -1.
HOST_DEVICE inline int segment_tangent_neighbor(const SceneView& scene, int k, int end) {
    const int* idx = scene.segment_points + 4 * k;
    int degree = scene.segment_degree[k];
    int at = end ? degree : 0;
    Vec2f v = scene.point(idx[at]);
    for (int step = 1; step <= degree; ++step) {
        int j = end ? degree - step : step;
        if (points_distinct(scene.point(idx[j]), v)) return idx[j];
    }
    return -1;
}

HOST_DEVICE inline bool segment_is_degenerate(const SceneView& scene, int k) {
    return segment_tangent_neighbor(scene, k, 1) < 0;
}

// The next non-degenerate segment after k in shape s (wrapping around a
// closed subpath, possibly to k itself), or -1 at the open end.
HOST_DEVICE inline int next_stroke_segment(const SceneView& scene, int s, int k) {
    int begin = scene.shape_segment_begin[s], end = scene.shape_segment_begin[s + 1];
    bool closed = scene.shape_closed[s] != 0;
    int n = end - begin;
    for (int step = 1; step <= n; ++step) {
        int j = k + step;
        if (j >= end) {
            if (!closed) return -1;
            j -= n;
        }
        if (!segment_is_degenerate(scene, j)) return j;
    }
    return -1;
}

HOST_DEVICE inline int first_stroke_segment(const SceneView& scene, int s) {
    int begin = scene.shape_segment_begin[s], end = scene.shape_segment_begin[s + 1];
    for (int k = begin; k < end; ++k)
        if (!segment_is_degenerate(scene, k)) return k;
    return -1;
}

enum JointKind : int { kJointNone = 0, kJointCap = 1, kJointJoin = 2 };

// The geometry at one end of a stroked segment: a cap or a join.
struct StrokeJoint {
    int kind = kJointNone;
    int style = 0;          // LineCap for caps; LineJoin for joins (a miter past its limit is kJoinBevel)
    int vertex = -1, before = -1, after = -1;  // point indices: v, P_before, P_after (joins)
    Vec2f v;
    float w = 0.0f;
    Vec2f t1, t2;           // unit tangents: t1 arrives at v (out of the path at a cap), t2 leaves v
    float len1 = 0.0f, len2 = 0.0f;  // |d1|, |d2|
    float sigma = 1.0f;     // outer side of a join
};

// The joint at end `end` of segment k (non-degenerate) of shape s, given the
// next non-degenerate segment (`next`, -1 at an open end; used for end = 1).
HOST_DEVICE inline StrokeJoint make_stroke_joint(const SceneView& scene, int s, int k, int end, int next) {
    StrokeJoint j;
    const int* idx = scene.segment_points + 4 * k;
    j.vertex = idx[end ? scene.segment_degree[k] : 0];
    j.v = scene.point(j.vertex);
    j.w = scene.point_width[j.vertex];
    j.before = segment_tangent_neighbor(scene, k, end);
    if (j.before < 0) return j;
    Vec2f d1 = j.v - scene.point(j.before);
    j.len1 = length(d1);
    j.t1 = d1 / j.len1;
    if (end == 0 || next < 0) {
        j.kind = kJointCap;
        j.style = scene.cap(s);
        return j;
    }
    j.after = segment_tangent_neighbor(scene, next, 0);
    if (j.after < 0) return j;
    Vec2f d2 = scene.point(j.after) - j.v;
    j.len2 = length(d2);
    j.t2 = d2 / j.len2;
    j.kind = kJointJoin;
    j.sigma = cross(j.t1, j.t2) > 0.0f ? -1.0f : 1.0f;
    j.style = scene.join(s);
    if (j.style == kJoinMiter) {
        // miter length / stroke width = 1 / sin(θ/2) = sqrt(2 / (1 + t1·t2)),
        // θ the angle between the segments; past the limit SVG bevels. The
        // second test keeps the tip finite for huge limits (ratio <= ~1400).
        float limit = scene.shape_miter_limit ? scene.shape_miter_limit[s] : 4.0f;
        float one_plus_cos = 1.0f + dot(j.t1, j.t2);
        if (!(one_plus_cos * limit * limit >= 2.0f && one_plus_cos > 1e-6f)) j.style = kJoinBevel;
    }
    return j;
}

// The joint at end `end` of segment k, or kJointNone: a start cap exists only
// on the first non-degenerate segment of an open subpath.
HOST_DEVICE inline StrokeJoint stroke_joint(const SceneView& scene, int s, int k, int end) {
    if (segment_is_degenerate(scene, k)) return StrokeJoint();
    if (end == 0) {
        if (scene.shape_closed[s] || first_stroke_segment(scene, s) != k) return StrokeJoint();
        return make_stroke_joint(scene, s, k, 0, -1);
    }
    return make_stroke_joint(scene, s, k, 1, next_stroke_segment(scene, s, k));
}

// Joint points x = v + w D. Caps: 0 = v + w n, 1 = v - w n (n = R t1),
// 3 = point 0 + w t1, 4 = point 1 + w t1. Joins: 0 = o1, 1 = o2, 2 = the miter
// tip, or o1 for a bevel; 5 = the inner corner, where the inner offset lines
// cross (the tip mirrored through v).
HOST_DEVICE inline Vec2f joint_direction(const StrokeJoint& j, int id) {
    if (j.kind == kJointCap) {
        Vec2f n = perpendicular(j.t1);
        float alpha = (id == 0 || id == 3) ? 1.0f : -1.0f, beta = id >= 3 ? 1.0f : 0.0f;
        return n * alpha + j.t1 * beta;
    }
    Vec2f n1 = perpendicular(j.t1) * j.sigma, n2 = perpendicular(j.t2) * j.sigma;
    if (id == 0 || (id == 2 && j.style != kJoinMiter)) return n1;
    if (id == 1) return n2;
    Vec2f tip = (n1 + n2) / (1.0f + dot(n1, n2));
    return id == 5 ? -tip : tip;
}

HOST_DEVICE inline Vec2f joint_point(const StrokeJoint& j, int id) { return j.v + joint_direction(j, id) * j.w; }

// Straight outline edges of a joint (as pairs of joint point ids): butt cap
// 1, square cap 3, miter or bevel join 2 (o1 -> X -> o2; for a bevel the
// first is empty). Round caps and joins are arcs instead.
HOST_DEVICE inline int joint_edge_count(const SceneView& scene, int s, int kind) {
    if (kind == kJointCap) return scene.cap(s) == kCapButt ? 1 : scene.cap(s) == kCapSquare ? 3 : 0;
    if (kind == kJointJoin) return scene.join(s) == kJoinRound ? 0 : 2;
    return 0;
}

HOST_DEVICE inline void joint_edge(const StrokeJoint& j, int edge, int* a, int* b) {
    if (j.kind == kJointCap) {
        if (j.style == kCapButt) { *a = 0; *b = 1; return; }
        const int from[3] = {0, 3, 4}, to[3] = {3, 4, 1};
        *a = from[edge]; *b = to[edge];
        return;
    }
    *a = edge == 0 ? 0 : 2;
    *b = edge == 0 ? 2 : 1;
}

HOST_DEVICE inline bool joint_is_round(const StrokeJoint& j) {
    return j.kind == kJointCap ? j.style == kCapRound : j.style == kJoinRound;
}

// The outline arc of a round cap (the half circle beyond the end) or join.
HOST_DEVICE inline ArcRef joint_arc(const StrokeJoint& j) {
    if (j.kind == kJointJoin) return join_arc(j.v, j.t1, j.t2, j.w);
    ArcRef arc;
    arc.center = j.v;
    arc.width = j.w;
    // start R t1; rotating it by -π/2 gives t1, so a clockwise half turn
    // passes through the outward tangent.
    arc.start = perpendicular(j.t1);
    arc.sweep = -kPi;
    return arc;
}

// Whether p lies in the cap or join region of joint j. The regions meet the
// sweeps along the end normals, where a point can fail both strict tests by
// rounding; they are widened by a relative `slack` there so no seam opens.
HOST_DEVICE inline bool joint_contains(const StrokeJoint& j, Vec2f p) {
    Vec2f r = p - j.v;
    if (j.kind == kJointNone || j.w <= 0.0f) return false;
    if (joint_is_round(j)) return length_squared(r) <= j.w * j.w;
    float slack = 1e-5f * (1.0f + max_value(fabsf(j.v.x), fabsf(j.v.y)) + j.w);
    if (j.kind == kJointCap) {
        if (j.style != kCapSquare) return false;
        float along = dot(r, j.t1), across = dot(r, perpendicular(j.t1));
        return along >= -slack && along <= j.w && fabsf(across) <= j.w;
    }
    // Convex polygon v, o1, [tip], o2: inside when no edge sees p on the
    // other side (either orientation); |cross| / |edge| is the distance
    // from the edge's line.
    Vec2f q[4];
    int n = 0;
    q[n++] = j.v;
    q[n++] = joint_point(j, 0);
    if (j.style == kJoinMiter) q[n++] = joint_point(j, 2);
    q[n++] = joint_point(j, 1);
    bool positive = false, negative = false;
    for (int i = 0; i < n; ++i) {
        Vec2f a = q[i], b = q[(i + 1) % n];
        // Slack only on the seams v -> o1 and o2 -> v: the other edges are outline.
        float tolerance = (i == 0 || i == n - 1) ? slack * length(b - a) : 0.0f;
        float c = cross(b - a, p - a);
        if (c > tolerance) positive = true; else if (c < -tolerance) negative = true;
    }
    return !(positive && negative);
}

// Largest stroke half width of path s.
HOST_DEVICE inline float path_max_width(const SceneView& scene, int s) {
    float w = 0.0f;
    int begin = scene.shape_segment_begin[s], end = scene.shape_segment_begin[s + 1];
    for (int k = begin; k < end; ++k)
        for (int j = 0; j <= scene.segment_degree[k]; ++j)
            w = max_value(w, fabsf(scene.point_width[scene.segment_points[4 * k + j]]));
    return w;
}

// How far a styled path's stroke reaches beyond its centre line: the widest
// half width, times sqrt(2) with square caps, and the actual miter tips.
HOST_DEVICE inline float styled_stroke_pad(const SceneView& scene, int s) {
    float pad = path_max_width(scene, s) * (scene.cap(s) == kCapSquare ? 1.4143f : 1.0f);
    if (scene.join(s) != kJoinMiter) return pad;
    int begin = scene.shape_segment_begin[s], end = scene.shape_segment_begin[s + 1];
    for (int k = begin; k < end; ++k) {
        if (segment_is_degenerate(scene, k)) continue;
        int next = next_stroke_segment(scene, s, k);
        if (next < 0) continue;
        StrokeJoint j = make_stroke_joint(scene, s, k, 1, next);
        if (j.kind == kJointJoin && j.style == kJoinMiter)
            pad = max_value(pad, 1.001f * length(joint_point(j, 2) - j.v));
    }
    return pad;
}

// Largest distance from the vertex of any point of a joint region, over w.
HOST_DEVICE inline float joint_reach(const SceneView& scene, int s) {
    float limit = scene.shape_miter_limit ? scene.shape_miter_limit[s] : 4.0f;
    float reach = 1.5f;  // square caps: sqrt(2)
    if (scene.join(s) == kJoinMiter) reach = max_value(reach, min_value(limit, 1500.0f));
    return reach;
}

// ---- Dots: subpaths with no non-degenerate segment ---------------------------------

// Square dot corners: v + w (±1, ±1), counter-clockwise from (-1, -1).
HOST_DEVICE inline Vec2f dot_corner_direction(int corner) {
    const float xs[4] = {-1.0f, 1.0f, 1.0f, -1.0f}, ys[4] = {-1.0f, -1.0f, 1.0f, 1.0f};
    return Vec2f(xs[corner & 3], ys[corner & 3]);
}

HOST_DEVICE inline int dot_vertex(const SceneView& scene, int s) {
    return scene.segment_points[4 * scene.shape_segment_begin[s]];
}

HOST_DEVICE inline bool dot_contains(const SceneView& scene, int s, Vec2f p) {
    int v = dot_vertex(scene, s);
    Vec2f r = p - scene.point(v);
    float w = scene.point_width[v];
    if (!(w > 0.0f)) return false;
    if (scene.cap(s) == kCapRound) return length_squared(r) <= w * w;
    if (scene.cap(s) == kCapSquare) return fabsf(r.x) <= w && fabsf(r.y) <= w;
    return false;
}

// ---- Membership ------------------------------------------------------------------

// Whether p lies in the sweep of segment k (non-degenerate): the exact test,
// a closest-point solve (a quintic for cubics).
HOST_DEVICE inline bool sweep_contains(const SceneView& scene, int k, Vec2f p) {
    ClosestPoint c = closest_point_on_segment(scene.segment(k), p);
    return c.t > 0.0f && c.t < 1.0f && c.distance <= scene.segment_width(k, c.t);
}

// Segment k's control hull and the widest and narrowest half widths at its
// control points: what every stroke test of the segment starts from.
struct SegmentReach {
    BBox2 hull;
    float wmax, wmin;
};
HOST_DEVICE FORCE_INLINE SegmentReach segment_reach(const SceneView& scene, int k) {
    const int* idx = scene.segment_points + 4 * k;
    SegmentReach r{BBox2::empty(), 0.0f, INFINITY};
    for (int j = 0; j <= scene.segment_degree[k]; ++j) {
        r.hull.expand(scene.point(idx[j]));
        r.wmax = max_value(r.wmax, scene.point_width[idx[j]]);
        r.wmin = min_value(r.wmin, scene.point_width[idx[j]]);
    }
    return r;
}

// The box of segment k of path s (styled stroke) outside which no point lies
// in the segment's sweep or in a joint at its ends, for inside_styled_stroke
// to pass over the segment on four comparisons: its control hull grown by
// the widest half width (the sweep's test is the distance to the hull
// within that width) and by the joint reach at its end vertices (a joint's
// test is the distance to its vertex within w · joint_reach), padded by far
// more than the rounding of either distance. Empty (lo > hi) for a
// degenerate segment, which has neither.
HOST_DEVICE inline void build_stroke_box(const SceneView& scene, int s, int k, float* box) {
    if (segment_is_degenerate(scene, k)) {
        box[0] = box[1] = INFINITY;
        box[2] = box[3] = -INFINITY;
        return;
    }
    const int* idx = scene.segment_points + 4 * k;
    const int degree = scene.segment_degree[k];
    const SegmentReach reach = segment_reach(scene, k);
    const BBox2& hull = reach.hull;
    const float joint = max_value(scene.point_width[idx[0]], scene.point_width[idx[degree]]) * joint_reach(scene, s);
    const float grow = max_value(reach.wmax, joint) * (1.0f + 1e-4f) +
                       1e-5f * (1.0f + fabsf(hull.lo.x) + fabsf(hull.lo.y) + fabsf(hull.hi.x) + fabsf(hull.hi.y));
    box[0] = hull.lo.x - grow; box[1] = hull.lo.y - grow;
    box[2] = hull.hi.x + grow; box[3] = hull.hi.y + grow;
}

// NOINLINE: called from inside_stroke, whose round-round path is hot.
// Visits the segments of `segs` (SegmentSet), which must hold every one
// whose stroke may reach p.
//
// Membership is a union of sweeps and joint regions, so its parts may be
// tested in any order with the same answer. The cheap ones go first: a
// segment whose reach box (build_stroke_box) misses p is passed over, then
// joint regions, and each curve's sweep where its flattening proves the answer
// (flat_sweep_decision: most samples well inside a thin stroke or outside
// it). Only the sweeps left undecided are solved exactly, after all the
// cheap tests, and only when none of those found p inside.
HOST_DEVICE NOINLINE inline bool inside_styled_stroke(const SceneView& scene, int s, Vec2f p,
                                                      const SegmentSet& segs) {
    int begin = scene.shape_segment_begin[s], end = scene.shape_segment_begin[s + 1];
    if (begin == end) return false;
    bool closed = scene.shape_closed[s] != 0;
    float reach = joint_reach(scene, s);
    // The segment that carries an open subpath's start cap (-1: a dot).
    const int lead = first_stroke_segment(scene, s);
    if (lead < 0) return dot_contains(scene, s, p);
    constexpr int kDeferred = 8;  // undecided sweeps held back; more are solved at once
    UninitialisedArray<int, kDeferred> deferred;
    int num_deferred = 0;
    for (int n = 0; n < segs.size(); ++n) {
        const int k = segs[n];
        if (scene.segment_stroke_boxes) {  // neither the sweep nor a joint of k can hold p
            const float* box = scene.segment_stroke_boxes + 4 * k;
            if (!(p.x >= box[0] && p.y >= box[1] && p.x <= box[2] && p.y <= box[3])) continue;
        }
        if (segment_is_degenerate(scene, k)) continue;
        const int* idx = scene.segment_points + 4 * k;
        int degree = scene.segment_degree[k];
        // The sweep: skip segments whose control hull is farther than their widest width.
        const SegmentReach sr = segment_reach(scene, k);
        const float wmax = sr.wmax, wmin = sr.wmin;
        if (sr.hull.distance_squared(p) <= wmax * wmax) {
            unsigned quarters = scene.segment_boxes ? cached_quarters_within(scene, k, p, wmax * wmax) : 0xFu;
            // A curve of constant width with no point within w of p cannot
            // hold p in its sweep, and one whose flattening puts p well
            // inside does (flat_sweep_decision); lines are solved at once.
            int verdict = quarters == 0u ? 0 : -1;
            if (verdict < 0 && degree > 1 && wmin == wmax) {
                const float* flat = built_flattening(scene, k);
                verdict = flat ? flat_sweep_decision(scene.segment(k), flat, p, wmax, quarters)
                               : (segment_within_distance(scene.segment(k), p, wmax) ? -1 : 0);
            }
            if (verdict > 0) return true;
            if (verdict < 0) {
                if (degree == 1 || num_deferred == kDeferred) {
                    if (sweep_contains(scene, k, p)) return true;
                } else {
                    deferred[num_deferred++] = k;
                }
            }
        }
        // The joints at its ends (the start only for the first segment of an open subpath).
        for (int e = (k == lead && !closed) ? 0 : 1; e <= 1; ++e) {
            int vertex = idx[e ? degree : 0];
            float w = scene.point_width[vertex];
            float r = w * reach;
            if (length_squared(p - scene.point(vertex)) > r * r) continue;
            StrokeJoint j = make_stroke_joint(scene, s, k, e, e ? next_stroke_segment(scene, s, k) : -1);
            if (joint_contains(j, p)) return true;
        }
    }
    for (int n = 0; n < num_deferred; ++n)
        if (sweep_contains(scene, deferred[n], p)) return true;
    return false;
}

HOST_DEVICE inline bool inside_styled_stroke(const SceneView& scene, int s, Vec2f p) {
    return inside_styled_stroke(scene, s, p, all_segments(scene, s));
}

// ---- Distance to the outline ------------------------------------------------------

// Unit tangent of a segment at t (the chord where the derivative vanishes).
HOST_DEVICE inline Vec2f end_tangent_at(const Segment& c, float t) {
    Vec2f d = evaluate_derivative(c, t);
    if (!(length_squared(d) > 0.0f)) d = c.p[c.degree] - c.p[0];
    float len = length(d);
    return len > 0.0f ? d / len : Vec2f(1.0f, 0.0f);
}

enum OutlineKind : int { kOutlineNone = -1, kOutlineSide = 0, kOutlineEdge = 1, kOutlineArc = 2,
                         kOutlineDotCircle = 3, kOutlineDotEdge = 4, kOutlineCorner = 5 };

// A point of the (superset) stroke outline nearest to a query: an offset side
// (segment k at t; edge 0 the side facing the query, 1 the far side), a straight joint edge (joint (k, end), edge, fraction t),
// a round joint arc, or a dot's circle or square edge.
struct OutlinePoint {
    float distance = INFINITY;
    int kind = kOutlineNone;
    int segment = -1, end = 0, edge = 0;
    float t = 0.0f;
    Vec2f point;
    int id = -1;   // total order among the candidates of one shape
};

HOST_DEVICE inline Vec2f closest_on_line_segment(Vec2f a, Vec2f b, Vec2f p, float* fraction) {
    Vec2f d = b - a;
    float len2 = length_squared(d);
    float f = len2 > 0.0f ? clamp_value(dot(p - a, d) / len2, 0.0f, 1.0f) : 0.0f;
    *fraction = f;
    return a + d * f;
}

// Calls visit(candidate) for each outline piece's nearest point to p whose
// piece may come within `radius` of p (a pruning hint, not a filter).
// Joints are looked at within `joint_radius` (at least `radius`) of their
// region instead: a join's inner corner can lie farther from its vertex
// than joint_reach allows for, so how far joints are looked at decides
// which corners are candidates, and a caller that narrows `radius` keeps
// the corners of the wider one by passing that here.
// With `inside`, also the inner corners of joins (which are not candidates
// outside: a corner lies on the outline only when nothing covers it).
// Visits the segments of `segs`, which must hold every one whose outline
// may come within `radius` of p.
template <typename Visitor>
HOST_DEVICE inline void for_each_outline_candidate(const SceneView& scene, int s, Vec2f p, float radius,
                                                   bool inside, Visitor& visit, const SegmentSet& segs,
                                                   float joint_radius) {
    int begin = scene.shape_segment_begin[s], end = scene.shape_segment_begin[s + 1];
    if (begin == end) return;
    bool closed = scene.shape_closed[s] != 0;
    float reach = joint_reach(scene, s);
    const int lead = first_stroke_segment(scene, s);  // carries the start cap; -1: a dot
    for (int n = 0; n < segs.size() && lead >= 0; ++n) {
        const int k = segs[n];
        if (segment_is_degenerate(scene, k)) continue;
        const int* idx = scene.segment_points + 4 * k;
        int degree = scene.segment_degree[k];
        int base = 16 * (k - begin);
        const SegmentReach sr = segment_reach(scene, k);
        const float wmax = sr.wmax, wmin = sr.wmin;
        float side_reach = radius + wmax;
        if (sr.hull.distance_squared(p) <= side_reach * side_reach) {
            // A side farther than `radius` is no candidate, so with a finite
            // radius (prefiltering) a curve with no centre-line point within
            // radius + wmax is skipped by the cheap flattened test before the
            // quintic (which still gives the point: same answer, bit for bit).
            bool reaches = !(radius < INFINITY) || degree == 1 ||
                           cached_within_distance_pruned(scene, k, p, side_reach);
            // Deep inside the sweep neither side is a candidate either: a
            // centre-line point within wmin - radius puts the closest one at
            // d < w(t*) - radius, so the near side is at w - d > radius and
            // the far one at d + w > radius. The flattened test may say yes
            // for a point up to twice its flatness (1e-4) beyond its radius,
            // and the width's Bernstein blend may round below wmin: the
            // margin covers both, so only curves whose sides are surely past
            // the radius skip the quintic (same answer, bit for bit), as does
            // a relative term for the flattening's pieces, whose control
            // points are rounded.
            const float deep = wmin * (1.0f - 1e-5f) - radius - 4e-4f - 1e-5f * (fabsf(p.x) + fabsf(p.y));
            if (reaches && degree > 1 && radius < INFINITY && deep > 0.0f)
                reaches = !cached_within_distance_pruned(scene, k, p, deep);
            ClosestPoint c;
            c.t = 0.0f;
            if (reaches) c = closest_point_on_segment(scene.segment(k), p);
            if (c.t > 0.0f && c.t < 1.0f) {
                // Both offset sides: the near one at |d - w| and, for points
                // inside whose near side is hidden, the far one at d + w.
                // The side is along the exact normal (p - c, tiny near the
                // centre line, would tilt it): only its sign comes from p.
                float w = scene.segment_width(k, c.t);
                Vec2f away = perpendicular(end_tangent_at(scene.segment(k), c.t));
                if (dot(p - c.point, away) < 0.0f) away = -away;
                for (int far = 0; far <= 1; ++far) {
                    OutlinePoint o;
                    o.distance = far ? c.distance + w : fabsf(c.distance - w);
                    o.kind = kOutlineSide;
                    o.segment = k; o.t = c.t; o.edge = far; o.id = base + 15 * far;
                    o.point = c.point + away * (far ? -w : w);
                    visit(o);
                }
            }
        }
        for (int e = (k == lead && !closed) ? 0 : 1; e <= 1; ++e) {
            int vertex = idx[e ? degree : 0];
            float r = scene.point_width[vertex] * reach + joint_radius;
            if (length_squared(p - scene.point(vertex)) > r * r) continue;
            StrokeJoint j = make_stroke_joint(scene, s, k, e, e ? next_stroke_segment(scene, s, k) : -1);
            if (j.kind == kJointNone) continue;
            if (inside && j.kind == kJointJoin) {
                // The inner corner: inside the stroke near it, the nearest
                // outline point is the corner itself, where two candidates
                // that run on inside the stroke meet. Only where both inner
                // offset lines reach it within their segments' chords.
                Vec2f n1 = perpendicular(j.t1) * j.sigma, n2 = perpendicular(j.t2) * j.sigma;
                float h = 1.0f + dot(n1, n2);
                // A corner no nearer than `radius` is no candidate (as for the
                // sides), so its distance is tested before the two
                // closest-point solves that check it lies on both sides.
                Vec2f corner = joint_point(j, 5);
                if (h > 1e-3f && j.w > 0.0f && length(p - corner) < radius) {
                    int next = next_stroke_segment(scene, s, k);
                    Segment a = scene.segment(k), b = scene.segment(next);
                    float back = dot(j.v - corner, j.t1), ahead = dot(corner - j.v, j.t2);
                    // The corner comes from the tangents at v and the width
                    // there; with widths that vary along the segments (or
                    // curved ones) it is only near the true crossing. Keep
                    // it only where it lies on both inner sides.
                    bool on_sides = back <= length(a.p[a.degree] - a.p[0]) &&
                                    ahead <= length(b.p[b.degree] - b.p[0]);
                    float tolerance = 1e-3f * j.w;
                    if (on_sides) {
                        ClosestPoint ca = closest_point_on_segment(a, corner);
                        on_sides = fabsf(ca.distance - scene.segment_width(k, ca.t)) <= tolerance;
                    }
                    if (on_sides) {
                        ClosestPoint cb = closest_point_on_segment(b, corner);
                        on_sides = fabsf(cb.distance - scene.segment_width(next, cb.t)) <= tolerance;
                    }
                    if (on_sides) {
                        OutlinePoint o;
                        o.point = corner;
                        o.distance = length(p - corner);
                        o.kind = kOutlineCorner;
                        o.segment = k; o.end = e; o.id = base + 14;
                        visit(o);
                    }
                }
            }
            if (joint_is_round(j)) {
                ArcRef arc = joint_arc(j);
                Vec2f r_vec = p - j.v;
                float len = length(r_vec);
                Vec2f u = len > 0.0f ? r_vec / len : arc_direction(arc, 0.5f);
                if (!arc_covers_direction(arc, u)) continue;
                OutlinePoint o;
                o.distance = fabsf(len - j.w);
                o.kind = kOutlineArc;
                o.segment = k; o.end = e; o.id = base + 1 + 4 * e + 3;
                o.point = j.v + u * j.w;
                visit(o);
                continue;
            }
            int edges = joint_edge_count(scene, s, j.kind);
            for (int i = 0; i < edges; ++i) {
                int a, b;
                joint_edge(j, i, &a, &b);
                OutlinePoint o;
                o.point = closest_on_line_segment(joint_point(j, a), joint_point(j, b), p, &o.t);
                o.distance = length(p - o.point);
                o.kind = kOutlineEdge;
                o.segment = k; o.end = e; o.edge = i; o.id = base + 1 + 4 * e + i;
                visit(o);
            }
        }
    }
    if (lead >= 0) return;
    // A dot.
    int v = dot_vertex(scene, s);
    Vec2f center = scene.point(v);
    float w = scene.point_width[v];
    if (scene.cap(s) == kCapRound) {
        Vec2f r_vec = p - center;
        float len = length(r_vec);
        OutlinePoint o;
        o.distance = fabsf(len - w);
        o.kind = kOutlineDotCircle;
        o.id = 0;
        o.point = center + (len > 0.0f ? r_vec / len : Vec2f(1.0f, 0.0f)) * w;
        visit(o);
    } else if (scene.cap(s) == kCapSquare) {
        for (int i = 0; i < 4; ++i) {
            OutlinePoint o;
            o.point = closest_on_line_segment(center + dot_corner_direction(i) * w,
                                              center + dot_corner_direction(i + 1) * w, p, &o.t);
            o.distance = length(p - o.point);
            o.kind = kOutlineDotEdge;
            o.edge = i; o.id = 1 + i;
            visit(o);
        }
    }
}

HOST_DEVICE inline bool outline_before(const OutlinePoint& a, const OutlinePoint& b) {
    return a.distance < b.distance || (a.distance == b.distance && a.id < b.id);
}

// The nearest outline point of shape s's stroke to p, within `cutoff`
// (kind kOutlineNone if none).
// Outside the stroke the nearest candidate is the answer: the nearest point
// of a union lies on one of its parts' boundaries, all of which are
// candidates. Inside, a candidate can lie inside another part (the inner
// offset side of a turn beyond the inner corner, a join's seam, a segment
// crossing another); it is on the true outline only if a probe just beyond it,
// away from p, is outside the stroke. Candidates are tried nearest first.
// `segs` as for for_each_outline_candidate (and the probes near p).
// Only candidates nearer than `accept` (at most the cutoff; by default the
// cutoff) are answers; joints are still looked at within the cutoff.
HOST_DEVICE inline OutlinePoint nearest_outline_point(const SceneView& scene, int s, Vec2f p, bool inside,
                                                      float cutoff, const SegmentSet& segs, float accept = -1.0f) {
    if (!(accept >= 0.0f)) accept = cutoff;
    OutlinePoint floor_candidate;  // candidates must come after this one
    floor_candidate.distance = -1.0f;
    const int kMaxRejections = 32;
    for (int attempt = 0; attempt <= kMaxRejections; ++attempt) {
        OutlinePoint best;
        best.distance = accept;
        auto visit = [&](const OutlinePoint& o) {
            if (outline_before(floor_candidate, o) && outline_before(o, best)) best = o;
        };
        for_each_outline_candidate(scene, s, p, accept, inside, visit, segs, cutoff);
        if (best.kind == kOutlineNone || !inside) return best;
        float scale = 1.0f + fmaxf(fabsf(best.point.x), fabsf(best.point.y));
        float step = fmaxf(1e-3f * path_max_width(scene, s), 1e-5f * scale);
        Vec2f away = best.point - p;
        if (best.kind == kOutlineCorner) {
            // Leave an inner corner into the gap between the two segments
            // (p - corner would graze the sides).
            StrokeJoint j = stroke_joint(scene, s, best.segment, best.end);
            away = best.point - j.v;
        }
        float len = length(away);
        // q - p is normal to the candidate's piece (or points to its end), so
        // the probe leaves the piece outward even when p is very near it.
        if (!(len > 0.0f) || attempt == kMaxRejections) return best;
        Vec2f probe = best.point + away * (step / len);
        if (!inside_styled_stroke(scene, s, probe, segs)) return best;
        floor_candidate = best;
    }
    return OutlinePoint();
}

HOST_DEVICE inline OutlinePoint nearest_outline_point(const SceneView& scene, int s, Vec2f p, bool inside,
                                                      float cutoff) {
    return nearest_outline_point(scene, s, p, inside, cutoff, all_segments(scene, s));
}

// Signed distance to the stroke outline (negative inside) of a styled path.
// Beyond `cutoff` it reports INFINITY outside and -cutoff inside. `segs` as
// for nearest_outline_point. With `accept` (below the cutoff), outline points
// no nearer than it are not looked for: those beyond it report as beyond the
// cutoff, which is all that a clamped coverage needs (prefiltering).
HOST_DEVICE NOINLINE inline float styled_stroke_signed_distance(const SceneView& scene, int s, Vec2f p, float cutoff,
                                                                 const SegmentSet& segs, float accept = -1.0f) {
    bool inside = inside_styled_stroke(scene, s, p, segs);
    OutlinePoint o = nearest_outline_point(scene, s, p, inside, cutoff, segs, accept);
    if (o.kind == kOutlineNone) return inside ? -cutoff : INFINITY;
    return inside ? -o.distance : o.distance;
}

// ---- Adjoints of joint points ------------------------------------------------------

// Adds g · ∂x/∂(points, widths) for joint point x = v + w D(t1, t2):
//   ∂x/∂v = I,  ∂x/∂w = D,  and through the tangents t_i = d_i/|d_i|:
//   caps: D = α R t + β t           ->  ḡ_t1 = w (α Rᵀ g + β g)
//   o_i:  D = σ R t_i               ->  ḡ_ti = w σ Rᵀ g
//   tip:  D = (n1 + n2)/(1 + n1·n2) ->  (the inner corner: D = -that, g -> -g)
//                                     ḡ_n1 = w (g/h - n2 (g·(n1 + n2))/h²), h = 1 + n1·n2
//                                        ḡ_t1 = σ Rᵀ ḡ_n1 (and 1 <-> 2)
//   ḡ_d = (I - t tᵀ) ḡ_t / |d|;  d1 = v - P_before, d2 = P_after - v.
HOST_DEVICE inline void joint_point_backward(const StrokeJoint& j, int id, Vec2f g, float* point_grads,
                                             float* width_grads) {
    if (j.kind == kJointNone) return;
    Vec2f direction = joint_direction(j, id);
    add_vec2(point_grads + 2 * j.vertex, g);
    add_scalar(width_grads + j.vertex, dot(g, direction));
    Vec2f rg(g.y, -g.x);  // Rᵀ g
    Vec2f g_t1(0.0f, 0.0f), g_t2(0.0f, 0.0f);
    if (j.kind == kJointCap) {
        float alpha = (id == 0 || id == 3) ? 1.0f : -1.0f, beta = id >= 3 ? 1.0f : 0.0f;
        g_t1 = (rg * alpha + g * beta) * j.w;
    } else if (id == 0 || (id == 2 && j.style != kJoinMiter)) {
        g_t1 = rg * (j.sigma * j.w);
    } else if (id == 1) {
        g_t2 = rg * (j.sigma * j.w);
    } else {  // the tip, or (id 5) the inner corner: D = ∓(n1 + n2)/h
        Vec2f n1 = perpendicular(j.t1) * j.sigma, n2 = perpendicular(j.t2) * j.sigma;
        Vec2f gd = id == 5 ? -g : g;
        float h = 1.0f + dot(n1, n2);
        float gs = dot(gd, n1 + n2) / (h * h);
        Vec2f g_n1 = (gd / h - n2 * gs) * j.w, g_n2 = (gd / h - n1 * gs) * j.w;
        g_t1 = Vec2f(g_n1.y, -g_n1.x) * j.sigma;
        g_t2 = Vec2f(g_n2.y, -g_n2.x) * j.sigma;
    }
    if (g_t1.x != 0.0f || g_t1.y != 0.0f) {
        Vec2f g_d = (g_t1 - j.t1 * dot(j.t1, g_t1)) / j.len1;
        add_vec2(point_grads + 2 * j.vertex, g_d);
        add_vec2(point_grads + 2 * j.before, -g_d);
    }
    if (g_t2.x != 0.0f || g_t2.y != 0.0f) {
        Vec2f g_d = (g_t2 - j.t2 * dot(j.t2, g_t2)) / j.len2;
        add_vec2(point_grads + 2 * j.after, g_d);
        add_vec2(point_grads + 2 * j.vertex, -g_d);
    }
}

}  // namespace pdvg
