// A binary BVH over triangles: binned-SAH build on the host, flat node array,
// stackful iterative traversal (fixed-size stack, no recursion) usable in
// device code. One traversal routine takes a visitor, so closest-hit and
// any-hit queries share it.
//
// Layout for speed: the leaves' triangles are stored in leaf order as
// (v0, e1 = v1 - v0, e2 = v2 - v0, face), so a leaf reads one contiguous run
// of memory and the triangle test does no index lookups or subtractions; the
// edge vectors are the same floats the test would compute, so hits are
// bit-identical to testing the mesh directly.
#pragma once

#include <vector>

#include "../core/context.h"
#include "math3d.h"

namespace pdvg {
namespace rt {

// Interior node: count == 0, left child is the next node, right child at `offset`.
// Leaf: count > 0 triangles at triangles[offset .. offset + count).
struct BvhNode {
    float lower[3];
    float upper[3];
    int offset;
    int count;
};

// A triangle in leaf order, ready for the Möller–Trumbore test.
struct BvhTriangle {
    Vec3f v0;
    int face;  // index into the scene's face list
    Vec3f e1, e2;
};

struct BvhView {
    const BvhNode* nodes = nullptr;
    const BvhTriangle* triangles = nullptr;  // leaf slot -> triangle
    int num_nodes = 0;
};

constexpr int kBvhStackSize = 64;

// Host-side build over `num_faces` triangles. Fills nodes and the leaf-ordered triangles.
void build_bvh(const float* vertices, const int* indices, int num_faces, std::vector<BvhNode>& nodes,
               std::vector<BvhTriangle>& triangles);

// 1 / d per component, with ±FLT_MAX for a zero (or denormal) component
// instead of ±inf, so that (plane - o) · inv is never 0 · inf = NaN: a ray
// lying in a slab's plane then counts as inside the slab, and the slab test
// below needs no NaN cases.
HOST_DEVICE inline float safe_inverse(float d) {
    float inv = 1.0f / d;
    return fabsf(inv) <= 3.402823466e38f ? inv : copysignf(3.402823466e38f, d);
}

// Slab test (Kay & Kajiya) of a box against the ray interval [t_min, t_max]:
// true when the ray enters the box, with the entry distance in t_entry.
// The exit distance is scaled by 1 + 2 γ_3 (Ize 2013, "Robust BVH Ray
// Traversal") so that rounding never culls a box the ray grazes.
HOST_DEVICE FORCE_INLINE bool ray_box(const BvhNode& node, Vec3f origin, Vec3f inv_dir, float t_min, float t_max,
                                      float& t_entry) {
    float x0 = (node.lower[0] - origin.x) * inv_dir.x, x1 = (node.upper[0] - origin.x) * inv_dir.x;
    float y0 = (node.lower[1] - origin.y) * inv_dir.y, y1 = (node.upper[1] - origin.y) * inv_dir.y;
    float z0 = (node.lower[2] - origin.z) * inv_dir.z, z1 = (node.upper[2] - origin.z) * inv_dir.z;
    float t0 = max_value(max_value(t_min, min_value(x0, x1)), max_value(min_value(y0, y1), min_value(z0, z1)));
    float exit = min_value(max_value(x0, x1), min_value(max_value(y0, y1), max_value(z0, z1))) * 1.0000004f;
    t_entry = t0;
    return t0 <= min_value(t_max, exit);
}

// Visits every leaf triangle whose node the ray [t_min, t_max] enters,
// nearest child first. `visit(slot, t_max)` gets the leaf slot (an index
// into bvh.triangles), may shrink t_max (closest hit) and returns true to
// stop the traversal (any hit). Each box is tested once, from its parent;
// the stack keeps the entry distance of the deferred child, so a child
// farther than the closest hit found since is dropped without a test.
template <typename Visitor>
HOST_DEVICE void traverse_bvh(const BvhView& bvh, Vec3f origin, Vec3f direction, float t_min, float& t_max,
                              Visitor& visit) {
    if (bvh.num_nodes <= 0) return;
    const Vec3f inv_dir(safe_inverse(direction.x), safe_inverse(direction.y), safe_inverse(direction.z));
    float t_entry;
    if (!ray_box(bvh.nodes[0], origin, inv_dir, t_min, t_max, t_entry)) return;
    int stack_node[kBvhStackSize];
    float stack_entry[kBvhStackSize];
    int top = 0;
    int index = 0;
    while (true) {
        const BvhNode& node = bvh.nodes[index];
        if (node.count > 0) {
            for (int k = 0; k < node.count; ++k)
                if (visit(node.offset + k, t_max)) return;
        } else {
            const int left = index + 1, right = node.offset;
            float t_left, t_right;
            const bool hit_left = ray_box(bvh.nodes[left], origin, inv_dir, t_min, t_max, t_left);
            const bool hit_right = ray_box(bvh.nodes[right], origin, inv_dir, t_min, t_max, t_right);
            if (hit_left && hit_right) {
                // Descend into the nearer child, defer the farther one
                // (the build caps the depth at 60, so the stack cannot fill).
                const bool left_first = t_left <= t_right;
                if (top < kBvhStackSize) {
                    stack_node[top] = left_first ? right : left;
                    stack_entry[top] = left_first ? t_right : t_left;
                    ++top;
                }
                index = left_first ? left : right;
                continue;
            }
            if (hit_left || hit_right) {
                index = hit_left ? left : right;
                continue;
            }
        }
        // Pop the nearest deferred node that still lies before t_max.
        do {
            if (top == 0) return;
            --top;
        } while (stack_entry[top] > t_max);
        index = stack_node[top];
    }
}

}  // namespace rt
}  // namespace pdvg
