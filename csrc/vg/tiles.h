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
#include "segment_cache.h"

namespace pdvg {

// Tile entries are classified per cell: each tile is cut into
// kCellsPerSide × kCellsPerSide cells (TileGrid::entry_masks / entry_windings).
constexpr int kCellsPerSide = 4;
constexpr int kCells = kCellsPerSide * kCellsPerSide;  // 16: one bit each in a 16-bit half mask
constexpr float kEntryMargin = 0.05f;  // output pixels added around a cell when classifying

struct TileGrid {
    int tile_size = 16;
    int tiles_x = 0, tiles_y = 0;
    int tiles_per_scene = 0;
    const int* tile_begin = nullptr;     // [B * tiles_per_scene + 1]
    const int* tile_pairs = nullptr;     // pair indices, ascending within a tile
    const float* tile_bounds = nullptr;  // [entries,4] output-space bounds of each tile entry, in list order
    const float* pair_bounds = nullptr;  // [M,4] shape-space bounds, padded by stroke width
    const float* pair_output_bounds = nullptr;  // [M,4] output-space bounds, padded
    // [entries] what is known of each tile entry over each cell of its tile
    // (classify_entry in tiles.cpp). entry_masks bit c: a fill boundary may
    // pass through cell c (or its band); bit 16 + c: the stroke may reach
    // it. entry_windings nibble c: the winding number over cell c (signed
    // 4 bits) where its fill bit is clear. Valid within kEntryMargin / 2 of
    // the cell.
    const uint32_t* entry_masks = nullptr;
    const uint64_t* entry_windings = nullptr;
    // Per tile entry of a path, the segments that can matter at a point of
    // the tile (segment_matters in tiles.cpp), ascending: entry i's are
    // entry_segments[entry_segment_begin[i] .. entry_segment_begin[i + 1]).
    // Null when the lists would pass their memory budget. Valid where the
    // classification is (within kEntryMargin / 2 of the tile).
    const int* entry_segment_begin = nullptr;
    const int* entry_segments = nullptr;

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
    // The cell of tile `tile` that holds output point p (up to kEntryMargin / 2
    // outside it), or -1 when p is farther outside the tile.
    HOST_DEVICE int cell_of(int tile, Vec2f p) const;
    HOST_DEVICE bool pair_may_contain(int pair, Vec2f p) const {
        const float* b = pair_bounds + 4 * pair;
        return p.x >= b[0] && p.y >= b[1] && p.x <= b[2] && p.y <= b[3];
    }
};

// Output-space corners of cell `cell` (TileGrid::cell_of) of tile `tile`.
HOST_DEVICE inline Vec2f cell_lo(const TileGrid& grid, int tile, int cell) {
    int local = tile % grid.tiles_per_scene;
    float side = float(grid.tile_size / kCellsPerSide);
    return Vec2f(float((local % grid.tiles_x) * grid.tile_size) + side * float(cell % kCellsPerSide),
                 float((local / grid.tiles_x) * grid.tile_size) + side * float(cell / kCellsPerSide));
}
HOST_DEVICE inline Vec2f cell_hi(const TileGrid& grid, int tile, int cell) {
    float side = float(grid.tile_size / kCellsPerSide);
    return cell_lo(grid, tile, cell) + Vec2f(side, side);
}

HOST_DEVICE inline int TileGrid::cell_of(int tile, Vec2f p) const {
    int local = tile % tiles_per_scene;
    float x0 = float((local % tiles_x) * tile_size), y0 = float((local / tiles_x) * tile_size);
    const float m = 0.5f * kEntryMargin;
    float dx = p.x - x0, dy = p.y - y0;
    if (!(dx >= -m && dy >= -m && dx <= tile_size + m && dy <= tile_size + m)) return -1;
    float inv = float(kCellsPerSide) / float(tile_size);
    int cx = clamp_value(int(dx * inv), 0, kCellsPerSide - 1), cy = clamp_value(int(dy * inv), 0, kCellsPerSide - 1);
    return cy * kCellsPerSide + cx;
}

// Paths of at most this many segments keep no lists: visiting all of them
// costs less than building and reading the lists.
constexpr int kMinListedSegments = 8;

HOST_DEVICE inline bool shape_has_segment_lists(const SceneView& scene, int s) {
    return scene.shape_kind[s] == kPath &&
           scene.shape_segment_begin[s + 1] - scene.shape_segment_begin[s] > kMinListedSegments;
}

// The segments that a query of tile entry i's shape s visits at a point of
// cell `cell` (TileGrid::cell_of): the entry's list, or all of them.
HOST_DEVICE inline SegmentSet entry_segment_set(const SceneView& scene, const TileGrid& grid, int i, int s,
                                                int cell) {
    if (cell < 0 || !grid.entry_segment_begin || !shape_has_segment_lists(scene, s)) return all_segments(scene, s);
    return {grid.entry_segments, grid.entry_segment_begin[i], grid.entry_segment_begin[i + 1]};
}

// Reads an entry's classification for `cell` (-1: unknown, test everything).
struct EntryCell {
    bool fill_varies = true, stroke_near = true;
    int winding = 0;  // valid when !fill_varies
};
HOST_DEVICE inline EntryCell entry_cell(const TileGrid& grid, int entry, int cell) {
    EntryCell c;
    if (cell < 0) return c;
    uint32_t m = grid.entry_masks[entry];
    c.fill_varies = ((m >> cell) & 1u) != 0;
    c.stroke_near = ((m >> (kCells + cell)) & 1u) != 0;
    if (!c.fill_varies) c.winding = (int((grid.entry_windings[entry] >> (4 * cell)) & 15u) ^ 8) - 8;
    return c;
}

// Calls f(cell, x0, y0, x1, y1) for each cell of the tile whose top-left
// pixel is (tile_x0, tile_y0), with the cell's pixels [x0, x1) × [y0, y1)
// clipped to the image. Cells with no pixel are skipped.
template <typename F>
inline void for_each_cell(const TileGrid& grid, const RenderOptions& o, int tile_x0, int tile_y0, F&& f) {
    const int side = grid.tile_size / kCellsPerSide;
    for (int cy = 0; cy < kCellsPerSide; ++cy)
        for (int cx = 0; cx < kCellsPerSide; ++cx) {
            int x0 = tile_x0 + cx * side, y0 = tile_y0 + cy * side;
            int x1 = min_value(x0 + side, o.width), y1 = min_value(y0 + side, o.height);
            if (x0 < x1 && y0 < y1) f(cy * kCellsPerSide + cx, x0, y0, x1, y1);
        }
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
