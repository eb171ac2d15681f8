// Edge sampling (Li et al. 2018, "Differentiable Monte Carlo Ray Tracing
// through Edge Sampling", Sec. 4). Visibility makes the integrand jump across
// silhouettes; the derivative of an integral over a moving domain has a
// boundary term  ∫_Γ (f_in - f_out) v_n ds  (Reynolds transport, paper Eq. 4).
//
// Primary edges (the screen integral, paper Sec. 4.1): silhouette edges are
// projected to the screen and sampled by projected length through the shared
// sampler (sampling/boundary_sampler.h). The caller traces both sides.
//
// Secondary edges (integrals at shading points, paper Sec. 4.2): we write the
// integral over the next path vertex in barycentric coordinates ū of the
// surfaces (the interior term holds ū fixed, see path_tracer.h). Then a
// triangle's own edges never move in ū, and the only moving discontinuities
// are the shadow curves that an occluder's silhouette edge casts, as seen
// from the shading point x, onto the surface behind it ("far side"). On the
// unit sphere of directions at x the edge lies in the plane
//     ψ(y) = (y - x) · m = 0,   m = (v1 - v0) × (x - v0),
// and the far point y(ū, θ) crosses it at the normal speed (in radians)
//     v_n = -(∂ψ/∂θ)|_ū / (|y - x| |m|).
// The boundary term is  σ g_far v_n  per unit angle along the edge's image,
// where g_far = f(x, wo, ω) |cos| L(y → x), and σ = ±1 is the side of the
// plane (along m) on which the occluder's faces lie.
#pragma once

#include "../sampling/boundary_sampler.h"
#include "mesh.h"
#include "path_tracer.h"

