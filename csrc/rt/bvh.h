// An 8-wide BVH over triangles: binned-SAH build on the host, flat node array,
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

// The host build tests a node's eight boxes with AVX (one register per
// plane) or, on x86-64 without AVX, SSE (two); device code and other hosts
// use the scalar loop. All three give the same floats.
#if !defined(__CUDA_ARCH__) && (defined(__SSE2__) || defined(__AVX__))
#include <immintrin.h>
#define PDVG_BVH_SSE 1
#else
#define PDVG_BVH_SSE 0
#endif
#if PDVG_BVH_SSE && defined(__AVX__)
#define PDVG_BVH_AVX 1
#else
#define PDVG_BVH_AVX 0
#endif
#include "math3d.h"

namespace pdvg {
namespace rt {

// An 8-wide node: the boxes of up to eight children side by side
// (structure of arrays, so one ray tests all eight with the same few vector
// operations: one AVX register per plane, or two SSE ones), and a reference
// per child. bounds[2 a] holds the lower and bounds[2 a + 1] the upper
// planes along axis a, so a ray picks its near and far plane arrays once by
// the signs of its direction (BvhRay) and the slab test needs no min / max
// per axis. An unused slot has the inverted box lower = +FLT_MAX, upper =
// -FLT_MAX, which no ray enters (its far distance is negative, see
// child_box_hits), so the test needs no mask of empty slots. Built by
// collapsing a binary SAH tree: a node adopts the children of its largest
// interior child until it has eight.
constexpr int kBvhWidth = 8;
struct BvhNode {
    float bounds[6][kBvhWidth];
    int child[kBvhWidth];  // BvhRef
};

// A child reference: an interior node index (>= 0), or a leaf of `count`
// triangles at slots [first, first + count), encoded as ~(first * 16 + count)
// (< 0). A leaf holds at most kBvhMaxLeaf <= 15 triangles.
constexpr int kBvhMaxLeaf = 8;
HOST_DEVICE FORCE_INLINE int bvh_leaf_ref(int first, int count) { return ~(first * 16 + count); }
HOST_DEVICE FORCE_INLINE int bvh_leaf_first(int ref) { return (~ref) >> 4; }
HOST_DEVICE FORCE_INLINE int bvh_leaf_count(int ref) { return (~ref) & 15; }

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

// Deferred children on the traversal stack. The binary tree is at most
// 72 levels deep (40 of SAH splits, then halving to bound the leaf size;
// bvh.cpp), so a ray meets at most 72 8-wide levels (each descends at least
// one binary level), and each level defers at most seven children.
constexpr int kBvhStackSize = 7 * 72;

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

// What the slab test needs of a ray, computed once per ray: the origin,
// the safe inverse direction, and per axis which of a node's plane arrays
// is the near one (bounds[near[a]]) and which the far one (bounds[near[a] ^ 1]).
// For inv >= 0 the lower plane is nearer: (lo - o) inv <= (hi - o) inv, the
// rounded products being monotone in the plane, so picking planes by sign
// gives exactly the floats min / max of the two products would.
struct BvhRay {
    Vec3f origin;
    float inv[3];
    int near[3];
};

HOST_DEVICE FORCE_INLINE BvhRay make_bvh_ray(Vec3f origin, Vec3f direction) {
    // From scalars in registers: a loop over r.inv[] here was vectorised by
    // GCC into a reload of two just-stored floats, a store-forwarding stall
    // on every ray.
    const float inv_x = safe_inverse(direction.x), inv_y = safe_inverse(direction.y),
                inv_z = safe_inverse(direction.z);
    BvhRay r;
    r.origin = origin;
    r.inv[0] = inv_x;
    r.inv[1] = inv_y;
    r.inv[2] = inv_z;
    r.near[0] = inv_x < 0.0f ? 1 : 0;
    r.near[1] = inv_y < 0.0f ? 3 : 2;
    r.near[2] = inv_z < 0.0f ? 5 : 4;
    return r;
}

// Slab test (Kay & Kajiya) of a node's eight child boxes: bit i of the
// result is set when the ray [t_min, t_max] enters child i, with its entry
// distance in entry[i]. Entry = max over axes of the near-plane distances
// (and t_min), exit = min of the far ones, scaled by 1 + 2 γ_3 (Ize 2013,
// "Robust BVH Ray Traversal") so that rounding never culls a box the ray
// grazes. The AVX, SSE and scalar branches compute the same floats.
HOST_DEVICE FORCE_INLINE int child_box_hits(const BvhNode& node, const BvhRay& ray, float t_min, float t_max,
                                            float* entry) {
    const float* nx = node.bounds[ray.near[0]];
    const float* fx = node.bounds[ray.near[0] ^ 1];
    const float* ny = node.bounds[ray.near[1]];
    const float* fy = node.bounds[ray.near[1] ^ 1];
    const float* nz = node.bounds[ray.near[2]];
    const float* fz = node.bounds[ray.near[2] ^ 1];
#if PDVG_BVH_AVX
    const __m256 ix = _mm256_set1_ps(ray.inv[0]), iy = _mm256_set1_ps(ray.inv[1]), iz = _mm256_set1_ps(ray.inv[2]);
    const __m256 ox = _mm256_set1_ps(ray.origin.x), oy = _mm256_set1_ps(ray.origin.y),
                 oz = _mm256_set1_ps(ray.origin.z);
    const __m256 x0 = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(nx), ox), ix);
    const __m256 y0 = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(ny), oy), iy);
    const __m256 z0 = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(nz), oz), iz);
    const __m256 x1 = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(fx), ox), ix);
    const __m256 y1 = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(fy), oy), iy);
    const __m256 z1 = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(fz), oz), iz);
    const __m256 t0 = _mm256_max_ps(_mm256_max_ps(_mm256_set1_ps(t_min), x0), _mm256_max_ps(y0, z0));
    const __m256 t1 = _mm256_mul_ps(_mm256_min_ps(x1, _mm256_min_ps(y1, z1)), _mm256_set1_ps(1.0000004f));
    _mm256_storeu_ps(entry, t0);
    return _mm256_movemask_ps(_mm256_cmp_ps(t0, _mm256_min_ps(_mm256_set1_ps(t_max), t1), _CMP_LE_OQ));
