// Building the environment map's sampling distribution (envmap.h) on the
// scene's device: patch weights in one parallel_for, the conditional CDF of
// each band in a parallel_for over bands (each walks its W columns in
// double), and the marginal CDF over band totals through the blocked scan
// that the boundary sampler uses (parallel_exclusive_scan).
#include "envmap.h"

#include "../core/parallel.h"

namespace pdvg {
namespace rt {

void prepare_envmap(EnvMapView& e, int num_emissive_faces, const ExecutionContext& context) {
    e.marginal = nullptr;
    e.conditional = nullptr;
    e.band_cos = nullptr;
    e.band_omega = nullptr;
    e.marginal_guide = nullptr;
    e.conditional_guide = nullptr;
    e.nee_probability = 0.0f;
    if (!e.texels || e.width < 1 || e.height < 2) return;
    const int width = e.width, bands = e.height - 1;
    const float* texels = e.texels;
    float* weights = context.allocate<float>(size_t(bands) * size_t(width));
    float* conditional = context.allocate<float>(size_t(bands) * size_t(width + 1));
    float* band_total = context.allocate<float>(size_t(bands));
    float* marginal = context.allocate<float>(size_t(bands) + 1);
    float* band_cos = context.allocate<float>(size_t(bands) + 1);
    float* band_omega = context.allocate<float>(size_t(bands));
    const EnvMapView view = e;
    // The sampler's per-band constants (envmap.h): the expressions of
    // env_patch_solid_angle, evaluated once here instead of per sample.
    parallel_for(int64_t(bands) + 1, [=] HOST_DEVICE(int64_t r) {
        float step = kPi / float(bands);
        band_cos[r] = cosf(step * float(r));
        if (r < bands) band_omega[r] = env_patch_solid_angle(view, int(r));
    }, context, 256);
    // Weight of patch (r, c): mean corner luminance × Ω_rc (Ω up to the
    // constant 2π / W, which cancels in the CDFs).
    parallel_for(int64_t(bands) * width, [=] HOST_DEVICE(int64_t i) {
        int r = int(i / width), c = int(i % width);
        int c1 = c + 1 == width ? 0 : c + 1;
        float lum = 0.0f;
        int rows[2] = {r, r + 1}, cols[2] = {c, c1};
        for (int a = 0; a < 2; ++a)
            for (int b = 0; b < 2; ++b) lum += max_value(luminance(load3(texels, rows[a] * width + cols[b])), 0.0f);
        float band = env_patch_solid_angle(view, r);
        float w = 0.25f * lum * band;
        weights[i] = (w > 0.0f && is_finite(w)) ? w : 0.0f;
    }, context, 256);
    parallel_for(bands, [=] HOST_DEVICE(int64_t r) {
        const float* w = weights + r * width;
        float* cdf = conditional + r * (width + 1);
        double total = 0.0;
        for (int c = 0; c < width; ++c) total += double(w[c]);
        double running = 0.0;
        for (int c = 0; c < width; ++c) {
            cdf[c] = total > 0.0 ? float(running / total) : 0.0f;
            running += double(w[c]);
        }
        cdf[width] = 1.0f;
        band_total[r] = float(total);
    }, context, 1);
    if (!(build_boundary_cdf(band_total, bands, marginal, context) > 0.0)) return;
    // Guide tables of the two searches (env_find_piece), one walk per CDF.
    const int marginal_bins = env_guide_bins(bands), conditional_bins = env_guide_bins(width);
    int* marginal_guide = context.allocate<int>(size_t(marginal_bins) + 1);
    int* conditional_guide = context.allocate<int>(size_t(bands) * size_t(conditional_bins + 1));
    parallel_for(int64_t(bands) + 1, [=] HOST_DEVICE(int64_t r) {
        if (r < bands)
            env_build_guide(conditional + r * (width + 1), width, conditional_bins,
                            conditional_guide + r * (conditional_bins + 1));
        else
            env_build_guide(marginal, bands, marginal_bins, marginal_guide);
    }, context, 1);
    e.marginal = marginal;
    e.marginal_guide = marginal_guide;
    e.conditional_guide = conditional_guide;
    e.marginal_bins = marginal_bins;
    e.conditional_bins = conditional_bins;
    e.conditional = conditional;
    e.band_cos = band_cos;
    e.band_omega = band_omega;
    e.nee_probability = num_emissive_faces > 0 ? 0.5f : 1.0f;
}

}  // namespace rt
}  // namespace pdvg
