// GGX microfacet BSDFs: a rough conductor and a rough plastic (a rough
// dielectric coat over a diffuse base), the model of Mitsuba 3's
// `roughconductor` and `roughplastic` with distribution "ggx",
// sample_visible true and nonlinear false, written from the papers:
//   Walter et al. 2007, "Microfacet Models for Refraction through Rough
//     Surfaces" (GGX D, Smith G1, eq. 33-34);
//   Heitz 2018, "Sampling the GGX Distribution of Visible Normals" (VNDF);
//   Weidlich & Wilkie 2007 (layered plastic: diffuse base under a coat).
//
// Notation: n the shading normal, wo the unit direction to the viewer (the
// previous path vertex), wi the unit direction to the light (the next
// vertex), h = normalize(wo + wi), and the four cosines
//     c_l = n·wi,  c_v = n·wo,  c_h = n·h,  c_vh = wo·h (= wi·h).
// Every value is the cosine-weighted f(wo, wi) (n·wi), as in bsdf.h.
//
//   D(c_h)   = α² / (π ((1 - c_h²) + α² c_h²)²)                 (GGX, isotropic)
//   G1(c)    = 2 / (1 + sqrt(1 + α² (1 - c²) / c²))             (Smith, separable)
//   conductor:  f c_l = ks F_c(c_vh; η + iκ) D G1(c_v) G1(c_l) / (4 c_v)
//   plastic:    f c_l = ks F_d(c_vh; η) D G1(c_v) G1(c_l) / (4 c_v)
//                     + kd / (1 - R_int) · T(c_v) T(c_l) c_l / (π η²)
// F_c is the exact Fresnel reflectance of a conductor with complex index
// η + iκ (per colour channel), F_d that of a dielectric with relative index
// η = int_ior / ext_ior. For the plastic, T(μ) is the fraction of light that
// enters the coat through the rough interface from direction cos θ = μ (one
// minus the reflected part, less what the coat's own microfacets mask), and
// R_int the hemispherical reflectance of the coat seen from inside:
//   T(μ)  = ∫ VNDF_wo(m) (1 - F_d(wo·m; η)) G1(refract(wo, m)) dm
//   R(μ)  = ∫ VNDF_wo(m) F_d(wo·m; 1/η) G1(reflect(wo, m)) dm
//   R_int = 2 mean_j R(μ_j) μ_j over the 64 table nodes μ_j = j / 63,
// as Mitsuba defines them (its mean over nodes, not a trapezoid rule, so the
// images agree). Both depend on α, so they are tabulated on a grid of
// (μ, α) at host time (build_plastic_table) and interpolated bilinearly:
// the interpolant is differentiable in α (piecewise linearly), which gives
// roughness gradients through the diffuse term too, textures included.
//
// Gradients: the value is linear in ks and kd (their adjoints are the
// factors), and depends on the geometry only through (c_l, c_v, c_h, c_vh)
// and on α. Those five partial derivatives come from forward-mode dual
// numbers (Dual below) through the same templated code as the value, and
// the chain rule back to n, wo and wi is written out in
// microfacet_eval_cos_adjoint.
#pragma once

#include "math3d.h"

