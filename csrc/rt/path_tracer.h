// Unidirectional path tracing with next-event estimation and BSDF sampling
// combined by multiple importance sampling (power heuristic), and the
// hand-written reverse pass of its continuous ("interior") part.
//
// Derivative convention (see the header of render.cpp): every path vertex
// after the first is a point of a triangle at FIXED barycentrics ū; the first
// is where the camera ray for a fixed screen point meets the scene. In that
// parametrisation a sample's contribution is
//     C = (w / p_ū) · F(x̄; θ),   F = Le · Π f_j cos_j · Π G_j · Π 2A_j,
// with the MIS weight w and density p_ū held constant (Σ_s w_s = 1 keeps the
// estimator of ∂F unbiased), so ∂C only needs ∂ of the path throughput in
// area measure: BSDFs, geometry terms |cos| / r², and triangle areas A_j
// (the Jacobian from barycentrics to area).
#pragma once

#include "../core/pcg.h"
#include "texture.h"

namespace pdvg {
namespace rt {


constexpr int kMaxPathVertices = kMaxBounces + 1;
constexpr float kRayEpsilon = 1e-5f;
constexpr float kShadowEpsilon = 1e-4f;

struct PathVertex {
    Hit hit;
    float emission_weight = 0.0f;  // MIS weight of this vertex's emission (1 at the first vertex)
    int light_face = -1;           // next-event estimation: light point on this face ...
    float light_b1 = 0.0f, light_b2 = 0.0f;
    float nee_weight = 0.0f;       // ... with constant factor w_light / p_ū (0: no contribution)
    float inv_pdf = 0.0f;          // 1 / p_ω of the continuation to the next vertex
};

// The environment map's terms reuse PathVertex's fields (so that its layout,
// and the code compiled for scenes without a map, stay as they were):
// - next-event estimate toward the map: light_face = kEnvLight,
//   (light_b1, light_b2) = the direction's angles (θ, φ), nee_weight = w / p_ω;
// - continuation that escaped at the last vertex j: vertex[j].inv_pdf = w / p_ω,
//   and the slot after it holds hit.face = kEnvLight, (hit.b1, hit.b2) = (θ, φ).
constexpr int kEnvLight = -2;

HOST_DEVICE inline Vec2f direction_angles(Vec3f d) {
    return Vec2f(acosf(clamp_value(d.z, -1.0f, 1.0f)), atan2f(d.y, d.x));
}
HOST_DEVICE inline Vec3f angles_direction(float theta, float phi) {
    float st = sinf(theta);
    return Vec3f(st * cosf(phi), st * sinf(phi), cosf(theta));
}

struct PathRecord {
    int count = 0;
    Ray ray;
    PathVertex vertex[kMaxPathVertices];
};

HOST_DEVICE inline Vec3f emitted_radiance(const SceneView& s, int face, Vec3f raw_normal, Vec3f toward) {
    int light = s.face_light[face];
    if (light < 0) return Vec3f();
    if (!s.light_two_sided[light] && !(dot(raw_normal, toward) > 0.0f)) return Vec3f();
    return load3(s.light_intensity, light);
}

// Orients p toward the viewer wo; false when a one-sided surface is seen from behind.
HOST_DEVICE inline bool orient_for_scattering(const SceneView& s, SurfacePoint& p, Vec3f wo) {
    bool front = dot(p.geometric_normal, wo) > 0.0f;
    if (!front && !s.face_two_sided[p.face]) return false;
    orient_toward(p, wo);
    return true;
}

// Uniform point on a triangle: (b1, b2) = (√u1 (1 - u2), √u1 u2).
HOST_DEVICE inline void sample_triangle(float u1, float u2, float& b1, float& b2) {
    float su = sqrtf(u1);
    b1 = su * (1.0f - u2);
    b2 = su * u2;
}

HOST_DEVICE inline float power_heuristic(float a, float b) {
    float a2 = a * a, b2 = b * b;
    return a2 + b2 > 0.0f ? a2 / (a2 + b2) : 0.0f;
}

// Radiance arriving along `ray`, whose first hit is `hit`, with at most
// `bounces` scattering events. Optionally records the path for the reverse pass.
// Every vertex consumes six random numbers so that replays line up.
// kEnvMap = false compiles the code without an environment map exactly as
// it was before maps existed (the same floating-point contractions), so such
// scenes render bit-identically; shade_path picks the instance.
template <bool kEnvMap>
HOST_DEVICE inline Vec3f shade_path_impl(const SceneView& s, const Ray& ray, Hit hit, int bounces, Pcg32& rng,
                                         PathRecord* record) {
    Vec3f radiance, throughput(1.0f, 1.0f, 1.0f);
    if (record) { record->count = 0; record->ray = ray; }
    if (hit.face < 0) return kEnvMap ? env_radiance(s.envmap, ray.direction) : radiance;
    float emission_weight = 1.0f;
    Vec3f wo = -ray.direction;
    for (int depth = 0;; ++depth) {
        // The last vertex of a path that is not recorded only adds emission:
        // nothing to do on a face that emits nothing (no surface point, no
        // material, no random numbers: nothing draws after this vertex).
        if (!record && depth >= bounces && (emission_weight <= 0.0f || s.face_light[hit.face] < 0)) break;
        PathVertex pv;
        pv.hit = hit;
        pv.emission_weight = emission_weight;
        SurfacePoint sp = surface_point(s, hit.face, hit.b1, hit.b2);
        // Emission seen from the previous vertex.
        if (emission_weight > 0.0f) {
            Vec3f le = emitted_radiance(s, hit.face, sp.geometric_normal, wo);
            radiance += throughput * le * emission_weight;
        }
        bool scatters = depth < bounces && orient_for_scattering(s, sp, wo);
        float u_light = rng.next_float(), ul1 = rng.next_float(), ul2 = rng.next_float();
        float u_lobe = rng.next_float(), ub1 = rng.next_float(), ub2 = rng.next_float();
        Material mat;
        if (scatters) mat = surface_material(s, hit.face, hit.b1, hit.b2);
        // Next-event estimation: the environment map with probability p_env
        // (envmap.h), else a uniformly chosen emissive face, a uniform point on it.
        const float p_env = kEnvMap ? s.envmap.nee_probability : 0.0f;
        if (kEnvMap && scatters && p_env > 0.0f && u_light < p_env) {
            Vec3f wi;
            float pdf_dir = 0.0f;
            Vec2f lookup;
            if (env_sample(s.envmap, ul1, ul2, wi, pdf_dir, &lookup)) {
                float pdf_light = p_env * pdf_dir;
                Vec3f le = env_radiance_at(s.envmap, lookup);
                Vec3f fcos = dot(sp.geometric_normal, wi) > 0.0f ? bsdf_eval_cos(mat, sp.shading_normal, wo, wi) : Vec3f();
                if (!is_black(le) && !is_black(fcos) &&
                    !occluded(s, sp.position, wi, kRayEpsilon, 3.0e38f, hit.face, -1)) {
                    float k = power_heuristic(pdf_light, bsdf_pdf(mat, sp.shading_normal, wo, wi)) / pdf_light;
                    radiance += throughput * fcos * le * k;
                    if (record) {  // the angles cost two inverse trigonometric calls: only for the replay
                        Vec2f angles = direction_angles(wi);
                        pv.light_face = kEnvLight;
                        pv.light_b1 = angles.x; pv.light_b2 = angles.y;
                        pv.nee_weight = k;
                    }
                }
            }
        } else if (scatters && s.num_emissive_faces > 0) {
            if (kEnvMap && p_env > 0.0f) u_light = (u_light - p_env) / (1.0f - p_env);
            const float p_area = kEnvMap ? 1.0f - p_env : 1.0f;
            int k = min_value(int(u_light * float(s.num_emissive_faces)), s.num_emissive_faces - 1);
            int light_face = s.emissive_faces[k];
            float lb1, lb2;
            sample_triangle(ul1, ul2, lb1, lb2);
            EmitterPoint lp = emitter_point(s, k, lb1, lb2);
            Vec3f to_light = lp.position - sp.position;
            float r2 = length_squared3(to_light);
            if (light_face != hit.face && r2 > 0.0f && lp.area > 0.0f) {
                float r = sqrtf(r2);
                Vec3f wi = to_light / r;
                Vec3f le = emitted_radiance(s, light_face, lp.normal, -wi);
                float cos_light = fabsf(dot(lp.normal, wi));
                Vec3f fcos = dot(sp.geometric_normal, wi) > 0.0f ? bsdf_eval_cos(mat, sp.shading_normal, wo, wi) : Vec3f();
                if (!is_black(le) && !is_black(fcos) && cos_light > 0.0f &&
                    !occluded(s, sp.position, wi, kRayEpsilon, r * (1.0f - kShadowEpsilon), hit.face, light_face)) {
                    float pdf_area = p_area / (float(s.num_emissive_faces) * lp.area);
                    float pdf_light = pdf_area * r2 / cos_light;
                    float w = power_heuristic(pdf_light, bsdf_pdf(mat, sp.shading_normal, wo, wi));
                    radiance += throughput * fcos * le * (w * cos_light / (r2 * pdf_area));
                    pv.light_face = light_face;
                    pv.light_b1 = lb1; pv.light_b2 = lb2;
                    // p_ū = (1 / E) · 2 (uniform density on the unit barycentric triangle).
                    pv.nee_weight = w * float(s.num_emissive_faces) * 0.5f / p_area;
                }
            }
        }
        // BSDF sampling: continues the path and finds emitters by chance.
        Hit next;
        float pdf = 0.0f;
        Vec3f fcos, wi;
        if (scatters && bsdf_sample(mat, sp.shading_normal, wo, u_lobe, ub1, ub2, wi) &&
            dot(sp.geometric_normal, wi) > 0.0f) {
            wi = normalize(wi);
            fcos = bsdf_eval_cos(mat, sp.shading_normal, wo, wi);
            pdf = bsdf_pdf(mat, sp.shading_normal, wo, wi);
            if (pdf > 0.0f && !is_black(fcos)) next = closest_hit(s, sp.position, wi, kRayEpsilon, 3.0e38f, hit.face);
        }
        bool escaped = false;
        if (next.face >= 0) {
            pv.inv_pdf = 1.0f / pdf;
        } else if (kEnvMap && pdf > 0.0f && !is_black(fcos)) {
            // Escaped: the map's radiance, MIS-weighted against its own sampler.
            // One evaluation of the direction's angles for the radiance and the density.
            float map_pdf;
            Vec3f le = env_radiance_pdf(s.envmap, wi, map_pdf);
            float k = power_heuristic(pdf, p_env > 0.0f ? p_env * map_pdf : 0.0f) / pdf;
            radiance += throughput * fcos * le * k;
            pv.inv_pdf = k;
            escaped = true;
        }
        if (record) { record->vertex[depth] = pv; record->count = depth + 1; }
        // depth < bounces <= kMaxBounces, so the slot after this vertex exists.
        if (kEnvMap && record && depth + 1 < kMaxPathVertices) {
            Hit& marker = record->vertex[depth + 1].hit;
            marker.face = escaped ? kEnvLight : -1;
            Vec2f angles = direction_angles(wi);
            marker.b1 = angles.x; marker.b2 = angles.y;
        }
        if (next.face < 0) break;
        emission_weight = 1.0f;
        if (s.face_light[next.face] >= 0) {
            SurfacePoint np = surface_point(s, next.face, next.b1, next.b2);
            float cos_light = fabsf(dot(np.geometric_normal, wi));
            float pdf_light = cos_light > 0.0f && np.area > 0.0f
                                  ? next.t * next.t / (cos_light * float(s.num_emissive_faces) * np.area) *
                                        (1.0f - p_env) : 0.0f;
            emission_weight = power_heuristic(pdf, pdf_light);
        }
        throughput = throughput * fcos / pdf;
        wo = -wi;
        hit = next;
    }
    return radiance;
}

// The map's instance. On the CPU it is compiled in its own translation unit
// (envmap_paths.cpp): GCC's inlining budgets are per unit, so instantiating it
// next to the kernels changed their code for scenes without a map (one-ulp
// differences through floating-point contraction). CUDA without relocatable
// device code needs it inline.
#if PDVG_HAS_CUDA_COMPILER
HOST_DEVICE inline Vec3f shade_path_with_envmap(const SceneView& s, const Ray& ray, Hit hit, int bounces, Pcg32& rng,
                                                PathRecord* record) {
    return shade_path_impl<true>(s, ray, hit, bounces, rng, record);
}
#else
Vec3f shade_path_with_envmap(const SceneView& s, const Ray& ray, Hit hit, int bounces, Pcg32& rng,
                             PathRecord* record);
#endif

HOST_DEVICE inline Vec3f shade_path(const SceneView& s, const Ray& ray, Hit hit, int bounces, Pcg32& rng,
                                    PathRecord* record) {
    if (s.envmap.texels) return shade_path_with_envmap(s, ray, hit, bounces, rng, record);
    return shade_path_impl<false>(s, ray, hit, bounces, rng, record);
}

// Everything the reverse pass needs to know about one path vertex.
struct VertexState {
    SurfacePoint point;
    SurfacePointAdjoint adjoint;
    Vec3f wo;          // unit, toward the previous vertex
    bool scatters = false;
};

}  // namespace rt
}  // namespace pdvg
