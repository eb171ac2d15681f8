// The 2-D boundary pieces fed to the shared boundary sampler
// (sampling/boundary_sampler.h), and the scatter of a boundary sample's
// contribution to the parameters that move the piece.
//
// A piece is a curve x(t), t in [0, 1], in a group's shape space: a fill
// segment, an offset side of a stroke, a round cap or a round join, a circle
// or ellipse (or its offset), or a rectangle side. The sampler works in
// output pixels: x_out = A x + b for the group's affine map (A, b). Pieces
// are a superset of the true boundary: parts that lie inside other geometry
// see the same colour on both sides and contribute exactly zero, which keeps
// the estimator unbiased without computing the exact outline.
//
// Scatter. For a parameter θ the normal velocity of the boundary in output
// space is n_out · A ∂x/∂θ = (Aᵀ n_out) · ∂x/∂θ, so every piece scatters with
// the shape-space covector m = Aᵀ n_out. For an offset side
// x = c(t) + σ w(t) ĉ⊥(t), where ĉ⊥ = R c'/|c'| (R the quarter turn),
//   ∂x/∂P_j = B_j(t) I + σ w B'_j(t) R (I − ĉ ĉᵀ) / |c'|,
//   ∂x/∂w_j = σ B_j(t) ĉ⊥,
// with B_j the Bernstein weights of control point j.
#pragma once

#include "../sampling/boundary_sampler.h"
#include "gradients.h"
#include "scene.h"
#include "stroke_style.h"

