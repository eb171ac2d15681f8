// The material model: Lambertian diffuse plus one glossy lobe, a normalised
// Blinn-Phong (modified, energy-bounded) with exponent e from roughness α:
//   f(wo, wi) = kd / π + ks (e + 2) / (8π) (n·h)^e,   e = 2 / α² - 2,
// h = normalize(wo + wi). Every function works with the cosine-weighted
// value f · (n·wi), the quantity the estimators use. Reflection only.
// Materials whose model is a GGX rough conductor or rough plastic
// dispatch to microfacet.h (the same kd / ks / roughness slots).
// The three entry points are FORCE_INLINE: with the dispatch added, the
// compiler's size heuristics stopped inlining them, which moves FMA
// contractions (-march=native) and changed Blinn-Phong images in the last
// bits; inlined, they stay bit-identical to the model's images before.
#pragma once

#include "microfacet.h"

namespace pdvg {
namespace rt {

struct Material {
    Vec3f diffuse, specular;
    float roughness = 1.0f;
    MicrofacetParams microfacet;  // model kModelBlinnPhong: the lobe above
};

HOST_DEVICE inline Material load_material(const float* diffuse, const float* specular, const float* roughness, int m) {
    Material mat;
    mat.diffuse = load3(diffuse, m);
    mat.specular = specular ? load3(specular, m) : Vec3f();
    mat.roughness = roughness ? roughness[m] : 1.0f;
    return mat;
}

constexpr float kMinRoughnessSquared = 1e-4f;

HOST_DEVICE inline float phong_exponent(float roughness) {
    float a2 = max_value(roughness * roughness, kMinRoughnessSquared);
    return max_value(2.0f / a2 - 2.0f, 0.0f);
}

// Probability of picking the glossy lobe when sampling.
HOST_DEVICE inline float specular_probability(const Material& m) {
    float d = luminance(m.diffuse), s = luminance(m.specular);
    if (!(d + s > 0.0f)) return 0.0f;
    return s / (d + s);
}

// f(wo, wi) (n·wi); zero unless wo and wi are on the side n faces.
HOST_DEVICE FORCE_INLINE Vec3f bsdf_eval_cos(const Material& m, Vec3f n, Vec3f wo, Vec3f wi) {
    if (m.microfacet.model != kModelBlinnPhong)
        return microfacet_eval_cos(m.microfacet, m.diffuse, m.specular, m.roughness, n, wo, wi);
    float cos_i = dot(n, wi), cos_o = dot(n, wo);
    if (!(cos_i > 0.0f && cos_o > 0.0f)) return Vec3f();
    Vec3f f = m.diffuse * (1.0f / kPi);
    if (!is_black(m.specular)) {
        float e = phong_exponent(m.roughness);
        float c = max_value(dot(n, normalize(wi + wo)), 0.0f);
        f += m.specular * ((e + 2.0f) / (8.0f * kPi) * powf(c, e));
    }
    return f * cos_i;
}

// Solid-angle density of bsdf_sample's direction.
HOST_DEVICE FORCE_INLINE float bsdf_pdf(const Material& m, Vec3f n, Vec3f wo, Vec3f wi) {
    if (m.microfacet.model != kModelBlinnPhong)
        return microfacet_pdf(m.microfacet, m.diffuse, m.specular, m.roughness, n, wo, wi);
    float cos_i = dot(n, wi), cos_o = dot(n, wo);
    if (!(cos_i > 0.0f && cos_o > 0.0f)) return 0.0f;
    float ps = specular_probability(m);
    float pdf = (1.0f - ps) * cos_i / kPi;
    if (ps > 0.0f) {
        float e = phong_exponent(m.roughness);
        Vec3f h = normalize(wi + wo);
        float c = max_value(dot(n, h), 0.0f);
        float wo_h = dot(wo, h);
        if (wo_h > 0.0f) pdf += ps * (e + 1.0f) / (2.0f * kPi) * powf(c, e) / (4.0f * wo_h);
    }
    return pdf;
}

// Draws wi: cosine-weighted for the diffuse lobe; for the glossy lobe a half
// vector with density (e + 1)/(2π) (n·h)^e, reflected. Returns false on failure.
HOST_DEVICE FORCE_INLINE bool bsdf_sample(const Material& m, Vec3f n, Vec3f wo, float u_lobe, float u1, float u2, Vec3f& wi) {
    if (m.microfacet.model != kModelBlinnPhong)
        return microfacet_sample(m.microfacet, m.diffuse, m.specular, m.roughness, n, wo, u_lobe, u1, u2, wi);
    Vec3f t, b;
    make_frame(n, t, b);
    float phi = 2.0f * kPi * u2;
    if (u_lobe < specular_probability(m)) {
        float e = phong_exponent(m.roughness);
        float cos_t = powf(u1, 1.0f / (e + 1.0f));
        float sin_t = sqrtf(max_value(0.0f, 1.0f - cos_t * cos_t));
        Vec3f h = t * (sin_t * cosf(phi)) + b * (sin_t * sinf(phi)) + n * cos_t;
        wi = h * (2.0f * dot(wo, h)) - wo;
    } else {
        float r = sqrtf(u1);
        wi = t * (r * cosf(phi)) + b * (r * sinf(phi)) + n * sqrtf(max_value(0.0f, 1.0f - u1));
    }
    return dot(n, wi) > 0.0f;
}

struct MaterialGrad {
    Vec3f diffuse, specular;
    float roughness = 0.0f;
};

// Adjoint of bsdf_eval_cos with respect to n, wo, wi and the material.
HOST_DEVICE inline void bsdf_eval_cos_adjoint(const Material& m, Vec3f n, Vec3f wo, Vec3f wi, Vec3f d_value,
                                              Vec3f& d_n, Vec3f& d_wo, Vec3f& d_wi, MaterialGrad& d_mat) {
    if (m.microfacet.model != kModelBlinnPhong) {
        microfacet_eval_cos_adjoint(m.microfacet, m.diffuse, m.specular, m.roughness, n, wo, wi, d_value, d_n, d_wo,
                                    d_wi, d_mat.diffuse, d_mat.specular, d_mat.roughness);
        return;
    }
    float cos_i = dot(n, wi), cos_o = dot(n, wo);
    if (!(cos_i > 0.0f && cos_o > 0.0f)) return;
    Vec3f f = m.diffuse * (1.0f / kPi);
    add_to(d_mat.diffuse, d_value * (cos_i / kPi));
    if (!is_black(m.specular)) {
        float e = phong_exponent(m.roughness);
        Vec3f h_un = wi + wo;
        Vec3f h = normalize(h_un);
        float c = max_value(dot(n, h), 0.0f);
        float ce = powf(c, e);
        float lobe = (e + 2.0f) / (8.0f * kPi) * ce;
        f += m.specular * lobe;
        add_to(d_mat.specular, d_value * (cos_i * lobe));
        float d_lobe = dot(d_value, m.specular) * cos_i;
        // d lobe / d e = c^e / (8π) + lobe ln c;  d e / d α = -4 / α³ (unclamped range).
        float a2 = m.roughness * m.roughness;
        if (a2 > kMinRoughnessSquared && e > 0.0f && c > 0.0f) {
            float d_e = ce / (8.0f * kPi) + lobe * logf(c);
            d_mat.roughness += d_lobe * d_e * (-4.0f / (a2 * m.roughness));
        }
        if (c > 0.0f && e > 0.0f) {
            float d_c = d_lobe * (e + 2.0f) / (8.0f * kPi) * e * powf(c, e - 1.0f);
            add_to(d_n, h * d_c);
            Vec3f d_h_un = normalize_adjoint(h_un, n * d_c);
            add_to(d_wi, d_h_un);
            add_to(d_wo, d_h_un);
        }
    }
    // value = f cos_i, cos_i = n·wi.
    float d_cos_i = dot(d_value, f);
    add_to(d_n, wi * d_cos_i);
    add_to(d_wi, n * d_cos_i);
}

}  // namespace rt
}  // namespace pdvg
