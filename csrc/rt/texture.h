// Materials with uv-mapped textures: bilinear lookup of texels by the
// surface point's interpolated uv, and the adjoint that scatters a material
// gradient to texels, to vertex uvs and to the barycentrics.
//
// Layout (packed by pydiffvg/render3d): texels is one flat float buffer of
// every texture's (H, W, C) rows; material_textures holds, for each material
// m and slot k (0 diffuse, 1 specular, 2 roughness), three ints
// [offset, width, height] at 9 m + 3 k; width 0 means "constant" (the
// (M, 3) / (M,) arrays hold the value). Slot channels: 3, 3, 1.
//
// Lookup: texel (row i, column j) has its centre at
//     u = (j + 0.5) / W,   v = 1 - (i + 0.5) / H
// (v up, row 0 at the top, as OBJ files and images have it), addresses wrap
// (repeat). With x = u W - 0.5, y = (1 - v) H - 0.5, x0 = ⌊x⌋, fx = x - x0
// (same for y), the value is the bilinear blend
//     t = (1-fy)((1-fx) t00 + fx t01) + fy ((1-fx) t10 + fx t11),
// so ∂t/∂u = W ((1-fy)(t01 - t00) + fy (t11 - t10)) and
//    ∂t/∂v = -H ((1-fx)(t10 - t00) + fx (t11 - t01)).
#pragma once

#include "bsdf.h"
#include "scene.h"

