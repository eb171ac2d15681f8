// Winding numbers by ray casting.
//
// INTERFACE (implemented by the geometry work item; signatures are fixed):
//
// Convention: a crossing of the ray {(x, p.y) : x > p.x} counts +1 when the
// curve crosses it moving toward +y (downward on the canvas) and -1 moving
// toward -y. Crossings are counted on y-monotone pieces with a half-open rule
// in y (a piece from y_a to y_b counts when min(y_a,y_b) <= p.y < max(y_a,y_b)),
// so a vertex exactly on the ray is counted once when the path passes through
// it and zero times when the path turns back at it. With this convention the
// rectangle lo->(hi.x,lo.y)->hi->(lo.x,hi.y)->lo and the circle traced with
// increasing angle have winding number +1 inside, matching SVG's directions.
#pragma once

#include "bezier.h"

namespace pdvg {

// Signed crossings of the ray from p toward +x with one segment.
HOST_DEVICE int winding_contribution(const Segment& s, Vec2f p);

// Winding number of closed primitives: +1 inside, 0 outside.
HOST_DEVICE int winding_number_ellipse(Vec2f center, Vec2f radius, Vec2f p);
HOST_DEVICE int winding_number_rect(Vec2f lo, Vec2f hi, Vec2f p);

}  // namespace pdvg
