// THE boundary sampler, shared by the 2-D rasterizer and the 3-D tracer.
//
// The derivative of a pixel integral I = ∫ k(x) f(x; θ) dx has a boundary term
//   ∫_Γ k(x) [f_in(x) − f_out(x)] (v(x) · n(x)) ds,
// where Γ are the discontinuities of f, n the outward unit normal and v = ∂x/∂θ
// the velocity of the boundary point. We estimate it by drawing points on Γ:
// first a piece with probability weight_i / Σ weight, then a parameter t on it.
// The estimator of one sample is
//   k(x) [f_in − f_out] (v · n) / pdf_length(x),
// and pdf_length, the density per unit length, is P(piece) · p(t) / |dx/dt|.
//
// The sampler knows nothing of Bézier curves or triangles. A client supplies
// a "piece table": any type with
//     HOST_DEVICE PieceGeometry geometry(int piece, float t) const;
// returning the point, the unit outward normal and the speed |dx/dt|. 2-D
// fills, stroke sides, caps, circles and ellipses, and projected 3-D edges are
// such tables. Parameters t are drawn uniformly on [0, 1], so p(t) = 1.
//
// Build:   weights[i] >= 0 (typically the piece's length, optionally times an
//          importance) -> cdf[0..n], cdf[0] = 0, cdf[n] = 1.
// Sample:  sample_boundary(table, cdf, n, u0, u1) -> BoundarySample.
// Scatter: the client multiplies the contribution by ∂(x·n)/∂θ for its
//          piece's parameters and adds with atomic_add (core/atomics.h).
#pragma once

#include "../core/context.h"
#include "../core/vec.h"

namespace pdvg {

struct PieceGeometry {
    Vec2f point;     // position on the boundary (canvas or screen space)
    Vec2f normal;    // unit normal pointing to the "outside" side
    float speed;     // |d point / dt|; zero for a degenerate piece
};

struct BoundarySample {
    int piece;       // index into the piece table; -1 if nothing can be sampled
    float t;         // parameter on the piece, uniform in [0, 1)
    Vec2f point;
    Vec2f normal;
    float pdf;       // probability density per unit boundary length at point
};

// Builds the normalised CDF of `count` non-negative weights into cdf[0..count]
// (cdf must hold count + 1 floats, on the context's device). Returns the total
// weight; 0 means there is nothing to sample (every sample then reports
// piece = -1). Runs in parallel: blocked partial sums, then a scan of the
// block totals.
double build_boundary_cdf(const float* weights, int count, float* cdf, const ExecutionContext& context);

// Index i with cdf[i] <= u < cdf[i+1], skipping zero-weight pieces.
HOST_DEVICE inline int find_piece(const float* cdf, int count, float u) {
    int lo = 0, hi = count;  // invariant: cdf[lo] <= u < cdf[hi] (cdf[count] = 1)
    while (hi - lo > 1) {
        int mid = (lo + hi) >> 1;
        if (cdf[mid] <= u) lo = mid; else hi = mid;
    }
    return lo;
}

// The boundary point at parameter u1 of `piece`, as find_piece drew it (-1:
// nothing to sample): sample_boundary's second half, for a caller that
// finds the pieces of many samples first (to visit them in piece order).
template <typename PieceTable>
HOST_DEVICE BoundarySample sample_on_piece(const PieceTable& table, const float* cdf, int piece, float u1) {
    BoundarySample s;
    s.piece = -1; s.t = 0.0f; s.pdf = 0.0f;
    if (piece < 0) return s;
    float probability = cdf[piece + 1] - cdf[piece];
    if (!(probability > 0.0f)) return s;
    PieceGeometry g = table.geometry(piece, u1);
    if (!(g.speed > 0.0f)) return s;
    s.piece = piece;
    s.t = u1;
    s.point = g.point;
    s.normal = g.normal;
    s.pdf = probability / g.speed;
    return s;
}

// Draws one boundary point: u0 picks the piece, u1 the parameter on it.
template <typename PieceTable>
HOST_DEVICE BoundarySample sample_boundary(const PieceTable& table, const float* cdf, int count, float u0,
                                           float u1) {
    if (count <= 0 || !(cdf[count] > 0.0f)) return sample_on_piece(table, cdf, -1, u1);
    return sample_on_piece(table, cdf, find_piece(cdf, count, u0), u1);
}

}  // namespace pdvg