namespace pdvg {
namespace rt {

constexpr int kTextureSlots = 3;

HOST_DEVICE inline int texture_slot_channels(int slot) { return slot == 2 ? 1 : 3; }

struct TextureRef {
    int offset = 0, width = 0, height = 0;
    HOST_DEVICE bool present() const { return width > 0 && height > 0; }
};

HOST_DEVICE inline TextureRef material_texture(const SceneView& s, int material, int slot) {
    TextureRef t;
    if (!s.material_textures || !s.texels) return t;
    const int* p = s.material_textures + 9 * material + 3 * slot;
    t.offset = p[0]; t.width = p[1]; t.height = p[2];
    return t;
}

HOST_DEVICE inline Vec2f surface_uv(const SceneView& s, int face, float b1, float b2) {
    if (!s.uvs) return Vec2f(0.0f, 0.0f);
    const int* f = s.indices + 3 * face;
    float b0 = 1.0f - b1 - b2;
    const float* a = s.uvs + 2 * f[0];
    const float* b = s.uvs + 2 * f[1];
    const float* c = s.uvs + 2 * f[2];
    return Vec2f(a[0] * b0 + b[0] * b1 + c[0] * b2, a[1] * b0 + b[1] * b1 + c[1] * b2);
}

// The four texel addresses (in floats) and the fractions of a lookup.
struct BilinearTaps {
    int at[4];  // t00, t01, t10, t11
    float fx, fy;
};

HOST_DEVICE inline int wrap_index(int i, int n) {
    int r = i % n;
    return r < 0 ? r + n : r;
}

HOST_DEVICE inline BilinearTaps bilinear_taps(const TextureRef& t, int channels, Vec2f uv) {
    float x = uv.x * float(t.width) - 0.5f, y = (1.0f - uv.y) * float(t.height) - 0.5f;
    float x0f = floorf(x), y0f = floorf(y);
    BilinearTaps taps;
    taps.fx = x - x0f; taps.fy = y - y0f;
    // Guard the float -> int conversion for huge or non-finite uvs.
    float limit = 1.0e8f;
    int x0 = int(clamp_value(x0f, -limit, limit)), y0 = int(clamp_value(y0f, -limit, limit));
    if (!(taps.fx >= 0.0f && taps.fx <= 1.0f)) taps.fx = 0.0f;
    if (!(taps.fy >= 0.0f && taps.fy <= 1.0f)) taps.fy = 0.0f;
    int c0 = wrap_index(x0, t.width), c1 = wrap_index(x0 + 1, t.width);
    int r0 = wrap_index(y0, t.height), r1 = wrap_index(y0 + 1, t.height);
    taps.at[0] = t.offset + (r0 * t.width + c0) * channels;
    taps.at[1] = t.offset + (r0 * t.width + c1) * channels;
    taps.at[2] = t.offset + (r1 * t.width + c0) * channels;
    taps.at[3] = t.offset + (r1 * t.width + c1) * channels;
    return taps;
}

HOST_DEVICE inline float bilinear_channel(const float* texels, const BilinearTaps& k, int c) {
    float top = texels[k.at[0] + c] * (1.0f - k.fx) + texels[k.at[1] + c] * k.fx;
    float bottom = texels[k.at[2] + c] * (1.0f - k.fx) + texels[k.at[3] + c] * k.fx;
    return top * (1.0f - k.fy) + bottom * k.fy;
}

HOST_DEVICE inline Vec3f texture_value3(const SceneView& s, const TextureRef& t, Vec2f uv) {
    BilinearTaps k = bilinear_taps(t, 3, uv);
    return Vec3f(bilinear_channel(s.texels, k, 0), bilinear_channel(s.texels, k, 1), bilinear_channel(s.texels, k, 2));
}

// The material at a surface point: the constants, with textured slots looked up.
HOST_DEVICE inline Material surface_material(const SceneView& s, int face, float b1, float b2) {
    int m = s.face_material[face];
    Material mat = load_material(s.diffuse, s.specular, s.roughness, m);
    mat.microfacet = load_microfacet_params(s.material_model, s.material_params, m);
    if (!s.material_textures) return mat;
    Vec2f uv = surface_uv(s, face, b1, b2);
    TextureRef t = material_texture(s, m, 0);
    if (t.present()) mat.diffuse = texture_value3(s, t, uv);
    t = material_texture(s, m, 1);
    if (t.present()) mat.specular = texture_value3(s, t, uv);
    t = material_texture(s, m, 2);
    if (t.present()) mat.roughness = bilinear_channel(s.texels, bilinear_taps(t, 1, uv), 0);
    return mat;
}

// Scatters d(loss)/d(one slot's value) (d_value[0..channels)) to the
// texels, and returns d(loss)/d(uv).
HOST_DEVICE inline Vec2f texture_adjoint(const SceneView& s, const SceneGrads& g, const TextureRef& t, int channels,
                                         Vec2f uv, const float* d_value) {
    BilinearTaps k = bilinear_taps(t, channels, uv);
    float w[4] = {(1.0f - k.fx) * (1.0f - k.fy), k.fx * (1.0f - k.fy), (1.0f - k.fx) * k.fy, k.fx * k.fy};
    Vec2f d_uv(0.0f, 0.0f);
    for (int c = 0; c < channels; ++c) {
        if (d_value[c] == 0.0f) continue;
        if (g.texels)
            for (int q = 0; q < 4; ++q) atomic_add(g.texels + k.at[q] + c, d_value[c] * w[q]);
        const float* x = s.texels;
        float t00 = x[k.at[0] + c], t01 = x[k.at[1] + c], t10 = x[k.at[2] + c], t11 = x[k.at[3] + c];
        d_uv.x += d_value[c] * float(t.width) * ((1.0f - k.fy) * (t01 - t00) + k.fy * (t11 - t10));
        d_uv.y -= d_value[c] * float(t.height) * ((1.0f - k.fx) * (t10 - t00) + k.fx * (t11 - t01));
    }
    return d_uv;
}

// Adds a material gradient at a surface point: constant slots into the
// (M, 3) / (M,) buffers, textured ones into texels and vertex uvs.
// Returns d(loss)/d(b1, b2) through the uv interpolation (used at the first
// path vertex, whose barycentrics move with the camera ray).
HOST_DEVICE inline Vec2f scatter_material_grad(const SceneView& s, const SceneGrads& g, int face, float b1, float b2,
                                               const MaterialGrad& d) {
    int m = s.face_material[face];
    TextureRef tex[kTextureSlots];
    for (int k = 0; k < kTextureSlots; ++k) tex[k] = material_texture(s, m, k);
    if (!tex[0].present()) atomic_add3(g.diffuse, m, d.diffuse);
    if (!tex[1].present()) atomic_add3(g.specular, m, d.specular);
    if (!tex[2].present() && g.roughness && d.roughness != 0.0f) atomic_add(g.roughness + m, d.roughness);
    if (!tex[0].present() && !tex[1].present() && !tex[2].present()) return Vec2f(0.0f, 0.0f);
    Vec2f uv = surface_uv(s, face, b1, b2);
    Vec2f d_uv(0.0f, 0.0f);
    float dd[3] = {d.diffuse.x, d.diffuse.y, d.diffuse.z};
    float ds[3] = {d.specular.x, d.specular.y, d.specular.z};
    float dr[1] = {d.roughness};
    const float* slots[kTextureSlots] = {dd, ds, dr};
    for (int k = 0; k < kTextureSlots; ++k) {
        if (!tex[k].present()) continue;
        Vec2f add = texture_adjoint(s, g, tex[k], texture_slot_channels(k), uv, slots[k]);
        d_uv.x += add.x; d_uv.y += add.y;
    }
    // uv = b0 uv0 + b1 uv1 + b2 uv2.
    const int* f = s.indices + 3 * face;
    float b0 = 1.0f - b1 - b2;
    if (g.uvs) {
        float bary[3] = {b0, b1, b2};
        for (int q = 0; q < 3; ++q) {
            if (d_uv.x != 0.0f) atomic_add(g.uvs + 2 * f[q], d_uv.x * bary[q]);
            if (d_uv.y != 0.0f) atomic_add(g.uvs + 2 * f[q] + 1, d_uv.y * bary[q]);
        }
    }
    const float* a = s.uvs + 2 * f[0];
    const float* b = s.uvs + 2 * f[1];
    const float* c = s.uvs + 2 * f[2];
    return Vec2f(d_uv.x * (b[0] - a[0]) + d_uv.y * (b[1] - a[1]), d_uv.x * (c[0] - a[0]) + d_uv.y * (c[1] - a[1]));
}

}  // namespace rt
}  // namespace pdvg
