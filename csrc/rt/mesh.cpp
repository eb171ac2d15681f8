// Edge extraction: sort the three edges of every face by their vertex pair,
// then group equal pairs.
#include "mesh.h"

#include <algorithm>

namespace pdvg {
namespace rt {

std::vector<MeshEdge> extract_edges(const int* indices, int num_faces) {
    struct HalfEdge {
        int v0, v1, face;
    };
    std::vector<HalfEdge> half;
    half.reserve(static_cast<size_t>(num_faces) * 3);
    for (int f = 0; f < num_faces; ++f) {
        for (int k = 0; k < 3; ++k) {
            int a = indices[3 * f + k], b = indices[3 * f + (k + 1) % 3];
            if (a == b) continue;  // degenerate face side
            half.push_back({std::min(a, b), std::max(a, b), f});
        }
    }
    std::sort(half.begin(), half.end(), [](const HalfEdge& x, const HalfEdge& y) {
        return x.v0 != y.v0 ? x.v0 < y.v0 : (x.v1 != y.v1 ? x.v1 < y.v1 : x.face < y.face);
    });
    std::vector<MeshEdge> edges;
    edges.reserve(half.size() / 2 + 1);
    size_t i = 0;
    while (i < half.size()) {
        size_t j = i;
        while (j < half.size() && half[j].v0 == half[i].v0 && half[j].v1 == half[i].v1) ++j;
        size_t n = j - i;
        if (n == 2 && half[i].face != half[i + 1].face) {
            edges.push_back({half[i].v0, half[i].v1, half[i].face, half[i + 1].face});
        } else {
            for (size_t k = i; k < j; ++k) edges.push_back({half[k].v0, half[k].v1, half[k].face, -1});
        }
        i = j;
    }
    return edges;
}

}  // namespace rt
}  // namespace pdvg
