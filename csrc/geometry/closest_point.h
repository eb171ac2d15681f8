// Closest points on segments, circles, ellipses and rectangles.
//
// INTERFACE (implemented by the geometry work item; signatures are fixed):
#pragma once

#include "bezier.h"

namespace pdvg {

struct ClosestPoint {
    float t;          // segment parameter in [0, 1] (for ellipses: the angle in radians)
    Vec2f point;      // the closest point
    float distance;   // |point - query|
};

// Global minimum of |s(t) - p| over t in [0, 1], end points included.
// Line: projection clamped. Quadratic: the cubic d/dt |s(t)-p|^2 = 0.
// Cubic: the quintic (s(t)-p).s'(t) = 0 through polynomial_roots_in_interval.
HOST_DEVICE ClosestPoint closest_point_on_segment(const Segment& s, Vec2f p);

// Closest point on the ellipse {center + (rx cos a, ry sin a)}; exact to float
// precision for any aspect ratio, rx = ry included. t holds the angle a.
HOST_DEVICE ClosestPoint closest_point_on_ellipse(Vec2f center, Vec2f radius, Vec2f p);

// Closest point on the boundary of the axis-aligned rectangle [lo, hi].
// t holds the perimeter parameter in [0, 4): side k (0: top y=lo.y going +x,
// 1: right going +y, 2: bottom going -x, 3: left going -y) plus the fraction
// along it.
HOST_DEVICE ClosestPoint closest_point_on_rect(Vec2f lo, Vec2f hi, Vec2f p);

}  // namespace pdvg
