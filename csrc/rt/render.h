// Host entry points of the 3-D tracer: forward image, backward (interior
// term + primary and secondary edge sampling) and G-buffer channels.
#pragma once

#include <cstdint>

#include "scene.h"

namespace pdvg {
namespace rt {

struct RenderOptions {
    int width = 1, height = 1;
    int samples_per_pixel = 1;
    int max_bounces = 1;
    uint64_t seed = 0;
    bool orthographic = false;
    float clip_near = 1e-2f;
    bool primary_edges = true;
    bool secondary_edges = true;
};

// Seconds spent per stage (the CUDA path synchronises between stages).
struct RenderTimings {
    double bvh = 0.0, trace = 0.0, edges = 0.0;
};

// G-buffer channel ids; widths 1, 3, 3, 3, 3, 1.
enum GBufferChannel : int { kDepth = 0, kPosition = 1, kGeometryNormal = 2, kShadingNormal = 3, kAlbedo = 4, kAlpha = 5 };
HOST_DEVICE inline int gbuffer_channel_width(int channel) {
    return (channel == kDepth || channel == kAlpha) ? 1 : 3;
}

// `scene` holds the packed buffers (bvh and camera are filled in here);
// camera_params are the 13 packed camera floats on the scene's device.
// image: (H, W, 3) float32, written.
void render_forward(SceneView scene, const float* camera_params, const RenderOptions& options, float* image,
                    const ExecutionContext& context, RenderTimings* timings);

// d_image: (H, W, 3) adjoint of the image; gradient buffers are accumulated into.
void render_backward(SceneView scene, const float* camera_params, const RenderOptions& options, const float* d_image,
                     const SceneGrads& grads, const ExecutionContext& context, RenderTimings* timings);

// out: (H, W, Σ widths) float32, the channels in the given order, box-filtered.
void render_gbuffer(SceneView scene, const float* camera_params, const RenderOptions& options, const int* channels,
                    int num_channels, float* out, const ExecutionContext& context);

// Test hooks. trace_rays: closest hit through the BVH for n rays
// (origins, directions: (n, 3)) -> hit face (-1: miss) and distance.
void trace_rays(SceneView scene, const float* origins, const float* directions, int n, int* out_face, float* out_t,
                const ExecutionContext& context);
// primary_edge_weights: the primary sampler's weight (clipped projected
// length; 0 = not sampled) of each edge of extract_edges' list.
void primary_edge_weights(SceneView scene, const float* camera_params, const RenderOptions& options, bool creases,
                          float* out_weights, int max_edges, const ExecutionContext& context);
// project_points: world points (n, 3) -> screen pixels (n, 2).
void project_points(const float* camera_params, const RenderOptions& options, const float* points, int n,
                    float* out, const ExecutionContext& context);

}  // namespace rt
}  // namespace pdvg
