// Reverse-mode derivatives of the smooth parts of shading (the area term):
// paints, "over" compositing, un-premultiplication, and, for prefiltering and
// SDF output, the distance from a point to a shape's boundary.
#pragma once

#include "boundary_pieces.h"
#include "gradients.h"
#include "shade.h"

namespace pdvg {

// Adjoint of a paint colour at shape-space point p -> paint parameters,
// stops, and the point itself (returned through d_point).
//   linear: t = (p - b)·d / |d|², d = e - b
//     ∂t/∂e = (p - b)/L - 2 t d/L,  ∂t/∂b = -(p - b)/L - d/L + 2 t d/L,  ∂t/∂p = d/L
//   radial: t solves F(t) = a t² - 2 b t + c0 = 0 (paint.h, radial_frame) in
//     the variables q = (p - f)/r, g = (f - c)/r, rho = fr/rx; implicitly
//     ∂t/∂x = -F_x / F_t with F_t = 2 (a t - b) and
//       F_q = 2 (q + t g),  F_g = 2 (t² g + t q),
//       F_rho = 2 delta t² - 2 t (1 - 2 rho) - 2 rho   (delta = 1 - rho),
//     then the chain rule through q, g and rho to p, f, c, r and fr.
//   stops:  colour = c_lo (1 - w) + c_hi w,  w = (t - o_lo)/(o_hi - o_lo)
HOST_DEVICE inline void paint_backward(const SceneView& scene, int index, Vec2f p, Vec4f d_color,
                                       const SceneGradients& grads, Vec2f* d_point) {
    int kind = scene.paint_kind[index];
    if (kind == kPaintSolid) {
        for (int c = 0; c < 4; ++c) add_scalar(grads.paint_params + kPaintFloats * index + c, d_color[c]);
        return;
    }
    if (kind == kPaintNone || scene.paint_stop_begin[index] == scene.paint_stop_begin[index + 1]) return;
    float t = gradient_parameter(scene, index, p);
    if (t != t) return;  // outside a radial gradient's cone: paints nothing
    StopBracket b = bracket_stops(scene, index, t);
    for (int c = 0; c < 4; ++c) {
        add_scalar(grads.stop_colors + 4 * b.lo + c, d_color[c] * (1.0f - b.weight));
        if (b.hi != b.lo) add_scalar(grads.stop_colors + 4 * b.hi + c, d_color[c] * b.weight);
    }
    if (b.hi == b.lo) return;  // padded: constant in t
    float o0 = scene.stop_offsets[b.lo], o1 = scene.stop_offsets[b.hi];
    float span = o1 - o0;
    if (!(span > 0.0f)) return;
    float d_w = dot(d_color, stop_color(scene, b.hi) - stop_color(scene, b.lo));
    add_scalar(grads.stop_offsets + b.lo, d_w * (t - o1) / (span * span));
    add_scalar(grads.stop_offsets + b.hi, -d_w * (t - o0) / (span * span));
    float d_t = d_w / span;
    const float* q = scene.paint_params + kPaintFloats * index;
    float* g = grads.paint_params + kPaintFloats * index;
    if (kind == kPaintLinear) {
        Vec2f begin(q[0], q[1]), d(q[2] - q[0], q[3] - q[1]);
        float len2 = dot(d, d);
        if (!(len2 > 0.0f)) return;
        Vec2f rel = p - begin;
        Vec2f d_end = (rel - d * (2.0f * t)) * (d_t / len2);
        Vec2f d_begin = (-rel - d + d * (2.0f * t)) * (d_t / len2);
        add_scalar(g + 0, d_begin.x); add_scalar(g + 1, d_begin.y);
        add_scalar(g + 2, d_end.x); add_scalar(g + 3, d_end.y);
        *d_point += d * (d_t / len2);
        return;
    }
    if (q[2] == 0.0f || q[3] == 0.0f) return;
    RadialFrame r = radial_frame(q, p);
    float f_t = 2.0f * (r.a * r.t - r.b);
    if (!(fabsf(f_t) > 1e-20f)) return;  // a double root (the focal point itself)
    float delta = 1.0f - r.rho, scale = -d_t / f_t;  // d_t · ∂t/∂x = scale · F_x
    Vec2f d_q = (r.q + r.g * r.t) * (2.0f * scale);
    Vec2f d_g = (r.g * (r.t * r.t) + r.q * r.t) * (2.0f * scale);
    float d_rho = (2.0f * delta * r.t * r.t - 2.0f * r.t * (1.0f - 2.0f * r.rho) - 2.0f * r.rho) * scale;
    Vec2f dq_r(d_q.x * r.inv_r.x, d_q.y * r.inv_r.y), dg_r(d_g.x * r.inv_r.x, d_g.y * r.inv_r.y);
    add_scalar(g + 0, -dg_r.x); add_scalar(g + 1, -dg_r.y);                      // c
    add_scalar(g + 2, -dq_r.x * r.q.x - dg_r.x * r.g.x - d_rho * r.rho * r.inv_r.x);  // rx
    add_scalar(g + 3, -dq_r.y * r.q.y - dg_r.y * r.g.y);                          // ry
    add_scalar(g + 4, dg_r.x - dq_r.x); add_scalar(g + 5, dg_r.y - dq_r.y);        // f
    add_scalar(g + 6, d_rho * r.inv_r.x);                                         // fr
    *d_point += dq_r;
}

HOST_DEVICE inline void curve_distance_backward(const CurveRef& r, const BoundaryPoint& bp, Vec2f p, float d_distance,
                                                float d_width, const SceneGradients& grads, Vec2f* d_point);

// Adjoint of  d_distance · dist(p, ∂shape) + d_width · w(t*)  where t* is the
// closest boundary point: dist moves with the closest point only (the
// envelope theorem: ∂dist/∂θ = -u · ∂x/∂θ at fixed t*, u the unit vector from
// the closest point to p). The width at t* also moves with t* itself, from the
// implicit function theorem on F(t) = (x(t) - p)·x'(t) = 0:
//   ∂t*/∂θ = -(∂F/∂θ) / F_t,   F_t = |x'|² + (x - p)·x'',
//   ∂F/∂P_j = B_j x' + B'_j (x - p),   ∂F/∂p = -x'.
// A caller that knows the closest point already (prefiltering's coverage
// found it) passes it as `known`, and nothing is searched. Otherwise one that
// knows the distance passes a cutoff just above it, so that the search is the
// cheap bounded one rather than the quintic.
HOST_DEVICE inline void boundary_distance_backward(const SceneView& scene, int s, Vec2f p, bool closing_line,
                                                   float d_distance, float d_width, const SceneGradients& grads,
                                                   Vec2f* d_point, float cutoff = INFINITY,
                                                   const BoundaryPoint* known = nullptr) {
    BoundaryPoint bp = known && known->distance < INFINITY
                           ? *known : shape_closest_boundary_point(scene, s, p, closing_line, cutoff);
    if (!(bp.distance > 0.0f && bp.distance < INFINITY)) return;
    int kind = scene.shape_kind[s];
    if (kind == kPath) {
        CurveRef r = bp.segment >= 0 ? path_segment_ref(scene, bp.segment) : closing_line_ref(scene, s);
        curve_distance_backward(r, bp, p, d_distance, d_width, grads, d_point);
        return;
    }
    Vec2f u = (p - bp.point) / bp.distance;
    *d_point += u * d_distance;
    float* gp = grads.shape_params + 4 * s;
    if (kind == kCircle || kind == kEllipse) {
        float cs = cosf(bp.t), sn = sinf(bp.t);
        add_scalar(gp + 0, -u.x * d_distance);
        add_scalar(gp + 1, -u.y * d_distance);
        add_scalar(gp + 2, -u.x * cs * d_distance);
        add_scalar(gp + 3, -u.y * sn * d_distance);
        add_scalar(grads.shape_width + s, d_width);
        return;
    }
    if (kind == kRect) {
        // Closest point on side k at fraction f; the side runs between two
        // corners made of (x0, y0, x1, y1), see rect_corner_indices.
        const float* q = scene.shape_params + 4 * s;
        int side = clamp_value(int(bp.t), 0, 3);
        float f = bp.t - float(side);
        // Undo the min/max normalisation of the winding test: the closest
        // point routine works on sorted corners.
        bool flip_x = q[0] > q[2], flip_y = q[1] > q[3];
        const int xs[4] = {0, 2, 2, 0}, ys[4] = {1, 1, 3, 3};
        int a = side, c = (side + 1) & 3;
        int ax = xs[a], ay = ys[a], cx = xs[c], cy = ys[c];
        if (flip_x) { ax = 2 - ax; cx = 2 - cx; }
        if (flip_y) { ay = 4 - ay; cy = 4 - cy; }
        add_scalar(gp + ax, -u.x * (1.0f - f) * d_distance);
        add_scalar(gp + ay, -u.y * (1.0f - f) * d_distance);
        add_scalar(gp + cx, -u.x * f * d_distance);
        add_scalar(gp + cy, -u.y * f * d_distance);
        add_scalar(grads.shape_width + s, d_width);
    }
}

// Adjoint of  d_distance · |p - x(t*)| + d_width · w(t*)  for the closest
// point bp (t*, x(t*), distance > 0) of one curve; see boundary_distance_backward.
HOST_DEVICE inline void curve_distance_backward(const CurveRef& r, const BoundaryPoint& bp, Vec2f p, float d_distance,
                                                float d_width, const SceneGradients& grads, Vec2f* d_point) {
    Vec2f u = (p - bp.point) / bp.distance;
    *d_point += u * d_distance;
    const Segment& c = r.curve;
    float b[4], db[4];
    bernstein_weights(c.degree, bp.t, b);
    bernstein_derivative_weights(c.degree, bp.t, db);
    Vec2f dx = combine(c, db), ddx = evaluate_second_derivative(c, bp.t);
    float dw = 0.0f;
    for (int j = 0; j <= c.degree; ++j) dw += db[j] * r.width[j];
    float f_t = dot(dx, dx) + dot(bp.point - p, ddx);
    bool interior = bp.t > 0.0f && bp.t < 1.0f && fabsf(f_t) > 1e-12f && d_width != 0.0f && dw != 0.0f;
    float k = interior ? -d_width * dw / f_t : 0.0f;  // multiplies ∂F/∂θ
    for (int j = 0; j <= c.degree; ++j) {
        Vec2f g = -u * (b[j] * d_distance) + (dx * b[j] + (bp.point - p) * db[j]) * k;
        add_scalar(grads.points + r.px[j], g.x);
        add_scalar(grads.points + r.py[j], g.y);
        add_scalar(grads.point_width + r.width_index[j], d_width * b[j]);
    }
    *d_point += dx * (-k);
}

// Adjoint of the signed distance to a styled stroke's outline
// (styled_stroke_signed_distance, stroke_style.h), value = ±dist with the sign
// of membership, at the nearest outline point found again here:
//   offset side: dist = |d - w(t*)|, the centre-line adjoint above;
//   straight edge A -> B at fraction f: ∂dist/∂θ = -u · ((1 - f) ∂A + f ∂B),
//     u = (p - q)/|p - q| (the envelope theorem: f stays fixed);
//   arc around v of radius w: dist = | |p - v| - w |.
HOST_DEVICE inline void styled_stroke_distance_backward(const SceneView& scene, int s, Vec2f p, float d_value,
                                                        const SceneGradients& grads, Vec2f* d_point) {
    bool inside = inside_styled_stroke(scene, s, p);
    OutlinePoint o = nearest_outline_point(scene, s, p, inside, INFINITY);
    if (o.kind == kOutlineNone || !(o.distance > 0.0f)) return;
    float sign = inside ? -1.0f : 1.0f;
    if (o.kind == kOutlineSide) {
        BoundaryPoint bp;
        Segment seg = scene.segment(o.segment);
        ClosestPoint c = closest_point_on_segment(seg, p);
        if (!(c.distance > 0.0f)) return;
        bp.distance = c.distance; bp.t = c.t; bp.point = c.point; bp.segment = o.segment;
        float w = scene.segment_width(o.segment, c.t);
        if (o.edge == 1) {  // the far side: value = sign (d + w)
            curve_distance_backward(path_segment_ref(scene, o.segment), bp, p, sign * d_value, sign * d_value,
                                    grads, d_point);
            return;
        }
        float g = sign * (c.distance >= w ? 1.0f : -1.0f);  // value = g (d - w)
        curve_distance_backward(path_segment_ref(scene, o.segment), bp, p, g * d_value, -g * d_value, grads,
                                d_point);
        return;
    }
    if (o.kind == kOutlineArc || o.kind == kOutlineDotCircle) {
        int vertex;
        Vec2f center;
        float w;
        if (o.kind == kOutlineArc) {
            StrokeJoint j = stroke_joint(scene, s, o.segment, o.end);
            vertex = j.vertex; center = j.v; w = j.w;
        } else {
            vertex = dot_vertex(scene, s); center = scene.point(vertex); w = scene.point_width[vertex];
        }
        Vec2f r = p - center;
        float len = length(r);
        if (!(len > 0.0f)) return;
        Vec2f u = r / len;
        float g = sign * (len >= w ? 1.0f : -1.0f) * d_value;  // value = ±(|p - v| - w)
        add_vec2(grads.points + 2 * vertex, u * (-g));
        add_scalar(grads.point_width + vertex, -g);
        *d_point += u * g;
        return;
    }
    Vec2f u = (p - o.point) / o.distance;
    Vec2f g_q = u * (-sign * d_value);  // ∂value/∂q
    *d_point += u * (sign * d_value);
    if (o.kind == kOutlineCorner) {
        StrokeJoint j = stroke_joint(scene, s, o.segment, o.end);
        joint_point_backward(j, 5, g_q, grads.points, grads.point_width);
        return;
    }
    if (o.kind == kOutlineEdge) {
        StrokeJoint j = stroke_joint(scene, s, o.segment, o.end);
        int ia, ib;
        joint_edge(j, o.edge, &ia, &ib);
        joint_point_backward(j, ia, g_q * (1.0f - o.t), grads.points, grads.point_width);
        joint_point_backward(j, ib, g_q * o.t, grads.points, grads.point_width);
        return;
    }
    // A square dot's edge: q = v + w ((1 - f) D_a + f D_b).
    int vertex = dot_vertex(scene, s);
    Vec2f direction = dot_corner_direction(o.edge) * (1.0f - o.t) + dot_corner_direction(o.edge + 1) * o.t;
    add_vec2(grads.points + 2 * vertex, g_q);
    add_scalar(grads.point_width + vertex, dot(g_q, direction));
}

// Adjoint of stroke_signed_distance(scene, s, p) (d_value: its adjoint).
HOST_DEVICE inline void stroke_distance_backward(const SceneView& scene, int s, Vec2f p, float d_value,
                                                 const SceneGradients& grads, Vec2f* d_point,
                                                 float cutoff = INFINITY, const BoundaryPoint* known = nullptr) {
    if (!stroke_is_round(scene, s)) {
        styled_stroke_distance_backward(scene, s, p, d_value, grads, d_point);
        return;
    }
    boundary_distance_backward(scene, s, p, false, d_value, -d_value, grads, d_point, cutoff, known);
}

// d sqrt|det A| / dA for the prefiltering distance scale, added to a 3x3.
HOST_DEVICE inline void distance_scale_backward(const SceneView& scene, int g, float d_scale, float* matrix3x3) {
    Affine2 a = scene.to_output(g);
    float det = a.determinant();
    float scale = sqrtf(fabsf(det));
    if (!(scale > 0.0f)) return;
    float k = d_scale * 0.5f / scale * (det < 0.0f ? -1.0f : 1.0f);
    add_scalar(matrix3x3 + 0, k * a.m[1][1]);
    add_scalar(matrix3x3 + 1, -k * a.m[1][0]);
    add_scalar(matrix3x3 + 3, -k * a.m[0][1]);
    add_scalar(matrix3x3 + 4, k * a.m[0][0]);
}

// A search cutoff that keeps a closest point found at distance d (its
// distance recomputed may differ in the last bits).
HOST_DEVICE inline float just_above(float d) { return d * 1.0001f + 1e-20f; }

// Adjoint of a prefiltered coverage clamp(0.5 - d · scale, 0, 1) of group g.
HOST_DEVICE inline void coverage_backward(const SceneView& scene, int g, const GroupCoverage& c, bool stroke,
                                          float d_coverage, const SceneGradients& grads, Vec2f* d_point) {
    float scale = group_distance_scale(scene, g);
    if (!stroke) {
        if (c.fill_shape < 0) return;
        float signed_d = c.inside ? -c.fill_distance : c.fill_distance;
        float v = 0.5f - signed_d * scale;
        if (!(v > 0.0f && v < 1.0f)) return;
        float d_signed = -d_coverage * scale;
        distance_scale_backward(scene, g, -d_coverage * signed_d, grads.group_to_output + 9 * g);
        boundary_distance_backward(scene, c.fill_shape, c.local, true, c.inside ? -d_signed : d_signed, 0.0f,
                                   grads, d_point, just_above(c.fill_distance), c.fill_point.get());
        return;
    }
    if (c.stroke_shape < 0) return;
    float v = 0.5f - c.stroke_distance * scale;
    if (!(v > 0.0f && v < 1.0f)) return;
    float d_sd = -d_coverage * scale;
    distance_scale_backward(scene, g, -d_coverage * c.stroke_distance, grads.group_to_output + 9 * g);
    stroke_distance_backward(scene, c.stroke_shape, c.local, d_sd, grads, d_point,
                             just_above(c.stroke_distance + shape_max_width(scene, c.stroke_shape)), c.stroke_point.get());
}

// Adjoint of sample_output: the un-premultiplied (rgb / a, a) or the
// premultiplied colour itself.
HOST_DEVICE inline Vec4f sample_output_backward(Vec4f premultiplied_color, Vec4f d_out, bool premultiplied) {
    if (premultiplied || !(premultiplied_color.w > 0.0f)) return d_out;
    float inv = 1.0f / premultiplied_color.w;
    Vec4f d;
    d.x = d_out.x * inv; d.y = d_out.y * inv; d.z = d_out.z * inv;
    d.w = d_out.w - (d_out.x * premultiplied_color.x + d_out.y * premultiplied_color.y +
                     d_out.z * premultiplied_color.z) * inv * inv;
    return d;
}

// One recorded layer of a sample, for the reverse sweep over "over".
struct LayerRecord {
    int group, paint;
    float coverage;
    Vec4f color, below;
    GroupCoverage info;
};

// Reverse sweep over the recorded layers (bottom to top in `layers`), given
// d_final, the adjoint of the premultiplied composite. For a layer with
// alpha a = α·coverage over `below`:
//   out = colour·a + below·(1 - a)    (alpha: a + below_a (1 - a))
//   ∂out/∂colour_rgb = a,  ∂out/∂a = colour - below  (alpha: 1 - below_a)
// and the layers under it see d_out·(1 - a).
template <typename Layers>
HOST_DEVICE inline void composite_backward(const SceneView& scene, const RenderOptions& o, const Layers& layers,
                                           int count, bool background_visible, Vec4f d_final, Vec2f position, int b,
                                           int px, int py, const SceneGradients& grads) {
    float transmittance = 1.0f;
    for (int i = count - 1; i >= 0; --i) {
        const LayerRecord& r = layers[i];
        Vec4f d = d_final * transmittance;
        float a = r.color.w * r.coverage;
        Vec4f d_color(d.x * a, d.y * a, d.z * a, 0.0f);
        float d_a = d.x * (r.color.x - r.below.x) + d.y * (r.color.y - r.below.y) +
                    d.z * (r.color.z - r.below.z) + d.w * (1.0f - r.below.w);
        d_color.w = d_a * r.coverage;
        Vec2f d_local(0.0f, 0.0f);
        paint_backward(scene, r.paint, r.info.local, d_color, grads, &d_local);
        if (o.prefiltering)
            coverage_backward(scene, r.group, r.info, r.paint & 1, d_a * r.color.w, grads, &d_local);
        if (d_local.x != 0.0f || d_local.y != 0.0f)
            add_affine_gradient(grads.group_to_shape + 9 * r.group, d_local, position);
        transmittance *= 1.0f - a;
        if (transmittance == 0.0f) return;
    }
    if (background_visible && grads.background && o.background) {
        Vec4f d = d_final * transmittance;
        int64_t index = 4 * ((int64_t(b) * o.height + py) * o.width + px);
        const float* c = o.background + index;
        add_scalar(grads.background + index + 0, d.x * c[3]);
        add_scalar(grads.background + index + 1, d.y * c[3]);
        add_scalar(grads.background + index + 2, d.z * c[3]);
        add_scalar(grads.background + index + 3, d.x * c[0] + d.y * c[1] + d.z * c[2] + d.w);
    }
}

}  // namespace pdvg
