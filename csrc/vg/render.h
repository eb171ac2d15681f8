// Host entry points of the 2-D renderer.
#pragma once

#include "../core/context.h"
#include "scene.h"

namespace pdvg {

// Renders every scene of the batch into image [B, H, W, C] (C = 4 for colour,
// 1 for SDF output).
void render_forward(const SceneView& scene, const RenderOptions& options, float* image,
                    const ExecutionContext& context);

}  // namespace pdvg

#include "gradients.h"

namespace pdvg {

// Backward-pass options that the forward pass does not have.
struct BackwardOptions {
    // Boundary samples per output pixel of (importance-weighted) boundary
    // length, per pixel sample: 1 means as many boundary samples on an edge
    // pixel as the forward pass took there.
    float boundary_density = 1.0f;
    bool boundary_term = true;     // off only for tests that show it matters
    bool area_term = true;
};

// Accumulates into `grads` the gradient of sum(grad_image * image) with
// respect to every differentiable input of the scene. `image` is the forward
// output (needed for the filter-radius gradient).
void render_backward(const SceneView& scene, const RenderOptions& options, const BackwardOptions& backward,
                     const float* image, const float* grad_image, const SceneGradients& grads,
                     const ExecutionContext& context);

}  // namespace pdvg
