// Robust real root finding for polynomials of degree <= 5.
//
// INTERFACE (implemented by the geometry work item; signatures are fixed):
#pragma once

#include "../core/defs.h"

namespace pdvg {

// Real roots of a t^2 + b t + c = 0, ascending; returns how many (0..2).
// Degenerates gracefully to the linear case when |a| is negligible relative
// to |b| and |c|. Uses the cancellation-free form q = -(b + sign(b) sqrt(D))/2.
HOST_DEVICE int solve_quadratic(double a, double b, double c, double roots[2]);

// Real roots of a t^3 + b t^2 + c t + d = 0, ascending; returns 0..3.
// Degenerates to solve_quadratic when a is negligible. Roots are polished with
// a Newton step.
HOST_DEVICE int solve_cubic(double a, double b, double c, double d, double roots[3]);

// All real roots in [t0, t1] of sum_k coefficients[k] t^k, k = 0..degree,
// degree <= 5, ascending; returns how many. Roots are isolated between the
// roots of the derivative (found recursively) and refined by safeguarded
// Newton/bisection, so it never misses a sign change.
HOST_DEVICE int polynomial_roots_in_interval(const double* coefficients, int degree,
                                             double t0, double t1, double* roots);

}  // namespace pdvg
