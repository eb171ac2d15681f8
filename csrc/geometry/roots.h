// Robust real root finding for polynomials of degree <= 5.
//
// INTERFACE (signatures fixed by the design):
//   solve_quadratic, solve_cubic, polynomial_roots_in_interval.
// Everything is double internally and usable on host and device: fixed-size
// arrays, no recursion, no allocation.
#pragma once

#include "../core/defs.h"

namespace pdvg {

namespace roots_detail {

constexpr double kEpsilon = 2.220446049250313e-16;  // double machine epsilon
constexpr int kMaxDegree = 5;

// True for finite values (not inf, not NaN); avoids the isfinite macro/
// function split between <cmath> and CUDA.
HOST_DEVICE inline bool is_finite(double x) { return fabs(x) <= 1.7976931348623157e308; }

// Horner evaluation of sum_k c[k] t^k.
HOST_DEVICE inline double evaluate_polynomial(const double* c, int degree, double t) {
    double value = c[degree];
    for (int k = degree - 1; k >= 0; --k) value = value * t + c[k];
    return value;
}

// Value and first derivative by Horner's scheme.
HOST_DEVICE inline void evaluate_polynomial_and_derivative(const double* c, int degree, double t,
                                                           double* value, double* slope) {
    double v = c[degree], d = 0.0;
    for (int k = degree - 1; k >= 0; --k) {
        d = d * t + v;
        v = v * t + c[k];
    }
    *value = v;
    *slope = d;
}

// A bound on the rounding error of Horner's scheme at t:
// |computed - exact| <= gamma_{2n} sum_k |c_k| |t|^k  (Higham, Accuracy and
// Stability of Numerical Algorithms, eq. 5.3). Values below it are zero to
// working precision; we use a small safety factor on top.
HOST_DEVICE inline double evaluation_error_bound(const double* c, int degree, double t) {
    double at = fabs(t), sum = fabs(c[degree]);
    for (int k = degree - 1; k >= 0; --k) sum = sum * at + fabs(c[k]);
    return 4.0 * (2 * degree + 1) * kEpsilon * sum;
}

// The root of c in [lo, hi] where c(lo) has sign sign_lo and c(hi) the
// opposite one (both nonzero). Safeguarded Newton (Numerical Recipes'
// "rtsafe" idea): take the Newton step when it stays inside the bracket and
// shrinks fast enough, otherwise bisect. The bracket always holds a sign
// change, so this converges whatever the start.
HOST_DEVICE inline double refine_bracketed_root(const double* c, int degree, double lo, double hi,
                                                double sign_lo) {
    double x = 0.5 * (lo + hi);
    double step_before_last = hi - lo, last_step = step_before_last;
    for (int iteration = 0; iteration < 200; ++iteration) {
        double f, df;
        evaluate_polynomial_and_derivative(c, degree, x, &f, &df);
        if (f == 0.0) return x;
        // Shrink the bracket: the side whose sign matches f moves to x.
        if ((f > 0.0) == (sign_lo > 0.0)) lo = x; else hi = x;
        double next;
        bool newton_ok = df != 0.0;
        if (newton_ok) {
            next = x - f / df;
            newton_ok = next > lo && next < hi && fabs(2.0 * (next - x)) <= fabs(step_before_last);
        }
        if (!newton_ok) next = 0.5 * (lo + hi);
        step_before_last = last_step;
        last_step = next - x;
        if (next == x || hi - lo <= 2.0 * kEpsilon * max_value(fabs(lo), fabs(hi))) return next;
        x = next;
    }
    return x;
}

// Roots in [t0, t1] of c (degree n >= 1), given the sorted roots of its
// derivative in (t0, t1). Between consecutive knots (end points and critical
// points) c is monotone, so each knot interval holds at most one root, found
// when the signs at its ends differ. Knot values within the evaluation error
// bound count as exact zeros: a critical point where c ~ 0 is a double root.
HOST_DEVICE inline int roots_between_critical_points(const double* c, int degree, double t0, double t1,
                                                     const double* critical, int critical_count,
                                                     double* roots) {
    double knots[kMaxDegree + 2];
    int knot_count = 0;
    knots[knot_count++] = t0;
    for (int i = 0; i < critical_count; ++i)
        if (critical[i] > knots[knot_count - 1] && critical[i] < t1) knots[knot_count++] = critical[i];
    if (t1 > t0) knots[knot_count++] = t1;

    double values[kMaxDegree + 2];
    for (int i = 0; i < knot_count; ++i) {
        double v = evaluate_polynomial(c, degree, knots[i]);
        values[i] = fabs(v) <= evaluation_error_bound(c, degree, knots[i]) ? 0.0 : v;
    }
    int count = 0;
    for (int i = 0; i < knot_count; ++i) {
        if (values[i] == 0.0) {
            if (count == 0 || roots[count - 1] < knots[i]) roots[count++] = knots[i];
        } else if (i + 1 < knot_count && values[i + 1] != 0.0 && (values[i] > 0.0) != (values[i + 1] > 0.0)) {
            roots[count++] = refine_bracketed_root(c, degree, knots[i], knots[i + 1], values[i]);
        }
        if (count == degree) break;
    }
    return count;
}

}  // namespace roots_detail

// Real roots of a t^2 + b t + c = 0, ascending; returns how many (0..2).
// Degenerates gracefully to the linear case when |a| is negligible relative
// to |b| and |c|. Uses the cancellation-free form q = -(b + sign(b) sqrt(D))/2.
//
// The roots are q/a and c/q. The discriminant D = b^2 - 4ac is computed with
// Kahan's fma trick so that it is accurate even when b^2 ~ 4ac; a D that is
// negative by no more than its rounding error counts as 0 (double root).
HOST_DEVICE inline int solve_quadratic(double a, double b, double c, double roots[2]) {
    using roots_detail::kEpsilon;
    if (a == 0.0) {
        if (b == 0.0) return 0;
        roots[0] = -c / b;
        return 1;
    }
    double bb = b * b, four_ac = 4.0 * a * c;
    double bb_error = fma(b, b, -bb), four_ac_error = fma(4.0 * a, c, -four_ac);
    double discriminant = (bb - four_ac) + (bb_error - four_ac_error);
    if (discriminant < 0.0) {
        if (discriminant < -4.0 * kEpsilon * (bb + fabs(four_ac))) return 0;
        discriminant = 0.0;
    }
    double root_d = sqrt(discriminant);
    double q = -0.5 * (b + (b >= 0.0 ? root_d : -root_d));
    if (q == 0.0) {  // b = 0 and D = 0, i.e. c = 0: the double root 0
        roots[0] = 0.0;
        return 1;
    }
    double r0 = q / a, r1 = c / q;
    if (!roots_detail::is_finite(r0)) {  // |a| so small that the large root overflows
        roots[0] = r1;
        return 1;
    }
    if (r0 > r1) { double s = r0; r0 = r1; r1 = s; }
    roots[0] = r0;
    roots[1] = r1;
    return r0 == r1 ? 1 : 2;
}

// Real roots of a t^3 + b t^2 + c t + d = 0, ascending; returns 0..3.
// Degenerates to solve_quadratic when a is negligible. Roots are polished with
// a Newton step.
//
// Method: for a well-scaled cubic, one real root r from the closed form on
// the depressed monic cubic x^3 + px + q (t = x - b/(3a)): Viete's
// trigonometric form when 4p^3 + 27q^2 < 0 (three real roots), Cardano's
// otherwise. Polish r by Newton, deflate (a t^3+...)/(t - r) = a t^2 + e t + f
// with e = b + a r and f = c + e r (or -d/r when |r| > 1, the stabler side),
// and solve that quadratic. When |a| is tiny relative to the other
// coefficients the monic form loses the small roots, so we isolate all real
// roots between the critical points instead, on [-R, R] with Cauchy's bound
// R = 1 + max_k |c_k / a|.
HOST_DEVICE inline int solve_cubic(double a, double b, double c, double d, double roots[3]) {
    using namespace roots_detail;
    if (a == 0.0) return solve_quadratic(b, c, d, roots);
    double coefficients[4] = {d, c, b, a};
    double scale = max_value(fabs(b), max_value(fabs(c), fabs(d)));
    if (fabs(a) < 1e-6 * scale) {
        double bound = 1.0 + scale / fabs(a);
        if (!is_finite(bound)) return solve_quadratic(b, c, d, roots);
        double derivative[3] = {c, 2.0 * b, 3.0 * a};
        double critical[2];
        int critical_count = solve_quadratic(derivative[2], derivative[1], derivative[0], critical);
        return roots_between_critical_points(coefficients, 3, -bound, bound, critical, critical_count, roots);
    }
    // Depressed cubic x^3 + p x + q with t = x - B/3, B = b/a, C = c/a, D = d/a.
    double B = b / a, C = c / a, D = d / a;
    double shift = B / 3.0;
    double p = C - B * shift;
    double q = (2.0 / 27.0) * B * B * B - B * C / 3.0 + D;
    double half_q = 0.5 * q, third_p = p / 3.0;
    double discriminant = half_q * half_q + third_p * third_p * third_p;
    double r;
    if (discriminant < 0.0) {
        // Three real roots: x = 2 sqrt(-p/3) cos(theta/3 - 2 pi k/3) with
        // cos(theta) = -q/2 / sqrt(-(p/3)^3). Take k = 0, the largest |x|.
        double m = sqrt(-third_p);
        double cos_theta = max_value(-1.0, min_value(1.0, -half_q / (m * m * m)));
        r = 2.0 * m * cos(acos(cos_theta) / 3.0) - shift;
    } else {
        // Cardano: x = u + v, u = cbrt(-q/2 - sign(q) sqrt(disc)), v = -p/(3u).
        double u = cbrt(-half_q - (half_q >= 0.0 ? sqrt(discriminant) : -sqrt(discriminant)));
        double v = u != 0.0 ? -third_p / u : 0.0;
        r = u + v - shift;
    }
    // Newton polish of r on the original cubic; keep a step only if it helps.
    for (int iteration = 0; iteration < 3; ++iteration) {
        double f, df;
        evaluate_polynomial_and_derivative(coefficients, 3, r, &f, &df);
        if (f == 0.0 || df == 0.0) break;
        double next = r - f / df;
        if (!(fabs(evaluate_polynomial(coefficients, 3, next)) < fabs(f))) break;
        r = next;
    }
    // Deflate and solve the remaining quadratic.
    double e = b + a * r;
    double f = fabs(r) > 1.0 ? -d / r : c + e * r;
    double quadratic_roots[2];
    int n = solve_quadratic(a, e, f, quadratic_roots);
    double found[3];
    int count = 0;
    found[count++] = r;
    for (int i = 0; i < n; ++i) {
        double x = quadratic_roots[i];
        // One Newton step on the cubic itself, kept only if it improves.
        double fx, dfx;
        evaluate_polynomial_and_derivative(coefficients, 3, x, &fx, &dfx);
        if (dfx != 0.0) {
            double next = x - fx / dfx;
            if (fabs(evaluate_polynomial(coefficients, 3, next)) < fabs(fx)) x = next;
        }
        found[count++] = x;
    }
    // Sort (at most three) and drop exact duplicates.
    for (int i = 1; i < count; ++i)
        for (int j = i; j > 0 && found[j - 1] > found[j]; --j) { double s = found[j]; found[j] = found[j - 1]; found[j - 1] = s; }
    int unique = 0;
    for (int i = 0; i < count; ++i)
        if (unique == 0 || found[i] != roots[unique - 1]) roots[unique++] = found[i];
    return unique;
}

// All real roots in [t0, t1] of sum_k coefficients[k] t^k, k = 0..degree,
// degree <= 5, ascending; returns how many. Roots are isolated between the
// roots of the derivative (found recursively) and refined by safeguarded
// Newton/bisection, so it never misses a sign change.
//
// `roots` must have room for `degree` values. The recursion over derivatives
// is a loop: level k holds the k-th derivative, whose roots are found from
// the highest derivative (linear) down to the polynomial itself, each level's
// roots being the critical points of the next. A multiple root is reported
// once (a critical point where |P| is within rounding error of 0). Exactly
// zero leading coefficients lower the degree; an identically zero
// polynomial has no isolated roots and returns 0.
HOST_DEVICE inline int polynomial_roots_in_interval(const double* coefficients, int degree,
                                                    double t0, double t1, double* roots) {
    using namespace roots_detail;
    if (!(t0 <= t1) || degree < 1) return 0;
    if (degree > kMaxDegree) degree = kMaxDegree;
    while (degree > 0 && coefficients[degree] == 0.0) --degree;
    if (degree == 0) return 0;

    // derivative[k][j]: coefficient j of the k-th derivative, degree - k.
    double derivative[kMaxDegree][kMaxDegree + 1];
    for (int j = 0; j <= degree; ++j) derivative[0][j] = coefficients[j];
    for (int k = 1; k < degree; ++k)
        for (int j = 0; j <= degree - k; ++j) derivative[k][j] = (j + 1) * derivative[k - 1][j + 1];

    double level_roots[kMaxDegree];
    int level_count = 0;  // the highest derivative (k = degree - 1) is linear: no critical points
    for (int k = degree - 1; k >= 0; --k) {
        double found[kMaxDegree];
        int found_count = roots_between_critical_points(derivative[k], degree - k, t0, t1, level_roots,
                                                        level_count, found);
        for (int i = 0; i < found_count; ++i) level_roots[i] = found[i];
        level_count = found_count;
    }
    for (int i = 0; i < level_count; ++i) roots[i] = level_roots[i];
    return level_count;
}

}  // namespace pdvg
