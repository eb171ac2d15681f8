// Small fixed-size vector and matrix types for 2-D and 3-D math, usable on
// host and device.
#pragma once

#include "defs.h"

namespace pdvg {

template <typename T>
struct Vec2T {
    T x, y;
    HOST_DEVICE Vec2T() : x(0), y(0) {}
    HOST_DEVICE Vec2T(T x_, T y_) : x(x_), y(y_) {}
    template <typename U>
    HOST_DEVICE explicit Vec2T(const Vec2T<U>& o) : x(T(o.x)), y(T(o.y)) {}
    HOST_DEVICE T& operator[](int i) { return i == 0 ? x : y; }
    HOST_DEVICE T operator[](int i) const { return i == 0 ? x : y; }
};

template <typename T> HOST_DEVICE FORCE_INLINE Vec2T<T> operator+(Vec2T<T> a, Vec2T<T> b) { return {a.x + b.x, a.y + b.y}; }
template <typename T> HOST_DEVICE FORCE_INLINE Vec2T<T> operator-(Vec2T<T> a, Vec2T<T> b) { return {a.x - b.x, a.y - b.y}; }
template <typename T> HOST_DEVICE FORCE_INLINE Vec2T<T> operator-(Vec2T<T> a) { return {-a.x, -a.y}; }
template <typename T> HOST_DEVICE FORCE_INLINE Vec2T<T> operator*(Vec2T<T> a, T s) { return {a.x * s, a.y * s}; }
template <typename T> HOST_DEVICE FORCE_INLINE Vec2T<T> operator*(T s, Vec2T<T> a) { return {a.x * s, a.y * s}; }
template <typename T> HOST_DEVICE FORCE_INLINE Vec2T<T> operator/(Vec2T<T> a, T s) { return {a.x / s, a.y / s}; }
template <typename T> HOST_DEVICE FORCE_INLINE Vec2T<T>& operator+=(Vec2T<T>& a, Vec2T<T> b) { a.x += b.x; a.y += b.y; return a; }
template <typename T> HOST_DEVICE FORCE_INLINE Vec2T<T>& operator-=(Vec2T<T>& a, Vec2T<T> b) { a.x -= b.x; a.y -= b.y; return a; }
template <typename T> HOST_DEVICE FORCE_INLINE Vec2T<T>& operator*=(Vec2T<T>& a, T s) { a.x *= s; a.y *= s; return a; }
template <typename T> HOST_DEVICE FORCE_INLINE T dot(Vec2T<T> a, Vec2T<T> b) { return a.x * b.x + a.y * b.y; }
// z component of the 3-D cross product of (a, 0) and (b, 0).
template <typename T> HOST_DEVICE FORCE_INLINE T cross(Vec2T<T> a, Vec2T<T> b) { return a.x * b.y - a.y * b.x; }
template <typename T> HOST_DEVICE FORCE_INLINE T length_squared(Vec2T<T> a) { return dot(a, a); }
template <typename T> HOST_DEVICE FORCE_INLINE T length(Vec2T<T> a) { return sqrt(dot(a, a)); }
template <typename T> HOST_DEVICE FORCE_INLINE T distance(Vec2T<T> a, Vec2T<T> b) { return length(a - b); }
// Rotates by +90 degrees in a y-down canvas: (x, y) -> (-y, x).
template <typename T> HOST_DEVICE FORCE_INLINE Vec2T<T> perpendicular(Vec2T<T> a) { return {-a.y, a.x}; }
template <typename T> HOST_DEVICE FORCE_INLINE Vec2T<T> normalize(Vec2T<T> a) {
    T l = length(a);
    return l > T(0) ? a / l : Vec2T<T>(T(0), T(0));
}
template <typename T> HOST_DEVICE FORCE_INLINE Vec2T<T> lerp(Vec2T<T> a, Vec2T<T> b, T t) { return a + (b - a) * t; }

using Vec2f = Vec2T<float>;
using Vec2d = Vec2T<double>;

template <typename T>
struct Vec3T {
    T x, y, z;
    HOST_DEVICE Vec3T() : x(0), y(0), z(0) {}
    HOST_DEVICE Vec3T(T x_, T y_, T z_) : x(x_), y(y_), z(z_) {}
    HOST_DEVICE T& operator[](int i) { return i == 0 ? x : (i == 1 ? y : z); }
    HOST_DEVICE T operator[](int i) const { return i == 0 ? x : (i == 1 ? y : z); }
};
template <typename T> HOST_DEVICE FORCE_INLINE Vec3T<T> operator+(Vec3T<T> a, Vec3T<T> b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
template <typename T> HOST_DEVICE FORCE_INLINE Vec3T<T> operator-(Vec3T<T> a, Vec3T<T> b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
template <typename T> HOST_DEVICE FORCE_INLINE Vec3T<T> operator-(Vec3T<T> a) { return {-a.x, -a.y, -a.z}; }
template <typename T> HOST_DEVICE FORCE_INLINE Vec3T<T> operator*(Vec3T<T> a, T s) { return {a.x * s, a.y * s, a.z * s}; }
template <typename T> HOST_DEVICE FORCE_INLINE Vec3T<T> operator*(T s, Vec3T<T> a) { return {a.x * s, a.y * s, a.z * s}; }
template <typename T> HOST_DEVICE FORCE_INLINE Vec3T<T> operator*(Vec3T<T> a, Vec3T<T> b) { return {a.x * b.x, a.y * b.y, a.z * b.z}; }
template <typename T> HOST_DEVICE FORCE_INLINE Vec3T<T> operator/(Vec3T<T> a, T s) { return {a.x / s, a.y / s, a.z / s}; }
template <typename T> HOST_DEVICE FORCE_INLINE Vec3T<T>& operator+=(Vec3T<T>& a, Vec3T<T> b) { a.x += b.x; a.y += b.y; a.z += b.z; return a; }
template <typename T> HOST_DEVICE FORCE_INLINE T dot(Vec3T<T> a, Vec3T<T> b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
template <typename T> HOST_DEVICE FORCE_INLINE Vec3T<T> cross(Vec3T<T> a, Vec3T<T> b) {
    return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
template <typename T> HOST_DEVICE FORCE_INLINE T length(Vec3T<T> a) { return sqrt(dot(a, a)); }
template <typename T> HOST_DEVICE FORCE_INLINE Vec3T<T> normalize(Vec3T<T> a) {
    T l = length(a);
    return l > T(0) ? a / l : Vec3T<T>(T(0), T(0), T(0));
}
using Vec3f = Vec3T<float>;
using Vec3d = Vec3T<double>;

struct Vec4f {
    float x, y, z, w;
    HOST_DEVICE Vec4f() : x(0), y(0), z(0), w(0) {}
    HOST_DEVICE Vec4f(float x_, float y_, float z_, float w_) : x(x_), y(y_), z(z_), w(w_) {}
    HOST_DEVICE float& operator[](int i) { return i == 0 ? x : (i == 1 ? y : (i == 2 ? z : w)); }
    HOST_DEVICE float operator[](int i) const { return i == 0 ? x : (i == 1 ? y : (i == 2 ? z : w)); }
};
HOST_DEVICE FORCE_INLINE Vec4f operator+(Vec4f a, Vec4f b) { return {a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w}; }
HOST_DEVICE FORCE_INLINE Vec4f operator-(Vec4f a, Vec4f b) { return {a.x - b.x, a.y - b.y, a.z - b.z, a.w - b.w}; }
HOST_DEVICE FORCE_INLINE Vec4f operator*(Vec4f a, float s) { return {a.x * s, a.y * s, a.z * s, a.w * s}; }
HOST_DEVICE FORCE_INLINE Vec4f operator*(float s, Vec4f a) { return {a.x * s, a.y * s, a.z * s, a.w * s}; }
HOST_DEVICE FORCE_INLINE Vec4f& operator+=(Vec4f& a, Vec4f b) { a.x += b.x; a.y += b.y; a.z += b.z; a.w += b.w; return a; }
HOST_DEVICE FORCE_INLINE float dot(Vec4f a, Vec4f b) { return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w; }

// A 2-D affine map stored row-major as the top two rows of a 3x3 matrix:
// [m00 m01 m02; m10 m11 m12; 0 0 1].
struct Affine2 {
    float m[2][3];
    HOST_DEVICE static Affine2 identity() {
        Affine2 a;
        a.m[0][0] = 1; a.m[0][1] = 0; a.m[0][2] = 0;
        a.m[1][0] = 0; a.m[1][1] = 1; a.m[1][2] = 0;
        return a;
    }
    // Reads the top two rows of a row-major 3x3 matrix.
    HOST_DEVICE static Affine2 from_3x3(const float* p) {
        Affine2 a;
        for (int r = 0; r < 2; ++r)
            for (int c = 0; c < 3; ++c) a.m[r][c] = p[r * 3 + c];
        return a;
    }
    HOST_DEVICE Vec2f apply_point(Vec2f p) const {
        return {m[0][0] * p.x + m[0][1] * p.y + m[0][2], m[1][0] * p.x + m[1][1] * p.y + m[1][2]};
    }
    HOST_DEVICE Vec2f apply_vector(Vec2f v) const {
        return {m[0][0] * v.x + m[0][1] * v.y, m[1][0] * v.x + m[1][1] * v.y};
    }
    // Applies the transpose of the linear part, which maps canvas-space
    // covectors (normals, gradients) back to shape space.
    HOST_DEVICE Vec2f apply_transpose_vector(Vec2f v) const {
        return {m[0][0] * v.x + m[1][0] * v.y, m[0][1] * v.x + m[1][1] * v.y};
    }
    HOST_DEVICE float determinant() const { return m[0][0] * m[1][1] - m[0][1] * m[1][0]; }
};

}  // namespace pdvg
