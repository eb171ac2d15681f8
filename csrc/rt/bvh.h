// A binary BVH over triangles: binned-SAH build on the host, flat node array,
// stackful iterative traversal (fixed-size stack, no recursion) usable in
// device code. One traversal routine takes a visitor, so closest-hit and
// any-hit queries share it.
#pragma once

#include <vector>

#include "../core/context.h"
#include "math3d.h"

namespace pdvg {
namespace rt {

// Interior node: count == 0, left child is the next node, right child at `offset`.
// Leaf: count > 0 primitives at prim_order[offset .. offset + count).
struct BvhNode {
    float lower[3];
    float upper[3];
    int offset;
    int count;
};

struct BvhView {
    const BvhNode* nodes = nullptr;
    const int* prim_order = nullptr;  // leaf slot -> face index
    int num_nodes = 0;
};

constexpr int kBvhStackSize = 64;

// Host-side build over `num_faces` triangles. Fills nodes and prim_order.
void build_bvh(const float* vertices, const int* indices, int num_faces, std::vector<BvhNode>& nodes,
               std::vector<int>& prim_order);

// Slab test; returns the entry distance, or kBoxMiss when the ray interval
// [t_min, t_max] misses the box.
constexpr float kBoxMiss = 3.4e38f;
HOST_DEVICE inline float ray_box_entry(const BvhNode& node, Vec3f origin, Vec3f inv_dir, float t_min, float t_max) {
    float t0 = t_min, t1 = t_max;
    for (int axis = 0; axis < 3; ++axis) {
        float o = origin[axis], inv = inv_dir[axis];
        float near_t = (node.lower[axis] - o) * inv;
        float far_t = (node.upper[axis] - o) * inv;
        if (near_t > far_t) { float s = near_t; near_t = far_t; far_t = s; }
        // NaN (0 * inf) on a slab boundary: keep the current interval.
        if (near_t > t0) t0 = near_t;
        if (far_t < t1) t1 = far_t * 1.0000004f;
        if (t0 > t1) return kBoxMiss;
    }
    return t0;
}

// Visits every leaf primitive whose node the ray [t_min, t_max] enters,
// nearest child first. `visit(face, t_max)` may shrink t_max (closest hit)
// and returns true to stop the traversal (any hit).
template <typename Visitor>
HOST_DEVICE void traverse_bvh(const BvhView& bvh, Vec3f origin, Vec3f direction, float t_min, float& t_max,
                              Visitor& visit) {
    if (bvh.num_nodes <= 0) return;
    Vec3f inv_dir(1.0f / direction.x, 1.0f / direction.y, 1.0f / direction.z);
    int stack[kBvhStackSize];
    int top = 0;
    stack[top++] = 0;
    while (top > 0) {
        int index = stack[--top];
        const BvhNode& node = bvh.nodes[index];
        if (ray_box_entry(node, origin, inv_dir, t_min, t_max) == kBoxMiss) continue;
        if (node.count > 0) {
            for (int k = 0; k < node.count; ++k)
                if (visit(bvh.prim_order[node.offset + k], t_max)) return;
            continue;
        }
        int left = index + 1, right = node.offset;
        float t_left = ray_box_entry(bvh.nodes[left], origin, inv_dir, t_min, t_max);
        float t_right = ray_box_entry(bvh.nodes[right], origin, inv_dir, t_min, t_max);
        // Push the farther child first so that the nearer one pops next.
        if (top + 2 > kBvhStackSize) continue;  // cannot happen for depth <= 62 (the build caps depth)
        bool hit_left = t_left != kBoxMiss, hit_right = t_right != kBoxMiss;
        if (t_left <= t_right) {
            if (hit_right) stack[top++] = right;
            if (hit_left) stack[top++] = left;
        } else {
            if (hit_left) stack[top++] = left;
            if (hit_right) stack[top++] = right;
        }
    }
}

}  // namespace rt
}  // namespace pdvg
