// Double-precision evaluation of Bézier segments, shared by the closest-point
// and winding-number kernels (their float inputs are exact in double).
#pragma once

#include "bezier.h"

namespace pdvg {

// de Casteljau evaluation in double: stable for any t in [0, 1].
HOST_DEVICE inline Vec2d evaluate_double(const Segment& s, double t) {
    Vec2d level[4];
    for (int k = 0; k <= s.degree; ++k) level[k] = Vec2d(s.p[k]);
    for (int r = 1; r <= s.degree; ++r)
        for (int k = 0; k <= s.degree - r; ++k) level[k] = level[k] + (level[k + 1] - level[k]) * t;
    return level[0];
}

}  // namespace pdvg
