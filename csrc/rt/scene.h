// The packed 3-D scene as the kernels see it: raw pointers to the flat
// tensors built by pydiffvg/render3d, the camera, the BVH, and the gradient
// buffers of the backward pass. Also ray/triangle intersection and surface
// geometry, with their adjoints.
#pragma once

#include "bvh.h"
#include "camera.h"
#include "envmap.h"

namespace pdvg {
namespace rt {

// Longest path the tracer follows (scattering events after the camera ray).
constexpr int kMaxBounces = 6;

struct EmitterGeometry;

struct SceneView {
    const float* vertices = nullptr;   // (V, 3) world positions
    const float* normals = nullptr;    // (V, 3) shading normals, or null (flat shading); zero rows = flat
    const int* indices = nullptr;      // (F, 3) global vertex indices
    const int* face_material = nullptr;  // (F,)
    const int* face_light = nullptr;     // (F,) area light index or -1
    const int* face_two_sided = nullptr; // (F,) 1 when the face's material is two-sided
    const float* diffuse = nullptr;    // (M, 3)
    const float* specular = nullptr;   // (M, 3)
    const float* roughness = nullptr;  // (M,)
    const float* light_intensity = nullptr;  // (L, 3)
    const int* light_two_sided = nullptr;    // (L,)
    const int* emissive_faces = nullptr;     // (E,) faces with face_light >= 0
    const float* uvs = nullptr;              // (V, 2) texture coordinates, or null (no textures)
    const float* texels = nullptr;           // every texture's (H, W, C) texels, flat (texture.h)
    const int* material_textures = nullptr;  // (M, 3, 3) [offset, width, height] per slot, or null
    const int* material_model = nullptr;     // (M, 2) [model, table offset] (microfacet.h), or null: all Blinn-Phong
    const float* material_params = nullptr;  // (M, 8) per-model constants, then the plastic tables
    int num_vertices = 0, num_faces = 0, num_materials = 0, num_lights = 0, num_emissive_faces = 0;
    BvhView bvh;
    CameraView camera;
    int max_bounces = 1;
    EnvMapView envmap;  // environment light (envmap.h); texels null: none
    // Per emissive face k (emissive_faces[k]), built once per render by
    // prepare_scene: the fixed part of surface_point for next-event
    // estimation (EmitterGeometry), so a light sample reads one record.
    const EmitterGeometry* emitters = nullptr;
};

// The geometry of one emissive face: v0, its edges e1 = v1 - v0, e2 = v2 - v0,
// the unit normal of e1 × e2 and the area, by the expressions of surface_point.
struct EmitterGeometry {
    Vec3f v0, e1, e2, normal;
    float area;
};

// Gradient buffers, same layout as the inputs; null pointers are skipped.
struct SceneGrads {
    float* vertices = nullptr;
    float* normals = nullptr;
    float* camera = nullptr;
    float* diffuse = nullptr;
    float* specular = nullptr;
    float* roughness = nullptr;
    float* light_intensity = nullptr;
    float* uvs = nullptr;
    float* texels = nullptr;
    float* envmap = nullptr;  // (H, W, 3) like EnvMapView::texels
};

struct Hit {
    int face = -1;
    float t = 0.0f, b1 = 0.0f, b2 = 0.0f;  // p = (1 - b1 - b2) v0 + b1 v1 + b2 v2
};

struct Triangle {
    Vec3f v0, v1, v2;
    int i0, i1, i2;
};

HOST_DEVICE inline Triangle load_triangle(const SceneView& s, int face) {
    Triangle t;
    t.i0 = s.indices[3 * face]; t.i1 = s.indices[3 * face + 1]; t.i2 = s.indices[3 * face + 2];
    t.v0 = load3(s.vertices, t.i0); t.v1 = load3(s.vertices, t.i1); t.v2 = load3(s.vertices, t.i2);
    return t;
}

// Möller–Trumbore: solves o + t d = v0 + b1 e1 + b2 e2, i.e.
//   M [t b1 b2]^T = o - v0  with  M = [-d | e1 | e2].
// All conditions are evaluated together, without early exits: which test
// fails first is unpredictable for a ray among a leaf's triangles, and the
// branches cost more than the few multiplies they skip. (A zero det gives
// inf/NaN barycentrics, which fail the comparisons as well.)
HOST_DEVICE FORCE_INLINE bool intersect_triangle(Vec3f v0, Vec3f e1, Vec3f e2, Vec3f o, Vec3f d, float t_min,
                                                 float t_max, Hit& hit) {
    Vec3f pvec = cross(d, e2);
    float det = dot(e1, pvec);
    float inv = 1.0f / det;
    Vec3f tvec = o - v0;
    float b1 = dot(tvec, pvec) * inv;
    Vec3f qvec = cross(tvec, e1);
    float b2 = dot(d, qvec) * inv;
    float t = dot(e2, qvec) * inv;
    bool inside = (fabsf(det) > 1e-20f) & (b1 >= 0.0f) & (b1 <= 1.0f) & (b2 >= 0.0f) & (b1 + b2 <= 1.0f) &
                  (t > t_min) & (t < t_max);
    if (!inside) return false;
    hit.t = t; hit.b1 = b1; hit.b2 = b2;
    return true;
}

HOST_DEVICE inline bool intersect_triangle(const Triangle& tri, Vec3f o, Vec3f d, float t_min, float t_max, Hit& hit) {
    return intersect_triangle(tri.v0, tri.v1 - tri.v0, tri.v2 - tri.v0, o, d, t_min, t_max, hit);
}

struct TriangleGrad {
    Vec3f v0, v1, v2;
};

// Adjoint of the solve above: with x = [t b1 b2], λ = M^-T x̄ gives
// (o - v0)‾ = λ and M̄ = -λ x^T, so d̄ = λ t, ē1 = -λ b1, ē2 = -λ b2.
HOST_DEVICE inline void intersect_triangle_adjoint(const Triangle& tri, Vec3f d, const Hit& hit, float d_t, float d_b1,
                                                   float d_b2, Vec3f& d_origin, Vec3f& d_direction,
                                                   TriangleGrad& d_tri) {
    Vec3f e1 = tri.v1 - tri.v0, e2 = tri.v2 - tri.v0;
    // Rows of M^T are r0 = -d, r1 = e1, r2 = e2; M^-T x̄ = (x̄0 r1×r2 + x̄1 r2×r0 + x̄2 r0×r1) / det.
    Vec3f r0 = -d;
    Vec3f c12 = cross(e1, e2), c20 = cross(e2, r0), c01 = cross(r0, e1);
    float det = dot(r0, c12);
    if (!(fabsf(det) > 1e-20f)) return;
    Vec3f lambda = (c12 * d_t + c20 * d_b1 + c01 * d_b2) / det;
    add_to(d_origin, lambda);
    add_to(d_direction, lambda * hit.t);
    Vec3f d_e1 = lambda * (-hit.b1), d_e2 = lambda * (-hit.b2);
    add_to(d_tri.v0, -lambda - d_e1 - d_e2);
    add_to(d_tri.v1, d_e1);
    add_to(d_tri.v2, d_e2);
}

HOST_DEVICE inline void scatter_triangle_grad(const SceneGrads& g, const Triangle& tri, const TriangleGrad& d) {
    atomic_add3(g.vertices, tri.i0, d.v0);
    atomic_add3(g.vertices, tri.i1, d.v1);
    atomic_add3(g.vertices, tri.i2, d.v2);
}

// Closest hit along a ray, skipping `ignore_face` (the face the ray leaves).
HOST_DEVICE inline Hit closest_hit(const SceneView& s, Vec3f o, Vec3f d, float t_min, float t_max, int ignore_face) {
    Hit best;
    auto visit = [&](int slot, float& t_limit) -> bool {
        const BvhTriangle& tri = s.bvh.triangles[slot];
        if (tri.face == ignore_face) return false;
        Hit h;
        if (intersect_triangle(tri.v0, tri.e1, tri.e2, o, d, t_min, t_limit, h)) {
            h.face = tri.face;
            best = h;
            t_limit = h.t;
        }
        return false;
    };
    float t_limit = t_max;
    traverse_bvh(s.bvh, o, d, t_min, t_limit, visit);
    return best;
}

// True when something blocks the open segment (t_min, t_max) along the ray.
HOST_DEVICE inline bool occluded(const SceneView& s, Vec3f o, Vec3f d, float t_min, float t_max, int ignore_a,
                                 int ignore_b) {
    bool blocked = false;
    auto visit = [&](int slot, float& t_limit) -> bool {
        const BvhTriangle& tri = s.bvh.triangles[slot];
        if (tri.face == ignore_a || tri.face == ignore_b) return false;
        Hit h;
        if (intersect_triangle(tri.v0, tri.e1, tri.e2, o, d, t_min, t_limit, h)) { blocked = true; return true; }
        return false;
    };
    float t_limit = t_max;
    traverse_bvh(s.bvh, o, d, t_min, t_limit, visit);
    return blocked;
}

// Geometry at a surface point given by barycentrics on a face.
struct SurfacePoint {
    int face = -1;
    float b1 = 0.0f, b2 = 0.0f;
    Vec3f position;
    Vec3f geometric_normal;  // unit, facing the side the path arrives from when two-sided
    Vec3f shading_normal;    // unit, same side as geometric_normal
    float area = 0.0f;       // triangle area
    float flip = 1.0f;       // -1 when both normals were flipped to face the incoming direction
    bool smooth = false;     // shading normal interpolated from vertex normals
};

HOST_DEVICE inline SurfacePoint surface_point(const SceneView& s, int face, float b1, float b2) {
    SurfacePoint p;
    p.face = face; p.b1 = b1; p.b2 = b2;
    Triangle tri = load_triangle(s, face);
    Vec3f e1 = tri.v1 - tri.v0, e2 = tri.v2 - tri.v0;
    p.position = tri.v0 + e1 * b1 + e2 * b2;
    Vec3f c = cross(e1, e2);
    p.area = 0.5f * length(c);
    p.geometric_normal = normalize(c);
    p.shading_normal = p.geometric_normal;
    if (s.normals) {
        float b0 = 1.0f - b1 - b2;
        Vec3f n = load3(s.normals, tri.i0) * b0 + load3(s.normals, tri.i1) * b1 + load3(s.normals, tri.i2) * b2;
        if (length(n) > 1e-12f) {
            p.shading_normal = normalize(n);
            p.smooth = true;
        }
    }
    return p;
}

HOST_DEVICE inline EmitterGeometry emitter_geometry(const SceneView& s, int face) {
    EmitterGeometry g;
    Triangle tri = load_triangle(s, face);
    g.v0 = tri.v0;
    g.e1 = tri.v1 - tri.v0; g.e2 = tri.v2 - tri.v0;
    Vec3f c = cross(g.e1, g.e2);
    g.area = 0.5f * length(c);
    g.normal = normalize(c);
    return g;
}

// What next-event estimation needs of surface_point(emissive_faces[k], b1, b2):
// position, geometric normal (not oriented) and area.
struct EmitterPoint {
    Vec3f position, normal;
    float area;
};

HOST_DEVICE inline EmitterPoint emitter_point(const SceneView& s, int k, float b1, float b2) {
    const EmitterGeometry& g = s.emitters[k];
    EmitterPoint p;
    p.position = g.v0 + g.e1 * b1 + g.e2 * b2;
    p.normal = g.normal;
    p.area = g.area;
    return p;
}

// Flips the normals of a two-sided or emitting surface to face `toward`
// (a direction leaving the surface). Returns false when the surface is
// one-sided and seen from behind.
HOST_DEVICE inline void orient_toward(SurfacePoint& p, Vec3f toward) {
    if (dot(p.geometric_normal, toward) < 0.0f) {
        p.geometric_normal = -p.geometric_normal;
        p.shading_normal = -p.shading_normal;
        p.flip = -1.0f;
    }
}

// Adjoints of a surface point's quantities. For barycentrics held fixed
// (every path vertex after the first), d_b1 / d_b2 are ignored by the caller.
struct SurfacePointAdjoint {
    Vec3f d_position, d_geometric_normal, d_shading_normal;
    float d_log_area = 0.0f;
};

// Scatters the adjoints to the triangle's vertices (and vertex normals);
// returns d(loss)/d(b1, b2) through the same quantities.
HOST_DEVICE inline Vec2f surface_point_adjoint(const SceneView& s, const SceneGrads& g, const SurfacePoint& p,
                                               const SurfacePointAdjoint& a, TriangleGrad& d_tri) {
    Triangle tri = load_triangle(s, p.face);
    Vec3f e1 = tri.v1 - tri.v0, e2 = tri.v2 - tri.v0;
    float b0 = 1.0f - p.b1 - p.b2;
    Vec2f d_bary(dot(a.d_position, e1), dot(a.d_position, e2));
    add_to(d_tri.v0, a.d_position * b0);
    add_to(d_tri.v1, a.d_position * p.b1);
    add_to(d_tri.v2, a.d_position * p.b2);
    // Normals were possibly flipped: n_used = flip * n.
    Vec3f d_ng = a.d_geometric_normal * p.flip;
    Vec3f d_ns = a.d_shading_normal * p.flip;
    if (p.smooth) {
        Vec3f n = load3(s.normals, tri.i0) * b0 + load3(s.normals, tri.i1) * p.b1 + load3(s.normals, tri.i2) * p.b2;
        Vec3f d_n = normalize_adjoint(n, d_ns);
        atomic_add3(g.normals, tri.i0, d_n * b0);
        atomic_add3(g.normals, tri.i1, d_n * p.b1);
        atomic_add3(g.normals, tri.i2, d_n * p.b2);
        Vec3f n0 = load3(s.normals, tri.i0);
        d_bary.x += dot(d_n, load3(s.normals, tri.i1) - n0);
        d_bary.y += dot(d_n, load3(s.normals, tri.i2) - n0);
    } else {
        add_to(d_ng, d_ns);
    }
    // c = e1 × e2: n = c / |c|, log area = log |c| + const.
    Vec3f c = cross(e1, e2);
    float c2 = dot(c, c);
    Vec3f d_c = normalize_adjoint(c, d_ng);
    if (c2 > 0.0f) add_to(d_c, c * (a.d_log_area / c2));
    Vec3f d_e1, d_e2;
    cross_adjoint(e1, e2, d_c, d_e1, d_e2);
    add_to(d_tri.v1, d_e1);
    add_to(d_tri.v2, d_e2);
    subtract_from(d_tri.v0, d_e1 + d_e2);
    return d_bary;
}

}  // namespace rt
}  // namespace pdvg