namespace pdvg {
namespace rt {

enum MaterialModel : int { kModelBlinnPhong = 0, kModelRoughConductor = 1, kModelRoughPlastic = 2 };

// Plastic table: kPlasticMu nodes in μ = cos θ on [0, 1] (Mitsuba's 64) by
// kPlasticAlpha nodes in α on [0, 1]; transmittance rows, then R_int per α.
constexpr int kPlasticMu = 64;
constexpr int kPlasticAlpha = 33;
constexpr int kPlasticTableSize = kPlasticAlpha * kPlasticMu + kPlasticAlpha;
// Below this α the lobe is clamped (zero roughness gradient there): D ~ 1/α².
constexpr float kMinAlpha = 1e-3f;

// Per-material constants of the microfacet models (not differentiated).
struct MicrofacetParams {
    int model = kModelBlinnPhong;
    Vec3f eta, k;                   // conductor: complex index per channel
    float ior = 1.5f;               // plastic: int_ior / ext_ior
    const float* table = nullptr;   // plastic: kPlasticTableSize floats
};

// Packed layout (pydiffvg/render3d/render.py): material_model (M, 2) ints
// [model, offset of the plastic table in material_params]; material_params
// holds (M, 8) floats [η rgb, κ rgb, ior, 0] followed by the tables.
constexpr int kMaterialParamStride = 8;

HOST_DEVICE inline MicrofacetParams load_microfacet_params(const int* model, const float* params, int m) {
    MicrofacetParams p;
    if (!model) return p;
    p.model = model[2 * m];
    if (p.model == kModelBlinnPhong) return p;
    const float* row = params + kMaterialParamStride * m;
    p.eta = Vec3f(row[0], row[1], row[2]);
    p.k = Vec3f(row[3], row[4], row[5]);
    p.ior = row[6];
    if (p.model == kModelRoughPlastic) p.table = params + model[2 * m + 1];
    return p;
}

// ---------------------------------------------------------------------------
// Forward-mode dual numbers with kDualSize partials: x = v + Σ d_i ε_i.
constexpr int kDualSize = 5;
enum DualSlot : int { kDualCosLight = 0, kDualCosView = 1, kDualCosHalf = 2, kDualCosViewHalf = 3, kDualAlpha = 4 };

struct Dual {
    float v;
    float d[kDualSize];
    HOST_DEVICE Dual(float value = 0.0f) : v(value) {
        for (int i = 0; i < kDualSize; ++i) d[i] = 0.0f;
    }
    HOST_DEVICE static Dual variable(float value, int slot) {
        Dual x(value);
        x.d[slot] = 1.0f;
        return x;
    }
};

HOST_DEVICE inline float value_of(float x) { return x; }
HOST_DEVICE inline double value_of(double x) { return x; }
HOST_DEVICE inline float value_of(const Dual& x) { return x.v; }

HOST_DEVICE inline Dual operator+(const Dual& a, const Dual& b) {
    Dual r(a.v + b.v);
    for (int i = 0; i < kDualSize; ++i) r.d[i] = a.d[i] + b.d[i];
    return r;
}
HOST_DEVICE inline Dual operator-(const Dual& a, const Dual& b) {
    Dual r(a.v - b.v);
    for (int i = 0; i < kDualSize; ++i) r.d[i] = a.d[i] - b.d[i];
    return r;
}
HOST_DEVICE inline Dual operator-(const Dual& a) {
    Dual r(-a.v);
    for (int i = 0; i < kDualSize; ++i) r.d[i] = -a.d[i];
    return r;
}
HOST_DEVICE inline Dual operator*(const Dual& a, const Dual& b) {
    Dual r(a.v * b.v);
    for (int i = 0; i < kDualSize; ++i) r.d[i] = a.d[i] * b.v + a.v * b.d[i];
    return r;
}
HOST_DEVICE inline Dual operator/(const Dual& a, const Dual& b) {
    float inv = 1.0f / b.v;
    Dual r(a.v * inv);
    for (int i = 0; i < kDualSize; ++i) r.d[i] = (a.d[i] - r.v * b.d[i]) * inv;
    return r;
}
HOST_DEVICE inline Dual operator+(const Dual& a, float b) { return a + Dual(b); }
HOST_DEVICE inline Dual operator+(float a, const Dual& b) { return Dual(a) + b; }
HOST_DEVICE inline Dual operator-(const Dual& a, float b) { return a - Dual(b); }
HOST_DEVICE inline Dual operator-(float a, const Dual& b) { return Dual(a) - b; }
HOST_DEVICE inline Dual operator*(const Dual& a, float b) {
    Dual r(a.v * b);
    for (int i = 0; i < kDualSize; ++i) r.d[i] = a.d[i] * b;
    return r;
}
HOST_DEVICE inline Dual operator*(float a, const Dual& b) { return b * a; }
HOST_DEVICE inline Dual operator/(const Dual& a, float b) { return a * (1.0f / b); }
HOST_DEVICE inline Dual operator/(float a, const Dual& b) { return Dual(a) / b; }

HOST_DEVICE inline float safe_sqrt_of(float x) { return sqrtf(max_value(x, 0.0f)); }
HOST_DEVICE inline double safe_sqrt_of(double x) { return sqrt(max_value(x, 0.0)); }
// d sqrt(x) = dx / (2 sqrt(x)); zero derivative where x <= 0 (clamped).
HOST_DEVICE inline Dual safe_sqrt_of(const Dual& x) {
    float s = sqrtf(max_value(x.v, 0.0f));
    Dual r(s);
    if (s > 0.0f)
        for (int i = 0; i < kDualSize; ++i) r.d[i] = x.d[i] * (0.5f / s);
    return r;
}

// ---------------------------------------------------------------------------
// The microfacet terms, templated on float or Dual.

// GGX D with Mitsuba's cut-off (D c_h <= 1e-20 counts as zero).
template <typename T>
HOST_DEVICE inline T ggx_distribution(const T& c_h, const T& alpha) {
    T c2 = c_h * c_h;
    T a2 = alpha * alpha;
    T denom = (1.0f - c2) + a2 * c2;
    T d = a2 / (kPi * denom * denom);
    if (!(value_of(d) * value_of(c_h) > 1e-20f)) return T(0.0f);
    return d;
}

// Smith G1 of a direction with cosine c (> 0, the caller checks the
// orientation against h); 1 at normal incidence.
template <typename T>
HOST_DEVICE inline T smith_g1(const T& c, const T& alpha) {
    T c2 = c * c;
    T s2 = 1.0f - c2;
    if (!(value_of(s2) > 0.0f)) return T(1.0f);
    T q = alpha * alpha * s2 / c2;
    return 2.0f / (1.0f + safe_sqrt_of(1.0f + q));
}

// Unpolarised Fresnel reflectance of a dielectric interface, light arriving
// from the side of relative index 1 with cos c >= 0 onto relative index eta:
// cos_t = sqrt(1 - (1 - c²)/η²) (0 under total internal reflection), and
//   r_s = (c - η cos_t)/(c + η cos_t),  r_p = (cos_t - η c)/(cos_t + η c),
//   F = (r_s² + r_p²)/2.
template <typename T>
HOST_DEVICE inline T fresnel_dielectric(const T& c, float eta) {
    if (eta == 1.0f) return T(0.0f);
    if (!(value_of(c) > 0.0f)) return T(1.0f);
    T cos_t = safe_sqrt_of(1.0f - (1.0f - c * c) * (1.0f / (eta * eta)));
    T rs = (c - eta * cos_t) / (c + eta * cos_t);
    T rp = (cos_t - eta * c) / (cos_t + eta * c);
    return 0.5f * (rs * rs + rp * rp);
}

// Fresnel reflectance of a conductor with complex index η + iκ at cos c
// (Born & Wolf; the form with a² + b² = sqrt((η² - κ² - s²)² + 4η²κ²)):
//   t = η² - κ² - s², s² = 1 - c²,  a = sqrt((a²+b² + t)/2),
//   R_s = (a²+b² + c² - 2ac) / (a²+b² + c² + 2ac),
//   R_p = R_s (c²(a²+b²) + s⁴ - 2ac s²) / (c²(a²+b²) + s⁴ + 2ac s²),
//   F = (R_s + R_p)/2.  (η, κ) = (0, 1) reflects everything.
template <typename T>
HOST_DEVICE inline T fresnel_conductor(const T& c, float eta, float k) {
    T c2 = c * c;
    T s2 = 1.0f - c2;
    T s4 = s2 * s2;
    T t = (eta * eta - k * k) - s2;
    T a2pb2 = safe_sqrt_of(t * t + 4.0f * eta * eta * k * k);
    T a = safe_sqrt_of(0.5f * (a2pb2 + t));
    T term1 = a2pb2 + c2, term2 = 2.0f * c * a;
    T rs = (term1 - term2) / (term1 + term2);
    T term3 = a2pb2 * c2 + s4, term4 = term2 * s2;
    T rp = rs * (term3 - term4) / (term3 + term4);
    return 0.5f * (rs + rp);
}

// Bilinear lookup of the plastic table at (μ, α), μ = cos θ in [0, 1]:
// nodes μ_i = i / (kPlasticMu - 1), α_j = j / (kPlasticAlpha - 1), each
// axis as Mitsuba's lerp_gather (index clamped to the last cell).
template <typename T>
HOST_DEVICE inline T plastic_transmittance(const float* table, const T& mu, const T& alpha) {
    T x = mu * float(kPlasticMu - 1);
    float xv = clamp_value(value_of(x), 0.0f, float(kPlasticMu - 1));
    int i = min_value(int(xv), kPlasticMu - 2);
    T fx = x - float(i);
    float alpha_v = value_of(alpha);
    T y = alpha * float(kPlasticAlpha - 1);
    int j = min_value(int(clamp_value(alpha_v, 0.0f, 1.0f) * float(kPlasticAlpha - 1)), kPlasticAlpha - 2);
    T fy = alpha_v > 1.0f ? T(1.0f) : y - float(j);
    const float* row0 = table + j * kPlasticMu;
    const float* row1 = row0 + kPlasticMu;
    T top = row0[i] + (row0[i + 1] - row0[i]) * fx;
    T bottom = row1[i] + (row1[i + 1] - row1[i]) * fx;
    return top + (bottom - top) * fy;
}

template <typename T>
HOST_DEVICE inline T plastic_internal_reflectance(const float* table, const T& alpha) {
    const float* r = table + kPlasticAlpha * kPlasticMu;
    float alpha_v = value_of(alpha);
    int j = min_value(int(clamp_value(alpha_v, 0.0f, 1.0f) * float(kPlasticAlpha - 1)), kPlasticAlpha - 2);
    T fy = alpha_v > 1.0f ? T(1.0f) : alpha * float(kPlasticAlpha - 1) - float(j);
    return r[j] + (r[j + 1] - r[j]) * fy;
}

// The value's two factors: f c_l = ks ⊙ specular + kd · diffuse.
template <typename T>
struct MicrofacetTerms {
    T specular[3];
    T diffuse;
};

template <typename T>
HOST_DEVICE inline MicrofacetTerms<T> microfacet_terms(const MicrofacetParams& p, const T& c_l, const T& c_v,
                                                       const T& c_h, const T& c_vh, const T& alpha) {
    MicrofacetTerms<T> out;
    T lobe = ggx_distribution(c_h, alpha) * smith_g1(c_v, alpha) * smith_g1(c_l, alpha) / (4.0f * c_v);
    if (p.model == kModelRoughConductor) {
        for (int ch = 0; ch < 3; ++ch) out.specular[ch] = lobe * fresnel_conductor(c_vh, p.eta[ch], p.k[ch]);
        out.diffuse = T(0.0f);
        return out;
    }
    T coat = lobe * fresnel_dielectric(c_vh, p.ior);
    for (int ch = 0; ch < 3; ++ch) out.specular[ch] = coat;
    T inside = 1.0f - plastic_internal_reflectance(p.table, alpha);
    out.diffuse = plastic_transmittance(p.table, c_v, alpha) * plastic_transmittance(p.table, c_l, alpha) * c_l /
                  (kPi * p.ior * p.ior * inside);
    return out;
}

HOST_DEVICE inline float effective_alpha(float roughness) { return max_value(roughness, kMinAlpha); }

// Probability of sampling the coat's lobe (plastic): Mitsuba's weighting
// (1 - T(c_v)) w_s against T(c_v) (1 - w_s), w_s = mean(ks) / (mean(kd) +
// mean(ks)) (here the local values, not a texture's global mean; any
// choice is unbiased as long as the pdf uses the same one).
HOST_DEVICE inline float plastic_specular_probability(const MicrofacetParams& p, Vec3f kd, Vec3f ks, float c_v,
                                                      float alpha) {
    float d_mean = (kd.x + kd.y + kd.z) / 3.0f, s_mean = (ks.x + ks.y + ks.z) / 3.0f;
    if (!(d_mean + s_mean > 0.0f)) return 0.5f;
    float w = s_mean / (d_mean + s_mean);
    float t = plastic_transmittance(p.table, c_v, alpha);
    float ps = (1.0f - t) * w, pd = t * (1.0f - w);
    return ps + pd > 0.0f ? ps / (ps + pd) : 0.5f;
}

struct MicrofacetCosines {
    float c_l, c_v, c_h, c_vh;
    Vec3f h;
};

// False when the pair does not reflect (either side below the surface).
HOST_DEVICE inline bool microfacet_cosines(Vec3f n, Vec3f wo, Vec3f wi, MicrofacetCosines& c) {
    c.c_l = dot(n, wi);
    c.c_v = dot(n, wo);
    if (!(c.c_l > 0.0f && c.c_v > 0.0f)) return false;
    c.h = normalize(wi + wo);
    c.c_h = dot(n, c.h);
    c.c_vh = dot(wo, c.h);
    return c.c_h > 0.0f && c.c_vh > 0.0f;
}

HOST_DEVICE NOINLINE inline Vec3f microfacet_eval_cos(const MicrofacetParams& p, Vec3f kd, Vec3f ks, float roughness, Vec3f n,
                                             Vec3f wo, Vec3f wi) {
    MicrofacetCosines c;
    if (!microfacet_cosines(n, wo, wi, c)) return Vec3f();
    MicrofacetTerms<float> t = microfacet_terms<float>(p, c.c_l, c.c_v, c.c_h, c.c_vh, effective_alpha(roughness));
    return Vec3f(ks.x * t.specular[0], ks.y * t.specular[1], ks.z * t.specular[2]) + kd * t.diffuse;
}

// Solid-angle density of microfacet_sample: the VNDF density of h,
// D(h) G1(wo) (wo·h) / c_v, times the reflection Jacobian 1 / (4 wo·h).
HOST_DEVICE NOINLINE inline float microfacet_pdf(const MicrofacetParams& p, Vec3f kd, Vec3f ks, float roughness, Vec3f n,
                                        Vec3f wo, Vec3f wi) {
    float c_l = dot(n, wi), c_v = dot(n, wo);
    if (!(c_l > 0.0f && c_v > 0.0f)) return 0.0f;
    float alpha = effective_alpha(roughness);
    Vec3f h = normalize(wi + wo);
    float c_h = dot(n, h);
    float lobe = c_h > 0.0f ? ggx_distribution(c_h, alpha) * smith_g1(c_v, alpha) / (4.0f * c_v) : 0.0f;
    if (p.model == kModelRoughConductor) return lobe;
    float ps = plastic_specular_probability(p, kd, ks, c_v, alpha);
    return ps * lobe + (1.0f - ps) * c_l / kPi;
}

// Heitz 2018, listing 1, in the frame (t, b, n): stretch the view direction
// by α, sample a point on the projected unit hemisphere (a disk whose far
// half is squeezed by s = (1 + v_h.z) / 2), lift it to the hemisphere and
// unstretch. Returns the microfacet normal in local coordinates (float in
// the tracer, double in the host table builder).
template <typename T>
HOST_DEVICE inline Vec3T<T> sample_ggx_visible_normal(Vec3T<T> v, T alpha, T u1, T u2) {
    using V = Vec3T<T>;
    V vh = normalize(V(alpha * v.x, alpha * v.y, v.z));
    T lensq = vh.x * vh.x + vh.y * vh.y;
    V t1 = lensq > T(0) ? V(-vh.y, vh.x, T(0)) / T(sqrt(lensq)) : V(T(1), T(0), T(0));
    V t2 = cross(vh, t1);
    T r = sqrt(u1), phi = T(2.0 * 3.14159265358979323846) * u2;
    T p1 = r * cos(phi), p2 = r * sin(phi);
    T s = T(0.5) * (T(1) + vh.z);
    p2 = (T(1) - s) * sqrt(max_value(T(0), T(1) - p1 * p1)) + s * p2;
    V nh = t1 * p1 + t2 * p2 + vh * T(sqrt(max_value(T(0), T(1) - p1 * p1 - p2 * p2)));
    return normalize(V(alpha * nh.x, alpha * nh.y, max_value(nh.z, T(0))));
}

// Draws wi: the coat / conductor lobe by VNDF sampling and reflection, or
// (plastic) the diffuse base by cosine-weighted hemisphere sampling.
HOST_DEVICE NOINLINE inline bool microfacet_sample(const MicrofacetParams& p, Vec3f kd, Vec3f ks, float roughness, Vec3f n,
                                          Vec3f wo, float u_lobe, float u1, float u2, Vec3f& wi) {
    float c_v = dot(n, wo);
    if (!(c_v > 0.0f)) return false;
    float alpha = effective_alpha(roughness);
    Vec3f t, b;
    make_frame(n, t, b);
    bool glossy = p.model == kModelRoughConductor || u_lobe < plastic_specular_probability(p, kd, ks, c_v, alpha);
    if (glossy) {
        Vec3f m = sample_ggx_visible_normal(Vec3f(dot(wo, t), dot(wo, b), c_v), alpha, u1, u2);
        Vec3f h = t * m.x + b * m.y + n * m.z;
        wi = h * (2.0f * dot(wo, h)) - wo;
    } else {
        float r = sqrtf(u1), phi = 2.0f * kPi * u2;
        wi = t * (r * cosf(phi)) + b * (r * sinf(phi)) + n * sqrtf(max_value(0.0f, 1.0f - u1));
    }
    return dot(n, wi) > 0.0f;
}

// Adjoint of microfacet_eval_cos. With L = d_value · (f c_l):
//   ∂L/∂ks = d_value ⊙ specular,  ∂L/∂kd = d_value · diffuse,
//   ∂L/∂x = Σ_ch d_value_ch (ks_ch ∂specular_ch/∂x + kd_ch ∂diffuse/∂x)
// for x in (c_l, c_v, c_h, c_vh, α), from the duals; then
//   c_l = n·wi, c_v = n·wo:  n̄ += wi ∂c_l + wo ∂c_v,  w̄i += n ∂c_l,  w̄o += n ∂c_v;
//   c_h = n·h, c_vh = wo·h:  n̄ += h ∂c_h,  w̄o += h ∂c_vh,  h̄ = n ∂c_h + wo ∂c_vh;
//   h = u / |u|, u = wo + wi:  ū = (h̄ - (h̄·h) h) / |u| into both w̄o and w̄i.
HOST_DEVICE NOINLINE inline void microfacet_eval_cos_adjoint(const MicrofacetParams& p, Vec3f kd, Vec3f ks, float roughness,
                                                    Vec3f n, Vec3f wo, Vec3f wi, Vec3f d_value, Vec3f& d_n,
                                                    Vec3f& d_wo, Vec3f& d_wi, Vec3f& d_kd, Vec3f& d_ks,
                                                    float& d_roughness) {
    MicrofacetCosines c;
    if (!microfacet_cosines(n, wo, wi, c)) return;
    bool clamped = !(roughness > kMinAlpha);
    MicrofacetTerms<Dual> t = microfacet_terms<Dual>(
        p, Dual::variable(c.c_l, kDualCosLight), Dual::variable(c.c_v, kDualCosView),
        Dual::variable(c.c_h, kDualCosHalf), Dual::variable(c.c_vh, kDualCosViewHalf),
        Dual::variable(effective_alpha(roughness), kDualAlpha));
    add_to(d_ks, Vec3f(d_value.x * t.specular[0].v, d_value.y * t.specular[1].v, d_value.z * t.specular[2].v));
    add_to(d_kd, d_value * t.diffuse.v);
    float partial[kDualSize];
    float kd_weight = dot(d_value, kd);
    for (int i = 0; i < kDualSize; ++i)
        partial[i] = d_value.x * ks.x * t.specular[0].d[i] + d_value.y * ks.y * t.specular[1].d[i] +
                     d_value.z * ks.z * t.specular[2].d[i] + kd_weight * t.diffuse.d[i];
    if (!clamped) d_roughness += partial[kDualAlpha];
    add_to(d_n, wi * partial[kDualCosLight] + wo * partial[kDualCosView] + c.h * partial[kDualCosHalf]);
    add_to(d_wi, n * partial[kDualCosLight]);
    add_to(d_wo, n * partial[kDualCosView] + c.h * partial[kDualCosViewHalf]);
    Vec3f d_u = normalize_adjoint(wi + wo, n * partial[kDualCosHalf] + wo * partial[kDualCosViewHalf]);
    add_to(d_wi, d_u);
    add_to(d_wo, d_u);
}

// Host only: fills `table` (kPlasticTableSize floats) for relative index
// eta by Gauss-Legendre quadrature over the VNDF's sample square
// (microfacet.cpp).
void build_plastic_table(float eta, float* table);

// Host only, a test hook: for `count` triples (n, wo, wi) and one material,
// writes bsdf_eval_cos (3), bsdf_pdf (1), the direction bsdf_sample draws
// from u (3; zero where it fails) and the adjoints of bsdf_eval_cos for
// d_value (16: d_n, d_wo, d_wi, d_diffuse, d_specular, d_roughness).
struct Material;
struct BsdfProbe {
    const Material& material;
    const float *normals, *wo, *wi, *u, *d_value;
    float *value, *pdf, *sampled, *grads;
};
void bsdf_probe(const BsdfProbe& probe, int count);

}  // namespace rt
}  // namespace pdvg
