// Building the tile lists: bounds per pair, a count of tiles per pair, a
// scan, a scatter of (tile, pair) entries, then a counting sort by tile.
#include "tiles.h"

#include "../core/atomics.h"
#include "../core/parallel.h"
#include "segment_cache.h"
#include "shape_queries.h"

namespace pdvg {

namespace {

// In-place shell sort of a short int list; tile lists are sorted so that
// pairs are visited in drawing order regardless of scatter order.
HOST_DEVICE void sort_ints(int* a, int n) {
    for (int gap = n / 2; gap > 0; gap /= 2)
        for (int i = gap; i < n; ++i) {
            int v = a[i], j = i;
            for (; j >= gap && a[j - gap] > v; j -= gap) a[j] = a[j - gap];
            a[j] = v;
        }
}

// Whether any boundary of shape s (an open path's closing line included when
// `closing_line`) may come within `pad` of the shape-space box `box`.
// Conservative: paths test the quarter boxes of the segment cache, of the
// segments in `segs` (which must hold every one that may come that near).
HOST_DEVICE bool boundary_may_touch(const SceneView& scene, int s, BBox2 box, float pad, bool closing_line,
                                    const SegmentSet& segs) {
    box.pad(pad);
    const float* q = scene.shape_params + 4 * s;
    int kind = scene.shape_kind[s];
    if (kind == kCircle || kind == kEllipse) {
        // In the ellipse's unit-circle coordinates the box stays a box. The
        // boundary misses it if the box lies wholly outside or wholly inside.
        float rx = fabsf(q[2]), ry = fabsf(q[3]);
        if (!(rx > 0.0f && ry > 0.0f)) return !(box.distance_squared(Vec2f(q[0], q[1])) > 0.0f);
        BBox2 u{Vec2f((box.lo.x - q[0]) / rx, (box.lo.y - q[1]) / ry), Vec2f((box.hi.x - q[0]) / rx, (box.hi.y - q[1]) / ry)};
        const float slack = 1e-4f;
        if (u.distance_squared(Vec2f(0.0f, 0.0f)) > (1.0f + slack) * (1.0f + slack)) return false;
        float fx = max_value(u.lo.x * u.lo.x, u.hi.x * u.hi.x), fy = max_value(u.lo.y * u.lo.y, u.hi.y * u.hi.y);
        return !(fx + fy < (1.0f - slack) * (1.0f - slack));
    }
    if (kind == kRect) {
        float x0 = min_value(q[0], q[2]), x1 = max_value(q[0], q[2]);
        float y0 = min_value(q[1], q[3]), y1 = max_value(q[1], q[3]);
        bool disjoint = box.hi.x < x0 || box.lo.x > x1 || box.hi.y < y0 || box.lo.y > y1;
        bool inside = box.lo.x > x0 && box.hi.x < x1 && box.lo.y > y0 && box.hi.y < y1;
        return !(disjoint || inside);
    }
    int begin = scene.shape_segment_begin[s], end = scene.shape_segment_begin[s + 1];
    if (begin == end) return false;
    auto overlaps = [&](float x0, float y0, float x1, float y1) {
        return !(box.hi.x < x0 || box.lo.x > x1 || box.hi.y < y0 || box.lo.y > y1);
    };
    for (int n = 0; n < segs.size(); ++n) {
        const float* b = scene.segment_boxes + 16 * segs[n];
        for (int i = 0; i < 4; ++i, b += kBoxStride)
            if (overlaps(b[0], b[1], b[2], b[3])) return true;
    }
    if (closing_line && !scene.shape_closed[s]) {
        Vec2f first = scene.segment(begin).p[0];
        Segment last = scene.segment(end - 1);
        Vec2f tail = last.p[last.degree];
        if (overlaps(min_value(first.x, tail.x), min_value(first.y, tail.y), max_value(first.x, tail.x),
                     max_value(first.y, tail.y)))
            return true;
    }
    return false;
}

// Shape-space bounding box of the output rectangle [x0, x1] × [y0, y1] under
// group g's inverse map.
HOST_DEVICE BBox2 shape_space_box(const Affine2& to_shape, float x0, float y0, float x1, float y1) {
    BBox2 box = BBox2::empty();
    box.expand(to_shape.apply_point(Vec2f(x0, y0)));
    box.expand(to_shape.apply_point(Vec2f(x1, y0)));
    box.expand(to_shape.apply_point(Vec2f(x0, y1)));
    box.expand(to_shape.apply_point(Vec2f(x1, y1)));
    return box;
}

// The shape-space box that tile `tile` grown by `grow` output pixels maps
// into under group g's inverse map.
HOST_DEVICE BBox2 grown_tile_box(const SceneView& scene, const TileGrid& grid, int tile, int g, float grow) {
    int local = tile % grid.tiles_per_scene;
    float x0 = float((local % grid.tiles_x) * grid.tile_size), y0 = float((local / grid.tiles_x) * grid.tile_size);
    const float size = float(grid.tile_size);
    return shape_space_box(scene.to_shape(g), x0 - grow, y0 - grow, x0 + size + grow, y0 + size + grow);
}

// Whether segment k can matter at some point of the shape-space box `box`:
// for a fill, it may cross the ray toward +x from such a point (its cached
// y-range holds the point's height and its largest x is not left of it:
// cached_winding_contribution's own test) or come within `fill_pad` of it;
// for a stroke, its control box comes within `stroke_reach` of it.
HOST_DEVICE bool segment_matters(const SceneView& scene, int k, const BBox2& box, bool fill, float fill_pad,
                                 bool stroke, float stroke_reach) {
    const float* header = scene.segment_monotone + kSegmentMonotoneFloats * k;  // y-range, largest x
    if (fill && header[1] >= box.lo.y - fill_pad && header[0] <= box.hi.y + fill_pad &&
        header[2] >= box.lo.x - fill_pad)
        return true;
    if (!stroke) return false;
    const int* idx = scene.segment_points + 4 * k;
    float xmin = INFINITY;
    for (int j = 0; j <= scene.segment_degree[k]; ++j) xmin = min_value(xmin, scene.point(idx[j]).x);
    xmin -= 1e-5f * (fabsf(xmin) + 1.0f);
    return header[1] >= box.lo.y - stroke_reach && header[0] <= box.hi.y + stroke_reach &&
           header[2] >= box.lo.x - stroke_reach && xmin <= box.hi.x + stroke_reach;
}

// Calls f(k) for each segment of tile entry (tile, pair m) that
// segment_matters at a point of the tile grown by `grow` output pixels (the
// box classify_entry tests), for the queries that the shading runs there:
// winding numbers and (prefiltering) fill distances within the band, stroke
// membership and (prefiltering) stroke distances within the band. Every
// segment when the box is not finite.
template <typename F>
HOST_DEVICE void for_each_entry_segment(const SceneView& scene, const TileGrid& grid, int tile, int m, float grow,
                                        bool prefiltering, float stroke_pad, F&& f) {
    int g = scene.pair_group[m], s = scene.pair_shape[m];
    int begin = scene.shape_segment_begin[s], end = scene.shape_segment_begin[s + 1];
    const bool fill = scene.has_fill(g), stroke = scene.has_stroke(g);
    BBox2 box = grown_tile_box(scene, grid, tile, g, grow);
    if (!is_finite(box.hi.x - box.lo.x) || !is_finite(box.hi.y - box.lo.y)) {
        for (int k = begin; k < end; ++k) f(k);
        return;
    }
    // Prefiltering searches within a band of one output pixel, in shape
    // units (group_coverage), and strokes within it plus the half width; a
    // little more covers the probes of nearest_outline_point.
    const float band = prefiltering ? 1.0f / group_distance_scale(scene, g) : 0.0f;
    const float reach = prefiltering ? 1.01f * (stroke_pad + band + shape_max_width(scene, s)) : stroke_pad;
    const float slack = 1e-4f * (1.0f + fmaxf(fmaxf(fabsf(box.lo.x), fabsf(box.hi.x)),
                                              fmaxf(fabsf(box.lo.y), fabsf(box.hi.y))));
    for (int k = begin; k < end; ++k)
        if (segment_matters(scene, k, box, fill, 1.01f * band + slack, stroke, reach + slack)) f(k);
}

// What holds for tile entry (tile, pair m) over each cell of the tile, grown
// by `band` output pixels (the prefiltering band) plus kEntryMargin:
//  - no fill boundary comes that close: the winding number is the same at
//    every point of the cell (it only changes across the boundary), so it is
//    computed once, at the centre, and no distance is within the band;
//  - no point of the stroke comes that close: the stroke covers nothing.
// Samples then skip the per-point tests of such entries. The whole tile is
// tested first; cells are tested only where the tile meets a boundary.
// `segs`: the segments of the entry (for_each_entry_segment), `stroke_pad`
// the pair's (shape_stroke_pad).
HOST_DEVICE void classify_entry(const SceneView& scene, const TileGrid& grid, int tile, int m, float band,
                                const SegmentSet& segs, float stroke_pad, uint32_t* mask_out,
                                uint64_t* windings_out) {
    int g = scene.pair_group[m], s = scene.pair_shape[m];
    int local = tile % grid.tiles_per_scene;
    float x0 = float((local % grid.tiles_x) * grid.tile_size), y0 = float((local / grid.tiles_x) * grid.tile_size);
    const float grow = band + kEntryMargin, size = float(grid.tile_size), cell = size / kCellsPerSide;
    const Affine2 to_shape = scene.to_shape(g);
    const bool fill = scene.has_fill(g), stroke = scene.has_stroke(g);
    const uint32_t all = (1u << kCells) - 1u;
    *mask_out = all | (all << kCells);
    *windings_out = 0;
    BBox2 tile_box = grown_tile_box(scene, grid, tile, g, grow);
    if (!is_finite(tile_box.hi.x - tile_box.lo.x) || !is_finite(tile_box.hi.y - tile_box.lo.y)) return;
    const bool fill_touches = fill && boundary_may_touch(scene, s, tile_box, 0.0f, true, segs);
    const bool stroke_touches = stroke && boundary_may_touch(scene, s, tile_box, stroke_pad, false, segs);
    uint32_t mask = 0;
    uint64_t windings = 0;
    int tile_winding = 0;
    if (fill && !fill_touches) tile_winding = shape_winding_number(scene, s, 0.5f * (tile_box.lo + tile_box.hi), segs);
    for (int c = 0; c < kCells; ++c) {
        float cx0 = x0 + cell * float(c % kCellsPerSide), cy0 = y0 + cell * float(c / kCellsPerSide);
        BBox2 box = (fill_touches || stroke_touches)
                        ? shape_space_box(to_shape, cx0 - grow, cy0 - grow, cx0 + cell + grow, cy0 + cell + grow)
                        : tile_box;
        if (fill) {
            int w = tile_winding;
            bool varies = false;
            if (fill_touches) {
                varies = boundary_may_touch(scene, s, box, 0.0f, true, segs);
                if (!varies) w = shape_winding_number(scene, s, 0.5f * (box.lo + box.hi), segs);
            }
            if (!varies && (w < -8 || w > 7)) varies = true;  // does not fit the nibble: test per point
            if (varies) mask |= 1u << c;
            else windings |= uint64_t(uint32_t(w) & 15u) << (4 * c);
        }
        if (stroke_touches && boundary_may_touch(scene, s, box, stroke_pad, false, segs)) mask |= 1u << (kCells + c);
    }
    *mask_out = mask;
    *windings_out = windings;
}

}  // namespace

TileGrid build_tile_grid(const SceneView& scene, const RenderOptions& options, float output_pad,
                         const ExecutionContext& context) {
    TileGrid grid;
    grid.tile_size = options.tile_size;
    grid.tiles_x = (options.width + grid.tile_size - 1) / grid.tile_size;
    grid.tiles_y = (options.height + grid.tile_size - 1) / grid.tile_size;
    grid.tiles_per_scene = grid.tiles_x * grid.tiles_y;
    const int num_tiles = grid.tiles_per_scene * scene.num_scenes;
    const int pairs = scene.num_pairs;

    float* pair_bounds = context.allocate<float>(size_t(pairs) * 4);
    float* pair_output_bounds = context.allocate<float>(size_t(pairs) * 4);
    int* pair_rect = context.allocate<int>(size_t(pairs) * 4);
    int* pair_offset = context.allocate<int>(size_t(pairs) + 1);
    float* pair_stroke_pad = context.allocate<float>(size_t(pairs));
    const SceneView s = scene;
    const TileGrid g = grid;

    // 1. Bounds of each pair, in shape space and in output pixels, and the
    //    rectangle of tiles they cover.
    parallel_for(pairs, [=] HOST_DEVICE(int64_t m) {
        int shape = s.pair_shape[m], group = s.pair_group[m];
        // Square caps and miter tips reach beyond the half width (shape_stroke_pad).
        float stroke_pad = s.has_stroke(group) ? shape_stroke_pad(s, shape) : 0.0f;
        pair_stroke_pad[m] = stroke_pad;
        BBox2 box = shape_bounds(s, shape, stroke_pad);
        float* pb = pair_bounds + 4 * m;
        float* ob = pair_output_bounds + 4 * m;
        int* rect = pair_rect + 4 * m;
        if (box.is_empty()) {
            pb[0] = pb[1] = INFINITY; pb[2] = pb[3] = -INFINITY;
            ob[0] = ob[1] = INFINITY; ob[2] = ob[3] = -INFINITY;
            rect[0] = rect[1] = 0; rect[2] = rect[3] = -1;
            pair_offset[m] = 0;
            return;
        }
        pb[0] = box.lo.x; pb[1] = box.lo.y; pb[2] = box.hi.x; pb[3] = box.hi.y;
        Affine2 to_output = s.to_output(group);
        BBox2 out = BBox2::empty();
        out.expand(to_output.apply_point(box.lo));
        out.expand(to_output.apply_point(box.hi));
        out.expand(to_output.apply_point(Vec2f(box.lo.x, box.hi.y)));
        out.expand(to_output.apply_point(Vec2f(box.hi.x, box.lo.y)));
        out.pad(output_pad);
        ob[0] = out.lo.x; ob[1] = out.lo.y; ob[2] = out.hi.x; ob[3] = out.hi.y;
        // Tiles overlapped; clamp in float first so huge coordinates are safe.
        float fx0 = clamp_value(floorf(out.lo.x / g.tile_size), -1.0f, float(g.tiles_x));
        float fy0 = clamp_value(floorf(out.lo.y / g.tile_size), -1.0f, float(g.tiles_y));
        float fx1 = clamp_value(floorf(out.hi.x / g.tile_size), -1.0f, float(g.tiles_x));
        float fy1 = clamp_value(floorf(out.hi.y / g.tile_size), -1.0f, float(g.tiles_y));
        int x0 = max_value(int(fx0), 0), y0 = max_value(int(fy0), 0);
        int x1 = min_value(int(fx1), g.tiles_x - 1), y1 = min_value(int(fy1), g.tiles_y - 1);
        rect[0] = x0; rect[1] = y0; rect[2] = x1; rect[3] = y1;
        pair_offset[m] = (x1 >= x0 && y1 >= y0) ? (x1 - x0 + 1) * (y1 - y0 + 1) : 0;
    }, context);

    // 2. Entries per pair -> offsets.
    const int entries = int(exclusive_scan_inplace(pair_offset, pairs + 1, context));

    // 3. Scatter (tile, pair) entries and count entries per tile.
    int* entry_tile = context.allocate<int>(size_t(entries));
    int* entry_pair = context.allocate<int>(size_t(entries));
    int* tile_count = context.allocate<int>(size_t(num_tiles) + 1);
    parallel_for(pairs, [=] HOST_DEVICE(int64_t m) {
        const int* rect = pair_rect + 4 * m;
        int scene_index = s.group_scene[s.pair_group[m]];
        int out = pair_offset[m];
        for (int ty = rect[1]; ty <= rect[3]; ++ty)
            for (int tx = rect[0]; tx <= rect[2]; ++tx) {
                int tile = scene_index * g.tiles_per_scene + ty * g.tiles_x + tx;
                entry_tile[out] = tile;
                entry_pair[out] = int(m);
                ++out;
                atomic_add_int(tile_count + tile, 1);
            }
    }, context);

    // 4. Counting sort by tile, then order each tile's list by pair.
    exclusive_scan_inplace(tile_count, num_tiles + 1, context);
    int* tile_cursor = context.allocate<int>(size_t(num_tiles));
    int* tile_pairs = context.allocate<int>(size_t(entries));
    parallel_for(entries, [=] HOST_DEVICE(int64_t e) {
        int tile = entry_tile[e];
        int slot = tile_count[tile] + atomic_add_int(tile_cursor + tile, 1);
        tile_pairs[slot] = entry_pair[e];
    }, context, 1024);
    parallel_for(num_tiles, [=] HOST_DEVICE(int64_t t) {
        sort_ints(tile_pairs + tile_count[t], tile_count[t + 1] - tile_count[t]);
    }, context, 4);

    // Entry bounds in list order, so a sample's scan reads them contiguously.
    float* tile_bounds = context.allocate<float>(size_t(entries) * 4);
    parallel_for(entries, [=] HOST_DEVICE(int64_t e) {
        const float* from = pair_output_bounds + 4 * tile_pairs[e];
        float* to = tile_bounds + 4 * e;
        to[0] = from[0]; to[1] = from[1]; to[2] = from[2]; to[3] = from[3];
    }, context, 1024);

    // The segment lists of the entries of paths: a count, a scan, a fill.
    const float band = output_pad, grow = band + kEntryMargin;
    const bool prefiltering = options.prefiltering;
    const TileGrid classified_grid = grid;
    int* segment_begin = nullptr;
    int* segment_list = nullptr;
    if (scene.segment_monotone && entries > 0) {
        segment_begin = context.allocate<int>(size_t(entries) + 1);
        parallel_for(num_tiles, [=] HOST_DEVICE(int64_t t) {
            for (int e = tile_count[t]; e < tile_count[t + 1]; ++e) {
                int m = tile_pairs[e], count = 0;
                if (shape_has_segment_lists(s, s.pair_shape[m]))
                    for_each_entry_segment(s, classified_grid, int(t), m, grow, prefiltering, pair_stroke_pad[m],
                                           [&](int) { ++count; });
                segment_begin[e] = count;
            }
        }, context, 4);
        // Past the budget (64 M entries, 256 MB) the queries visit every segment.
        const int64_t listed = exclusive_scan_inplace(segment_begin, int64_t(entries) + 1, context);
        if (listed <= (int64_t(64) << 20)) {
            segment_list = context.allocate<int>(size_t(max_value(listed, int64_t(1))));
            int* list = segment_list;
            const int* offsets = segment_begin;
            parallel_for(num_tiles, [=] HOST_DEVICE(int64_t t) {
                for (int e = tile_count[t]; e < tile_count[t + 1]; ++e) {
                    int m = tile_pairs[e];
                    int* out = list + offsets[e];
                    if (shape_has_segment_lists(s, s.pair_shape[m]))
                        for_each_entry_segment(s, classified_grid, int(t), m, grow, prefiltering, pair_stroke_pad[m],
                                               [&](int k) { *out++ = k; });
                }
            }, context, 4);
        } else {
            segment_begin = nullptr;
        }
    }
    grid.entry_segment_begin = segment_begin;
    grid.entry_segments = segment_list;

    // Per-entry classification over the cells of its tile.
    uint32_t* entry_masks = context.allocate<uint32_t>(size_t(entries));
    uint64_t* entry_windings = context.allocate<uint64_t>(size_t(entries));
    const TileGrid listed_grid = grid;
    parallel_for(num_tiles, [=] HOST_DEVICE(int64_t t) {
        for (int e = tile_count[t]; e < tile_count[t + 1]; ++e) {
            int m = tile_pairs[e];
            // Cell 0: the tile's lists apply to every point the classification is for.
            SegmentSet segs = entry_segment_set(s, listed_grid, e, s.pair_shape[m], 0);
            classify_entry(s, listed_grid, int(t), m, band, segs, pair_stroke_pad[m], entry_masks + e,
                           entry_windings + e);
        }
    }, context, 4);

    grid.entry_masks = entry_masks;
    grid.entry_windings = entry_windings;
    grid.tile_begin = tile_count;
    grid.tile_bounds = tile_bounds;
    grid.tile_pairs = tile_pairs;
    grid.pair_bounds = pair_bounds;
    grid.pair_output_bounds = pair_output_bounds;
    return grid;
}

PreparedRender prepare_render(const SceneView& scene, const RenderOptions& options, const ExecutionContext& context) {
    PreparedRender r;
    r.scene = prepare_scene(scene, scene.num_segments, options.prefiltering || options.output_sdf, context);
    r.grid = build_tile_grid(r.scene, options, options.prefiltering ? 1.0f : 0.01f, context);
    return r;
}

}  // namespace pdvg
