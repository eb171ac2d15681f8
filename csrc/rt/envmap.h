// An environment light: an equirectangular (latitude-longitude) RGB map at
// infinity, its bilinear lookup and adjoint, and the importance sampler that
// next-event estimation draws directions from.
//
// Convention (the same as Mitsuba 3's `envmap` emitter, so that scenes can be
// compared texel for texel). A world direction d is taken to the map's frame
// by the inverse of `to_world` (a rotation R, so local = Rᵀ d). There
//     u = atan2(l.x, -l.z) / 2π  (wrapped to [0, 1)),   v = acos(l.y) / π,
// i.e. +y is the zenith (v = 0, row 0) and the -z axis is u = 0; inversely
//     l = (sin φ sin θ, cos θ, -cos φ sin θ),  φ = 2π u,  θ = π v.
// Texel (row i, column j) of the (H, W, 3) map sits at
//     u = (j + 0.5) / W  (texel centres, periodic in φ),
//     v = i / (H - 1)    ("align corners": row 0 is the zenith, row H-1 the nadir),
// and the radiance between them is the bilinear blend of the four nearest
// texels: with x = u W - 0.5 (columns wrap) and y = v (H - 1) (clamped),
//     L = (1-fy)((1-fx) t00 + fx t01) + fy ((1-fx) t10 + fx t11).
//
// Sampling. The bilinear patches between texel centres, (H - 1) bands ×
// W columns, get a piecewise-constant density: patch (r, c) spans
// θ ∈ [θ_r, θ_{r+1}], θ_r = π r / (H - 1), and φ ∈ [2π (c + ½)/W, 2π (c + 3/2)/W].
// Its weight is the mean luminance of its four corners times its solid angle
//     Ω_rc = (2π / W) (cos θ_r - cos θ_{r+1})
// (the ∫ sin θ dθ dφ of the "luminance × sin θ" rule, exact per band), so the
// weight is > 0 wherever the bilinear radiance can be > 0. A patch is chosen
// from the marginal CDF over bands and the conditional CDF over the columns
// of the chosen band (built once per render on the scene's device, envmap.cpp);
// inside it, φ is uniform and cos θ is uniform, which is uniform in solid
// angle, so the density of the drawn direction is
//     p(ω) = P(r) P(c | r) / Ω_rc,
// bounded (no 1 / sin θ at the poles).
#pragma once

#include "../sampling/boundary_sampler.h"
#include "math3d.h"