namespace pdvg {

enum PieceType : int {
    kPieceFillSegment = 0,  // index: path segment
    kPieceClosingLine = 1,  // index: shape (open path filled: last point -> first)
    kPieceStrokeSide = 2,   // index: path segment; side ±1
    kPieceCap = 3,          // index: path segment; side 0 start cap of it, 1 end cap
    kPieceJoin = 4,         // index: path segment whose end is the joint; side ±1 outer side
    kPieceEllipse = 5,      // index: shape; side 0 fill, ±1 stroke offset
    kPieceRectSide = 6,     // index: shape; side = 4 * offset(0, 1 = +w, 2 = -w) + rect side (0..3)
    kPieceRectCorner = 7,   // index: shape; side = corner (0..3)
    // Styled strokes (stroke_style.h): the joint at end e (0 start cap, 1 end)
    // of path segment `index`.
    kPieceJointEdge = 8,    // side = e + 2 * edge (joint_edge)
    kPieceJointArc = 9,     // side = e; a round cap or join
    kPieceDot = 10,         // index: shape; side 0 the round dot's circle, 1..4 the square dot's edges
};

struct Piece {
    int type, pair, index, side;
};

// A line or Bézier whose control points and widths are references into
// gradient buffers: path points, or rectangle corners made of shape_params.
struct CurveRef {
    Segment curve;
    float width[4];       // stroke half width per control point
    int px[4], py[4];     // flat float indices of each control point's x and y
    bool in_points;       // true: px/py index grads.points, else grads.shape_params
    int width_index[4];   // index into point_width (paths) or shape_width (rects, all equal)
    bool width_per_point;
};

HOST_DEVICE inline CurveRef path_segment_ref(const SceneView& scene, int k) {
    CurveRef r;
    r.curve = scene.segment(k);
    r.in_points = true;
    r.width_per_point = true;
    for (int j = 0; j < 4; ++j) {
        int idx = scene.segment_points[4 * k + j];
        r.px[j] = 2 * idx; r.py[j] = 2 * idx + 1;
        r.width[j] = scene.point_width[idx];
        r.width_index[j] = idx;
    }
    return r;
}

HOST_DEVICE inline int first_point_of_shape(const SceneView& scene, int s) {
    return scene.segment_points[4 * scene.shape_segment_begin[s]];
}
HOST_DEVICE inline int last_point_of_shape(const SceneView& scene, int s) {
    int k = scene.shape_segment_begin[s + 1] - 1;
    return scene.segment_points[4 * k + scene.segment_degree[k]];
}

// The implicit closing line of an open filled path: last point -> first.
HOST_DEVICE inline CurveRef closing_line_ref(const SceneView& scene, int s) {
    int a = last_point_of_shape(scene, s), b = first_point_of_shape(scene, s);
    CurveRef r;
    r.curve = make_line(scene.point(a), scene.point(b));
    r.in_points = true;
    r.width_per_point = true;
    int ids[4] = {a, b, b, b};
    for (int j = 0; j < 4; ++j) {
        r.px[j] = 2 * ids[j]; r.py[j] = 2 * ids[j] + 1;
        r.width[j] = scene.point_width[ids[j]];
        r.width_index[j] = ids[j];
    }
    return r;
}

// Rectangle corner i as flat indices into shape_params (x0, y0, x1, y1):
// corners (x0,y0) (x1,y0) (x1,y1) (x0,y1), the SVG drawing order.
HOST_DEVICE inline void rect_corner_indices(int s, int corner, int* ix, int* iy) {
    const int xs[4] = {0, 2, 2, 0}, ys[4] = {1, 1, 3, 3};
    *ix = 4 * s + xs[corner & 3];
    *iy = 4 * s + ys[corner & 3];
}

HOST_DEVICE inline CurveRef rect_side_ref(const SceneView& scene, int s, int side) {
    CurveRef r;
    int ax, ay, bx, by;
    rect_corner_indices(s, side, &ax, &ay);
    rect_corner_indices(s, side + 1, &bx, &by);
    r.curve = make_line(Vec2f(scene.shape_params[ax], scene.shape_params[ay]),
                        Vec2f(scene.shape_params[bx], scene.shape_params[by]));
    r.in_points = false;
    r.width_per_point = false;
    int px[4] = {ax, bx, bx, bx}, py[4] = {ay, by, by, by};
    for (int j = 0; j < 4; ++j) {
        r.px[j] = px[j]; r.py[j] = py[j];
        r.width[j] = scene.shape_width[s];
        r.width_index[j] = s;
    }
    return r;
}

// Point, first derivative and unit tangent data of an offset curve
// x = c + σ w ĉ⊥ at t (σ = 0 gives the curve itself).
struct OffsetPoint {
    Vec2f point, derivative;
    Vec2f unit_tangent;   // ĉ
    float base_speed;     // |c'|
    float width;          // w(t)
};

HOST_DEVICE inline OffsetPoint offset_curve_point(const CurveRef& r, float t, float sigma) {
    OffsetPoint o;
    const Segment& c = r.curve;
    float b[4], db[4];
    bernstein_weights(c.degree, t, b);
    bernstein_derivative_weights(c.degree, t, db);
    Vec2f p = combine(c, b), d = combine(c, db);
    o.base_speed = length(d);
    o.unit_tangent = o.base_speed > 0.0f ? d / o.base_speed : Vec2f(0.0f, 0.0f);
    o.width = 0.0f;
    float dw = 0.0f;
    for (int j = 0; j <= c.degree; ++j) { o.width += b[j] * r.width[j]; dw += db[j] * r.width[j]; }
    if (sigma == 0.0f || o.base_speed == 0.0f) {
        o.point = p; o.derivative = d;
        return o;
    }
    // d/dt ĉ⊥ = R (I - ĉ ĉᵀ) c'' / |c'|
    Vec2f dd = evaluate_second_derivative(c, t);
    Vec2f normal = perpendicular(o.unit_tangent);
    Vec2f dd_perp = dd - o.unit_tangent * dot(o.unit_tangent, dd);
    Vec2f dnormal = perpendicular(dd_perp) / o.base_speed;
    o.point = p + normal * (sigma * o.width);
    o.derivative = d + (normal * dw + dnormal * o.width) * sigma;
    return o;
}

// End tangent of a curve at t = 0 or 1, falling back to the chord when the
// derivative vanishes there (coincident control points).
HOST_DEVICE inline Vec2f end_tangent(const Segment& c, float t) {
    Vec2f d = evaluate_derivative(c, t);
    if (length_squared(d) > 1e-20f) return normalize(d);
    d = c.p[c.degree] - c.p[0];
    if (length_squared(d) > 1e-20f) return normalize(d);
    return Vec2f(1.0f, 0.0f);
}

HOST_DEVICE inline int next_segment(const SceneView& scene, int s, int k) {
    int begin = scene.shape_segment_begin[s], end = scene.shape_segment_begin[s + 1];
    if (k + 1 < end) return k + 1;
    return scene.shape_closed[s] ? begin : -1;
}

HOST_DEVICE inline ArcRef path_join_arc(const SceneView& scene, int s, int k) {
    int next = next_segment(scene, s, k);
    Segment a = scene.segment(k), b = scene.segment(next < 0 ? k : next);
    int v = scene.segment_points[4 * k + a.degree];
    return join_arc(a.p[a.degree], end_tangent(a, 1.0f), end_tangent(b, 0.0f), scene.point_width[v]);
}

HOST_DEVICE inline ArcRef path_cap_arc(const SceneView& scene, int k, int end) {
    Segment c = scene.segment(k);
    ArcRef arc;
    float t = end ? 1.0f : 0.0f;
    Vec2f tangent = end_tangent(c, t);
    int v = scene.segment_points[4 * k + (end ? c.degree : 0)];
    arc.center = end ? c.p[c.degree] : c.p[0];
    arc.width = scene.point_width[v];
    // Half circle from +normal through the outward tangent to -normal.
    arc.start = perpendicular(tangent);
    arc.sweep = end ? -kPi : kPi;
    // Check orientation: at t = 1/2 the direction must point away from the path.
    Vec2f mid = arc_direction(arc, 0.5f);
    if (dot(mid, tangent) * (end ? 1.0f : -1.0f) < 0.0f) arc.sweep = -arc.sweep;
    return arc;
}

HOST_DEVICE inline ArcRef rect_corner_arc(const SceneView& scene, int s, int corner) {
    const float* q = scene.shape_params + 4 * s;
    Vec2f c[4] = {Vec2f(q[0], q[1]), Vec2f(q[2], q[1]), Vec2f(q[2], q[3]), Vec2f(q[0], q[3])};
    Vec2f v = c[corner & 3];
    Vec2f t1 = normalize(v - c[(corner + 3) & 3]), t2 = normalize(c[(corner + 1) & 3] - v);
    return join_arc(v, t1, t2, scene.shape_width[s]);
}

// Ellipse (or circle) of shape s, optionally offset by σ w: point and
// derivative with respect to t, where the angle is φ = 2π t.
HOST_DEVICE inline OffsetPoint ellipse_point(const SceneView& scene, int s, float t, float sigma) {
    const float* q = scene.shape_params + 4 * s;
    float phi = 2.0f * kPi * t, cs = cosf(phi), sn = sinf(phi);
    Vec2f e(q[0] + q[2] * cs, q[1] + q[3] * sn);
    Vec2f de = Vec2f(-q[2] * sn, q[3] * cs) * (2.0f * kPi);
    OffsetPoint o;
    o.base_speed = length(de);
    o.unit_tangent = o.base_speed > 0.0f ? de / o.base_speed : Vec2f(0.0f, 0.0f);
    o.width = scene.shape_width[s];
    if (sigma == 0.0f || o.base_speed == 0.0f) { o.point = e; o.derivative = de; return o; }
    Vec2f dde = Vec2f(-q[2] * cs, -q[3] * sn) * (4.0f * kPi * kPi);
    Vec2f normal = perpendicular(o.unit_tangent);
    Vec2f dd_perp = dde - o.unit_tangent * dot(o.unit_tangent, dde);
    o.point = e + normal * (sigma * o.width);
    o.derivative = de + perpendicular(dd_perp) / o.base_speed * (sigma * o.width);
    return o;
}

// The full circle of a round dot at the path's first point.
HOST_DEVICE inline ArcRef dot_arc(const SceneView& scene, int s) {
    int v = dot_vertex(scene, s);
    ArcRef arc;
    arc.center = scene.point(v);
    arc.width = scene.point_width[v];
    arc.start = Vec2f(1.0f, 0.0f);
    arc.sweep = 2.0f * kPi;
    return arc;
}

// The arc of an arc-shaped piece (round caps and joins, rectangle corners, dots).
HOST_DEVICE inline ArcRef piece_arc(const SceneView& scene, const Piece& piece) {
    int s = scene.pair_shape[piece.pair];
    switch (piece.type) {
        case kPieceCap: return path_cap_arc(scene, piece.index, piece.side);
        case kPieceJoin: return path_join_arc(scene, s, piece.index);
        case kPieceJointArc: return joint_arc(stroke_joint(scene, s, piece.index, piece.side));
        case kPieceDot: return dot_arc(scene, s);
        default: return rect_corner_arc(scene, s, piece.side);
    }
}

// Shape-space point and derivative of any piece at t.
HOST_DEVICE inline void piece_shape_point(const SceneView& scene, const Piece& piece, float t, Vec2f* point,
                                          Vec2f* derivative) {
    int s = scene.pair_shape[piece.pair];
    switch (piece.type) {
        case kPieceFillSegment:
        case kPieceStrokeSide: {
            OffsetPoint o = offset_curve_point(path_segment_ref(scene, piece.index), t,
                                               piece.type == kPieceStrokeSide ? float(piece.side) : 0.0f);
            *point = o.point; *derivative = o.derivative;
            return;
        }
        case kPieceClosingLine: {
            OffsetPoint o = offset_curve_point(closing_line_ref(scene, s), t, 0.0f);
            *point = o.point; *derivative = o.derivative;
            return;
        }
        case kPieceRectSide: {
            int offset = piece.side >> 2;
            float sigma = offset == 0 ? 0.0f : (offset == 1 ? 1.0f : -1.0f);
            OffsetPoint o = offset_curve_point(rect_side_ref(scene, s, piece.side & 3), t, sigma);
            *point = o.point; *derivative = o.derivative;
            return;
        }
        case kPieceEllipse: {
            OffsetPoint o = ellipse_point(scene, s, t, float(piece.side));
            *point = o.point; *derivative = o.derivative;
            return;
        }
        case kPieceJointEdge: {
            StrokeJoint j = stroke_joint(scene, s, piece.index, piece.side & 1);
            int a, b;
            joint_edge(j, piece.side >> 1, &a, &b);
            Vec2f pa = joint_point(j, a), pb = joint_point(j, b);
            *point = pa + (pb - pa) * t;
            *derivative = pb - pa;
            return;
        }
        case kPieceDot:
            if (piece.side == 0) {
                ArcRef arc = dot_arc(scene, s);
                Vec2f u = arc_direction(arc, t);
                *point = arc.center + u * arc.width;
                *derivative = perpendicular(u) * (arc.sweep * arc.width);
                return;
            } else {
                int v = dot_vertex(scene, s);
                float w = scene.point_width[v];
                Vec2f pa = scene.point(v) + dot_corner_direction(piece.side - 1) * w;
                Vec2f pb = scene.point(v) + dot_corner_direction(piece.side) * w;
                *point = pa + (pb - pa) * t;
                *derivative = pb - pa;
                return;
            }
        default: {
            ArcRef arc = piece_arc(scene, piece);
            Vec2f u = arc_direction(arc, t);
            *point = arc.center + u * arc.width;
            *derivative = perpendicular(u) * (arc.sweep * arc.width);
            return;
        }
    }
}

// ---- The pieces of a pair ----------------------------------------------------

// The stroke pieces of a styled path (stroke_style.h): both offset sides of
// every segment, then per joint its arc or straight edges, or a dot's.
template <typename Put>
HOST_DEVICE inline void visit_styled_stroke_pieces(const SceneView& s, int shape, Put& put) {
    int begin = s.shape_segment_begin[shape], end = s.shape_segment_begin[shape + 1];
    for (int k = begin; k < end; ++k) { put(kPieceStrokeSide, k, 1); put(kPieceStrokeSide, k, -1); }
    int first = first_stroke_segment(s, shape);
    if (first < 0) {
        if (s.cap(shape) == kCapRound) put(kPieceDot, begin, 0);
        if (s.cap(shape) == kCapSquare)
            for (int i = 1; i <= 4; ++i) put(kPieceDot, begin, i);
        return;
    }
    bool closed = s.shape_closed[shape] != 0;
    for (int k = first; k < end; ++k) {
        if (segment_is_degenerate(s, k)) continue;
        for (int e = (k == first && !closed) ? 0 : 1; e <= 1; ++e) {
            int kind = (e == 0 || next_stroke_segment(s, shape, k) < 0) ? kJointCap : kJointJoin;
            bool round = kind == kJointCap ? s.cap(shape) == kCapRound : s.join(shape) == kJoinRound;
            if (round) { put(kPieceJointArc, k, e); continue; }
            int edges = joint_edge_count(s, shape, kind);
            for (int i = 0; i < edges; ++i) put(kPieceJointEdge, k, e + 2 * i);
        }
    }
}

// Number of boundary pieces of pair m (see PieceType).
HOST_DEVICE inline int count_pieces(const SceneView& s, int m) {
    int g = s.pair_group[m], shape = s.pair_shape[m];
    int kind = s.shape_kind[shape];
    int n = 0;
    if (kind == kCircle || kind == kEllipse) {
        if (s.has_fill(g)) n += 1;
        if (s.has_stroke(g)) n += 2;
        return n;
    }
    if (kind == kRect) {
        if (s.has_fill(g)) n += 4;
        if (s.has_stroke(g)) n += 12;
        return n;
    }
    int segs = s.shape_segment_begin[shape + 1] - s.shape_segment_begin[shape];
    if (segs == 0) return 0;
    bool closed = s.shape_closed[shape] != 0;
    if (s.has_fill(g)) n += segs + (closed ? 0 : 1);
    if (s.has_stroke(g)) {
        if (stroke_is_round(s, shape)) {
            n += 2 * segs + (closed ? segs : segs - 1 + 2);
        } else {
            auto count = [&](int, int, int) { ++n; };
            visit_styled_stroke_pieces(s, shape, count);
        }
    }
    return n;
}

HOST_DEVICE inline void write_pieces(const SceneView& s, int m, Piece* out) {
    int g = s.pair_group[m], shape = s.pair_shape[m];
    int kind = s.shape_kind[shape];
    int n = 0;
    auto put = [&](int type, int index, int side) { out[n++] = Piece{type, m, index, side}; };
    if (kind == kCircle || kind == kEllipse) {
        if (s.has_fill(g)) put(kPieceEllipse, shape, 0);
        if (s.has_stroke(g)) { put(kPieceEllipse, shape, 1); put(kPieceEllipse, shape, -1); }
        return;
    }
    if (kind == kRect) {
        if (s.has_fill(g))
            for (int side = 0; side < 4; ++side) put(kPieceRectSide, shape, side);
        if (s.has_stroke(g)) {
            for (int side = 0; side < 4; ++side) { put(kPieceRectSide, shape, 4 + side); put(kPieceRectSide, shape, 8 + side); }
            for (int corner = 0; corner < 4; ++corner) put(kPieceRectCorner, shape, corner);
        }
        return;
    }
    int begin = s.shape_segment_begin[shape], end = s.shape_segment_begin[shape + 1];
    if (begin == end) return;
    bool closed = s.shape_closed[shape] != 0;
    if (s.has_fill(g)) {
        for (int k = begin; k < end; ++k) put(kPieceFillSegment, k, 0);
        if (!closed) put(kPieceClosingLine, shape, 0);
    }
    if (s.has_stroke(g) && !stroke_is_round(s, shape)) {
        visit_styled_stroke_pieces(s, shape, put);
    } else if (s.has_stroke(g)) {
        for (int k = begin; k < end; ++k) { put(kPieceStrokeSide, k, 1); put(kPieceStrokeSide, k, -1); }
        for (int k = begin; k < end; ++k)
            if (closed || k + 1 < end) put(kPieceJoin, k, 0);
        if (!closed) { put(kPieceCap, begin, 0); put(kPieceCap, end - 1, 1); }
    }
}

// The shared-sampler piece table over a flat array of pieces: geometry in
// output pixels.
struct PieceTable2D {
    SceneView scene;
    const Piece* pieces;

