// Compilation-target macros shared by every kernel. The same sources build
// with a host compiler (CPU only) or with nvcc (CPU + CUDA); HOST_DEVICE marks
// functions that must exist on both sides.
#pragma once

#include <cstdint>
#include <cmath>

#if defined(__CUDACC__)
#define HOST_DEVICE __host__ __device__
#define DEVICE_ONLY __device__
#define PDVG_HAS_CUDA_COMPILER 1
#else
#define HOST_DEVICE
#define DEVICE_ONLY
#define PDVG_HAS_CUDA_COMPILER 0
#endif

// Inlines a small or hot function into every caller, whatever the
// compiler's size heuristics decide.
#if defined(__CUDACC__)
#define FORCE_INLINE __forceinline__
#elif defined(__GNUC__)
#define FORCE_INLINE inline __attribute__((always_inline))
#else
#define FORCE_INLINE inline
#endif

// Keeps a rarely taken path out of its hot caller's inlined body.
#if defined(__CUDACC__)
#define NOINLINE __noinline__
#elif defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

namespace pdvg {

constexpr float kPi = 3.14159265358979323846f;

template <typename T>
HOST_DEVICE FORCE_INLINE T clamp_value(T v, T lo, T hi) { return v < lo ? lo : (v > hi ? hi : v); }
// min_value / max_value rather than fminf / fmaxf in hot host code: without
// -ffinite-math-only GCC calls libm for those (5 M calls in one boston
// backward). They differ only for NaN arguments.
template <typename T>
HOST_DEVICE FORCE_INLINE T min_value(T a, T b) { return a < b ? a : b; }
template <typename T>
HOST_DEVICE FORCE_INLINE T max_value(T a, T b) { return a > b ? a : b; }
// NaN and ±inf are not finite; works the same in host and device code.
HOST_DEVICE FORCE_INLINE bool is_finite(float v) { return fabsf(v) <= 3.402823466e38f; }

template <typename T>
HOST_DEVICE FORCE_INLINE T square(T a) { return a * a; }

}  // namespace pdvg

namespace pdvg {

// A fixed-size array whose elements are left uninitialised (a stack of
// points or segments, whose default constructors would zero every slot on
// every call). Only for element types with trivial destructors.
template <typename T, int N>
struct UninitialisedArray {
    union { T items[N]; };
    HOST_DEVICE UninitialisedArray() {}
    HOST_DEVICE T& operator[](int i) { return items[i]; }
};

}  // namespace pdvg
