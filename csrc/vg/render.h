// Host entry points of the 2-D renderer.
#pragma once

#include <cstdint>
#include <vector>

#include "../core/context.h"
#include "scene.h"
#include "tiles.h"

namespace pdvg {

// What the CPU forward pass composited at each sample, for the backward
// pass's area term, which then replays those layers instead of finding them
// again (the winding-number, stroke and distance queries are most of its
// cost). Per tile, in the order the tile's samples are visited, each
// sample's entry in the format of layer_log.h. Kept only for colour output
// with a filter that stays inside the pixel, and dropped past a memory
// budget.
struct LayerLog {
    std::vector<std::vector<int32_t>> tiles;
    bool complete = false;
    // The forward pass's prepared scene (segment caches, tile lists), which
    // its backward pass then uses instead of preparing the scene again, and
    // the call it was prepared for. It points into the forward call's
    // scratch memory, which pydiffvg/render.py keeps alive on this object.
    bool has_prepared = false;
    PreparedRender prepared;
    SceneView prepared_input;
    RenderOptions prepared_options;
    size_t bytes() const {
        size_t n = 0;
        for (const auto& t : tiles) n += t.size() * sizeof(int32_t);
        return n;
    }
};

// Whether `log` holds the prepared scene of a call with this scene and
// these options (the same packed arrays and the same tiling).
inline bool log_prepared_for(const LayerLog* log, const SceneView& s, const RenderOptions& o) {
    if (!log || !log->has_prepared) return false;
    const SceneView& a = log->prepared_input;
    const RenderOptions& b = log->prepared_options;
    return a.num_shapes == s.num_shapes && a.num_points == s.num_points && a.num_segments == s.num_segments &&
           a.num_groups == s.num_groups && a.num_pairs == s.num_pairs && a.num_scenes == s.num_scenes &&
           a.shape_kind == s.shape_kind && a.shape_params == s.shape_params && a.shape_width == s.shape_width &&
           a.shape_segment_begin == s.shape_segment_begin && a.points == s.points &&
           a.point_width == s.point_width && a.segment_points == s.segment_points &&
           a.pair_shape == s.pair_shape && a.pair_group == s.pair_group && a.group_to_output == s.group_to_output &&
           a.group_to_shape == s.group_to_shape && a.paint_kind == s.paint_kind &&
           a.shape_stroke_style == s.shape_stroke_style && a.shape_miter_limit == s.shape_miter_limit &&
           a.group_scene == s.group_scene && b.width == o.width && b.height == o.height &&
           b.tile_size == o.tile_size && b.prefiltering == o.prefiltering;
}

// Whether a render with these options can keep a LayerLog.
inline bool layer_log_applies(const RenderOptions& o, const ExecutionContext& context) {
    return !context.device_code() && !o.output_sdf && o.filter_radius <= 0.5f;
}

// Renders every scene of the batch into image [B, H, W, C] (C = 4 for colour,
// 1 for SDF output). With `log` (CPU), also records the layers of every
// sample when layer_log_applies.
void render_forward(const SceneView& scene, const RenderOptions& options, float* image,
                    const ExecutionContext& context, LayerLog* log = nullptr);

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
    // CPU: shade boundary samples through the cell programs of their cells
    // rather than tile-list walks (off only for the test that they agree).
    bool cell_programs = true;
};

// Accumulates into `grads` the gradient of sum(grad_image * image) with
// respect to every differentiable input of the scene. `image` is the forward
// output (needed for the filter-radius gradient).
// `log`, when complete, is the forward pass's record of the same call.
void render_backward(const SceneView& scene, const RenderOptions& options, const BackwardOptions& backward,
                     const float* image, const float* grad_image, const SceneGradients& grads,
                     const ExecutionContext& context, const LayerLog* log = nullptr);

}  // namespace pdvg
