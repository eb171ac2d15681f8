// Reverse pass of one recorded path (the interior term), plus the secondary
// edge terms at its scattering vertices.
//
// Forward structure (path_tracer.h), with L_j the radiance leaving vertex j
// toward j-1:
//     L_j = w_j Le_j + N_j + c_j ⊙ L_{j+1}
//     N_j = K_j (f_j cos)(x_{j-1}, x_j, y) ⊙ Le(y) G(x_j, y) 2A_y     (next-event estimation)
//     c_j = K'_j (f_j cos)(x_{j-1}, x_j, x_{j+1}) G(x_j, x_{j+1}) 2A_{j+1}
// with constants K = w / p_ū, and G(x, y) = |n_y·(y - x)| / |y - x|³.
// Reverse mode: a_1 = ∂loss/∂L_1, a_{j+1} = a_j ⊙ c_j, and each factor gets
// its share; G and A enter through their logarithmic derivatives.
#pragma once

#include "edge_sampling.h"

namespace pdvg {
namespace rt {

// log G(x, y) = log|n·v| - 3 log|v|, v = y - x; adds s ∂ log G into the adjoints.
HOST_DEVICE inline void log_geometry_adjoint(Vec3f x, Vec3f y, Vec3f n_y, float s, Vec3f& d_x, Vec3f& d_y,
                                             Vec3f& d_n_y) {
    Vec3f v = y - x;
    float q = dot(n_y, v), v2 = dot(v, v);
    if (q == 0.0f || !(v2 > 0.0f)) return;
    add_to(d_n_y, v * (s / q));
    Vec3f d_v = n_y * (s / q) - v * (3.0f * s / v2);
    add_to(d_y, d_v);
    subtract_from(d_x, d_v);
}

// w = normalize(to - from): adds the adjoint into d_to and subtracts from d_from.
HOST_DEVICE inline void direction_adjoint(Vec3f from, Vec3f to, Vec3f d_w, Vec3f& d_from, Vec3f& d_to) {
    Vec3f d = normalize_adjoint(to - from, d_w);
    add_to(d_to, d);
    subtract_from(d_from, d);
}

// The reverse pass. `adjoint` is ∂loss/∂(this sample's radiance). Camera
// gradients collect in camera_grad (the caller adds them to the buffer).
// The light sample of a next-event estimate taken at `sp`: the point on
// the light, the unit direction to it, the emitted radiance toward sp, and
// K = nee_weight · G · 2 · area, the factor the estimate multiplies
// bsdf · le by (G = |n_light · wi| / r²). Shared by the replay and the
// reverse sweep so both use the same estimate.
struct NeeSample {
    SurfacePoint light;
    Vec3f wi, le;
    float K;
};

HOST_DEVICE inline NeeSample nee_sample(const SceneView& s, const PathVertex& pv, const SurfacePoint& sp) {
    NeeSample n;
    n.light = surface_point(s, pv.light_face, pv.light_b1, pv.light_b2);
    Vec3f to = n.light.position - sp.position;
    float r2 = dot(to, to);
    n.wi = to / sqrtf(r2);
    n.le = emitted_radiance(s, pv.light_face, n.light.geometric_normal, -n.wi);
    float G = fabsf(dot(n.light.geometric_normal, n.wi)) / r2;
    n.K = pv.nee_weight * G * 2.0f * n.light.area;
    return n;
}

// The environment-map terms of vertex j (encoding in path_tracer.h):
// next-event estimate and escaped continuation, each
//     f cos(wo, ω) ⊙ L_env(ω) · K   with ω and K = w / p_ω fixed.
struct EnvTerm {
    Vec3f wi;
    float K = 0.0f;
};

HOST_DEVICE inline void env_terms_of(const PathRecord& rec, int j, EnvTerm terms[2]) {
    const PathVertex& pv = rec.vertex[j];
    terms[0].K = terms[1].K = 0.0f;
    if (pv.light_face == kEnvLight && pv.nee_weight > 0.0f) {
        terms[0].wi = angles_direction(pv.light_b1, pv.light_b2);
        terms[0].K = pv.nee_weight;
    }
    if (j + 1 == rec.count && j + 1 < kMaxPathVertices && rec.vertex[j + 1].hit.face == kEnvLight &&
        pv.inv_pdf > 0.0f) {
        terms[1].wi = angles_direction(rec.vertex[j + 1].hit.b1, rec.vertex[j + 1].hit.b2);
        terms[1].K = pv.inv_pdf;
    }
}

HOST_DEVICE inline Vec3f env_terms(const SceneView& s, const PathRecord& rec, int j, const Material& mat,
                                   const SurfacePoint& sp, Vec3f wo) {
    EnvTerm terms[2];
    env_terms_of(rec, j, terms);
    Vec3f sum;
    for (int t = 0; t < 2; ++t)
        if (terms[t].K > 0.0f)
            sum += bsdf_eval_cos(mat, sp.shading_normal, wo, terms[t].wi) * env_radiance(s.envmap, terms[t].wi) *
                   terms[t].K;
    return sum;
}

HOST_DEVICE inline void env_terms_adjoint(const SceneView& s, const SceneGrads& g, const PathRecord& rec, int j,
                                          const Material& mat, const SurfacePoint& sp, Vec3f wo, Vec3f a,
                                          Vec3f& d_shading_normal, MaterialGrad& d_mat, Vec3f prev_position,
                                          Vec3f& d_prev, Vec3f& d_position) {
    EnvTerm terms[2];
    env_terms_of(rec, j, terms);
    for (int term = 0; term < 2; ++term) {
        float K = terms[term].K;
        if (!(K > 0.0f)) continue;
        Vec3f wi = terms[term].wi;
        Vec3f le = env_radiance(s.envmap, wi);
        Vec3f fcos = bsdf_eval_cos(mat, sp.shading_normal, wo, wi);
        env_radiance_adjoint(s.envmap, g.envmap, wi, a * fcos * K, nullptr);
        Vec3f d_wo, d_wi;
        bsdf_eval_cos_adjoint(mat, sp.shading_normal, wo, wi, a * le * K, d_shading_normal, d_wo, d_wi, d_mat);
        direction_adjoint(prev_position, sp.position, -d_wo, d_prev, d_position);
    }
}

// kEnvMap as for shade_path_impl: false is the code from before maps existed.
template <bool kEnvMap>
HOST_DEVICE inline void path_adjoint_impl(const SceneView& s, const SceneGrads& g, const PathRecord& rec,
                                          Vec3f adjoint, float px, float py, const SecondaryEdgeTable* secondary,
                                          Pcg32& edge_rng, CameraGrad& camera_grad) {
    int n = rec.count;
    if (n <= 0) {
        // The camera ray escaped: L = env(d(screen point)); the texels and,
        // through the direction, the camera get their shares.
        if (kEnvMap) {
            Vec3f d_direction;
            env_radiance_adjoint(s.envmap, g.envmap, rec.ray.direction, adjoint, &d_direction);
            camera_ray_adjoint(s.camera, px, py, Vec3f(), d_direction, camera_grad);
        }
        return;
    }
    VertexState v[kMaxPathVertices];
    Vec3f radiance_out[kMaxPathVertices];  // L_j
    Vec3f continuation[kMaxPathVertices];  // c_j
    Vec3f local[kMaxPathVertices];         // w_j Le_j + N_j
    Vec3f prev = rec.ray.origin;
    for (int j = 0; j < n; ++j) {
        const PathVertex& pv = rec.vertex[j];
        v[j].point = surface_point(s, pv.hit.face, pv.hit.b1, pv.hit.b2);
        v[j].wo = normalize(prev - v[j].point.position);
        prev = v[j].point.position;
        local[j] = emitted_radiance(s, pv.hit.face, v[j].point.geometric_normal, v[j].wo) * pv.emission_weight;
        v[j].scatters = j < s.max_bounces && orient_for_scattering(s, v[j].point, v[j].wo);
    }
    // Forward values of N_j and c_j.
    for (int j = 0; j < n; ++j) {
        const PathVertex& pv = rec.vertex[j];
        continuation[j] = Vec3f();
        if (!v[j].scatters) continue;
        Material mat = surface_material(s, pv.hit.face, pv.hit.b1, pv.hit.b2);
        const SurfacePoint& sp = v[j].point;
        if (pv.nee_weight > 0.0f && (!kEnvMap || pv.light_face >= 0)) {
            NeeSample ns = nee_sample(s, pv, sp);
            local[j] += bsdf_eval_cos(mat, sp.shading_normal, v[j].wo, ns.wi) * ns.le * ns.K;
        }
        if (kEnvMap) local[j] += env_terms(s, rec, j, mat, sp, v[j].wo);
        if (j + 1 < n && pv.inv_pdf > 0.0f) {
            Vec3f wi = normalize(v[j + 1].point.position - sp.position);
            continuation[j] = bsdf_eval_cos(mat, sp.shading_normal, v[j].wo, wi) * pv.inv_pdf;
        }
    }
    radiance_out[n - 1] = local[n - 1];
    for (int j = n - 2; j >= 0; --j) radiance_out[j] = local[j] + continuation[j] * radiance_out[j + 1];

    Vec3f d_ray_origin, a = adjoint;
    Vec2f first_d_bary(0.0f, 0.0f);  // through a texture's uv at the first vertex
    for (int j = 0; j < n; ++j) {
        const PathVertex& pv = rec.vertex[j];
        int light = s.face_light[pv.hit.face];
        if (light >= 0 && pv.emission_weight > 0.0f && s.light_intensity) {
            Vec3f le = emitted_radiance(s, pv.hit.face, v[j].point.geometric_normal * v[j].point.flip, v[j].wo);
            if (!is_black(le)) atomic_add3(g.light_intensity, light, a * pv.emission_weight);
        }
        if (!v[j].scatters) break;
        Material mat = surface_material(s, pv.hit.face, pv.hit.b1, pv.hit.b2);
        MaterialGrad d_mat;
        SurfacePoint& sp = v[j].point;
        Vec3f& d_prev = j == 0 ? d_ray_origin : v[j - 1].adjoint.d_position;
        Vec3f prev_position = j == 0 ? rec.ray.origin : v[j - 1].point.position;
        // Next-event estimation.
        if (pv.nee_weight > 0.0f && (!kEnvMap || pv.light_face >= 0)) {
            NeeSample ns = nee_sample(s, pv, sp);
            const SurfacePoint& lp = ns.light;
            const Vec3f wi = ns.wi, le = ns.le;
            const float K = ns.K;
            Vec3f fcos = bsdf_eval_cos(mat, sp.shading_normal, v[j].wo, wi);
            atomic_add3(g.light_intensity, s.face_light[pv.light_face], a * fcos * K);
            float share = dot(a, fcos * le) * K;
            Vec3f d_wo, d_wi;
            bsdf_eval_cos_adjoint(mat, sp.shading_normal, v[j].wo, wi, a * le * K, v[j].adjoint.d_shading_normal, d_wo,
                                  d_wi, d_mat);
            direction_adjoint(prev_position, sp.position, -d_wo, d_prev, v[j].adjoint.d_position);
            SurfacePointAdjoint light_adjoint;
            direction_adjoint(sp.position, lp.position, d_wi, v[j].adjoint.d_position, light_adjoint.d_position);
            log_geometry_adjoint(sp.position, lp.position, lp.geometric_normal, share, v[j].adjoint.d_position,
                                 light_adjoint.d_position, light_adjoint.d_geometric_normal);
            light_adjoint.d_log_area = share;
            TriangleGrad d_tri;
            surface_point_adjoint(s, g, lp, light_adjoint, d_tri);
            scatter_triangle_grad(g, load_triangle(s, pv.light_face), d_tri);
        }
        // Environment map terms: directions fixed, so only wo, the shading
        // normal, the material and the texels move.
        if (kEnvMap)
            env_terms_adjoint(s, g, rec, j, mat, sp, v[j].wo, a, v[j].adjoint.d_shading_normal, d_mat, prev_position,
                              d_prev, v[j].adjoint.d_position);
        // Secondary edges: boundary term of the integral scattered at x_j.
        if (secondary) sample_secondary_edge<kEnvMap>(s, g, *secondary, v[j], mat, a, s.max_bounces - j - 1, edge_rng);
        // Continuation to x_{j+1}.
        Vec3f a_next;
        if (j + 1 < n && pv.inv_pdf > 0.0f) {
            SurfacePoint& np = v[j + 1].point;
            Vec3f wi = normalize(np.position - sp.position);
            Vec3f fcos = bsdf_eval_cos(mat, sp.shading_normal, v[j].wo, wi);
            Vec3f after = radiance_out[j + 1];
            float share = dot(a, continuation[j] * after);
            Vec3f d_wo, d_wi;
            bsdf_eval_cos_adjoint(mat, sp.shading_normal, v[j].wo, wi, a * after * pv.inv_pdf,
                                  v[j].adjoint.d_shading_normal, d_wo, d_wi, d_mat);
            direction_adjoint(prev_position, sp.position, -d_wo, d_prev, v[j].adjoint.d_position);
            direction_adjoint(sp.position, np.position, d_wi, v[j].adjoint.d_position, v[j + 1].adjoint.d_position);
            log_geometry_adjoint(sp.position, np.position, np.geometric_normal, share, v[j].adjoint.d_position,
                                 v[j + 1].adjoint.d_position, v[j + 1].adjoint.d_geometric_normal);
            v[j + 1].adjoint.d_log_area += share;
            a_next = a * fcos * pv.inv_pdf;
        }
        Vec2f d_bary_material = scatter_material_grad(s, g, pv.hit.face, pv.hit.b1, pv.hit.b2, d_mat);
        if (j == 0) first_d_bary = d_bary_material;
        a = a_next;
    }
    // Vertices after the first: barycentrics fixed.
    for (int j = n - 1; j >= 1; --j) {
        TriangleGrad d_tri;
        surface_point_adjoint(s, g, v[j].point, v[j].adjoint, d_tri);
        scatter_triangle_grad(g, load_triangle(s, v[j].point.face), d_tri);
    }
    // First vertex: barycentrics come from the camera ray's intersection.
    TriangleGrad d_tri;
    Vec2f d_bary = surface_point_adjoint(s, g, v[0].point, v[0].adjoint, d_tri);
    d_bary.x += first_d_bary.x;
    d_bary.y += first_d_bary.y;
    Triangle tri = load_triangle(s, v[0].point.face);
    Vec3f d_direction;
    intersect_triangle_adjoint(tri, rec.ray.direction, rec.vertex[0].hit, 0.0f, d_bary.x, d_bary.y, d_ray_origin,
                               d_direction, d_tri);
    scatter_triangle_grad(g, tri, d_tri);
    camera_ray_adjoint(s.camera, px, py, d_ray_origin, d_direction, camera_grad);
}

// The map's instance: out of this unit on the CPU, as shade_path_with_envmap.
#if PDVG_HAS_CUDA_COMPILER
HOST_DEVICE inline void path_adjoint_with_envmap(const SceneView& s, const SceneGrads& g, const PathRecord& rec,
                                                 Vec3f adjoint, float px, float py,
                                                 const SecondaryEdgeTable* secondary, Pcg32& edge_rng,
                                                 CameraGrad& camera_grad) {
    path_adjoint_impl<true>(s, g, rec, adjoint, px, py, secondary, edge_rng, camera_grad);
}
#else
void path_adjoint_with_envmap(const SceneView& s, const SceneGrads& g, const PathRecord& rec, Vec3f adjoint, float px,
                              float py, const SecondaryEdgeTable* secondary, Pcg32& edge_rng, CameraGrad& camera_grad);
#endif

HOST_DEVICE inline void path_adjoint(const SceneView& s, const SceneGrads& g, const PathRecord& rec, Vec3f adjoint,
                                     float px, float py, const SecondaryEdgeTable* secondary, Pcg32& edge_rng,
                                     CameraGrad& camera_grad) {
    if (s.envmap.texels)
        path_adjoint_with_envmap(s, g, rec, adjoint, px, py, secondary, edge_rng, camera_grad);
    else
        path_adjoint_impl<false>(s, g, rec, adjoint, px, py, secondary, edge_rng, camera_grad);
}

}  // namespace rt
}  // namespace pdvg
