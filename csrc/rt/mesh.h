// Mesh edges: the unique edges of the triangle list with their one or two
// adjacent faces, and the per-edge tests the edge samplers need (dihedral
// angle, silhouette as seen from a point or along a direction).
#pragma once

#include <vector>

#include "scene.h"

namespace pdvg {
namespace rt {

struct MeshEdge {
    int v0, v1;  // global vertex indices, v0 < v1
    int f0, f1;  // adjacent faces; f1 = -1 for a boundary edge
};

// Host: unique edges keyed by vertex pair. An edge shared by more than two
// faces (non-manifold) is listed once per face as a boundary edge.
std::vector<MeshEdge> extract_edges(const int* indices, int num_faces);

// Position of the vertex of `face` that is not on the edge (v0, v1).
HOST_DEVICE inline Vec3f opposite_vertex(const SceneView& s, int face, int v0, int v1) {
    for (int k = 0; k < 3; ++k) {
        int v = s.indices[3 * face + k];
        if (v != v0 && v != v1) return load3(s.vertices, v);
    }
    return load3(s.vertices, s.indices[3 * face]);
}

HOST_DEVICE inline Vec3f face_normal(const SceneView& s, int face) {
    Triangle t = load_triangle(s, face);
    return normalize(cross(t.v1 - t.v0, t.v2 - t.v0));
}

// Cosine of the angle between the two faces' normals, with the second face's
// normal oriented consistently across the edge; 1 for coplanar faces.
HOST_DEVICE inline bool edge_is_flat(const SceneView& s, const MeshEdge& e) {
    if (e.f1 < 0) return false;
    Vec3f a = load3(s.vertices, e.v0), b = load3(s.vertices, e.v1);
    // Coplanar iff the opposite vertex of f1 lies in f0's plane.
    Vec3f n0 = face_normal(s, e.f0);
    Vec3f q = opposite_vertex(s, e.f1, e.v0, e.v1) - a;
    float scale = length(b - a) + length(q);
    return fabsf(dot(n0, q)) <= 1e-6f * scale;
}

HOST_DEVICE inline float sign_of(float v) { return v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f); }

// Silhouette test against the plane spanned by the edge and `toward` (the
// direction from the edge to the viewer, or the viewer's position minus a
// point on the edge). Returns the side (+1 / -1, sign of (q - v0)·m with
// m = (v1 - v0) × toward) on which the adjacent faces lie when the edge is a
// silhouette, 0 otherwise.
HOST_DEVICE inline float silhouette_side(const SceneView& s, const MeshEdge& e, Vec3f m) {
    Vec3f a = load3(s.vertices, e.v0);
    float side0 = sign_of(dot(opposite_vertex(s, e.f0, e.v0, e.v1) - a, m));
    if (e.f1 < 0) return side0;
    float side1 = sign_of(dot(opposite_vertex(s, e.f1, e.v0, e.v1) - a, m));
    return side0 == side1 ? side0 : 0.0f;
}

}  // namespace rt
}  // namespace pdvg
