// Binned SAH BVH build (Wald 2007, "On fast Construction of SAH-based Bounding
// Volume Hierarchies"): at each node, triangle centroids are binned into 16
// bins along each of the three axes and the split with the lowest surface-
// area cost is taken. The binary tree is then collapsed to 4 wide (see
// Collapser). Runs on the host; the node array is then copied to the device
// by the caller.
#include "bvh.h"

#include <algorithm>
#include <cfloat>

namespace pdvg {
namespace rt {

namespace {

struct Box {
    float lo[3] = {FLT_MAX, FLT_MAX, FLT_MAX};
    float hi[3] = {-FLT_MAX, -FLT_MAX, -FLT_MAX};
    void grow(const float* p) {
        for (int a = 0; a < 3; ++a) { lo[a] = std::min(lo[a], p[a]); hi[a] = std::max(hi[a], p[a]); }
    }
    void grow(const Box& b) {
        for (int a = 0; a < 3; ++a) { lo[a] = std::min(lo[a], b.lo[a]); hi[a] = std::max(hi[a], b.hi[a]); }
    }
    float area() const {
        float d[3];
        for (int a = 0; a < 3; ++a) d[a] = std::max(hi[a] - lo[a], 0.0f);
        return 2.0f * (d[0] * d[1] + d[1] * d[2] + d[2] * d[0]);
    }
};

// The binary tree the SAH build makes, before it is collapsed to 4 wide.
// Interior: count == 0, left child next, right child at `offset`; leaf:
// count > 0 primitives from `offset`.
struct BinaryNode {
    Box box;
    int offset = 0;
    int count = 0;
};

struct BuildPrim {
    Box box;
    float centroid[3];
    int face;
};

constexpr int kBins = 16;  // per axis
constexpr int kMaxLeaf = 4;
constexpr int kMaxDepth = 60;

struct Builder {
    std::vector<BuildPrim>& prims;
    std::vector<BinaryNode>& nodes;

    int build(int begin, int end, int depth) {
        int node_index = int(nodes.size());
        nodes.push_back(BinaryNode());
        Box bounds, centroid_bounds;
        for (int i = begin; i < end; ++i) {
            bounds.grow(prims[size_t(i)].box);
            centroid_bounds.grow(prims[size_t(i)].centroid);
        }
        int count = end - begin;
        int split = -1;
        if (count > kMaxLeaf && depth < kMaxDepth) split = find_split(begin, end, bounds, centroid_bounds);
        BinaryNode node;
        node.box = bounds;
        if (split < 0) {
            node.offset = begin;
            node.count = count;
            nodes[size_t(node_index)] = node;
            return node_index;
        }
        build(begin, split, depth + 1);
        int right = build(split, end, depth + 1);
        node.offset = right;
        node.count = 0;
        nodes[size_t(node_index)] = node;
        return node_index;
    }

    // Returns the partition point, or -1 to make a leaf. Bins the centroids
    // along each axis with a centroid extent and sweeps every bin boundary:
    //   cost(axis, k) = A_left N_left + A_right N_right
    // (the SAH of a split after bin k, up to the constant 1 / A_node), and
    // takes the cheapest over all three axes.
    int find_split(int begin, int end, const Box& bounds, const Box& centroid_bounds) {
        int count = end - begin;
        float best_cost = FLT_MAX;
        int best_axis = -1, best_bin = -1;
        float best_lo = 0.0f, best_to_bin = 0.0f;
        for (int axis = 0; axis < 3; ++axis) {
            float extent = centroid_bounds.hi[axis] - centroid_bounds.lo[axis];
            if (!(extent > 0.0f)) continue;
            Box bin_box[kBins];
            int bin_count[kBins] = {0};
            float lo = centroid_bounds.lo[axis];
            float to_bin = float(kBins) * 0.9999f / extent;
            for (int i = begin; i < end; ++i) {
                int b = std::min(kBins - 1, int((prims[size_t(i)].centroid[axis] - lo) * to_bin));
                bin_count[b]++;
                bin_box[b].grow(prims[size_t(i)].box);
            }
            float right_area[kBins];
            int right_count[kBins];
            Box acc;
            int n = 0;
            for (int b = kBins - 1; b > 0; --b) {
                acc.grow(bin_box[b]);
                n += bin_count[b];
                right_area[b] = acc.area();
                right_count[b] = n;
            }
            Box left;
            int left_n = 0;
            for (int b = 0; b < kBins - 1; ++b) {
                left.grow(bin_box[b]);
                left_n += bin_count[b];
                if (left_n == 0 || right_count[b + 1] == 0) continue;
                float cost = left.area() * float(left_n) + right_area[b + 1] * float(right_count[b + 1]);
                if (cost < best_cost) {
                    best_cost = cost; best_axis = axis; best_bin = b; best_lo = lo; best_to_bin = to_bin;
                }
            }
        }
        // A leaf costs N triangle tests; a split costs one more pair of box
        // tests (about one triangle test) plus its SAH.
        float leaf_cost = bounds.area() * float(count);
        if (best_axis < 0 || (best_cost + bounds.area() >= leaf_cost && count <= 2 * kMaxLeaf)) {
            // No usable split (all centroids coincide, or none pays off):
            // a leaf, or a split in the middle to bound the leaf size.
            return count > 2 * kMaxLeaf ? begin + count / 2 : -1;
        }
        const int axis = best_axis;
        const float lo = best_lo, to_bin = best_to_bin;
        auto middle = std::partition(prims.begin() + begin, prims.begin() + end, [&](const BuildPrim& p) {
            return std::min(kBins - 1, int((p.centroid[axis] - lo) * to_bin)) <= best_bin;
        });
        int split = int(middle - prims.begin());
        if (split == begin || split == end) split = begin + count / 2;
        return split;
    }
};

// Collapses the binary tree into 4-wide nodes: a node starts with the two
// children of a binary node and repeatedly replaces its interior child of
// largest surface area by that child's two children (the one a ray is most
// likely to enter), until it holds four or only leaves. Nodes are laid out
// parent before children.
struct Collapser {
    const std::vector<BinaryNode>& binary;
    std::vector<BvhNode>& nodes;