    HOST_DEVICE PieceGeometry geometry(int index, float t) const {
        const Piece& piece = pieces[index];
        Vec2f x, dx;
        piece_shape_point(scene, piece, t, &x, &dx);
        Affine2 a = scene.to_output(scene.pair_group[piece.pair]);
        PieceGeometry g;
        g.point = a.apply_point(x);
        Vec2f d = a.apply_vector(dx);
        g.speed = length(d);
        g.normal = g.speed > 0.0f ? perpendicular(d) / g.speed : Vec2f(0.0f, 0.0f);
        return g;
    }
};

// m · ∂x/∂(control points, widths) of an offset curve, scaled by c, added to
// the gradient buffers (see the derivation at the top of this file).
HOST_DEVICE inline void scatter_offset_curve(const CurveRef& r, float t, float sigma, float c, Vec2f m,
                                             const SceneGradients& grads) {
    float b[4], db[4];
    bernstein_weights(r.curve.degree, t, b);
    bernstein_derivative_weights(r.curve.degree, t, db);
    OffsetPoint o = offset_curve_point(r, t, 0.0f);
    Vec2f q_perp(0.0f, 0.0f), normal(0.0f, 0.0f);
    if (sigma != 0.0f && o.base_speed > 0.0f) {
        Vec2f q(m.y, -m.x);  // Rᵀ m
        q_perp = (q - o.unit_tangent * dot(o.unit_tangent, q)) * (sigma * o.width / o.base_speed);
        normal = perpendicular(o.unit_tangent);
    }
    float* point_grads = r.in_points ? grads.points : grads.shape_params;
    float* width_grads = r.width_per_point ? grads.point_width : grads.shape_width;
    for (int j = 0; j <= r.curve.degree; ++j) {
        Vec2f g = (m * b[j] + q_perp * db[j]) * c;
        add_scalar(point_grads + r.px[j], g.x);
        add_scalar(point_grads + r.py[j], g.y);
        if (sigma != 0.0f) add_scalar(width_grads + r.width_index[j], c * sigma * b[j] * dot(normal, m));
    }
}

// Centre and radius gradients of an arc piece: x = V + w u moves with V and
// with w along u; the rotation of u only slides the arc along itself.
HOST_DEVICE inline void scatter_arc_center(float* gx, float* gy, float* gw, const ArcRef& arc, float t, float c,
                                           Vec2f m) {
    add_scalar(gx, c * m.x);
    add_scalar(gy, c * m.y);
    add_scalar(gw, c * dot(arc_direction(arc, t), m));
}

HOST_DEVICE inline void scatter_piece(const SceneView& scene, const Piece& piece, float t, float c,
                                      Vec2f normal_out, const SceneGradients& grads) {
    int g = scene.pair_group[piece.pair], s = scene.pair_shape[piece.pair];
    Affine2 a = scene.to_output(g);
    Vec2f m = a.apply_transpose_vector(normal_out);
    Vec2f x, dx;
    piece_shape_point(scene, piece, t, &x, &dx);
    add_affine_gradient(grads.group_to_output + 9 * g, normal_out * c, x);
    switch (piece.type) {
        case kPieceFillSegment:
            scatter_offset_curve(path_segment_ref(scene, piece.index), t, 0.0f, c, m, grads);
            return;
        case kPieceStrokeSide:
            scatter_offset_curve(path_segment_ref(scene, piece.index), t, float(piece.side), c, m, grads);
            return;
        case kPieceClosingLine:
            scatter_offset_curve(closing_line_ref(scene, s), t, 0.0f, c, m, grads);
            return;
        case kPieceRectSide: {
            int offset = piece.side >> 2;
            float sigma = offset == 0 ? 0.0f : (offset == 1 ? 1.0f : -1.0f);
            scatter_offset_curve(rect_side_ref(scene, s, piece.side & 3), t, sigma, c, m, grads);
            return;
        }
        case kPieceEllipse: {
            // x = (cx + rx cos φ, cy + ry sin φ) + σ w ê⊥; m·∂x/∂rx = m.x cos φ + σ w q⊥ · ∂e'/∂rx / |e'|.
            float phi = 2.0f * kPi * t, cs = cosf(phi), sn = sinf(phi);
            float sigma = float(piece.side);
            float grx = m.x * cs, gry = m.y * sn;
            if (sigma != 0.0f) {
                OffsetPoint o = ellipse_point(scene, s, t, 0.0f);
                if (o.base_speed > 0.0f) {
                    Vec2f qv(m.y, -m.x);
                    Vec2f q_perp = (qv - o.unit_tangent * dot(o.unit_tangent, qv)) * (sigma * o.width / o.base_speed);
                    grx += q_perp.x * (-2.0f * kPi * sn);
                    gry += q_perp.y * (2.0f * kPi * cs);
                    add_scalar(grads.shape_width + s, c * sigma * dot(perpendicular(o.unit_tangent), m));
                }
            }
            float* gp = grads.shape_params + 4 * s;
            add_scalar(gp + 0, c * m.x);
            add_scalar(gp + 1, c * m.y);
            add_scalar(gp + 2, c * grx);
            add_scalar(gp + 3, c * gry);
            return;
        }
        case kPieceCap: {
            ArcRef arc = path_cap_arc(scene, piece.index, piece.side);
            Segment seg = scene.segment(piece.index);
            int v = scene.segment_points[4 * piece.index + (piece.side ? seg.degree : 0)];
            scatter_arc_center(grads.points + 2 * v, grads.points + 2 * v + 1, grads.point_width + v, arc, t, c, m);
            return;
        }
        case kPieceJoin: {
            ArcRef arc = path_join_arc(scene, s, piece.index);
            int v = scene.segment_points[4 * piece.index + scene.segment_degree[piece.index]];
            scatter_arc_center(grads.points + 2 * v, grads.points + 2 * v + 1, grads.point_width + v, arc, t, c, m);
            return;
        }
        case kPieceJointEdge: {
            // x = (1 - t) A + t B for joint points A, B.
            StrokeJoint j = stroke_joint(scene, s, piece.index, piece.side & 1);
            int ia, ib;
            joint_edge(j, piece.side >> 1, &ia, &ib);
            joint_point_backward(j, ia, m * (c * (1.0f - t)), grads.points, grads.point_width);
            joint_point_backward(j, ib, m * (c * t), grads.points, grads.point_width);
            return;
        }
        case kPieceJointArc: {
            StrokeJoint j = stroke_joint(scene, s, piece.index, piece.side);
            scatter_arc_center(grads.points + 2 * j.vertex, grads.points + 2 * j.vertex + 1,
                               grads.point_width + j.vertex, joint_arc(j), t, c, m);
            return;
        }
        case kPieceDot: {
            // Circle: x = v + w u. Square edge: x = v + w ((1 - t) D_a + t D_b).
            int v = dot_vertex(scene, s);
            if (piece.side == 0) {
                scatter_arc_center(grads.points + 2 * v, grads.points + 2 * v + 1, grads.point_width + v,
                                   dot_arc(scene, s), t, c, m);
                return;
            }
            Vec2f direction = dot_corner_direction(piece.side - 1) * (1.0f - t) + dot_corner_direction(piece.side) * t;
            add_vec2(grads.points + 2 * v, m * c);
            add_scalar(grads.point_width + v, c * dot(direction, m));
            return;
        }
        default: {  // kPieceRectCorner
            ArcRef arc = rect_corner_arc(scene, s, piece.side);
            int ix, iy;
            rect_corner_indices(s, piece.side, &ix, &iy);
            scatter_arc_center(grads.shape_params + ix, grads.shape_params + iy, grads.shape_width + s, arc, t, c, m);
            return;
        }
    }
}

}  // namespace pdvg
