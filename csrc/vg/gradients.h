// Gradient buffers of the packed scene, one per differentiable flat tensor
// (same layout as the forward inputs), filled by atomic adds, or plain adds
// into a per-thread copy on the CPU.
#pragma once

#include "../core/atomics.h"
#include "../core/vec.h"

namespace pdvg {

struct SceneGradients {
    float* shape_params = nullptr;     // [S,4]
    float* shape_width = nullptr;      // [S]
    float* points = nullptr;           // [P,2]
    float* point_width = nullptr;      // [P]
    float* group_to_output = nullptr;  // [G,3,3]
    float* group_to_shape = nullptr;   // [G,3,3]
    float* paint_params = nullptr;     // [2G,8]
    float* stop_offsets = nullptr;     // [K]
    float* stop_colors = nullptr;      // [K,4]
    float* background = nullptr;       // [B,H,W,4] or null
    float* filter_radius = nullptr;    // [1]
};

// Set on a CPU thread while every gradient it adds lands in memory that no
// other thread writes meanwhile (its own copy of the buffers, see
// ThreadGradients in backward.cpp): those adds skip the atomic. Initial-exec
// TLS, so that reading it is one load rather than a call (nvcc's front end
// rejects the attribute; its CPU code is the plain build's anyway). A host
// variable: device code never reads it.
#if defined(__CUDACC__)
inline thread_local bool exclusive_gradient_adds = false;
#else
inline thread_local bool exclusive_gradient_adds __attribute__((tls_model("initial-exec"))) = false;
#endif

HOST_DEVICE FORCE_INLINE void gradient_add(float* address, float v) {
#if !defined(__CUDA_ARCH__)
    if (exclusive_gradient_adds) {
        *address += v;
        return;
    }
#endif
    atomic_add(address, v);
}

HOST_DEVICE inline void add_vec2(float* base, Vec2f v) {
    if (v.x != 0.0f) gradient_add(base, v.x);
    if (v.y != 0.0f) gradient_add(base + 1, v.y);
}
HOST_DEVICE inline void add_scalar(float* address, float v) {
    if (v != 0.0f) gradient_add(address, v);
}

// Gradient of p_out = M p + b with respect to the 2x3 affine M, given the
// gradient g of the mapped point: dM_ij += g_i p_j (p_2 = 1).
HOST_DEVICE inline void add_affine_gradient(float* matrix3x3, Vec2f g, Vec2f p) {
    add_scalar(matrix3x3 + 0, g.x * p.x); add_scalar(matrix3x3 + 1, g.x * p.y); add_scalar(matrix3x3 + 2, g.x);
    add_scalar(matrix3x3 + 3, g.y * p.x); add_scalar(matrix3x3 + 4, g.y * p.y); add_scalar(matrix3x3 + 5, g.y);
}

}  // namespace pdvg