    // `members` holds binary node indices; returns the new node's index.
    int emit(int* members, int n) {
        int index = int(nodes.size());
        nodes.push_back(BvhNode());
        int child[kBvhWidth], count[kBvhWidth];
        for (int i = 0; i < kBvhWidth; ++i) {
            child[i] = 0;
            count[i] = -1;
        }
        for (int i = 0; i < n; ++i) {
            const BinaryNode& b = binary[size_t(members[i])];
            if (b.count > 0) {
                child[i] = b.offset;
                count[i] = b.count;
            } else {
                child[i] = expand(members[i]);
                count[i] = 0;
            }
        }
        BvhNode& node = nodes[size_t(index)];  // after the recursion: push_back may move the array
        for (int i = 0; i < kBvhWidth; ++i) {
            Box box;
            if (i < n) box = binary[size_t(members[i])].box;
            else for (int a = 0; a < 3; ++a) box.lo[a] = box.hi[a] = 0.0f;  // unused slot (count -1)
            node.lower_x[i] = box.lo[0]; node.upper_x[i] = box.hi[0];
            node.lower_y[i] = box.lo[1]; node.upper_y[i] = box.hi[1];
            node.lower_z[i] = box.lo[2]; node.upper_z[i] = box.hi[2];
            node.child[i] = child[i];
            node.count[i] = count[i];
        }
        return index;
    }

    // A 4-wide node for the interior binary node `b`.
    int expand(int b) {
        int members[kBvhWidth] = {b + 1, binary[size_t(b)].offset};
        int n = 2;
        while (n < kBvhWidth) {
            int widest = -1;
            float widest_area = -1.0f;
            for (int i = 0; i < n; ++i) {
                const BinaryNode& m = binary[size_t(members[i])];
                if (m.count == 0 && m.box.area() > widest_area) { widest = i; widest_area = m.box.area(); }
            }
            if (widest < 0) break;
            int opened = members[widest];
            members[widest] = opened + 1;
            members[n++] = binary[size_t(opened)].offset;
        }
        return emit(members, n);
    }
};

}  // namespace

void build_bvh(const float* vertices, const int* indices, int num_faces, std::vector<BvhNode>& nodes,
               std::vector<BvhTriangle>& triangles) {
    nodes.clear();
    triangles.clear();
    if (num_faces <= 0) return;
    std::vector<BuildPrim> prims(static_cast<size_t>(num_faces));
    for (int f = 0; f < num_faces; ++f) {
        BuildPrim& p = prims[size_t(f)];
        for (int k = 0; k < 3; ++k) p.box.grow(vertices + 3 * indices[3 * f + k]);
        for (int a = 0; a < 3; ++a) p.centroid[a] = 0.5f * (p.box.lo[a] + p.box.hi[a]);
        p.face = f;
    }
    std::vector<BinaryNode> binary;
    binary.reserve(size_t(2 * num_faces));
    Builder builder{prims, binary};
    builder.build(0, num_faces, 0);
    nodes.reserve(binary.size() / 2 + 1);
    Collapser collapser{binary, nodes};
    if (binary[0].count > 0) {
        int root[1] = {0};
        collapser.emit(root, 1);  // a single leaf under a root with one child
    } else {
        collapser.expand(0);
    }
    // The leaves' triangles in leaf order, with the edge vectors the
    // intersection test would otherwise compute per ray.
    triangles.resize(size_t(num_faces));
    for (int i = 0; i < num_faces; ++i) {
        const int face = prims[size_t(i)].face;
        const Vec3f v0 = load3(vertices, indices[3 * face]), v1 = load3(vertices, indices[3 * face + 1]),
                    v2 = load3(vertices, indices[3 * face + 2]);
        BvhTriangle& t = triangles[size_t(i)];
        t.v0 = v0;
        t.face = face;
        t.e1 = v1 - v0;
        t.e2 = v2 - v0;
    }
}

}  // namespace rt
}  // namespace pdvg
