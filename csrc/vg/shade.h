// Shading one sample point: visit the groups of its tile front to back... in
// drawing order, decide fill and stroke coverage, look up the paints and
// composite with "over" in premultiplied space. Shared by the forward pass,
// the boundary term of the backward pass (which shades both sides of an
// edge) and the SDF output.
#pragma once

#include "paint.h"
#include "shape_queries.h"
#include "tiles.h"

#include <type_traits>
#include <vector>

namespace pdvg {

HOST_DEVICE inline bool fill_rule_inside(int winding, bool even_odd) {
    return even_odd ? (winding & 1) != 0 : winding != 0;
}

// A BoundaryPoint that stays uninitialised until set: GroupCoverage is built
// per group per sample, and only prefiltering ever sets or reads these.
struct LazyBoundaryPoint {
    union { BoundaryPoint value; };
    bool known = false;
    HOST_DEVICE LazyBoundaryPoint() {}
    HOST_DEVICE void set(const BoundaryPoint& p) { value = p; known = true; }
    HOST_DEVICE const BoundaryPoint* get() const { return known ? &value : nullptr; }
};

// Coverage of a group at a point, before paint: 0/1 when sampling, or a
// prefiltered fraction from the signed distance in output pixels. For
// prefiltering it also names the shapes that gave the distances, which the
// backward pass differentiates.
struct GroupCoverage {
    float fill = 0.0f;
    float stroke = 0.0f;
    Vec2f local;                   // the point in the group's shape space
    bool inside = false;           // fill rule says inside
    float fill_distance = INFINITY;    // shape-space distance to the nearest fill boundary
    float stroke_distance = INFINITY;  // shape-space signed distance to the stroke outline
    int fill_shape = -1, stroke_shape = -1;
    // Prefiltering: the closest boundary points behind fill_distance and (round
    // strokes) stroke_distance, so that the backward pass need not search for
    // them again. Unset otherwise; a styled stroke sets one of distance
    // INFINITY, which the backward pass treats as unknown.
    LazyBoundaryPoint fill_point, stroke_point;
};

// dst = src, leaving boundary-point slots that src has not set unread (keep
// in step with GroupCoverage's fields).
HOST_DEVICE inline void copy_coverage(GroupCoverage& dst, const GroupCoverage& src) {
    dst.fill = src.fill; dst.stroke = src.stroke; dst.local = src.local; dst.inside = src.inside;
    dst.fill_distance = src.fill_distance; dst.stroke_distance = src.stroke_distance;
    dst.fill_shape = src.fill_shape; dst.stroke_shape = src.stroke_shape;
    dst.fill_point.known = src.fill_point.known;
    if (src.fill_point.known) dst.fill_point.value = src.fill_point.value;
    dst.stroke_point.known = src.stroke_point.known;
    if (src.stroke_point.known) dst.stroke_point.value = src.stroke_point.value;
}

// What a cell knows of one varying fill entry's winding number (sampled
// passes on the CPU; build_cell_windings): the entry's segments split into
// those right of the whole cell, whose crossings depend on a sample's height
// alone, and the rest, `near`, which are cast against per sample. A piece
// right of the cell whose height range spans the cell adds its direction to
// `right`; one with an end height inside the cell is kept in `steps` as
// (low, high, direction): it counts where low <= y < high.
//
// For an entry whose stroke is near the cell, `stroke` lists the segments
// of the entry's list that may reach some point of the cell (control box
// within the widest width, or an end vertex within its joint's reach):
// the stroke test visits only those, in the same order. Prefiltered passes
// grow those reaches by the distance band (see build_cell_windings), and
// list in `fill_near` a varying fill entry's segments whose cached quarter
// boxes come within the band of the cell: the closest-point search visits
// only those.
struct CellWinding {
    bool known = false;
    int right = 0;
    const int* near = nullptr;
    int near_count = 0;
    const float* steps = nullptr;
    int step_count = 0;
    bool stroke_known = false;
    const int* stroke = nullptr;
    int stroke_count = 0;
    bool fill_near_known = false;
    const int* fill_near = nullptr;
    int fill_near_count = 0;
};

// Winding number of path s at shape-space point p of the cell that `w`
// was built for: the same as shape_winding_number over the entry's segments.
HOST_DEVICE inline int cell_winding_number(const SceneView& scene, int s, Vec2f p, const CellWinding& w) {
    int winding = w.right;
    for (int n = 0; n < w.step_count; ++n) {
        const float* q = w.steps + 3 * n;
        if (q[0] <= p.y && p.y < q[1]) winding += int(q[2]);
    }
    return winding + shape_winding_number(scene, s, p, SegmentSet{w.near, 0, w.near_count});
}

// How far a prefiltered coverage's closest-point searches look, in shape
// units, for a band of one output pixel: the coverage clamp(0.5 - d scale,
// 0, 1) is 0 or 1 once |d| reaches half a pixel (band / 2), whether that
// distance is found or not. A hair beyond half the band, so that |d| scale
// rounds past 0.5 there (band * scale may round to just under 1).
HOST_DEVICE inline float prefilter_reach(float band) { return 0.5001f * band; }

// Coverage of group g at output point `position`, using entries
// [first, last) of a tile list (all belonging to g). `cell` is the tile cell
// holding the point (TileGrid::cell_of), or -1: entries known to be constant
// over that cell skip their per-point tests.
//
// With `order`, the entries visited are order[first..last) instead, and
// `base_winding` is the winding number the group's other entries add (a
// CellGroup's list: the entries that vary over the cell). `in_stroke_known`
// says the point is known to lie in the group's stroke (sampling only).
// `cell_windings` (sampling only, with `order`): per position k of order,
// the cell's winding facts of that entry, used where known.
HOST_DEVICE FORCE_INLINE GroupCoverage group_coverage(const SceneView& scene, const TileGrid& grid,
                                                const int* pairs, int first, int last, int g,
                                                Vec2f position, bool prefiltering, int cell,
                                                const int* order = nullptr, int base_winding = 0,
                                                bool in_stroke_known = false,
                                                const CellWinding* cell_windings = nullptr) {
    GroupCoverage c;
    c.local = scene.to_shape(g).apply_point(position);
    const bool fill = scene.has_fill(g), stroke = scene.has_stroke(g);
    // Prefiltering only needs distances inside the anti-aliasing band (one
    // output pixel in shape units); the searches stop at prefilter_reach.
    const float band = prefiltering ? 1.0f / group_distance_scale(scene, g) : 0.0f;
    const float reach = prefilter_reach(band);
    int winding = base_winding;
    bool in_stroke = in_stroke_known && !prefiltering;
    for (int k = first; k < last; ++k) {
        int i = order ? order[k] : k;
        int pair = pairs[i];
        EntryCell known = entry_cell(grid, i, cell);
        if (fill && !known.fill_varies) winding += known.winding;
        if (!known.fill_varies && !known.stroke_near) continue;
        if (!prefiltering && !grid.pair_may_contain(pair, c.local)) continue;
        int s = scene.pair_shape[pair];
        const SegmentSet segs = entry_segment_set(scene, grid, i, s, cell);
        if (fill && known.fill_varies) {
            if (cell_windings && cell_windings[k].known) winding += cell_winding_number(scene, s, c.local, cell_windings[k]);
            else winding += shape_winding_number(scene, s, c.local, segs);
            if (prefiltering) {
                const bool listed = cell_windings && cell_windings[k].fill_near_known;
                BoundaryPoint bp = shape_closest_boundary_point(
                    scene, s, c.local, true, min_value(reach, c.fill_distance),
                    listed ? SegmentSet{cell_windings[k].fill_near, 0, cell_windings[k].fill_near_count} : segs);
                if (bp.distance < c.fill_distance) { c.fill_distance = bp.distance; c.fill_shape = s; c.fill_point.set(bp); }
            }
        }
        if (stroke && known.stroke_near) {
            if (prefiltering) {
                BoundaryPoint bp;
                // A round stroke's search runs on the centre line, whose
                // distance is the outline's plus the width. A styled one's
                // runs on the outline itself: an outline point farther than
                // `reach` leaves the coverage 0 or 1 whether it is found or
                // not (beyond the cutoff it reports INFINITY outside, giving
                // 0, and -cutoff inside, giving 1, as 0.5 -+ d scale clamps
                // to for any |d| >= reach), so it accepts only points within
                // `reach`, which keeps far sides from being solved at all.
                // Its cutoff, which also bounds how far from a joint its
                // inner corner is looked for (for_each_outline_candidate),
                // stays band + the widest width: a narrower one drops
                // corners that the tangents put far from the vertex of a
                // sharp turn, and changed pixels there (by 0.05-0.19 on the
                // zigzags of test_stroke_styles).
                const bool round = stroke_is_round(scene, s);
                const float cutoff = (round ? reach : band) + shape_max_width(scene, s);
                const bool listed = cell_windings && cell_windings[k].stroke_known;
                float d = stroke_signed_distance(
                    scene, s, c.local, cutoff, &bp,
                    listed ? SegmentSet{cell_windings[k].stroke, 0, cell_windings[k].stroke_count} : segs,
                    round ? -1.0f : reach);
                if (d < c.stroke_distance) { c.stroke_distance = d; c.stroke_shape = s; c.stroke_point.set(bp); }
            } else if (!in_stroke) {
                if (cell_windings && cell_windings[k].stroke_known)
                    in_stroke = inside_stroke(scene, s, c.local,
                                              SegmentSet{cell_windings[k].stroke, 0, cell_windings[k].stroke_count});
                else in_stroke = inside_stroke(scene, s, c.local, segs);
            }
        }
    }
    c.inside = fill && fill_rule_inside(winding, scene.group_even_odd[g] != 0);
    if (!prefiltering) {
        c.fill = c.inside ? 1.0f : 0.0f;
        c.stroke = in_stroke ? 1.0f : 0.0f;
        return c;
    }
    // Prefiltering: coverage of a 1-pixel box by a half-plane at signed
    // distance d (negative inside) is clamp(0.5 - d, 0, 1).
    float scale = group_distance_scale(scene, g);
    if (fill) {
        if (c.fill_shape >= 0) {
            float d = (c.inside ? -c.fill_distance : c.fill_distance) * scale;
            c.fill = clamp_value(0.5f - d, 0.0f, 1.0f);
        } else {
            c.fill = c.inside ? 1.0f : 0.0f;  // no boundary within the band
        }
    }
    if (stroke && c.stroke_shape >= 0) c.stroke = clamp_value(0.5f - c.stroke_distance * scale, 0.0f, 1.0f);
    return c;
}

// "Over" in premultiplied space: dst = src * a + dst * (1 - a), where the
// straight colour `paint` has alpha a = paint.w * coverage.
HOST_DEVICE inline void composite_over(Vec4f& accum, Vec4f paint, float coverage) {
    float a = paint.w * coverage;
    accum.x = paint.x * a + accum.x * (1.0f - a);
    accum.y = paint.y * a + accum.y * (1.0f - a);
    accum.z = paint.z * a + accum.z * (1.0f - a);
    accum.w = a + accum.w * (1.0f - a);
}

// Straight background colour of scene b at output pixel (x, y) as
// premultiplied RGBA, or transparent black.
HOST_DEVICE inline Vec4f background_premultiplied(const RenderOptions& options, int b, int x, int y) {
    if (!options.background) return {0, 0, 0, 0};
    const float* c = options.background + 4 * ((int64_t(b) * options.height + y) * options.width + x);
    return {c[0] * c[3], c[1] * c[3], c[2] * c[3], c[3]};
}

// One composited layer: a group's fill or stroke at a sample.
struct LayerEvent {
    int group;
    int paint;              // 2g (fill) or 2g + 1 (stroke)
    float coverage;
    Vec4f color;            // straight paint colour
    Vec4f below;            // premultiplied colour under this layer
    const GroupCoverage* coverage_info;
};

// A visitor that ignores the layers (the plain forward pass).
struct IgnoreLayers {
    HOST_DEVICE void operator()(const LayerEvent&) {}
};

// The walk over a tile list: from entry *first on, finds the next run of
// entries [*first, *last) that belong to one painted group, one of whose
// output-space bounds may hold `position` (a group is shaded only then).
// Returns the group, or -1 at the end of the list.
HOST_DEVICE inline int next_group_run(const SceneView& scene, const TileGrid& grid, int end, Vec2f position,
                                      int* first, int* last) {
    const int* pairs = grid.tile_pairs;
    int i = *first;
    while (i < end) {
        if (!grid.entry_may_contain(i, position)) { ++i; continue; }
        int g = scene.pair_group[pairs[i]];
        int j = i + 1;
        while (j < end && scene.pair_group[pairs[j]] == g) ++j;
        if (scene.has_fill(g) || scene.has_stroke(g)) {
            *first = i;
            *last = j;
            return g;
        }
        i = j;
    }
    *first = *last = end;
    return -1;
}

// Composites group g's fill, then its stroke, with coverage c onto accum.
template <typename Visitor>
HOST_DEVICE inline void composite_group(const SceneView& scene, int g, const GroupCoverage& c, Vec4f& accum,
                                        Visitor& visit) {
    for (int layer = 0; layer < 2; ++layer) {
        float coverage = layer == 0 ? c.fill : c.stroke;
        if (!(coverage > 0.0f)) continue;
        LayerEvent e;
        e.group = g;
        e.paint = 2 * g + layer;
        e.coverage = coverage;
        e.color = evaluate_paint(scene, e.paint, c.local);
        e.below = accum;
        e.coverage_info = &c;
        visit(e);
        composite_over(accum, e.color, coverage);
    }
}

// Premultiplied colour of scene b at output point `position`, which lies in
// pixel (x, y) (whose tile is searched and whose background is used).
// `visit` sees every layer with non-zero coverage, bottom to top.
template <typename Visitor>
HOST_DEVICE inline Vec4f shade_point(const SceneView& scene, const TileGrid& grid, const RenderOptions& options,
                                     int b, int x, int y, Vec2f position, Visitor& visit) {
    Vec4f accum = background_premultiplied(options, b, x, y);
    int tile = grid.tile_of(b, float(x), float(y));
    int begin = grid.tile_begin[tile], end = grid.tile_begin[tile + 1];
    const int* pairs = grid.tile_pairs;
    const int cell = grid.cell_of(tile, position);
    int i = begin, last = begin;
    for (int g; (g = next_group_run(scene, grid, end, position, &i, &last)) >= 0; i = last) {
        GroupCoverage c = group_coverage(scene, grid, pairs, i, last, g, position, options.prefiltering, cell);
        composite_group(scene, g, c, accum, visit);
    }
    return accum;
}

HOST_DEVICE inline Vec4f shade_point(const SceneView& scene, const TileGrid& grid, const RenderOptions& options,
                                     int b, int x, int y, Vec2f position) {
    IgnoreLayers ignore;
    return shade_point(scene, grid, options, b, x, y, position, ignore);
}

// ---- Cell programs: one tile-list walk for all samples of a cell ----------
//
// The samples of one cell (kCellsPerSide² cells per tile, 4×4 pixels) all
// walk the same tile list and mostly reach the same verdicts: an entry whose
// classification says its winding number is constant over the cell and its
// stroke is far adds the same to every sample there. A cell program walks
// the list once for the cell. It keeps the groups whose bounds reach the
// cell, folds their constant entries into a base winding number, and keeps
// the rest, the entries that vary over the cell, in a short list. A group
// with no varying entry has one coverage for the whole cell, and is dropped
// when that is zero. Shading a sample through the program gives the same
// colour as shade_point: a group skipped there because no bound held the
// point has winding 0 and no stroke at it, so it adds no layer here either.
struct CellGroup {
    int group;
    int first, last;       // its varying entries, CellProgram::entries[first..last)
    int base_winding;      // winding number of its other entries over the cell
    float fill, stroke;    // coverage over the cell when it has no varying entry
};

struct CellProgram {
    const CellGroup* groups = nullptr;
    int num_groups = 0;
    const int* entries = nullptr;  // tile-list indices
    int cell = -1;
    // Room for one byte per group (num_groups), or null. Given only where
    // no layer is recorded (build_cell_program's hide_occluded): then
    // shade_point walks the groups top-down and stops at the first layer
    // that hides what lies below it at the sample (shade_point_top_down).
    unsigned char* scratch = nullptr;
    int varying_groups = 0;  // groups with varying entries (per-sample tests)
    // Sampled inference only (set_constant_prefix): groups [0, prefix) have
    // one coverage and a solid paint over the whole cell, so every sample
    // of the cell composites them onto the background to the same colour,
    // prefix_color; the per-sample walk starts above them.
    int prefix = 0;
    Vec4f prefix_color;
    // Sampled passes on the CPU (build_cell_windings): per position of
    // `entries`, the cell's winding facts of that entry; null otherwise.
    const CellWinding* windings = nullptr;
};

// Whether paint `paint` is a solid colour of alpha exactly 1.
HOST_DEVICE FORCE_INLINE bool paint_is_opaque_solid(const SceneView& scene, int paint) {
    return scene.paint_kind[paint] == kPaintSolid && scene.paint_params[kPaintFloats * paint + 3] == 1.0f;
}

// Whether program group cg covers its whole cell with an opaque solid fill:
// compositing it sets every sample to its colour exactly (alpha 1: the
// colour times 1 plus what lies below times 0), whatever lies below.
HOST_DEVICE inline bool hides_below(const SceneView& scene, const CellGroup& cg) {
    return cg.last == cg.first && cg.fill == 1.0f && paint_is_opaque_solid(scene, 2 * cg.group);
}

// Whether a layer of 0/1 coverage bits (bit 0 fill, bit 1 stroke) of group g
// sets a sample to an opaque solid paint, whatever lies below it.
HOST_DEVICE FORCE_INLINE bool layer_hides_below(const SceneView& scene, int g, unsigned bits) {
    return ((bits & 2) && paint_is_opaque_solid(scene, 2 * g + 1)) || ((bits & 1) && paint_is_opaque_solid(scene, 2 * g));
}

// Whether some group of the program has an opaque solid fill or stroke: a
// layer that can end a top-down walk.
HOST_DEVICE inline bool program_has_opaque_paint(const SceneView& scene, const CellProgram& program) {
    for (int n = 0; n < program.num_groups; ++n) {
        const int g = program.groups[n].group;
        if (paint_is_opaque_solid(scene, 2 * g) || paint_is_opaque_solid(scene, 2 * g + 1)) return true;
    }
    return false;
}

// The program of cell `cell` of `tile`, whose output-space rectangle is
// [lo, hi]. `groups` and `entries` need room for the tile's entry count.
// With `hide_occluded` (a forward pass that records no layers), the program
// starts at the topmost group that hides_below: the groups under it and the
// background change no sample's colour, so the image is the same bit for bit.
HOST_DEVICE inline CellProgram build_cell_program(const SceneView& scene, const TileGrid& grid, int tile, int cell,
                                                  Vec2f lo, Vec2f hi, CellGroup* groups, int* entries,
                                                  bool hide_occluded = false) {
    CellProgram program;
    program.groups = groups;
    program.entries = entries;
    program.cell = cell;
    const int* pairs = grid.tile_pairs;
    int end = grid.tile_begin[tile + 1], count = 0;
    for (int i = grid.tile_begin[tile]; i < end;) {
        int g = scene.pair_group[pairs[i]];
        int j = i + 1;
        while (j < end && scene.pair_group[pairs[j]] == g) ++j;
        const bool fill = scene.has_fill(g), stroke = scene.has_stroke(g);
        bool reaches = false;
        for (int k = i; k < j && !reaches; ++k) {
            const float* b = grid.tile_bounds + 4 * k;
            reaches = b[0] <= hi.x && b[1] <= hi.y && b[2] >= lo.x && b[3] >= lo.y;
        }
        if ((fill || stroke) && reaches) {
            CellGroup cg{g, count, count, 0, 0.0f, 0.0f};
            for (int k = i; k < j; ++k) {
                EntryCell known = entry_cell(grid, k, cell);
                if ((fill && known.fill_varies) || (stroke && known.stroke_near)) entries[count++] = k;
                else if (fill) cg.base_winding += known.winding;
            }
            cg.last = count;
            bool inside = fill && fill_rule_inside(cg.base_winding, scene.group_even_odd[g] != 0);
            cg.fill = inside ? 1.0f : 0.0f;
            if (cg.last > cg.first || inside) groups[program.num_groups++] = cg;
            if (cg.last > cg.first) ++program.varying_groups;
        }
        i = j;
    }
    if (hide_occluded)
        for (int n = program.num_groups - 1; n > 0; --n)
            if (hides_below(scene, groups[n])) {
                program.groups = groups + n;
                program.num_groups -= n;
                break;
            }
    return program;
}

// Folds the program's bottom run of groups that are constant over the cell
// (no varying entry) with solid paints into prefix_color, composited onto a
// transparent background exactly as shade_point composites them (same
// operations in the same order), so that shading from the prefix gives each
// sample the same colour bit for bit. For a sampled forward pass that
// records no layers and has no background image (whose colour varies per
// pixel); the prefix stays 0 otherwise.
HOST_DEVICE inline void set_constant_prefix(const SceneView& scene, CellProgram& program) {
    Vec4f accum{0, 0, 0, 0};
    int n = 0;
    for (; n < program.num_groups; ++n) {
        const CellGroup& cg = program.groups[n];
        const int g = cg.group;
        // A constant group covers the cell with its fill (coverage 1) and
        // has no stroke there (build_cell_program).
        if (cg.last > cg.first || cg.stroke > 0.0f || cg.fill != 1.0f) break;
        if (scene.paint_kind[2 * g] != kPaintSolid) break;
        // The literal 1 as shade_point_top_down passes it: a variable equal
        // to 1 let the compiler contract the products differently (last-bit
        // differences on two real files).
        composite_over(accum, evaluate_paint(scene, 2 * g, Vec2f()), 1.0f);
    }
    program.prefix = n;
    program.prefix_color = accum;
}

// Coverage of program group cg at `position` in the program's cell: from
// its varying entries, or the cell's constant coverage when it has none.
// `in_stroke_known` as for group_coverage.
HOST_DEVICE FORCE_INLINE GroupCoverage cell_group_coverage(const SceneView& scene, const TileGrid& grid,
                                                     const CellProgram& program, const CellGroup& cg,
                                                     Vec2f position, bool prefiltering,
                                                     bool in_stroke_known = false) {
    if (cg.last > cg.first)
        return group_coverage(scene, grid, grid.tile_pairs, cg.first, cg.last, cg.group, position, prefiltering,
                              program.cell, program.entries, cg.base_winding, in_stroke_known, program.windings);
    GroupCoverage c;
    c.local = scene.to_shape(cg.group).apply_point(position);
    c.fill = cg.fill;
    c.stroke = cg.stroke;
    c.inside = cg.fill > 0.0f;
    return c;
}

// shade_point for a sample (sampled output, no visitor) of the cell that
// `program` was built for, with program.scratch: the groups are visited from
// the top down, their 0/1 coverages kept in scratch, until a layer of
// coverage 1 with an opaque solid paint: compositing it sets the sample to
// that paint exactly, whatever lies below (as hides_below, per sample), so
// the layers under it are neither tested nor composited. Then the kept
// layers are composited bottom-up as shade_point does: the same colour, bit
// for bit.
HOST_DEVICE inline Vec4f shade_point_top_down(const SceneView& scene, const TileGrid& grid,
                                              const RenderOptions& options, const CellProgram& program, int b,
                                              int x, int y, Vec2f position) {
    unsigned char* layers = program.scratch;  // bit 0: fill covers the sample, bit 1: stroke does
    // Without an opaque layer above the constant prefix, the walk ends at the
    // prefix and composites onto its colour (an opaque layer inside the
    // prefix would give the same: it sets the colour whatever lies below).
    int bottom = program.prefix;
    bool from_prefix = true;
    for (int n = program.num_groups - 1; n >= program.prefix; --n) {
        const CellGroup& cg = program.groups[n];
        GroupCoverage c = cell_group_coverage(scene, grid, program, cg, position, false);
        unsigned char bits = (c.fill > 0.0f ? 1 : 0) | (c.stroke > 0.0f ? 2 : 0);
        if ((bits & 2) && paint_is_opaque_solid(scene, 2 * cg.group + 1)) {
            layers[n] = 2;
            bottom = n;
            from_prefix = false;
            break;
        }
        layers[n] = bits;
        if ((bits & 1) && paint_is_opaque_solid(scene, 2 * cg.group)) {
            bottom = n;
            from_prefix = false;
            break;
        }
    }
    Vec4f accum = from_prefix && program.prefix > 0 ? program.prefix_color
                                                    : background_premultiplied(options, b, x, y);
    for (int n = bottom; n < program.num_groups; ++n) {
        const unsigned char bits = layers[n];
        if (!bits) continue;
        const int g = program.groups[n].group;
        const Vec2f local = scene.to_shape(g).apply_point(position);
        if (bits & 1) composite_over(accum, evaluate_paint(scene, 2 * g, local), 1.0f);
        if (bits & 2) composite_over(accum, evaluate_paint(scene, 2 * g + 1, local), 1.0f);
    }
    return accum;
}

// shade_point for a sample of the cell that `program` was built for.
template <typename Visitor>
HOST_DEVICE FORCE_INLINE Vec4f shade_point(const SceneView& scene, const TileGrid& grid, const RenderOptions& options,
                                     const CellProgram& program, int b, int x, int y, Vec2f position,
                                     Visitor& visit) {
    if constexpr (std::is_same<Visitor, IgnoreLayers>::value)
        // Only where per-sample tests can be skipped: when every group's
        // coverage is one per cell, the second walk costs more than it saves
        // (seaside2: +23% kernel samples without this test).
        if (program.scratch && !options.prefiltering && program.varying_groups >= 2)
            return shade_point_top_down(scene, grid, options, program, b, x, y, position);
    // program.prefix is 0 unless set_constant_prefix ran (sampled inference).
    Vec4f accum = program.prefix > 0 ? program.prefix_color : background_premultiplied(options, b, x, y);
    for (int n = program.prefix; n < program.num_groups; ++n) {
        const CellGroup& cg = program.groups[n];
        GroupCoverage c = cell_group_coverage(scene, grid, program, cg, position, options.prefiltering);
        composite_group(scene, cg.group, c, accum, visit);
    }
    return accum;
}

// The per-cell scratch of build_cell_windings, reused from cell to cell.
struct CellWindingScratch {
    std::vector<CellWinding> windings;
    std::vector<int> near, stroke, fill_near;
    std::vector<float> steps;
};

// Distance between two boxes (0 where they overlap).
HOST_DEVICE inline float box_distance(const BBox2& a, const BBox2& b) {
    float dx = max_value(0.0f, max_value(a.lo.x - b.hi.x, b.lo.x - a.hi.x));
    float dy = max_value(0.0f, max_value(a.lo.y - b.hi.y, b.lo.y - a.hi.y));
    return sqrtf(dx * dx + dy * dy);
}

// Fills program.windings for the varying fill entries of paths in the
// program's cell, whose samples lie in the output rectangle [lo, hi]. Each
// segment of the entry's list goes to one of three places, decided for the
// cell's shape-space box (grown for rounding):
//  - none: cached_winding_contribution's header test rejects it at every
//    point of the box (below, above, or right of its largest x);
//  - right of the box (its quarter boxes, which hold the curve, start right
//    of it by a margin): every crossing lies right of every sample, so it
//    counts each y-monotone piece whose half-open height range, the cached
//    one that the ray cast tests, holds the sample's height, with the
//    piece's direction; pieces that span the box's heights are summed once;
//  - near: cast per sample as before.
// The sum is the same integer as casting against every segment, so images
// are the same bit for bit.
//
// `fill_lists` false: only the stroke lists (fills keep the tile's), and
// none at all unless a stroked group varies over the cell.
//
// With `prefiltering`, the searches of group_coverage stop at `reach` (half
// the band, in shape units): a stroke's segments are kept within that much
// more (a round stroke's within the shape's widest width, as its closest
// centre-line point may lie on a thinner segment), plus the probe step of
// nearest_outline_point (1e-3 of the widest width), and a fill entry's
// segments go to `fill_near` when one of their quarter boxes, which
// shape_closest_boundary_point tests against its cutoff, comes within reach
// of the box. The others are skipped by those tests at every point of the
// cell, so the searches give the same points, bit for bit.
inline void build_cell_windings(const SceneView& scene, const TileGrid& grid, CellProgram& program, Vec2f lo,
                                Vec2f hi, CellWindingScratch& scratch, bool prefiltering = false,
                                bool fill_lists = true) {
    program.windings = nullptr;
    if (!scene.segment_monotone || !scene.segment_boxes || program.cell < 0 || program.varying_groups == 0) return;
    if (!fill_lists) {
        bool strokes = false;
        for (int n = 0; n < program.num_groups && !strokes; ++n)
            strokes = program.groups[n].last > program.groups[n].first && scene.has_stroke(program.groups[n].group);
        if (!strokes) return;
    }
    int count = 0;
    for (int n = 0; n < program.num_groups; ++n) count = max_value(count, program.groups[n].last);
    scratch.windings.assign(size_t(count), CellWinding());
    scratch.near.clear();
    scratch.steps.clear();
    scratch.stroke.clear();
    scratch.fill_near.clear();
    bool any = false;
    for (int n = 0; n < program.num_groups; ++n) {
        const CellGroup& cg = program.groups[n];
        const int g = cg.group;
        const bool fill = scene.has_fill(g), stroke = scene.has_stroke(g);
        if (cg.last == cg.first) continue;
        const Affine2 to_shape = scene.to_shape(g);
        const float m = 0.01f;
        BBox2 box = BBox2::empty();
        box.expand(to_shape.apply_point(Vec2f(lo.x - m, lo.y - m)));
        box.expand(to_shape.apply_point(Vec2f(hi.x + m, lo.y - m)));
        box.expand(to_shape.apply_point(Vec2f(lo.x - m, hi.y + m)));
        box.expand(to_shape.apply_point(Vec2f(hi.x + m, hi.y + m)));
        if (!is_finite(box.hi.x - box.lo.x) || !is_finite(box.hi.y - box.lo.y)) continue;
        box.pad(1e-5f * (1.0f + max_value(max_value(fabsf(box.lo.x), fabsf(box.hi.x)),
                                          max_value(fabsf(box.lo.y), fabsf(box.hi.y)))));
        const float slack = 1e-4f * (1.0f + max_value(max_value(fabsf(box.lo.x), fabsf(box.hi.x)),
                                                      max_value(fabsf(box.lo.y), fabsf(box.hi.y))));
        // As in group_coverage.
        const float band = prefiltering ? 1.0f / group_distance_scale(scene, g) : 0.0f;
        const float reach = prefilter_reach(band);
        if (prefiltering && !(reach < INFINITY)) continue;
        for (int k = cg.first; k < cg.last; ++k) {
            const int i = program.entries[k];
            const int s = scene.pair_shape[grid.tile_pairs[i]];
            if (scene.shape_kind[s] != kPath) continue;
            const EntryCell known = entry_cell(grid, i, program.cell);
            CellWinding& w = scratch.windings[size_t(k)];
            const SegmentSet segs = entry_segment_set(scene, grid, i, s, program.cell);
            if (stroke && known.stroke_near) {
                // The segments whose stroke may reach the box: inside_stroke
                // (round) skips a segment whose control box is farther than
                // its widest width, inside_styled_stroke also tests its end
                // joints within width times joint_reach.
                const bool round = stroke_is_round(scene, s);
                const float joint = round ? 0.0f : joint_reach(scene, s);
                const float widest = prefiltering ? shape_max_width(scene, s) : 0.0f;
                const float grow = prefiltering ? 1.001f * reach + 2e-3f * widest : 0.0f;
                // Joints are looked at within the cutoff (group_coverage).
                const float joint_grow = prefiltering ? 1.001f * (band + widest) + 2e-3f * widest : 0.0f;
                w.stroke_known = true;
                any = true;
                w.stroke_count = int(scratch.stroke.size());
                for (int at = 0; at < segs.size(); ++at) {
                    const int seg = segs[at];
                    const int* idx = scene.segment_points + 4 * seg;
                    const int degree = scene.segment_degree[seg];
                    const SegmentReach sr = segment_reach(scene, seg);
                    const float wmax = prefiltering && round ? widest : sr.wmax;
                    bool keep = box_distance(sr.hull, box) <= 1.001f * wmax + grow + slack;
                    for (int e = 0; e <= 1 && !keep && joint > 0.0f; ++e) {
                        const int vertex = idx[e ? degree : 0];
                        const Vec2f v = scene.point(vertex);
                        keep = sqrtf(box.distance_squared(v)) <=
                               1.001f * scene.point_width[vertex] * joint + joint_grow + slack;
                    }
                    if (keep) scratch.stroke.push_back(seg);
                }
                w.stroke_count = int(scratch.stroke.size()) - w.stroke_count;
            }
            if (!fill || !known.fill_varies || !fill_lists) continue;
            w.known = true;
            any = true;
            if (prefiltering) {
                w.fill_near_known = true;
                w.fill_near_count = int(scratch.fill_near.size());
                const float within = 1.001f * reach + slack;
                for (int at = 0; at < segs.size(); ++at) {
                    const int seg = segs[at];
                    const float* b = scene.segment_boxes + 16 * seg;
                    bool keep = false;
                    for (int q = 0; q < 4 && !keep; ++q, b += kBoxStride)
                        keep = box_distance(BBox2{Vec2f(b[0], b[1]), Vec2f(b[2], b[3])}, box) <= within;
                    if (keep) scratch.fill_near.push_back(seg);
                }
                w.fill_near_count = int(scratch.fill_near.size()) - w.fill_near_count;
            }
            // Offsets into the scratch lists until every list is complete.
            w.near_count = int(scratch.near.size());
            w.step_count = int(scratch.steps.size());
            for (int at = 0; at < segs.size(); ++at) {
                const int seg = segs[at];
                const float* header = scene.segment_monotone + kSegmentMonotoneFloats * seg;
                if (header[1] < box.lo.y || header[0] > box.hi.y || header[2] < box.lo.x) continue;
                const float* b = scene.segment_boxes + 16 * seg;
                float xmin = min_value(min_value(b[0], b[4]), min_value(b[8], b[12]));
                // (A segment without cached pieces, which a fill's never lacks, is near.)
                if (!(xmin - 1e-5f * (1.0f + fabsf(xmin)) > box.hi.x) || header[3] < 0.0f) {
                    scratch.near.push_back(seg);
                    continue;
                }
                const float* pieces = header + kMonotoneHeader;
                const int count = int(header[3]);
                for (int j = 0; j < count; ++j) {
                    const float* q = pieces + kMonotoneStride * j;
                    if (!(q[1] > q[0])) continue;
                    const float y0 = q[2], y1 = q[2 + kSubPieces];
                    const float low = min_value(y0, y1), high = max_value(y0, y1);
                    const int direction = y1 > y0 ? 1 : -1;
                    if (high <= box.lo.y || low > box.hi.y) continue;  // no sample's height counts it
                    if (low <= box.lo.y && box.hi.y < high) {         // every sample's height does
                        w.right += direction;
                        continue;
                    }
                    scratch.steps.push_back(low);
                    scratch.steps.push_back(high);
                    scratch.steps.push_back(float(direction));
                }
            }
            w.near_count = int(scratch.near.size()) - w.near_count;
            w.step_count = (int(scratch.steps.size()) - w.step_count) / 3;
        }
    }
    if (!any) return;
    // Offsets to pointers, now that the lists no longer grow.
    int near_at = 0, steps_at = 0, stroke_at = 0, fill_near_at = 0;
    for (int n = 0; n < program.num_groups; ++n)
        for (int k = program.groups[n].first; k < program.groups[n].last; ++k) {
            CellWinding& w = scratch.windings[size_t(k)];
            if (w.stroke_known) {
                w.stroke = scratch.stroke.data() + stroke_at;
                stroke_at += w.stroke_count;
            }
            if (!w.known) continue;
            if (w.fill_near_known) {
                w.fill_near = scratch.fill_near.data() + fill_near_at;
                fill_near_at += w.fill_near_count;
            }
            w.near = scratch.near.data() + near_at;
            w.steps = scratch.steps.data() + 3 * steps_at;
            near_at += w.near_count;
            steps_at += w.step_count;
        }
    program.windings = scratch.windings.data();
}

// The CPU's walk over tile t: calls f(program, x, y) for each of its pixels,
// cell by cell, with the program of the pixel's cell (null for SDF output,
// which does not use the tile lists). `hide_occluded` as for build_cell_program.
// `whole_prefix` (a sampled pass that records layers): the program keeps a
// constant prefix only when it is the whole program (a cell every sample of
// which logs the same layers); a partial prefix would hide its layers from
// the recorder.
template <typename F>
inline void for_each_tile_pixel(const SceneView& scene, const TileGrid& grid, const RenderOptions& o, int64_t t,
                                F&& f, bool hide_occluded = false, bool whole_prefix = false) {
    int local = int(t % grid.tiles_per_scene);
    int x0 = (local % grid.tiles_x) * grid.tile_size, y0 = (local / grid.tiles_x) * grid.tile_size;
    int n = grid.tile_begin[t + 1] - grid.tile_begin[t];
    std::vector<CellGroup> groups(size_t(n) + 1);
    std::vector<int> entries(size_t(n) + 1);
    std::vector<unsigned char> scratch(hide_occluded ? size_t(n) + 1 : 0);
    CellWindingScratch winding_scratch;
    for_each_cell(grid, o, x0, y0, [&](int cell, int cx0, int cy0, int cx1, int cy1) {
        CellProgram program = build_cell_program(scene, grid, int(t), cell, Vec2f(float(cx0), float(cy0)),
                                                 Vec2f(float(cx1), float(cy1)), groups.data(), entries.data(),
                                                 hide_occluded);
        if (hide_occluded) {
            program.scratch = scratch.data();
            if (!o.prefiltering && !o.background && !o.output_sdf) set_constant_prefix(scene, program);
        } else if (whole_prefix && !o.prefiltering && !o.background && !o.output_sdf) {
            set_constant_prefix(scene, program);
            if (program.prefix < program.num_groups) program.prefix = 0;
        }
        if (!o.output_sdf)
            build_cell_windings(scene, grid, program, Vec2f(float(cx0), float(cy0)), Vec2f(float(cx1), float(cy1)),
                                winding_scratch, o.prefiltering);
        const CellProgram* use = o.output_sdf ? nullptr : &program;
        for (int y = cy0; y < cy1; ++y)
            for (int x = cx0; x < cx1; ++x) f(use, x, y);
    });
}

// The same pixels in the same order as for_each_tile_pixel, without the
// cell programs: calls f(x, y).
template <typename F>
inline void for_each_tile_pixel_in_order(const TileGrid& grid, const RenderOptions& o, int64_t t, F&& f) {
    int local = int(t % grid.tiles_per_scene);
    int x0 = (local % grid.tiles_x) * grid.tile_size, y0 = (local / grid.tiles_x) * grid.tile_size;
    for_each_cell(grid, o, x0, y0, [&](int, int cx0, int cy0, int cx1, int cy1) {
        for (int y = cy0; y < cy1; ++y)
            for (int x = cx0; x < cx1; ++x) f(x, y);
    });
}

// The value a sample contributes to its pixel: premultiplied, or divided by
// its alpha (diffvg's default, "un-premultiplied before filtering").
HOST_DEVICE inline Vec4f sample_output(Vec4f premultiplied_color, bool premultiplied) {
    if (premultiplied || !(premultiplied_color.w > 0.0f)) return premultiplied_color;
    float inv = 1.0f / premultiplied_color.w;
    return {premultiplied_color.x * inv, premultiplied_color.y * inv, premultiplied_color.z * inv,
            premultiplied_color.w};
}

// The nearest boundary for SDF output: value in output pixels (negative
// inside) and which group and shape produced it.
struct NearestBoundary {
    float value = INFINITY;
    int group = -1, shape = -1;
    bool stroke = false;     // distance to a stroke outline rather than a fill boundary
    bool inside = false;     // fill rule said inside (fill only)
    Vec2f local;             // query point in the group's shape space
};

// Signed distance from `position` to the union of every group's fill and
// stroke regions in scene b. Groups whose bounds are farther than the best
// distance so far are skipped.
HOST_DEVICE inline NearestBoundary signed_distance_point(const SceneView& scene, const TileGrid& grid, int b,
                                                         Vec2f position) {
    NearestBoundary best;
    int g0 = scene.scene_group_begin[b], g1 = scene.scene_group_begin[b + 1];
    for (int g = g0; g < g1; ++g) {
        int p0 = scene.group_pair_begin[g], p1 = scene.group_pair_begin[g + 1];
        float nearest = INFINITY;
        for (int m = p0; m < p1; ++m) {
            const float* ob = grid.pair_output_bounds + 4 * m;
            BBox2 box{Vec2f(ob[0], ob[1]), Vec2f(ob[2], ob[3])};
            if (!box.is_empty()) nearest = min_value(nearest, sqrtf(box.distance_squared(position)));
        }
        if (nearest >= best.value) continue;
        Vec2f local = scene.to_shape(g).apply_point(position);
        float scale = group_distance_scale(scene, g);
        if (scene.has_fill(g)) {
            int winding = 0, shape = -1;
            float d = INFINITY;
            for (int m = p0; m < p1; ++m) {
                int s = scene.pair_shape[m];
                winding += shape_winding_number(scene, s, local);
                float ds = shape_closest_boundary_point(scene, s, local, true).distance;
                if (ds < d) { d = ds; shape = s; }
            }
            bool inside = fill_rule_inside(winding, scene.group_even_odd[g] != 0);
            float value = (inside ? -d : d) * scale;
            if (shape >= 0 && value < best.value) {
                best.value = value; best.group = g; best.shape = shape; best.stroke = false;
                best.inside = inside; best.local = local;
            }
        }
        if (scene.has_stroke(g))
            for (int m = p0; m < p1; ++m) {
                int s = scene.pair_shape[m];
                float value = stroke_signed_distance(scene, s, local) * scale;
                if (value < best.value) {
                    best.value = value; best.group = g; best.shape = s; best.stroke = true;
                    best.inside = false; best.local = local;
                }
            }
    }
    return best;
}

}  // namespace pdvg
