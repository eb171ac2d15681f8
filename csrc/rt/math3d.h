// Small 3-D helpers and the reverse-mode adjoints of the vector operations
// the tracer differentiates by hand. Convention: `x_adjoint(inputs, d_out)`
// returns (or adds into references) d(loss)/d(input) given d(loss)/d(output).
#pragma once

#include "../core/vec.h"

namespace pdvg {
namespace rt {

HOST_DEVICE inline Vec3f load3(const float* p, int index) {
    return {p[3 * index], p[3 * index + 1], p[3 * index + 2]};
}
HOST_DEVICE inline void add_to(Vec3f& a, Vec3f b) { a.x += b.x; a.y += b.y; a.z += b.z; }
HOST_DEVICE inline void subtract_from(Vec3f& a, Vec3f b) { a.x -= b.x; a.y -= b.y; a.z -= b.z; }
HOST_DEVICE inline float length_squared3(Vec3f a) { return dot(a, a); }
HOST_DEVICE inline float max_component(Vec3f a) { return max_value(a.x, max_value(a.y, a.z)); }
HOST_DEVICE inline float luminance(Vec3f c) { return 0.2126f * c.x + 0.7152f * c.y + 0.0722f * c.z; }
HOST_DEVICE inline bool is_black(Vec3f c) { return c.x == 0.0f && c.y == 0.0f && c.z == 0.0f; }

// An orthonormal basis around unit n (Duff et al. 2017, "Building an
// Orthonormal Basis, Revisited").
HOST_DEVICE inline void make_frame(Vec3f n, Vec3f& t, Vec3f& b) {
    float sign = n.z >= 0.0f ? 1.0f : -1.0f;
    float a = -1.0f / (sign + n.z);
    float c = n.x * n.y * a;
    t = Vec3f(1.0f + sign * n.x * n.x * a, sign * c, -sign * n.x);
    b = Vec3f(c, sign + n.y * n.y * a, -n.y);
}

// y = v / |v|  =>  dv = (dy - (dy·y) y) / |v|.
HOST_DEVICE inline Vec3f normalize_adjoint(Vec3f v, Vec3f d_out) {
    float l = length(v);
    if (!(l > 0.0f)) return Vec3f();
    Vec3f n = v / l;
    return (d_out - n * dot(d_out, n)) / l;
}

// c = a × b  =>  <dc, da × b> = <b × dc, da>,  <dc, a × db> = <dc × a, db>.
HOST_DEVICE inline void cross_adjoint(Vec3f a, Vec3f b, Vec3f d_out, Vec3f& d_a, Vec3f& d_b) {
    add_to(d_a, cross(b, d_out));
    add_to(d_b, cross(d_out, a));
}

// Atomically adds a Vec3f into buffer[3 * index ..].
HOST_DEVICE inline void atomic_add3(float* buffer, int index, Vec3f v);

}  // namespace rt
}  // namespace pdvg

#include "../core/atomics.h"

namespace pdvg {
namespace rt {
HOST_DEVICE inline void atomic_add3(float* buffer, int index, Vec3f v) {
    if (!buffer) return;
    if (v.x != 0.0f) atomic_add(buffer + 3 * index, v.x);
    if (v.y != 0.0f) atomic_add(buffer + 3 * index + 1, v.y);
    if (v.z != 0.0f) atomic_add(buffer + 3 * index + 2, v.z);
}
}  // namespace rt
}  // namespace pdvg
