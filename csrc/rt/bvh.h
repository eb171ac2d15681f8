// A 4-wide BVH over triangles: binned-SAH build on the host, flat node array,
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

// The host build tests a node's four boxes with SSE; device code and other
// hosts use the scalar loop.
#if !defined(__CUDA_ARCH__) && (defined(__SSE4_1__) || defined(__AVX__))
#include <immintrin.h>
#define PDVG_BVH_SSE 1
#else
#define PDVG_BVH_SSE 0
#endif
#include "math3d.h"

namespace pdvg {
namespace rt {

// A 4-wide node: the boxes of up to four children side by side (structure
// of arrays, so one ray tests all four with the same few vector operations),
// and for each child either an interior node (count == 0, child = node
// index), a leaf (count > 0 triangles at triangles[child .. child + count))
// or nothing (count < 0). Built by collapsing a binary SAH tree: a node
// adopts the children of its largest interior child until it has four.
constexpr int kBvhWidth = 4;
struct BvhNode {
    float lower_x[kBvhWidth], upper_x[kBvhWidth];
    float lower_y[kBvhWidth], upper_y[kBvhWidth];
    float lower_z[kBvhWidth], upper_z[kBvhWidth];
    int child[kBvhWidth];
    int count[kBvhWidth];
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

// Deferred children on the traversal stack. The binary tree's depth is
// capped at 60 and every 4-wide level pushes at most three children.
constexpr int kBvhStackSize = 3 * 64;

// Host-side build over `num_faces` triangles. Fills nodes (root first) and
// the leaf-ordered triangles.
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

// A child reference on the stack or in hand: node index or first triangle
// slot, count as in BvhNode, and the ray's entry distance into its box.
struct BvhEntry {
    int child;
    int count;
    float t;
};

// The slab test of a node's four child boxes: bit i of the result is set
// when the ray [t_min, t_max] enters child i (an existing one), with its
// entry distance in entry[i]. See traverse_bvh for the math. On the host
// with SSE the four boxes are tested at once; min/max on these NaN-free
// values give the same floats in both branches.
HOST_DEVICE FORCE_INLINE int child_box_hits(const BvhNode& node, Vec3f origin, float inv_x, float inv_y, float inv_z,
                                            float t_min, float t_max, float* entry) {
#if PDVG_BVH_SSE
    const __m128 ix = _mm_set1_ps(inv_x), iy = _mm_set1_ps(inv_y), iz = _mm_set1_ps(inv_z);
    const __m128 ox = _mm_set1_ps(origin.x), oy = _mm_set1_ps(origin.y), oz = _mm_set1_ps(origin.z);
    const __m128 x0 = _mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(node.lower_x), ox), ix);
    const __m128 x1 = _mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(node.upper_x), ox), ix);
    const __m128 y0 = _mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(node.lower_y), oy), iy);
    const __m128 y1 = _mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(node.upper_y), oy), iy);
    const __m128 z0 = _mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(node.lower_z), oz), iz);
    const __m128 z1 = _mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(node.upper_z), oz), iz);
    const __m128 t0 = _mm_max_ps(_mm_max_ps(_mm_set1_ps(t_min), _mm_min_ps(x0, x1)),
                                 _mm_max_ps(_mm_min_ps(y0, y1), _mm_min_ps(z0, z1)));
    const __m128 t1 = _mm_mul_ps(_mm_min_ps(_mm_max_ps(x0, x1), _mm_min_ps(_mm_max_ps(y0, y1), _mm_max_ps(z0, z1))),
                                 _mm_set1_ps(1.0000004f));
    _mm_storeu_ps(entry, t0);
    const int enters = _mm_movemask_ps(_mm_cmple_ps(t0, _mm_min_ps(_mm_set1_ps(t_max), t1)));
    const __m128i count = _mm_loadu_si128(reinterpret_cast<const __m128i*>(node.count));
    const int empty = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmplt_epi32(count, _mm_setzero_si128())));
    return enters & ~empty;
#else
    int enters = 0;
    for (int i = 0; i < kBvhWidth; ++i) {
        float x0 = (node.lower_x[i] - origin.x) * inv_x, x1 = (node.upper_x[i] - origin.x) * inv_x;
        float y0 = (node.lower_y[i] - origin.y) * inv_y, y1 = (node.upper_y[i] - origin.y) * inv_y;
        float z0 = (node.lower_z[i] - origin.z) * inv_z, z1 = (node.upper_z[i] - origin.z) * inv_z;
        float t0 = max_value(max_value(t_min, min_value(x0, x1)), max_value(min_value(y0, y1), min_value(z0, z1)));
        float t1 = min_value(max_value(x0, x1), min_value(max_value(y0, y1), max_value(z0, z1))) * 1.0000004f;
        entry[i] = t0;
        if (t0 <= min_value(t_max, t1) && node.count[i] >= 0) enters |= 1 << i;
    }
    return enters;
#endif
}

// Visits every leaf triangle whose box the ray [t_min, t_max] enters,
// nearest box first. `visit(slot, t_max)` gets the leaf slot (an index into
// bvh.triangles), may shrink t_max (closest hit) and returns true to stop
// the traversal (any hit).
//
// Slab test (Kay & Kajiya) of each child box: entry = max over axes of the
// near plane distances (and t_min), exit = min of the far ones (and t_max);
// the exit is scaled by 1 + 2 γ_3 (Ize 2013, "Robust BVH Ray Traversal") so
// that rounding never culls a box the ray grazes. Each box is tested once,
// from its parent; the stack keeps the entry distance of a deferred child,
// so a child farther than the closest hit found since is dropped untested.
template <typename Visitor>
HOST_DEVICE void traverse_bvh(const BvhView& bvh, Vec3f origin, Vec3f direction, float t_min, float& t_max,
                              Visitor& visit) {
    if (bvh.num_nodes <= 0) return;
    const float inv_x = safe_inverse(direction.x), inv_y = safe_inverse(direction.y),
                inv_z = safe_inverse(direction.z);
    BvhEntry stack[kBvhStackSize];
    int top = 0;
    BvhEntry current{0, 0, t_min};
    while (true) {
        if (current.count == 0) {
            const BvhNode& node = bvh.nodes[current.child];
            float entry[kBvhWidth];
            int enters = child_box_hits(node, origin, inv_x, inv_y, inv_z, t_min, t_max, entry);
            // The entered children, nearest first (insertion sort of <= 4).
            BvhEntry hits[kBvhWidth];
            int n = 0;
            for (int i = 0; i < kBvhWidth; ++i) {
                if (!(enters & (1 << i))) continue;
                BvhEntry e{node.child[i], node.count[i], entry[i]};
                int j = n++;
                while (j > 0 && hits[j - 1].t > e.t) { hits[j] = hits[j - 1]; --j; }
                hits[j] = e;
            }
            if (n > 0) {
                // Defer all but the nearest, farthest deepest in the stack.
                for (int j = n - 1; j > 0; --j)
                    if (top < kBvhStackSize) stack[top++] = hits[j];
                current = hits[0];
                continue;
            }
        } else {
            for (int k = 0; k < current.count; ++k)
                if (visit(current.child + k, t_max)) return;
        }
        // Pop the nearest deferred child that still starts before t_max.
        do {
            if (top == 0) return;
            --top;
        } while (stack[top].t > t_max);
        current = stack[top];
    }
}

}  // namespace rt
}  // namespace pdvg