namespace pdvg {
namespace rt {

// ---------------------------------------------------------------- primary

struct PrimaryEdgePiece {
    Vec2f a, b;          // clipped screen segment
    float t_a = 0.0f, t_b = 1.0f;  // 3-D edge parameters of the near-clipped end points
    int edge = -1;
};

// The piece table handed to sample_boundary.
struct PrimaryEdgeTable {
    const PrimaryEdgePiece* pieces;
    HOST_DEVICE PieceGeometry geometry(int piece, float t) const {
        const PrimaryEdgePiece& p = pieces[piece];
        PieceGeometry g;
        Vec2f d = p.b - p.a;
        g.point = p.a + d * t;
        g.speed = length(d);
        g.normal = g.speed > 0.0f ? perpendicular(d) / g.speed : Vec2f(0.0f, 0.0f);
        return g;
    }
};

// Liang–Barsky clip of a + s (b - a), s in [0, 1], to [0, W] × [0, H].
HOST_DEVICE inline bool clip_to_screen(Vec2f a, Vec2f b, float width, float height, float& s0, float& s1) {
    s0 = 0.0f; s1 = 1.0f;
    Vec2f d = b - a;
    float p[4] = {-d.x, d.x, -d.y, d.y};
    float q[4] = {a.x, width - a.x, a.y, height - a.y};
    for (int k = 0; k < 4; ++k) {
        if (p[k] == 0.0f) {
            if (q[k] < 0.0f) return false;
            continue;
        }
        float r = q[k] / p[k];
        if (p[k] < 0.0f) { if (r > s1) return false; if (r > s0) s0 = r; }
        else { if (r < s0) return false; if (r < s1) s1 = r; }
    }
    return s1 > s0;
}

// Builds the screen piece of edge i and returns its sampling weight (0: skip).
// Sampled: boundary edges and silhouettes seen from the camera; with flat
// shading, also front-facing creases (the shading normal jumps there),
// weighted down by how little the normal turns.
HOST_DEVICE inline float make_primary_piece(const SceneView& s, const MeshEdge& e, bool creases,
                                            PrimaryEdgePiece& piece) {
    const CameraView& cam = s.camera;
    Vec3f v0 = load3(s.vertices, e.v0), v1 = load3(s.vertices, e.v1);
    Vec3f toward = cam.orthographic ? -cam.forward : cam.origin - v0;
    float weight_factor = 1.0f;
    if (silhouette_side(s, e, cross(v1 - v0, toward)) == 0.0f) {
        if (!creases || edge_is_flat(s, e)) return 0.0f;
        Vec3f n0 = face_normal(s, e.f0), n1 = face_normal(s, e.f1);
        bool visible = dot(n0, toward) > 0.0f || s.face_two_sided[e.f0] || s.face_two_sided[e.f1];
        if (!visible) return 0.0f;
        weight_factor = clamp_value(1.0f - fabsf(dot(n0, n1)), 0.05f, 1.0f);
    }
    // Clip against the near plane in camera depth.
    float z0 = camera_depth(cam, v0), z1 = camera_depth(cam, v1);
    float near_z = cam.clip_near * 1.0001f;
    if (z0 < near_z && z1 < near_z) return 0.0f;
    float t_a = 0.0f, t_b = 1.0f;
    if (z0 < near_z) t_a = (near_z - z0) / (z1 - z0);
    if (z1 < near_z) t_b = (near_z - z0) / (z1 - z0);
    Vec2f a = project_point(cam, v0 + (v1 - v0) * t_a);
    Vec2f b = project_point(cam, v0 + (v1 - v0) * t_b);
    float s0, s1;
    if (!clip_to_screen(a, b, float(cam.width), float(cam.height), s0, s1)) return 0.0f;
    piece.a = a + (b - a) * s0;
    piece.b = a + (b - a) * s1;
    piece.t_a = t_a;
    piece.t_b = t_b;
    float len = length(piece.b - piece.a);
    return len > 0.0f ? len * weight_factor : 0.0f;
}

// Scatters  weight · v_n  of the sampled screen point to the edge's vertices
// and the camera. The screen line through A = proj(P(t_a)) and B = proj(P(t_b))
// moves at the point x = A + u (B - A) with normal speed
//     v_n = (1 - u) (∂A/∂θ)·n + u (∂B/∂θ)·n.
HOST_DEVICE inline void scatter_primary_edge(const SceneView& s, const SceneGrads& g, const MeshEdge& e,
                                             const PrimaryEdgePiece& piece, Vec2f x, Vec2f n, float weight,
                                             CameraGrad& camera_grad) {
    const CameraView& cam = s.camera;
    Vec3f v0 = load3(s.vertices, e.v0), v1 = load3(s.vertices, e.v1);
    Vec3f pa = v0 + (v1 - v0) * piece.t_a, pb = v0 + (v1 - v0) * piece.t_b;
    Vec2f A = project_point(cam, pa), B = project_point(cam, pb);
    Vec2f ab = B - A;
    float l2 = dot(ab, ab);
    if (!(l2 > 0.0f)) return;
    float u = dot(x - A, ab) / l2;
    Vec3f d_pa, d_pb;
    project_point_adjoint(cam, pa, n * (weight * (1.0f - u)), d_pa, camera_grad);
    project_point_adjoint(cam, pb, n * (weight * u), d_pb, camera_grad);
    atomic_add3(g.vertices, e.v0, d_pa * (1.0f - piece.t_a) + d_pb * (1.0f - piece.t_b));
    atomic_add3(g.vertices, e.v1, d_pa * piece.t_a + d_pb * piece.t_b);
}

// -------------------------------------------------------------- secondary

struct SecondaryEdgeTable {
    const MeshEdge* edges = nullptr;
    const float* cdf = nullptr;   // by 3-D length + mean length, coplanar edges excluded
    int count = 0;
};

constexpr int kSecondaryCandidates = 16;

// The part of a silhouette edge that a shading point x sees above its
// tangent plane, as an arc of the unit sphere of directions around x:
//     ω(φ) = cos φ â + sin φ t̂,   φ ∈ [0, Φ],
// â, b̂ the directions to the clipped end points, t̂ ⊥ â in their plane.
// The cosine n·ω(φ) = A cos φ + B sin φ = R cos(φ - δ) with A = n·â,
// B = n·t̂, R = √(A² + B²), δ = atan2(B, A), is ≥ 0 on the arc; its
// integral is C(φ) = A sin φ + B (1 - cos φ) = R sin(φ - δ) + B.
struct SecondaryArc {
    Vec3f a_hat, t_hat;
    float angle = 0.0f;      // Φ
    float cos_a = 0.0f, cos_t = 0.0f;  // A, B
    float cos_integral = 0.0f;          // C(Φ)
    float line_distance = 0.0f;         // from x to the edge's line
};

// Probability of the uniform-in-angle branch of the mixture that picks a
// point on the arc; the rest is ∝ n·ω. The uniform share bounds the weight
// where n·ω → 0 but the shading normal's cosine (or a glossy lobe) is not.
constexpr float kArcUniformShare = 0.2f;

// Importance of an edge seen from x (normal n): zero unless it is a
// silhouette from x and reaches above x's tangent plane; otherwise the
// cosine-weighted angle of its arc over the distance to its line,
//     I = (C(Φ) + 0.05 Φ) / dist.
// Derivation of the scale: the boundary term of an edge at x is
//     B = ∫_arc Δg v_n dφ,   Δg ∝ n·ω,   v_n = (ω·∂m) / |m|,   |m| = |e| dist,
// and |ω·∂m| ≲ |∂v| (|x - v0| + |e|), so for translations v_n ~ 1/dist and
// B ~ C(Φ) / dist. The old midpoint estimate |e × mid| / r³ vanished for a
// long edge passing close to x (a box's edge next to a contact point) whose
// true term grows like 1/dist: the selection weight of the few samples that
// found it exploded (the heavy tail at contact).
HOST_DEVICE inline float secondary_arc(const SceneView& s, const MeshEdge& e, int face, Vec3f x, Vec3f n,
                                       SecondaryArc& arc) {
    if (e.f0 == face || e.f1 == face) return 0.0f;
    Vec3f v0 = load3(s.vertices, e.v0), v1 = load3(s.vertices, e.v1);
    Vec3f a = v0 - x, b = v1 - x;
    float ha = dot(a, n), hb = dot(b, n);
    if (!(ha > 0.0f) && !(hb > 0.0f)) return 0.0f;
    if (silhouette_side(s, e, cross(v1 - v0, -a)) == 0.0f) return 0.0f;
    // Clip to the upper half space (the part below reflects nothing).
    if (ha < 0.0f) a = a + (b - a) * (ha / (ha - hb));
    else if (hb < 0.0f) b = b + (a - b) * (hb / (hb - ha));
    float la = length(a), lb = length(b);
    if (!(la > 0.0f) || !(lb > 0.0f)) return 0.0f;
    arc.a_hat = a / la;
    Vec3f b_hat = b / lb;
    float c = dot(arc.a_hat, b_hat);
    Vec3f t = b_hat - arc.a_hat * c;
    float sin_angle = length(t);
    if (!(sin_angle > 0.0f)) return 0.0f;
    arc.t_hat = t / sin_angle;
    arc.angle = atan2f(sin_angle, c);
    arc.cos_a = max_value(dot(n, arc.a_hat), 0.0f);
    arc.cos_t = dot(n, arc.t_hat);
    arc.cos_integral = max_value(arc.cos_a * sin_angle + arc.cos_t * (1.0f - c), 0.0f);
    Vec3f edge = v1 - v0;
    float edge_length = length(edge);
    arc.line_distance = max_value(length(cross(edge, -a)) / edge_length, 1e-6f * edge_length);
    return (arc.cos_integral + 0.05f * arc.angle) / arc.line_distance;
}

// Draws φ on the arc from the mixture  p(φ) = s / Φ + (1 - s) R cos(φ - δ) / C(Φ)
// (s = kArcUniformShare); returns ω(φ) and sets pdf = p(φ) (per radian).
HOST_DEVICE inline Vec3f sample_arc(const SecondaryArc& arc, float u, float& pdf) {
    float phi;
    const float share = kArcUniformShare;
    float R = sqrtf(arc.cos_a * arc.cos_a + arc.cos_t * arc.cos_t);
    bool cosine = arc.cos_integral > 0.0f && R > 0.0f;
    if (!cosine || u < share) {
        phi = (cosine ? u / share : u) * arc.angle;
    } else {
        // Invert C(φ) = R sin(φ - δ) + B = ξ C(Φ); φ - δ stays in [-π/2, π/2].
        float xi = (u - share) / (1.0f - share);
        float delta = atan2f(arc.cos_t, arc.cos_a);
        float q = clamp_value((xi * arc.cos_integral - arc.cos_t) / R, -1.0f, 1.0f);
        phi = clamp_value(delta + asinf(q), 0.0f, arc.angle);
    }
    Vec3f omega = arc.a_hat * cosf(phi) + arc.t_hat * sinf(phi);
    float cos_phi = max_value(arc.cos_a * cosf(phi) + arc.cos_t * sinf(phi), 0.0f);
    pdf = cosine ? share / arc.angle + (1.0f - share) * cos_phi / arc.cos_integral : 1.0f / arc.angle;
    return omega;
}

// Adds the secondary-edge boundary term of vertex `state` (a scattering
// vertex with adjoint weight `adjoint` on its outgoing radiance) to the
// gradients: mesh vertices directly, the shading point x into
// state.adjoint.d_position. `bounces_left` bounds the far side's path.
//
// Estimator: Σ_e ∫_arc(e) g_far v_n dφ. An edge is chosen by resampled
// importance sampling (Talbot et al. 2005) among K candidates drawn from the
// table's CDF p_e, kept with probability ∝ w_e = I_e / p_e; the edge's
// selection weight is (Σ_k w_k) / (K I_chosen), unbiased because I_e > 0
// wherever the edge's term can be nonzero. A direction on its arc is drawn
// by sample_arc, so one sample contributes
//     g_far(ω) v_n(ω) / p(φ) · (Σ w) / (K I).
// Both ratios stay bounded near contact: v_n / I ≈ (ω·∂m)/(|e| (C + 0.05Φ)),
// and g_far / p(φ) ≤ g_far / (s / Φ) with g_far ∝ n·ω.
template <bool kEnvMap>
HOST_DEVICE inline void sample_secondary_edge(const SceneView& s, const SceneGrads& g, const SecondaryEdgeTable& table,
                                              VertexState& state, const Material& mat, Vec3f adjoint,
                                              int bounces_left, Pcg32& rng) {
    if (table.count <= 0 || !(table.cdf[table.count] > 0.0f)) return;
    const SurfacePoint& sp = state.point;
    Vec3f x = sp.position;
    int chosen = -1;
    float chosen_importance = 0.0f, weight_sum = 0.0f;
    SecondaryArc arc;
    for (int k = 0; k < kSecondaryCandidates; ++k) {
        int edge = find_piece(table.cdf, table.count, rng.next_float());
        float p = table.cdf[edge + 1] - table.cdf[edge];
        float u = rng.next_float();
        if (!(p > 0.0f)) continue;
        SecondaryArc candidate;
        float importance = secondary_arc(s, table.edges[edge], sp.face, x, sp.geometric_normal, candidate);
        if (!(importance > 0.0f)) continue;
        float w = importance / p;
        weight_sum += w;
        if (u * weight_sum < w) { chosen = edge; chosen_importance = importance; arc = candidate; }
    }
    float u_edge = rng.next_float();
    Pcg32 path_rng(rng.next_uint(), rng.next_uint());
    if (chosen < 0) return;
    float selection = weight_sum / (float(kSecondaryCandidates) * chosen_importance);
    const MeshEdge& e = table.edges[chosen];
    Vec3f v0 = load3(s.vertices, e.v0), v1 = load3(s.vertices, e.v1);
    Vec3f edge_vec = v1 - v0;
    float arc_pdf;
    Vec3f omega = sample_arc(arc, u_edge, arc_pdf);
    if (!(arc_pdf > 0.0f) || !(dot(sp.geometric_normal, omega) > 0.0f)) return;
    // Distance to the edge along ω: dist / sin(ω, edge).
    float sin_to_edge = length(cross(omega, edge_vec)) / length(edge_vec);
    if (!(sin_to_edge > 0.0f)) return;
    float r_edge = arc.line_distance / sin_to_edge;
    Vec3f to_edge = omega * r_edge;
    Vec3f fcos = bsdf_eval_cos(mat, sp.shading_normal, state.wo, omega);
    if (is_black(fcos)) return;
    Vec3f m = cross(edge_vec, x - v0);
    float m_len = length(m);
    float side = silhouette_side(s, e, m);
    if (!(m_len > 0.0f) || side == 0.0f) return;
    // Trace just past the edge on the side away from its faces.
    Vec3f nudged = normalize(to_edge - m * (side * 1e-4f * r_edge / m_len));
    Hit far = closest_hit(s, x, nudged, kRayEpsilon, 3.0e38f, sp.face);
    const bool escapes = far.face < 0;  // the far side is the environment map
    if (escapes && !kEnvMap) return;
    if (!escapes && (far.face == e.f0 || far.face == e.f1)) return;
    if (!escapes && far.t < r_edge * (1.0f - 1e-3f)) return;  // the edge itself is hidden from x
    Ray far_ray;
    far_ray.origin = x; far_ray.direction = nudged; far_ray.t_min = kRayEpsilon; far_ray.t_max = 3.0e38f;
    Vec3f radiance = shade_path_impl<kEnvMap>(s, far_ray, far, bounces_left, path_rng, nullptr);
    float value = dot(adjoint, fcos * radiance);
    if (value == 0.0f) return;
    if (kEnvMap && escapes) {
        // A far point at infinity along the fixed direction ω: ψ / |y - x| → ψ̃ = ω·m,
        // so v_n = -(ω·∂m/∂θ) / |m| (y and x no longer enter through y - x).
        float W = -side * value * selection / (arc_pdf * m_len);
        Vec3f d_m = nudged * W;
        Vec3f d_e = cross(x - v0, d_m);
        Vec3f d_w = cross(d_m, edge_vec);
        atomic_add3(g.vertices, e.v1, d_e);
        atomic_add3(g.vertices, e.v0, -d_e - d_w);
        add_to(state.adjoint.d_position, d_w);
        return;
    }
    SurfacePoint far_point = surface_point(s, far.face, far.b1, far.b2);
    Vec3f y = far_point.position;
    // grad += W ∂ψ/∂θ with W = -σ value selection / (p(φ) |y - x| |m|).
    float W = -side * value * selection / (arc_pdf * length(y - x) * m_len);
    // ψ = (y - x)·m,  m = e × w,  e = v1 - v0,  w = x - v0.
    Vec3f d_m = (y - x) * W;
    Vec3f d_y = m * W;
    Vec3f d_e = cross(x - v0, d_m);
    Vec3f d_w = cross(d_m, edge_vec);
    Vec3f d_x = d_w - m * W;
    atomic_add3(g.vertices, e.v1, d_e);
    atomic_add3(g.vertices, e.v0, -d_e - d_w);
    add_to(state.adjoint.d_position, d_x);
    SurfacePointAdjoint far_adjoint;
    far_adjoint.d_position = d_y;
    TriangleGrad d_tri;
    surface_point_adjoint(s, g, far_point, far_adjoint, d_tri);  // barycentrics fixed
    scatter_triangle_grad(g, load_triangle(s, far.face), d_tri);
}

}  // namespace rt
}  // namespace pdvg
