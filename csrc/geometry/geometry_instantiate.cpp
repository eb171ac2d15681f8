// Compiles every geometry kernel once in this translation unit, so that both
// the host build and the nvcc build (-DPYDIFFVG_CUDA=ON sends this file
// through nvcc, where a never-launched __global__ kernel forces device code
// generation) check the headers even before a renderer kernel uses them.
#include "geometry/closest_point.h"
#include "geometry/roots.h"
#include "geometry/winding.h"

namespace pdvg {

// Not called anywhere; its only job is to make the compiler emit the bodies.
HOST_DEVICE inline float call_every_geometry_kernel() {
    double roots[5];
    double coefficients[6] = {1.0, -2.0, 0.5, 1.0, -1.0, 0.25};
    int count = solve_quadratic(1.0, -3.0, 2.0, roots);
    count += solve_cubic(1.0, -6.0, 11.0, -6.0, roots);
    count += polynomial_roots_in_interval(coefficients, 5, 0.0, 1.0, roots);
    Segment cubic;
    cubic.degree = 3;
    cubic.p[0] = Vec2f(0.0f, 0.0f); cubic.p[1] = Vec2f(1.0f, 2.0f);
    cubic.p[2] = Vec2f(2.0f, -1.0f); cubic.p[3] = Vec2f(3.0f, 1.0f);
    Vec2f query(1.0f, 0.5f);
    ClosestPoint on_segment = closest_point_on_segment(cubic, query);
    ClosestPoint on_ellipse = closest_point_on_ellipse(Vec2f(0.0f, 0.0f), Vec2f(2.0f, 1.0f), query);
    ClosestPoint on_rect = closest_point_on_rect(Vec2f(0.0f, 0.0f), Vec2f(2.0f, 1.0f), query);
    count += winding_contribution(cubic, query);
    count += winding_number_ellipse(Vec2f(0.0f, 0.0f), Vec2f(2.0f, 1.0f), query);
    count += winding_number_rect(Vec2f(0.0f, 0.0f), Vec2f(2.0f, 1.0f), query);
    return float(count) + on_segment.distance + on_ellipse.distance + on_rect.distance;
}

float geometry_instantiate_all() { return call_every_geometry_kernel(); }

#if defined(__CUDACC__)
// Device code generation for the same calls (never launched).
__global__ void geometry_instantiate_kernel(float* out) { out[0] = call_every_geometry_kernel(); }
#endif

}  // namespace pdvg
