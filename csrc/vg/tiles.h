// Tile binning: the acceleration structure of the 2-D renderer. The output
// image is cut into square tiles; each tile lists the (group, shape) pairs
// whose padded bounds overlap it, in pair order, which is drawing order.
// A sample then visits only the pairs of its own tile. Outside its bounds a
// closed shape has winding number 0 and no stroke, so nothing is missed.
//
// Chosen over a BVH by measurement on the benchmark scenes: binning is one
// pass over the pairs, and a tile's list is walked front to back with no
// stack (docs/architecture.md has the numbers).
#pragma once

#include "../core/context.h"
#include "scene.h"

namespace pdvg {

// Entry classification flags (TileGrid::entry_info).
constexpr int kEntryFillVaries = 1;   // a fill boundary may pass through the tile (or its band)
constexpr int kEntryStrokeNear = 2;   // the stroke may reach the tile (or its band)
constexpr int kEntryWindingShift = 2;
constexpr float kEntryMargin = 0.05f;  // output pixels added around a tile when classifying

struct TileGrid {
    int tile_size = 16;
    int tiles_x = 0, tiles_y = 0;
    int tiles_per_scene = 0;
    const int* tile_begin = nullptr;     // [B * tiles_per_scene + 1]
    const int* tile_pairs = nullptr;     // pair indices, ascending within a tile
    const float* tile_bounds = nullptr;  // [entries,4] output-space bounds of each tile entry, in list order
    const float* pair_bounds = nullptr;  // [M,4] shape-space bounds, padded by stroke width
    const float* pair_output_bounds = nullptr;  // [M,4] output-space bounds, padded
    // [entries] what is known of each tile entry over its whole tile (see
    // classify_entry in tiles.cpp): kEntryFillVaries, kEntryStrokeNear, and
    // the constant winding number << kEntryWindingShift when the fill
    // boundary stays away. Valid for points within kEntryMargin of the tile.
    const int* entry_info = nullptr;

    HOST_DEVICE int tile_of(int scene_index, float x, float y) const {
        int tx = clamp_value(int(x) / tile_size, 0, tiles_x - 1);
        int ty = clamp_value(int(y) / tile_size, 0, tiles_y - 1);
        return scene_index * tiles_per_scene + ty * tiles_x + tx;
    }
    // Whether tile entry i's output-space bounds contain p.
    HOST_DEVICE bool entry_may_contain(int i, Vec2f p) const {
        const float* b = tile_bounds + 4 * i;
        return p.x >= b[0] && p.y >= b[1] && p.x <= b[2] && p.y <= b[3];
    }
    // Whether output point p lies in tile `tile` (padded by kEntryMargin / 2),
    // where the entry classification holds.
    HOST_DEVICE bool tile_holds(int tile, Vec2f p) const;
    HOST_DEVICE bool pair_may_contain(int pair, Vec2f p) const {
        const float* b = pair_bounds + 4 * pair;
        return p.x >= b[0] && p.y >= b[1] && p.x <= b[2] && p.y <= b[3];
    }
};

HOST_DEVICE inline bool TileGrid::tile_holds(int tile, Vec2f p) const {
    int local = tile % tiles_per_scene;
    float x0 = float((local % tiles_x) * tile_size), y0 = float((local / tiles_x) * tile_size);
    const float m = 0.5f * kEntryMargin;
    return p.x >= x0 - m && p.y >= y0 - m && p.x <= x0 + tile_size + m && p.y <= y0 + tile_size + m;
}

// Bins every pair of the scene. `output_pad` widens the output-space bounds
// (in pixels): prefiltering needs the half-pixel band around each shape.
TileGrid build_tile_grid(const SceneView& scene, const RenderOptions& options, float output_pad,
                         const ExecutionContext& context);

// What both passes build first: the scene with its segment caches and the
// tile lists (padded by the prefiltering band when prefiltering).
struct PreparedRender {
    SceneView scene;
    TileGrid grid;
};
PreparedRender prepare_render(const SceneView& scene, const RenderOptions& options, const ExecutionContext& context);

// Scale from shape-space lengths to output pixels for group g: the square
// root of the area scale of its affine map (exact for similarity maps).
HOST_DEVICE inline float group_distance_scale(const SceneView& scene, int g) {
    return sqrtf(fabsf(scene.to_output(g).determinant()));
}

}  // namespace pdvg