#elif PDVG_BVH_SSE
    int enters = 0;
    for (int h = 0; h < kBvhWidth; h += 4) {
        const __m128 ix = _mm_set1_ps(ray.inv[0]), iy = _mm_set1_ps(ray.inv[1]), iz = _mm_set1_ps(ray.inv[2]);
        const __m128 ox = _mm_set1_ps(ray.origin.x), oy = _mm_set1_ps(ray.origin.y), oz = _mm_set1_ps(ray.origin.z);
        const __m128 x0 = _mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(nx + h), ox), ix);
        const __m128 y0 = _mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(ny + h), oy), iy);
        const __m128 z0 = _mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(nz + h), oz), iz);
        const __m128 x1 = _mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(fx + h), ox), ix);
        const __m128 y1 = _mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(fy + h), oy), iy);
        const __m128 z1 = _mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(fz + h), oz), iz);
        const __m128 t0 = _mm_max_ps(_mm_max_ps(_mm_set1_ps(t_min), x0), _mm_max_ps(y0, z0));
        const __m128 t1 = _mm_mul_ps(_mm_min_ps(x1, _mm_min_ps(y1, z1)), _mm_set1_ps(1.0000004f));
        _mm_storeu_ps(entry + h, t0);
        enters |= _mm_movemask_ps(_mm_cmple_ps(t0, _mm_min_ps(_mm_set1_ps(t_max), t1))) << h;
    }
    return enters;
#else
    int enters = 0;
    for (int i = 0; i < kBvhWidth; ++i) {
        float x0 = (nx[i] - ray.origin.x) * ray.inv[0], x1 = (fx[i] - ray.origin.x) * ray.inv[0];
        float y0 = (ny[i] - ray.origin.y) * ray.inv[1], y1 = (fy[i] - ray.origin.y) * ray.inv[1];
        float z0 = (nz[i] - ray.origin.z) * ray.inv[2], z1 = (fz[i] - ray.origin.z) * ray.inv[2];
        float t0 = max_value(max_value(t_min, x0), max_value(y0, z0));
        float t1 = min_value(x1, min_value(y1, z1)) * 1.0000004f;
        entry[i] = t0;
        if (t0 <= min_value(t_max, t1)) enters |= 1 << i;
    }
    return enters;
#endif
}

// Index of the lowest set bit of a non-zero mask, and the mask without it.
HOST_DEVICE FORCE_INLINE int lowest_bit(int mask) {
#ifdef __CUDA_ARCH__
    return __ffs(mask) - 1;
#else
    return __builtin_ctz(unsigned(mask));
#endif
}

// A deferred child: its reference and the ray's entry distance into its box.
struct BvhEntry {
    int ref;
    float t;
};

// Visits every leaf triangle whose box the ray [t_min, t_max] enters,
// nearest box first. `visit(slot, t_max)` gets the leaf slot (an index into
// bvh.triangles), may shrink t_max (closest hit) and returns true to stop
// the traversal (any hit).
//
// Each box is tested once, from its parent. A node with one entered child
// descends into it directly; with more, the entered children go on the
// stack sorted by entry distance (nearest on top) and the nearest is taken
// at once. The stack keeps entry distances, so a deferred child farther
// than the closest hit found since is dropped untested.
template <typename Visitor>
HOST_DEVICE void traverse_bvh(const BvhView& bvh, Vec3f origin, Vec3f direction, float t_min, float& t_max,
                              Visitor& visit) {
    if (bvh.num_nodes <= 0) return;
    const BvhRay ray = make_bvh_ray(origin, direction);
    BvhEntry stack[kBvhStackSize];
    int top = 0;
    int current = 0;  // the root
    while (true) {
        if (current >= 0) {
            const BvhNode& node = bvh.nodes[current];
            float entry[kBvhWidth];
            int enters = child_box_hits(node, ray, t_min, t_max, entry);
            if (enters != 0) {
                int first = lowest_bit(enters);
                enters &= enters - 1;
                if (enters == 0) {  // one child entered: descend
                    current = node.child[first];
                    continue;
                }
                // Two or more: push them all, then insertion-sort the new
                // entries so the farthest lies deepest (of equal ones, the
                // lower child comes first), and take the nearest off the top.
                const int base = top;
                if (top + kBvhWidth > kBvhStackSize) return;  // unreachable: see kBvhStackSize
                stack[top++] = BvhEntry{node.child[first], entry[first]};
                do {
                    const int i = lowest_bit(enters);
                    enters &= enters - 1;
                    BvhEntry e{node.child[i], entry[i]};
                    int j = top++;
                    while (j > base && stack[j - 1].t <= e.t) { stack[j] = stack[j - 1]; --j; }
                    stack[j] = e;
                } while (enters != 0);
                current = stack[--top].ref;
                continue;
            }
        } else {
            const int first = bvh_leaf_first(current), count = bvh_leaf_count(current);
            for (int k = 0; k < count; ++k)
                if (visit(first + k, t_max)) return;
        }
        // Pop the nearest deferred child that still starts before t_max.
        do {
            if (top == 0) return;
            --top;
        } while (stack[top].t > t_max);
        current = stack[top].ref;
    }
}

}  // namespace rt
}  // namespace pdvg