namespace pdvg {

struct ExecutionContext;

namespace rt {

struct EnvMapView {
    const float* texels = nullptr;        // (H, W, 3), or null: no environment light
    int width = 0, height = 0;
    float to_world[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};  // row-major rotation: world = R · local
    const float* marginal = nullptr;      // (H - 1) + 1 CDF over bands
    const float* conditional = nullptr;   // (H - 1) × (W + 1) CDFs over columns, one per band
    // Per-band constants of the sampler, built with the CDFs so that a
    // sample or a density costs no cosines: band_cos[r] = cos θ_r (H values)
    // and band_omega[r] = Ω_rc of a patch in band r (H - 1 values), each
    // computed by the very expression the sampler used before (bit-equal).
    const float* band_cos = nullptr;
    const float* band_omega = nullptr;
    // Guide tables of the two CDF searches (env_find_piece): marginal_bins + 1
    // entries for the marginal, (H - 1) rows of conditional_bins + 1 for the
    // conditionals (bins: env_guide_bins of H - 1 and of W).
    const int* marginal_guide = nullptr;
    const int* conditional_guide = nullptr;
    int marginal_bins = 0, conditional_bins = 0;
    float nee_probability = 0.0f;         // chance next-event estimation picks the map (0: never)
};

HOST_DEVICE inline bool env_present(const EnvMapView& e) { return e.texels != nullptr; }

HOST_DEVICE inline Vec3f env_to_local(const EnvMapView& e, Vec3f d) {
    const float* m = e.to_world;
    return Vec3f(m[0] * d.x + m[3] * d.y + m[6] * d.z, m[1] * d.x + m[4] * d.y + m[7] * d.z,
                 m[2] * d.x + m[5] * d.y + m[8] * d.z);
}

HOST_DEVICE inline Vec3f env_to_world(const EnvMapView& e, Vec3f l) {
    const float* m = e.to_world;
    return Vec3f(m[0] * l.x + m[1] * l.y + m[2] * l.z, m[3] * l.x + m[4] * l.y + m[5] * l.z,
                 m[6] * l.x + m[7] * l.y + m[8] * l.z);
}

// The four texel addresses (in floats: t00, t01, t10, t11) and fractions of
// the lookup at continuous coordinates (x, y) as in the header.
struct EnvTaps {
    int at[4];
    float fx, fy;
};

HOST_DEVICE inline EnvTaps env_taps(const EnvMapView& e, float x, float y) {
    EnvTaps k;
    float x0f = floorf(x);
    k.fx = x - x0f;
    if (!(k.fx >= 0.0f && k.fx <= 1.0f)) k.fx = 0.0f;
    int x0 = int(clamp_value(x0f, -1.0e8f, 1.0e8f)) % e.width;
    if (x0 < 0) x0 += e.width;
    int x1 = x0 + 1 == e.width ? 0 : x0 + 1;
    float ymax = float(e.height - 1);
    y = clamp_value(y, 0.0f, ymax);
    if (!(y >= 0.0f)) y = 0.0f;
    int y0 = min_value(int(y), e.height - 2);
    k.fy = y - float(y0);
    int y1 = y0 + 1;
    k.at[0] = 3 * (y0 * e.width + x0);
    k.at[1] = 3 * (y0 * e.width + x1);
    k.at[2] = 3 * (y1 * e.width + x0);
    k.at[3] = 3 * (y1 * e.width + x1);
    return k;
}

// Continuous texel coordinates (x, y) of a local direction, with the pieces
// the adjoint needs: a = l.x, b = -l.z, ρ² = a² + b² (= sin² θ).
HOST_DEVICE inline Vec2f env_coordinates(const EnvMapView& e, Vec3f l) {
    float u = atan2f(l.x, -l.z) * (0.5f / kPi);
    if (u < 0.0f) u += 1.0f;
    float v = acosf(clamp_value(l.y, -1.0f, 1.0f)) * (1.0f / kPi);
    return Vec2f(u * float(e.width) - 0.5f, v * float(e.height - 1));
}

HOST_DEVICE inline Vec3f env_blend(const float* t, const EnvTaps& k) {
    float w[4] = {(1.0f - k.fx) * (1.0f - k.fy), k.fx * (1.0f - k.fy), (1.0f - k.fx) * k.fy, k.fx * k.fy};
    Vec3f out;
    for (int q = 0; q < 4; ++q) {
        out.x += t[k.at[q]] * w[q];
        out.y += t[k.at[q] + 1] * w[q];
        out.z += t[k.at[q] + 2] * w[q];
    }
    return out;
}

// Radiance arriving from world direction d (unit); black without a map.
HOST_DEVICE inline Vec3f env_radiance(const EnvMapView& e, Vec3f d) {
    if (!e.texels) return Vec3f();
    Vec2f xy = env_coordinates(e, env_to_local(e, d));
    return env_blend(e.texels, env_taps(e, xy.x, xy.y));
}

// Adjoint of env_radiance: scatters d_value to the texel gradients (when
// d_texels is not null) and, when d_direction is not null, adds
// ∂/∂d of <d_value, L(d)> (d treated as unit).
// Chain rule: with a = l.x, b = -l.z, ρ² = a² + b²,
//     ∂u/∂l = (b, 0, a) / (2π ρ²)        (d atan2(a, b) = (b da - a db) / ρ², db = -dl.z)
//     ∂v/∂l = (0, -1 / (π ρ), 0)         (d acos(y) = -dy / √(1 - y²), √(1 - y²) = ρ on the sphere)
// and ∂L/∂x = (1-fy)(t01 - t00) + fy (t11 - t10), ∂L/∂y = (1-fx)(t10 - t00) + fx (t11 - t01),
// x = u W - 0.5, y = v (H - 1); back to world by l = Rᵀ d  =>  d̄ = R l̄.
HOST_DEVICE inline void env_radiance_adjoint(const EnvMapView& e, float* d_texels, Vec3f d, Vec3f d_value,
                                             Vec3f* d_direction) {
    if (!e.texels || is_black(d_value)) return;
    Vec3f l = env_to_local(e, d);
    Vec2f xy = env_coordinates(e, l);
    EnvTaps k = env_taps(e, xy.x, xy.y);
    float w[4] = {(1.0f - k.fx) * (1.0f - k.fy), k.fx * (1.0f - k.fy), (1.0f - k.fx) * k.fy, k.fx * k.fy};
    if (d_texels) {
        for (int q = 0; q < 4; ++q) {
            float* p = d_texels + k.at[q];
            if (d_value.x != 0.0f) atomic_add(p, d_value.x * w[q]);
            if (d_value.y != 0.0f) atomic_add(p + 1, d_value.y * w[q]);
            if (d_value.z != 0.0f) atomic_add(p + 2, d_value.z * w[q]);
        }
    }
    if (!d_direction) return;
    const float* t = e.texels;
    float d_x = 0.0f, d_y = 0.0f;
    float dv[3] = {d_value.x, d_value.y, d_value.z};
    for (int c = 0; c < 3; ++c) {
        float t00 = t[k.at[0] + c], t01 = t[k.at[1] + c], t10 = t[k.at[2] + c], t11 = t[k.at[3] + c];
        d_x += dv[c] * ((1.0f - k.fy) * (t01 - t00) + k.fy * (t11 - t10));
        d_y += dv[c] * ((1.0f - k.fx) * (t10 - t00) + k.fx * (t11 - t01));
    }
    // The clamp in y is flat at the poles, where the lookup is constant in φ anyway.
    float a = l.x, b = -l.z, rho2 = a * a + b * b;
    if (!(rho2 > 1e-12f)) return;
    float rho = sqrtf(rho2);
    float d_u = d_x * float(e.width), d_v = d_y * float(e.height - 1);
    Vec3f d_l(d_u * b / (2.0f * kPi * rho2), -d_v / (kPi * rho), d_u * a / (2.0f * kPi * rho2));
    add_to(*d_direction, env_to_world(e, d_l));
}

// Solid angle of a patch in band r.
HOST_DEVICE inline float env_patch_solid_angle(const EnvMapView& e, int r) {
    float step = kPi / float(e.height - 1);
    return (2.0f * kPi / float(e.width)) * (cosf(step * float(r)) - cosf(step * float(r + 1)));
}

// CDF search with a guide table (Chen & Asau's cutpoint method): the same
// piece as find_piece (the largest i < count with cdf[i] <= u, unique for a
// nondecreasing cdf with cdf[0] = 0), found by a binary search over the few
// pieces of u's bin instead of all of them. There are `bins` bins, a power
// of two >= count (env_guide_bins), so that u · bins is exact and bin k
// (int(u · bins) = k, clamped to bins - 1) starts exactly at u = k / bins;
// guide[k] is find_piece's answer there and guide[bins] = count - 1. The
// answer is nondecreasing in u, so for u in bin k it lies in
// [guide[k], guide[k + 1]], and cdf[guide[k + 1] + 1] > u unless that index
// is count: the invariant of find_piece's loop holds from the start.
HOST_DEVICE inline int env_guide_bins(int count) {
    int bins = 1;
    while (bins < count) bins <<= 1;
    return bins;
}

HOST_DEVICE inline int env_find_piece(const float* cdf, const int* guide, int count, int bins, float u) {
    int k = min_value(max_value(int(u * float(bins)), 0), bins - 1);
    int lo = guide[k], hi = min_value(guide[k + 1] + 1, count);
    while (hi - lo > 1) {
        int mid = (lo + hi) >> 1;
        if (cdf[mid] <= u) lo = mid; else hi = mid;
    }
    return lo;
}

// The guide table (bins + 1 entries) of a CDF over `count` pieces, in one
// walk: the cdf index advances with the bin (both nondecreasing).
HOST_DEVICE inline void env_build_guide(const float* cdf, int count, int bins, int* guide) {
    int i = 0;
    const float scale = 1.0f / float(bins);  // a power of two: k · scale is exact
    for (int k = 0; k < bins; ++k) {
        float u = float(k) * scale;
        while (i + 1 < count && cdf[i + 1] <= u) ++i;
        guide[k] = i;
    }
    guide[bins] = count - 1;
}

// Draws a world direction from the map's distribution (header); false when
// the map cannot be sampled. pdf is per steradian. `lookup`, when not null,
// gets the drawn direction's continuous texel coordinates (x, y) of the
// header straight from the sample: x = u W - 0.5 = c + fv since
// u = (c + ½ + fv) / W, and y = θ (H - 1) / π; env_radiance_at(lookup) is
// then env_radiance(wi) without the round trip through atan2 (equal up to
// rounding: wi is that local direction rotated and normalised).
HOST_DEVICE inline bool env_sample(const EnvMapView& e, float u1, float u2, Vec3f& wi, float& pdf,
                                   Vec2f* lookup = nullptr) {
    if (!e.marginal || e.nee_probability <= 0.0f) return false;
    const int bands = e.height - 1;
    int r = env_find_piece(e.marginal, e.marginal_guide, bands, e.marginal_bins, u1);
    float pr = e.marginal[r + 1] - e.marginal[r];
    if (!(pr > 0.0f)) return false;
    const float* cond = e.conditional + size_t(r) * size_t(e.width + 1);
    int c = env_find_piece(cond, e.conditional_guide + size_t(r) * size_t(e.conditional_bins + 1), e.width,
                           e.conditional_bins, u2);
    float pc = cond[c + 1] - cond[c];
    if (!(pc > 0.0f)) return false;
    // Reuse what is left of u1, u2 inside the chosen intervals.
    float fu = clamp_value((u1 - e.marginal[r]) / pr, 0.0f, 1.0f);
    float fv = clamp_value((u2 - cond[c]) / pc, 0.0f, 1.0f);
    float cos0 = e.band_cos[r], cos1 = e.band_cos[r + 1];
    float cos_t = cos0 + (cos1 - cos0) * fu;
    float sin_t = sqrtf(max_value(0.0f, 1.0f - cos_t * cos_t));
    float phi = 2.0f * kPi * (float(c) + 0.5f + fv) / float(e.width);
    Vec3f l(sinf(phi) * sin_t, cos_t, -cosf(phi) * sin_t);
    wi = normalize(env_to_world(e, l));
    float omega = e.band_omega[r];
    if (!(omega > 0.0f)) return false;
    pdf = pr * pc / omega;
    if (lookup) *lookup = Vec2f(float(c) + fv, acosf(clamp_value(cos_t, -1.0f, 1.0f)) * (1.0f / kPi) * float(bands));
    return pdf > 0.0f;
}

// Radiance at continuous texel coordinates (x, y) (header).
HOST_DEVICE inline Vec3f env_radiance_at(const EnvMapView& e, Vec2f xy) {
    return env_blend(e.texels, env_taps(e, xy.x, xy.y));
}

// The angles a lookup and a density share: for local direction l,
// theta = acos(l.y) and u = atan2(l.x, -l.z) / 2π wrapped to [0, 1).
struct EnvAngles {
    float theta, u;
};

HOST_DEVICE inline EnvAngles env_angles(Vec3f l) {
    EnvAngles a;
    a.u = atan2f(l.x, -l.z) * (0.5f / kPi);
    if (a.u < 0.0f) a.u += 1.0f;
    a.theta = acosf(clamp_value(l.y, -1.0f, 1.0f));
    return a;
}

// Density (per steradian) with which env_sample draws a direction of
// these angles.
HOST_DEVICE inline float env_pdf_of(const EnvMapView& e, const EnvAngles& a) {
    const int bands = e.height - 1;
    int r = clamp_value(int(a.theta * float(bands) / kPi), 0, bands - 1);
    float x = a.u * float(e.width) - 0.5f;
    int c = int(floorf(x));
    c = c < 0 ? c + e.width : (c >= e.width ? c - e.width : c);
    c = clamp_value(c, 0, e.width - 1);
    const float* cond = e.conditional + size_t(r) * size_t(e.width + 1);
    float p = (e.marginal[r + 1] - e.marginal[r]) * (cond[c + 1] - cond[c]);
    float omega = e.band_omega[r];
    return omega > 0.0f ? p / omega : 0.0f;
}

// Density (per steradian) with which env_sample draws world direction d.
HOST_DEVICE inline float env_pdf(const EnvMapView& e, Vec3f d) {
    if (!e.marginal || e.nee_probability <= 0.0f) return 0.0f;
    return env_pdf_of(e, env_angles(env_to_local(e, d)));
}

// Radiance from world direction d (unit) and, when the map is sampled,
// the density env_pdf(d) (else 0), from one evaluation of the angles:
// the escape of a BSDF-sampled path needs both.
HOST_DEVICE inline Vec3f env_radiance_pdf(const EnvMapView& e, Vec3f d, float& pdf) {
    pdf = 0.0f;
    if (!e.texels) return Vec3f();
    EnvAngles a = env_angles(env_to_local(e, d));
    if (e.marginal && e.nee_probability > 0.0f) pdf = env_pdf_of(e, a);
    float x = a.u * float(e.width) - 0.5f, y = a.theta * (1.0f / kPi) * float(e.height - 1);
    return env_blend(e.texels, env_taps(e, x, y));
}

// Builds the marginal and conditional CDFs (scratch from the context) and
// sets nee_probability: 1 with no emissive faces, 1/2 with some, 0 for a
// black map. envmap.cpp.
void prepare_envmap(EnvMapView& e, int num_emissive_faces, const ExecutionContext& context);

}  // namespace rt
}  // namespace pdvg
