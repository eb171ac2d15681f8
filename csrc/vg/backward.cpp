// The backward pass of the 2-D renderer.
//
// d pixel / dθ = area term + boundary term (DESIGN.md). The area term
// re-shades every sample whose pixels carry a non-zero adjoint and runs the
// smooth shading chain in reverse (shade_backward.h). The boundary term draws
// points on shape boundaries through the shared boundary sampler, shades
// both sides, and scatters (f_in - f_out) · adjoint / pdf onto the parameters
// that move the boundary (boundary_pieces.h).
//
// Where boundary samples go. Unlike diffvg, which always draws W·H·spp
// boundary samples, the number follows the boundary length that can matter:
// N = density · spp · min(Σ_i length_i, W·H·B) over pieces that touch a
// non-zero adjoint.
// Piece i is drawn with probability ∝ length_i · importance_i, where the
// importance is the largest per-tile adjoint magnitude near the piece plus a
// small floor (so every piece that can contribute keeps a non-zero
// probability, which keeps the estimator unbiased). Pieces whose whole
// neighbourhood has a zero adjoint contribute exactly zero and get no samples.
#include <algorithm>
#include <atomic>
#include <vector>

#include "../core/parallel.h"
#include "../core/pcg.h"
#include "../sampling/boundary_sampler.h"
#include "filter.h"
#include "layer_log.h"
#include "pixel_samples.h"
#include "render.h"
#include "segment_cache.h"
#include "shade_backward.h"

namespace pdvg {

namespace {

constexpr float kSideOffset = 1e-3f;  // output pixels between the two shading points of an edge
constexpr float kImportanceFloor = 0.02f;

// ---- Layer storage for the reverse sweep ---------------------------------

// The layers of one sample for the reverse sweep, kept in `capacity` slots
// that the caller provides, on the CPU and the device alike. Layers under an
// opaque layer are dropped, so only the visible stack is kept. There is no
// cap: `needed` counts the most slots the walk asked for at once, past the
// capacity too, and a sample that did not fit is run again in exactly that
// much room (a grown vector on the CPU, a counted and scanned allocation on
// the device, see area_term_on_device).
struct LayerStack {
    LayerRecord* items;
    int capacity;
    int n = 0;
    int needed = 0;
    HOST_DEVICE void clear() { n = 0; }
    HOST_DEVICE LayerRecord* next() {
        const int i = n++;
        needed = max_value(needed, n);
        return i < capacity ? &items[i] : nullptr;
    }
    HOST_DEVICE bool overflowed() const { return needed > capacity; }
    HOST_DEVICE int count() const { return n; }
    HOST_DEVICE const LayerRecord& operator[](int i) const { return items[i]; }
};

// Slots a device thread keeps on its own stack before a sample goes to the
// counted second pass.
constexpr int kInlineLayers = 16;

struct RecordLayers {
    LayerStack* layers;
    bool background_visible = true;
    HOST_DEVICE void operator()(const LayerEvent& e) {
        if (e.color.w * e.coverage >= 1.0f) {  // opaque: nothing below can matter
            layers->clear();
            background_visible = false;
        }
        // Filled in place, and the coverage facts copied field by field: a
        // whole-record copy moved the unset boundary-point slots too.
        LayerRecord* r = layers->next();
        if (!r) return;
        r->group = e.group; r->paint = e.paint; r->coverage = e.coverage;
        r->color = e.color; r->below = e.below;
        copy_coverage(r->info, *e.coverage_info);
    }
};

// ---- Pixel filter bookkeeping ----------------------------------------------

HOST_DEVICE inline Vec4f pixel_vec(const float* image, int64_t pixel, int channels) {
    Vec4f v;
    for (int c = 0; c < channels; ++c) v[c] = image[pixel * channels + c];
    return v;
}

// Σ_i k(x_i - centre) over the samples inside pixel p's filter support: the
// normaliser the forward pass divided by.
HOST_DEVICE inline float pixel_weight_sum(const RenderOptions& o, int b, int x, int y) {
    int reach = filter_reach(o), spp = samples_per_pixel(o);
    float sum = 0.0f;
    for (int ny = max_value(y - reach, 0); ny <= min_value(y + reach, o.height - 1); ++ny)
        for (int nx = max_value(x - reach, 0); nx <= min_value(x + reach, o.width - 1); ++nx)
            for (int k = 0; k < spp; ++k) {
                Vec2f p = sample_position(o, b, nx, ny, k);
                sum += filter_weight(o.filter, o.filter_radius, p.x - (float(x) + 0.5f), p.y - (float(y) + 0.5f));
            }
    return sum;
}

// Σ_p adj_p k(x - c_p) · scale / W_p over the pixels whose filter support
// holds x (x lies in pixel (cx, cy) of scene b): the adjoint a point value
// receives through the pixel filter. *any reports a non-zero adjoint.
HOST_DEVICE inline Vec4f filtered_adjoint(const RenderOptions& o, const float* grad_image, const float* weight_sum,
                                          int channels, int b, int cx, int cy, Vec2f x, float scale, bool* any) {
    int reach = filter_reach(o);
    Vec4f sum;
    *any = false;
    for (int ny = max_value(cy - reach, 0); ny <= min_value(cy + reach, o.height - 1); ++ny)
        for (int nx = max_value(cx - reach, 0); nx <= min_value(cx + reach, o.width - 1); ++nx) {
            int64_t pixel = (int64_t(b) * o.height + ny) * o.width + nx;
            float w = filter_weight(o.filter, o.filter_radius, x.x - (float(nx) + 0.5f), x.y - (float(ny) + 0.5f));
            if (w == 0.0f || !(weight_sum[pixel] > 0.0f)) continue;
            Vec4f adj = pixel_vec(grad_image, pixel, channels);
            if (adj.x == 0.0f && adj.y == 0.0f && adj.z == 0.0f && adj.w == 0.0f) continue;
            sum += adj * (w * scale / weight_sum[pixel]);
            *any = true;
        }
    return sum;
}

// ---- Per-thread gradient copies (CPU) ----------------------------------------

// Copies of the gradient buffers that samples from anywhere in the image add
// into, one per pool thread, for the CPU's area and boundary terms. A thread
// adds into its own copy with plain adds (exclusive_gradient_adds) instead of
// a locked compare-and-swap per add, and reduce() sums the copies into the
// caller's buffers. The background is shared, not copied: only the area term adds to
// it, and each of its entries belongs to one pixel, whose samples one tile,
// and so one thread, shades.
class ThreadGradients {
public:
    // `threads` 0 (the device path) makes no copies and reads nothing: the
    // scene's arrays are device memory there (reading the stop count from
    // one on the host was a crash on CUDA).
    ThreadGradients(const SceneView& scene, const SceneGradients& shared, int threads)
        : shared_(shared), copies_(size_t(std::max(threads, 0))), id_(++last_id_) {
        if (threads <= 0) return;
        const int stops = scene.paint_stop_begin ? scene.paint_stop_begin[2 * scene.num_groups] : 0;
        fields_ = {{&SceneGradients::shape_params, size_t(scene.num_shapes) * 4},
                   {&SceneGradients::shape_width, size_t(scene.num_shapes)},
                   {&SceneGradients::points, size_t(scene.num_points) * 2},
                   {&SceneGradients::point_width, size_t(scene.num_points)},
                   {&SceneGradients::group_to_output, size_t(scene.num_groups) * 9},
                   {&SceneGradients::group_to_shape, size_t(scene.num_groups) * 9},
                   {&SceneGradients::paint_params, size_t(scene.num_groups) * 2 * kPaintFloats},
                   {&SceneGradients::stop_offsets, size_t(stops)},
                   {&SceneGradients::stop_colors, size_t(stops) * 4}};
    }

    // This thread's copy (made on its first call), with exclusive adds on
    // until release(). A thread beyond the expected count (the pool never
    // runs more) would get the shared buffers and atomic adds.
    SceneGradients acquire() {
        thread_local uint64_t seen = 0;
        thread_local size_t slot = 0;
        if (seen != id_) {
            seen = id_;
            slot = next_slot_.fetch_add(1);
        }
        if (slot >= copies_.size()) return shared_;
        Copy& c = copies_[slot];
        if (!c.made) {
            size_t total = 0;
            for (const Field& f : fields_) total += shared_.*f.member ? f.count : 0;
            c.storage.assign(total, 0.0f);
            c.grads = shared_;
            float* at = c.storage.data();
            for (const Field& f : fields_)
                if (shared_.*f.member) { c.grads.*f.member = at; at += f.count; }
            c.made = true;
        }
        exclusive_gradient_adds = true;
        return c.grads;
    }
    static void release() { exclusive_gradient_adds = false; }

    // Sums every copy into the shared buffers (after the parallel loop).
    void reduce() {
        for (const Copy& c : copies_) {
            if (!c.made) continue;
            const float* at = c.storage.data();
            for (const Field& f : fields_) {
                float* out = shared_.*f.member;
                if (!out) continue;
                for (size_t i = 0; i < f.count; ++i) out[i] += at[i];
                at += f.count;
            }
        }
    }

private:
    struct Field {
        float* SceneGradients::*member;
        size_t count;
    };
    struct Copy {
        bool made = false;
        std::vector<float> storage;
        SceneGradients grads;
    };
    SceneGradients shared_;
    std::vector<Field> fields_;
    std::vector<Copy> copies_;
    std::atomic<size_t> next_slot_{0};
    uint64_t id_;
    static inline std::atomic<uint64_t> last_id_{0};
};

struct AreaContext {
    SceneView scene;
    RenderOptions o;
    TileGrid grid;
    const float* image;
    const float* grad_image;
    const float* weight_sum;
    SceneGradients grads;
    int channels;
    bool radius_gradient;
    // A sample under no layer and over no background adds nothing, unless
    // the filter radius is differentiated (its weight moves the pixel): then
    // such samples are skipped (area_sample).
    bool skip_empty = false;
};

// The area term of sample k of pixel (x, y), shaded through the program of
// its cell when there is one. Returns false, having added nothing, when the
// sample's layers did not fit in `layers` (layers.needed then says how many
// slots to run it again with).
// `copies`: how many of the pixel's samples this one stands for (equal_area_samples).
HOST_DEVICE inline bool area_sample(const AreaContext& a, int b, int x, int y, int k, LayerStack& layers,
                                    float* d_radius, const CellProgram* program = nullptr,
                                    const int32_t* logged = nullptr, int copies = 1) {
    const RenderOptions& o = a.o;
    if (a.skip_empty && (logged ? logged[0] == 0 : program && program->num_groups == 0)) return true;
    Vec2f p = sample_position(o, b, x, y, k);
    int reach = filter_reach(o);
    // Adjoint of this sample's value: Σ_p adj_p k(x_i - c_p) / W_p.
    bool any;
    Vec4f d_value = filtered_adjoint(o, a.grad_image, a.weight_sum, a.channels, b, x, y, p, float(copies), &any);
    if (!any) return true;
    if (o.output_sdf) {
        NearestBoundary nb = signed_distance_point(a.scene, a.grid, b, p);
        if (nb.group < 0) return true;
        float scale = group_distance_scale(a.scene, nb.group);
        float d_shape = d_value.x * scale;
        distance_scale_backward(a.scene, nb.group, d_value.x * nb.value / scale,
                                a.grads.group_to_output + 9 * nb.group);
        Vec2f d_local(0.0f, 0.0f);
        if (nb.stroke)
            stroke_distance_backward(a.scene, nb.shape, nb.local, d_shape, a.grads, &d_local);
        else
            boundary_distance_backward(a.scene, nb.shape, nb.local, true, nb.inside ? -d_shape : d_shape, 0.0f,
                                       a.grads, &d_local);
        add_affine_gradient(a.grads.group_to_shape + 9 * nb.group, d_local, p);
        return true;
    }
    layers.clear();
    layers.needed = 0;
    RecordLayers record{&layers};
    Vec4f final_color = logged ? replay_layers(a.scene, o, b, x, y, p, logged + 1, logged[0], record)
                        : program ? shade_point(a.scene, a.grid, o, *program, b, x, y, p, record)
                                  : shade_point(a.scene, a.grid, o, b, x, y, p, record);
    if (layers.overflowed()) return false;
    if (a.radius_gradient) {
        // pixel = Σ w_i f_i / Σ w_i  ->  ∂pixel/∂r = Σ ∂w_i/∂r (f_i - pixel) / Σ w_i
        Vec4f value = sample_output(final_color, o.premultiplied);
        for (int ny = max_value(y - reach, 0); ny <= min_value(y + reach, o.height - 1); ++ny)
            for (int nx = max_value(x - reach, 0); nx <= min_value(x + reach, o.width - 1); ++nx) {
                int64_t pixel = (int64_t(b) * o.height + ny) * o.width + nx;
                if (!(a.weight_sum[pixel] > 0.0f)) continue;
                float dw = filter_weight_radius_derivative(o.filter, o.filter_radius, p.x - (float(nx) + 0.5f),
                                                           p.y - (float(ny) + 0.5f));
                if (dw == 0.0f) continue;
                Vec4f adj = pixel_vec(a.grad_image, pixel, a.channels);
                *d_radius += dot(adj, value - pixel_vec(a.image, pixel, a.channels)) * dw / a.weight_sum[pixel];
            }
    }
    Vec4f d_final = sample_output_backward(final_color, d_value, o.premultiplied);
    composite_backward(a.scene, o, layers, layers.count(), record.background_visible, d_final, p, b, x, y, a.grads);
    return true;
}

// How many samples of a pixel, from the one logged at `logged` on, have the
// same area term as it, so that area_sample runs once for all of them with
// `copies` (under the unit box, see the replay in render_backward): those
// whose logs are word for word the same with every layer a solid paint of
// coverage 1. A sample's adjoint is then the pixel's adjoint over spp, its
// value that of the same layers over the same (per-pixel) background, and
// nothing of it depends on where in the pixel it lies, so the pixel's term
// is `copies` times one sample's: the same sum, but for float rounding.
HOST_DEVICE inline int equal_area_samples(const SceneView& scene, const int32_t* logged, int remaining) {
    const int words = logged[0];
    for (int i = 1; i <= words; ++i)
        if ((logged[i] & kLogPartial) || scene.paint_kind[logged[i] & kLogPaintMask] != kPaintSolid) return 1;
    int copies = 1;
    for (const int32_t* next = logged + 1 + words; copies < remaining && next[0] == words; next += 1 + words) {
        int i = 1;
        while (i <= words && next[i] == logged[i]) ++i;
        if (i <= words) break;
        ++copies;
    }
    return copies;
}

// ---- The jump across a boundary point --------------------------------------

// Sample value just inside minus just outside the boundary of group `owner`
// at output point x, in one walk over the groups that may hold x.
//
// Only the owner's coverage changes between the two sides (another group's
// boundary passing within kSideOffset of x has probability ~0), so every
// other group is evaluated once, at x. Compositing "over" is affine in what
// lies below, dst' = src·a + dst·(1 - a), so the two branches differ only by
// delta = dst_in - dst_out, which each layer above the owner scales by
// (1 - a). Once the owner has been passed and delta is zero (equal coverage
// on both sides, or an opaque layer on top) the jump is exactly zero and the
// walk stops. Compared with shading both sides in full this halves the work
// per boundary sample and skips most of it where the boundary is hidden.
struct JumpAccumulator {
    Vec4f accum;  // the outer branch
    Vec4f delta;  // inner branch minus outer branch
    bool passed_owner = false;

    // The owner, covered by ci on the inner side and co on the outer.
    HOST_DEVICE void owner(const SceneView& scene, int g, const GroupCoverage& ci, const GroupCoverage& co) {
        Vec4f accum_in = accum + delta;
        for (int layer = 0; layer < 2; ++layer) {
            float cov_in = layer == 0 ? ci.fill : ci.stroke, cov_out = layer == 0 ? co.fill : co.stroke;
            if (cov_in > 0.0f) composite_over(accum_in, evaluate_paint(scene, 2 * g + layer, ci.local), cov_in);
            if (cov_out > 0.0f) composite_over(accum, evaluate_paint(scene, 2 * g + layer, co.local), cov_out);
        }
        delta = accum_in - accum;
        passed_owner = true;
    }
    // Any other group, covering c at x.
    HOST_DEVICE void other(const SceneView& scene, int g, const GroupCoverage& c) {
        for (int layer = 0; layer < 2; ++layer) {
            float coverage = layer == 0 ? c.fill : c.stroke;
            if (!(coverage > 0.0f)) continue;
            Vec4f color = evaluate_paint(scene, 2 * g + layer, c.local);
            composite_over(accum, color, coverage);
            delta = delta * (1.0f - color.w * coverage);
        }
    }
    // Whether nothing further up can change the (zero) jump.
    HOST_DEVICE bool settled() const {
        return passed_owner && delta.x == 0.0f && delta.y == 0.0f && delta.z == 0.0f && delta.w == 0.0f;
    }
    HOST_DEVICE Vec4f jump(bool premultiplied) const {
        if (settled()) return Vec4f();
        return sample_output(accum + delta, premultiplied) - sample_output(accum, premultiplied);
    }
};

// The jump by a walk of the tile list of pixel (px, py).
// `in_stroke_side` names the side point known to lie in the owner's stroke
// (side_in_owner_stroke: +1 inner, -1 outer, 0 neither), which skips its
// stroke test there.
HOST_DEVICE inline Vec4f shade_jump(const SceneView& scene, const TileGrid& grid, const RenderOptions& o, int b,
                                    int px, int py, Vec2f x, Vec2f inner, Vec2f outer, int owner,
                                    int in_stroke_side) {
    JumpAccumulator j;
    j.accum = background_premultiplied(o, b, px, py);
    int tile = grid.tile_of(b, float(px), float(py));
    int i = grid.tile_begin[tile], end = grid.tile_begin[tile + 1], last = i;
    const int* pairs = grid.tile_pairs;
    const int cell = grid.cell_of(tile, x);
    for (int g; (g = next_group_run(scene, grid, end, x, &i, &last)) >= 0; i = last) {
        if (g == owner) {
            j.owner(scene, g,
                    group_coverage(scene, grid, pairs, i, last, g, inner, false, cell, nullptr, 0, in_stroke_side > 0),
                    group_coverage(scene, grid, pairs, i, last, g, outer, false, cell, nullptr, 0, in_stroke_side < 0));
        } else {
            j.other(scene, g, group_coverage(scene, grid, pairs, i, last, g, x, false, cell));
        }
        if (j.settled()) return Vec4f();
    }
    return j.jump(o.premultiplied);
}

// The jump through a cell program with program.scratch (one byte per group),
// walking the groups from the top down as shade_point_top_down does:
//  - above the owner, a layer that covers x with an opaque solid paint hides
//    the boundary: the bottom-up walk would scale delta by exactly 0 there
//    and stop, so the jump is 0 and nothing below is tested;
//  - below the owner, the first such layer sets both branches to its paint
//    exactly, so nothing under it is tested either.
// The kept layers are then composited bottom-up by JumpAccumulator, the same
// operations in the same order as the bottom-up walk, with the groups beyond
// those two layers left untested. On six real files at 256 px, 16,321 of
// 16,324 gradient tensors came out bit-identical, and three within 1e-6
// relative (the compiler's choice of which products to fuse). The bottom-up
// walk stops early only once it is settled above the owner, a case this walk
// reaches from the top; which costs fewer tests depends on where the owner
// lies, and from the top wins on layered art (callgrind, forward + backward
// at 512 px: boston -5.6%, tiger -10.3%, the procedural strokes256 -12.7%).
// Only where the program holds an opaque paint (program_has_opaque_paint).
HOST_DEVICE inline Vec4f shade_jump_top_down(const SceneView& scene, const TileGrid& grid, const RenderOptions& o,
                                             const CellProgram& program, int b, int px, int py, Vec2f x,
                                             Vec2f inner, Vec2f outer, int owner, int in_stroke_side) {
    unsigned char* layers = program.scratch;
    GroupCoverage ci, co;
    int owner_at = -1, bottom = 0;
    for (int n = program.num_groups - 1; n >= 0; --n) {
        const CellGroup& cg = program.groups[n];
        if (cg.group == owner) {
            ci = cell_group_coverage(scene, grid, program, cg, inner, false, in_stroke_side > 0);
            co = cell_group_coverage(scene, grid, program, cg, outer, false, in_stroke_side < 0);
            owner_at = n;
            continue;
        }
        const GroupCoverage c = cell_group_coverage(scene, grid, program, cg, x, false);
        const unsigned bits = (c.fill > 0.0f ? 1u : 0u) | (c.stroke > 0.0f ? 2u : 0u);
        layers[n] = (unsigned char)bits;
        if (layer_hides_below(scene, cg.group, bits)) {
            if (owner_at < 0) return Vec4f();  // the boundary is hidden at x
            bottom = n;
            break;
        }
    }
    if (owner_at < 0) return Vec4f();  // no owner layer: both branches are the same
    JumpAccumulator j;
    j.accum = background_premultiplied(o, b, px, py);
    for (int n = bottom; n < program.num_groups; ++n) {
        const int g = program.groups[n].group;
        if (n == owner_at) {
            j.owner(scene, g, ci, co);
        } else if (layers[n]) {
            GroupCoverage c;
            c.local = scene.to_shape(g).apply_point(x);
            c.fill = (layers[n] & 1) ? 1.0f : 0.0f;
            c.stroke = (layers[n] & 2) ? 1.0f : 0.0f;
            j.other(scene, g, c);
        }
        if (j.settled()) return Vec4f();
    }
    return j.jump(o.premultiplied);
}

// The same jump through the program of the cell holding x and both side
// points (build_cell_program over the cell grown by kEntryMargin): groups
// whose bounds miss the cell are not visited at all, and entries constant
// over it are already folded in. The colours are shade_point's, so the jump
// is the tile walk's.
HOST_DEVICE inline Vec4f shade_jump(const SceneView& scene, const TileGrid& grid, const RenderOptions& o,
                                    const CellProgram& program, int b, int px, int py, Vec2f x, Vec2f inner,
                                    Vec2f outer, int owner, int in_stroke_side) {
    if (program.scratch) return shade_jump_top_down(scene, grid, o, program, b, px, py, x, inner, outer, owner,
                                                    in_stroke_side);
    JumpAccumulator j;
    j.accum = background_premultiplied(o, b, px, py);
    for (int n = 0; n < program.num_groups; ++n) {
        const CellGroup& cg = program.groups[n];
        if (cg.group == owner)
            j.owner(scene, owner, cell_group_coverage(scene, grid, program, cg, inner, false, in_stroke_side > 0),
                    cell_group_coverage(scene, grid, program, cg, outer, false, in_stroke_side < 0));
        else
            j.other(scene, cg.group, cell_group_coverage(scene, grid, program, cg, x, false));
        if (j.settled()) return Vec4f();
    }
    return j.jump(o.premultiplied);
}

// side_in_owner_stroke for a styled stroke (stroke_style.h), whose
// membership is a union of sweeps and joint regions: a side point shown to
// lie in one part of it lies in the stroke. A joint's edge or arc: its
// region (joint_contains, the test inside_styled_stroke makes). An offset
// side of a segment of constant width w: the piece's own centre-line point
// c(t) is within U = |q - c(t)| of side point q, so as in
// flat_sweep_decision q is in the segment's sweep when U <= w and U is below
// both end distances by the margins that make the closest point interior
// (and the exact test agree, bit for bit). Near a segment's end, or with a
// varying width, 0: both sides are tested as usual.
HOST_DEVICE inline int side_in_styled_stroke(const SceneView& scene, const Piece& piece, float t, Vec2f inner,
                                             Vec2f outer) {
    const int shape = scene.pair_shape[piece.pair];
    const Affine2 to_shape = scene.to_shape(scene.pair_group[piece.pair]);
    const Vec2f qi = to_shape.apply_point(inner), qo = to_shape.apply_point(outer);
    if (piece.type == kPieceJointEdge || piece.type == kPieceJointArc) {
        const StrokeJoint j = stroke_joint(scene, shape, piece.index, piece.side & 1);
        if (joint_contains(j, qi)) return 1;
        if (joint_contains(j, qo)) return -1;
        return 0;
    }
    if (piece.type != kPieceStrokeSide) return 0;
    const int k = piece.index;
    if (segment_is_degenerate(scene, k)) return 0;
    const Segment seg = scene.segment(k);
    const int n = seg.degree;
    const float w = scene.point_width[scene.segment_points[4 * k]];
    for (int i = 0; i < n; ++i)
        if (scene.point_width[scene.segment_points[4 * k + i + 1]] != w) return 0;
    const Vec2d centre = evaluate_double(seg, double(t));
    for (int side = 1; side >= -1; side -= 2) {
        const Vec2f q = side > 0 ? qi : qo;
        const Vec2d r = Vec2d(q) - centre;
        const float u = float(sqrt(dot(r, r)));
        // u is rounded once from double: the 4e-6 of the width covers it.
        if (u <= interior_sweep_accept(seg, q, w)) return side;
    }
    return 0;
}

// Which side point of a boundary point at parameter t of `piece` lies in the
// owner's stroke whatever the rest of the scene does: +1 `inner`, -1 `outer`
// (output space), 0 unknown. The sample's normal follows the piece's
// direction, not the stroke's outside, so for one offset side of a segment
// the stroke lies on the "outer" side. For a path with a constant-width round
// stroke, membership is "some centre-line point within w", and the piece's own
// centre-line point (the segment point at t for a side, the vertex for a cap
// or join) is one when it is within w of a side point, which is checked
// directly. Fills, variable widths (membership then uses the width at the
// closest point only), styled strokes and the other shapes answer 0 and both
// sides are tested as usual.
HOST_DEVICE inline int side_in_owner_stroke(const SceneView& scene, const Piece& piece, float t, Vec2f inner,
                                            Vec2f outer) {
    int shape = scene.pair_shape[piece.pair];
    if (scene.shape_kind[shape] == kPath && !stroke_is_round(scene, shape))
        return side_in_styled_stroke(scene, piece, t, inner, outer);
    if (piece.type != kPieceStrokeSide && piece.type != kPieceCap && piece.type != kPieceJoin) return 0;
    if (!stroke_is_round(scene, shape)) return 0;
    int begin = scene.shape_segment_begin[shape], end = scene.shape_segment_begin[shape + 1];
    float w = scene.point_width[scene.segment_points[4 * begin]];
    for (int k = begin; k < end; ++k)
        for (int j = 0; j <= scene.segment_degree[k]; ++j)
            if (scene.point_width[scene.segment_points[4 * k + j]] != w) return 0;
    Segment seg = scene.segment(piece.index);
    Vec2f centre = piece.type == kPieceStrokeSide ? evaluate(seg, t)
                   : (piece.type == kPieceCap && piece.side == 0) ? seg.p[0] : seg.p[seg.degree];
    const Affine2 to_shape = scene.to_shape(scene.pair_group[piece.pair]);
    if (length_squared(to_shape.apply_point(inner) - centre) < w * w) return 1;
    if (length_squared(to_shape.apply_point(outer) - centre) < w * w) return -1;
    return 0;
}

// The boundary term's work per drawn point: the jump in sample value across
// the boundary there, weighted by the filtered adjoint, scattered to the
// parameters that move the piece.
struct BoundaryJumps {
    SceneView s;
    TileGrid tg;
    RenderOptions o;
    PieceTable2D table;
    const float* grad_image;
    const float* weight_sum;
    int channels;
    float density;    // samples per unit area
    float inv_count;  // 1 / boundary samples drawn

    // The tile whose list shades sample bs (that of its pixel, clamped into
    // the image) and the cell of that tile holding it (-1: none, the point
    // lies off the tile).
    HOST_DEVICE void locate(const BoundarySample& bs, int* tile, int* cell) const {
        int b = s.group_scene[s.pair_group[table.pieces[bs.piece].pair]];
        int px = clamp_value(int(floorf(bs.point.x)), 0, o.width - 1);
        int py = clamp_value(int(floorf(bs.point.y)), 0, o.height - 1);
        *tile = tg.tile_of(b, float(px), float(py));
        *cell = tg.cell_of(*tile, bs.point);
    }

    // `program`, when given, is that of the cell holding the sample (locate).
    HOST_DEVICE void shade(const BoundarySample& bs, const SceneGradients& gr,
                           const CellProgram* program = nullptr) const {
        Vec2f x = bs.point;
        int cx = int(floorf(x.x)), cy = int(floorf(x.y));
        const Piece piece = table.pieces[bs.piece];
        int owner = s.pair_group[piece.pair];
        int b = s.group_scene[owner];
        // Adjoint at x: Σ_p adj_p k(x - c_p) ρ / W_p, ρ = samples per unit area.
        bool any;
        Vec4f adjoint = filtered_adjoint(o, grad_image, weight_sum, channels, b, cx, cy, x, density, &any);
        if (!any) return;
        Vec2f inner = x - bs.normal * kSideOffset, outer = x + bs.normal * kSideOffset;
        int px = clamp_value(cx, 0, o.width - 1), py = clamp_value(cy, 0, o.height - 1);
        const int in_stroke_side = side_in_owner_stroke(s, piece, bs.t, inner, outer);
        Vec4f jump = program ? shade_jump(s, tg, o, *program, b, px, py, x, inner, outer, owner, in_stroke_side)
                             : shade_jump(s, tg, o, b, px, py, x, inner, outer, owner, in_stroke_side);
        float c = dot(adjoint, jump) * inv_count / bs.pdf;
        if (c == 0.0f || !is_finite(c)) return;
        scatter_piece(s, piece, bs.t, c, bs.normal, gr);
    }
};

// The area term on the device (or its emulation), one thread per sample.
// Pass 1 finishes every sample whose visible layers fit in kInlineLayers
// slots of the thread's own stack, and the others write how many slots they
// need. A scan of those counts gives each its exact room in one allocation
// (in pieces of at most kLayerBudgetBytes), and pass 2 runs them there.
constexpr size_t kLayerBudgetBytes = size_t(256) << 20;

void area_term_on_device(const AreaContext& a, int64_t samples, const ExecutionContext& context) {
    const int spp = samples_per_pixel(a.o);
    const int width = a.o.width, height = a.o.height;
    int64_t* room = context.allocate<int64_t>(size_t(samples) + 1);
    float* d_radius = context.allocate<float>(1);
    int* misfits = context.allocate<int>(1);
    parallel_for(samples, [=] HOST_DEVICE(int64_t index) {
        const int64_t pixel = index / spp;
        const int x = int(pixel % width), y = int((pixel / width) % height), b = int(pixel / (int64_t(width) * height));
        UninitialisedArray<LayerRecord, kInlineLayers> slots;
        LayerStack layers{&slots[0], kInlineLayers};
        float dr = 0.0f;
        room[index] = area_sample(a, b, x, y, int(index % spp), layers, &dr) ? 0 : layers.needed;
        if (dr != 0.0f) atomic_add(d_radius, dr);
    }, context);
    const int64_t total = exclusive_scan_inplace(room, samples + 1, context);
    if (total > 0) {
        // Pieces of consecutive samples whose rooms add up to the budget (or
        // one sample, whatever it needs), found by bisection on the scanned
        // offsets: one read for a scene that fits at once.
        auto offset = [&](int64_t i) { return context.to_host(room + i, 1)[0]; };
        const int64_t budget = std::max<int64_t>(1, int64_t(kLayerBudgetBytes / sizeof(LayerRecord)));
        std::vector<int64_t> cuts{0};
        while (cuts.back() < samples) {
            const int64_t begin = cuts.back(), base = offset(begin);
            int64_t lo = begin + 1, hi = samples;
            if (offset(hi) - base > budget) {
                while (hi - lo > 1) {  // offset(lo) - base fits (or lo = begin + 1), offset(hi) - base does not
                    const int64_t mid = lo + (hi - lo) / 2;
                    (offset(mid) - base <= budget ? lo : hi) = mid;
                }
                hi = lo;
            }
            cuts.push_back(hi);
        }
        int64_t largest = 0;
        std::vector<int64_t> bases(cuts.size());
        for (size_t c = 0; c < cuts.size(); ++c) bases[c] = offset(cuts[c]);
        for (size_t c = 0; c + 1 < cuts.size(); ++c) largest = std::max(largest, bases[c + 1] - bases[c]);
        LayerRecord* storage = context.allocate<LayerRecord>(size_t(largest));
        for (size_t c = 0; c + 1 < cuts.size(); ++c) {
            const int64_t begin = cuts[c], base = bases[c];
            parallel_for(cuts[c + 1] - begin, [=] HOST_DEVICE(int64_t j) {
                const int64_t index = begin + j, slot = room[index], slots = room[index + 1] - slot;
                if (slots == 0) return;
                const int64_t pixel = index / spp;
                const int x = int(pixel % width), y = int((pixel / width) % height);
                const int b = int(pixel / (int64_t(width) * height));
                LayerStack layers{storage + (slot - base), int(slots)};
                float dr = 0.0f;
                if (!area_sample(a, b, x, y, int(index % spp), layers, &dr)) atomic_add_int(misfits, 1);
                if (dr != 0.0f) atomic_add(d_radius, dr);
            }, context);
        }
        if (context.to_host(misfits, 1)[0] != 0)
            throw std::logic_error("render backward: a sample's layers did not fit the room counted for them");
    }
    if (a.grads.filter_radius) {
        float radius = context.to_host(d_radius, 1)[0] + context.to_host(a.grads.filter_radius, 1)[0];
        context.from_host(a.grads.filter_radius, &radius, 1);
    }
}

}  // namespace

void render_backward(const SceneView& input_scene, const RenderOptions& options, const BackwardOptions& backward,
                     const float* image, const float* grad_image, const SceneGradients& grads,
                     const ExecutionContext& context, const LayerLog* log) {
    // The forward pass's preparation when its log holds it for this call.
    const PreparedRender prepared = log_prepared_for(log, input_scene, options)
                                        ? log->prepared : prepare_render(input_scene, options, context);
    const SceneView& scene = prepared.scene;
    const TileGrid& grid = prepared.grid;
    const int channels = options.output_sdf ? 1 : 4;
    const int64_t pixels = int64_t(scene.num_scenes) * options.width * options.height;
    const int spp = samples_per_pixel(options);
    const RenderOptions o = options;
    const SceneView s = scene;

    // Filter normalisers, as in the forward pass.
    // Under the unit box the sums are exactly spp (unit_box_filter).
    float* weight_sum = context.allocate<float>(size_t(pixels));
    const bool unit_box = unit_box_filter(o);
    parallel_for(pixels, [=] HOST_DEVICE(int64_t pixel) {
        int x = int(pixel % o.width), y = int((pixel / o.width) % o.height), b = int(pixel / (int64_t(o.width) * o.height));
        weight_sum[pixel] = unit_box ? float(spp) : pixel_weight_sum(o, b, x, y);
    }, context, 256);

    // ---- Area term ----
    if (backward.area_term) {
        AreaContext a{scene, options, grid, image, grad_image, weight_sum, grads, channels,
                      options.filter != kFilterBox && grads.filter_radius != nullptr};
        a.skip_empty = !a.radius_gradient && !options.background && !options.output_sdf;
        if (context.device_code()) {
            area_term_on_device(a, pixels * spp, context);
        } else {
            const int64_t tiles = int64_t(scene.num_scenes) * grid.tiles_per_scene;
            std::vector<double> radius_parts(size_t(tiles), 0.0);
            // The forward pass's layer log, when it kept one for this call,
            // replaces finding each sample's layers again.
            const bool replay = log && log->complete && layer_log_applies(options, context) &&
                                log->tiles.size() == size_t(tiles);
            // Under the unit box, a pixel's samples with equal logs of solid
            // layers run once (equal_area_samples).
            const bool merge_equal = replay && unit_box && !options.output_sdf && !a.radius_gradient;
            ThreadGradients thread_grads(scene, grads, context.num_threads);
            parallel_for_host(tiles, [&](int64_t t) {
                // Per tile, no thread-local lookups per sample; a sample that
                // does not fit grows it to what it needs and runs again.
                std::vector<LayerRecord> storage(64);
                int b = int(t / grid.tiles_per_scene);
                float dr = 0.0f;
                AreaContext mine = a;
                mine.grads = thread_grads.acquire();
                auto sample = [&](int x, int y, int k, const CellProgram* program, const int32_t* logged,
                                  int copies = 1) {
                    LayerStack layers{storage.data(), int(storage.size())};
                    while (!area_sample(mine, b, x, y, k, layers, &dr, program, logged, copies)) {
                        storage.resize(2 * size_t(layers.needed));
                        layers = LayerStack{storage.data(), int(storage.size())};
                    }
                };
                if (replay) {
                    const int32_t* cursor = log->tiles[size_t(t)].data();
                    for_each_tile_pixel_in_order(grid, o, t, [&](int x, int y) {
                        for (int k = 0; k < spp;) {
                            const int copies = merge_equal ? equal_area_samples(scene, cursor, spp - k) : 1;
                            sample(x, y, k, nullptr, cursor, copies);
                            for (int c = 0; c < copies; ++c, ++k) cursor += 1 + cursor[0];
                        }
                    });
                } else {
                    for_each_tile_pixel(s, grid, o, t, [&](const CellProgram* program, int x, int y) {
                        for (int k = 0; k < spp; ++k) sample(x, y, k, program, nullptr);
                    });
                }
                ThreadGradients::release();
                radius_parts[size_t(t)] = dr;
            }, context.num_threads, 1);
            thread_grads.reduce();
            if (grads.filter_radius) {
                double total = 0.0;
                for (double v : radius_parts) total += v;
                grads.filter_radius[0] += float(total);
            }
        }
    }

    // ---- Boundary term ----
    if (!backward.boundary_term || options.prefiltering || options.output_sdf || scene.num_pairs == 0) return;

    // Importance per tile: Σ |adjoint| / W over the tile's pixels, then the
    // maximum over the 3x3 tile neighbourhood (a boundary point reaches
    // pixels up to the filter radius away, less than a tile).
    const int tiles_total = scene.num_scenes * grid.tiles_per_scene;
    float* tile_adjoint = context.allocate<float>(size_t(tiles_total));
    float* tile_importance = context.allocate<float>(size_t(tiles_total));
    const TileGrid tg = grid;
    parallel_for(tiles_total, [=] HOST_DEVICE(int64_t t) {
        int b = int(t / tg.tiles_per_scene), local = int(t % tg.tiles_per_scene);
        int x0 = (local % tg.tiles_x) * tg.tile_size, y0 = (local / tg.tiles_x) * tg.tile_size;
        float sum = 0.0f;
        for (int y = y0; y < min_value(y0 + tg.tile_size, o.height); ++y)
            for (int x = x0; x < min_value(x0 + tg.tile_size, o.width); ++x) {
                int64_t pixel = (int64_t(b) * o.height + y) * o.width + x;
                if (!(weight_sum[pixel] > 0.0f)) continue;
                Vec4f adj = pixel_vec(grad_image, pixel, channels);
                sum += (fabsf(adj.x) + fabsf(adj.y) + fabsf(adj.z) + fabsf(adj.w)) / weight_sum[pixel];
            }
        tile_adjoint[t] = sum;
    }, context, 16);
    parallel_for(tiles_total, [=] HOST_DEVICE(int64_t t) {
        int b = int(t / tg.tiles_per_scene), local = int(t % tg.tiles_per_scene);
        int tx = local % tg.tiles_x, ty = local / tg.tiles_x;
        float m = 0.0f;
        for (int dy = -1; dy <= 1; ++dy)
            for (int dx = -1; dx <= 1; ++dx) {
                int nx = tx + dx, ny = ty + dy;
                if (nx < 0 || ny < 0 || nx >= tg.tiles_x || ny >= tg.tiles_y) continue;
                m = max_value(m, tile_adjoint[b * tg.tiles_per_scene + ny * tg.tiles_x + nx]);
            }
        tile_importance[t] = m;
    }, context, 64);
    const double importance_total =
        parallel_sum(tiles_total, [=] HOST_DEVICE(int64_t t) { return tile_importance[t]; }, context);
    if (!(importance_total > 0.0)) return;
    const float floor_importance = float(kImportanceFloor * importance_total / tiles_total);

    // Pieces: count, scan, write.
    int* piece_offset = context.allocate<int>(size_t(scene.num_pairs) + 1);
    parallel_for(scene.num_pairs, [=] HOST_DEVICE(int64_t m) { piece_offset[m] = count_pieces(s, int(m)); }, context);
    const int num_pieces = int(exclusive_scan_inplace(piece_offset, scene.num_pairs + 1, context));
    if (num_pieces == 0) return;
    Piece* pieces = reinterpret_cast<Piece*>(context.allocate<int>(size_t(num_pieces) * 4));
    parallel_for(scene.num_pairs, [=] HOST_DEVICE(int64_t m) { write_pieces(s, int(m), pieces + piece_offset[m]); },
                 context);

    // Weights: output-space length (5-point chord estimate) inside the image,
    // times importance. `lengths` keeps the plain length for the sample count.
    const PieceTable2D table{scene, pieces};
    float* weights = context.allocate<float>(size_t(num_pieces));
    float* lengths = context.allocate<float>(size_t(num_pieces));
    parallel_for(num_pieces, [=] HOST_DEVICE(int64_t i) {
        const int steps = 4;
        float len = 0.0f, importance = 0.0f;
        int scene_index = s.group_scene[s.pair_group[pieces[i].pair]];
        Vec2f prev;
        bool visible = false;
        for (int j = 0; j <= steps; ++j) {
            PieceGeometry g = table.geometry(int(i), float(j) / steps);
            if (j > 0) len += length(g.point - prev);
            prev = g.point;
            if (g.point.x >= -1.0f && g.point.y >= -1.0f && g.point.x <= o.width + 1.0f &&
                g.point.y <= o.height + 1.0f) {
                visible = true;
                importance = max_value(importance, tile_importance[tg.tile_of(scene_index, g.point.x, g.point.y)]);
            }
        }
        // A piece can cross the image between the probe points: keep the
        // floor for any piece whose bounds meet the image.
        if (!visible) {
            const float* ob = tg.pair_output_bounds + 4 * pieces[i].pair;
            visible = ob[2] >= 0.0f && ob[3] >= 0.0f && ob[0] <= o.width && ob[1] <= o.height;
        }
        lengths[i] = visible ? len : 0.0f;
        weights[i] = visible ? len * (importance + floor_importance) : 0.0f;
    }, context, 64);
    float* cdf = context.allocate<float>(size_t(num_pieces) + 1);
    if (!(build_boundary_cdf(weights, num_pieces, cdf, context) > 0.0)) return;
    const double total_length = parallel_sum(num_pieces, [=] HOST_DEVICE(int64_t i) { return lengths[i]; }, context);
    // Budget: one boundary sample per pixel sample per pixel of boundary
    // length, but never more than the forward pass's sample count: in dense
    // scenes the edge length exceeds the pixel count and the extra samples
    // buy little. Any count keeps the estimator unbiased.
    const double length_budget = std::min(total_length, double(pixels));
    const int64_t num_samples =
        std::max<int64_t>(1, int64_t(std::ceil(double(backward.boundary_density) * spp * length_budget)));

    const uint64_t boundary_seed = Pcg32::mix64(options.seed ^ 0x5bd1e995ULL);
    const SceneGradients gr = grads;
    const int reach = filter_reach(o);
    const BoundaryJumps jumps{s, grid, o, table, grad_image, weight_sum, channels, float(spp),
                              1.0f / float(num_samples)};
    ThreadGradients thread_grads(scene, grads, context.device_code() ? 0 : context.num_threads);

    // Samples are drawn in chunks and each chunk is shaded in tile and cell
    // order: a counting sort by (tile, cell) makes consecutive samples read
    // the same tile list and the same shapes, where drawing order would jump
    // across the image at every sample, and on the CPU lets a cell's run of
    // samples share one cell program. The set of samples, and so the
    // estimate, is the same.
    const int64_t chunk = std::min<int64_t>(num_samples, int64_t(1) << 20);
    const size_t sample_floats = (sizeof(BoundarySample) + sizeof(float) - 1) / sizeof(float);
    BoundarySample* drawn = reinterpret_cast<BoundarySample*>(context.allocate<float>(size_t(chunk) * sample_floats));
    const int cells_total = tiles_total * kCells;
    int* sample_cell = context.allocate<int>(size_t(chunk));
    int* order = context.allocate<int>(size_t(chunk));
    int* cell_start = context.allocate<int>(size_t(cells_total) + 1);
    int* cell_cursor = context.allocate<int>(size_t(cells_total));
    int* piece_start = context.allocate<int>(size_t(num_pieces) + 1);
    int* piece_cursor = context.allocate<int>(size_t(num_pieces));
    float* sample_t = context.allocate<float>(size_t(chunk));
    for (int64_t first = 0; first < num_samples; first += chunk) {
        const int64_t count = std::min<int64_t>(chunk, num_samples - first);
        parallel_for(cells_total + 1, [=] HOST_DEVICE(int64_t k) {
            cell_start[k] = 0;
            if (k < cells_total) cell_cursor[k] = 0;
        }, context, 4096);
        // 1. Draw, cull points whose filter support misses the image, key by
        //    tile and cell. The pieces are found first and the samples
        //    sorted by piece (a counting sort), and the points are then made
        //    in that order: consecutive samples read the same piece's data
        //    and write consecutive slots, where drawing order reads a random
        //    piece each time. The set of samples is the same; their slots
        //    (the order in which a cell's samples are shaded) follow the
        //    pieces. drawn[i] holds sample i's piece and parameter until
        //    the sort has moved them to order[j] and sample_t[j].
        parallel_for(num_pieces + 1, [=] HOST_DEVICE(int64_t k) {
            piece_start[k] = 0;
            if (k < num_pieces) piece_cursor[k] = 0;
        }, context, 4096);
        parallel_for(count, [=] HOST_DEVICE(int64_t i) {
            Pcg32 rng(boundary_seed, uint64_t(first + i));
            const float u0 = rng.next_float(), u1 = rng.next_float();
            BoundarySample& bs = drawn[i];
            bs.piece = find_piece(cdf, num_pieces, u0);
            bs.t = u1;
            atomic_add_int(piece_start + bs.piece, 1);
        }, context, 1024);
        exclusive_scan_inplace(piece_start, num_pieces + 1, context);
        parallel_for(count, [=] HOST_DEVICE(int64_t i) {
            const int piece = drawn[i].piece;
            const int j = piece_start[piece] + atomic_add_int(piece_cursor + piece, 1);
            order[j] = piece;
            sample_t[j] = drawn[i].t;
        }, context, 1024);
        parallel_for(count, [=] HOST_DEVICE(int64_t j) {
            const BoundarySample bs = sample_on_piece(table, cdf, order[j], sample_t[j]);
            int key = -1;
            if (bs.piece >= 0) {
                int cx = int(floorf(bs.point.x)), cy = int(floorf(bs.point.y));
                if (cx >= -reach - 1 && cy >= -reach - 1 && cx <= o.width + reach && cy <= o.height + reach) {
                    int tile, cell;
                    jumps.locate(bs, &tile, &cell);
                    key = tile * kCells + max_value(cell, 0);
                    atomic_add_int(cell_start + key, 1);
                }
            }
            drawn[j] = bs;
            sample_cell[j] = key;
        }, context, 256);
        // 2. Counting sort of the kept samples by tile and cell.
        const int kept = int(exclusive_scan_inplace(cell_start, cells_total + 1, context));
        parallel_for(count, [=] HOST_DEVICE(int64_t i) {
            int key = sample_cell[i];
            if (key >= 0) order[cell_start[key] + atomic_add_int(cell_cursor + key, 1)] = int(i);
        }, context, 1024);
        // 3. Shade the jump at each kept sample and scatter its contribution
        // (on the CPU into per-thread gradient copies, summed at the end,
        // and through the program of the sample's cell, built once for the
        // cell's run of samples).
        if (context.device_code()) {
            parallel_for(kept, [=] HOST_DEVICE(int64_t j) { jumps.shade(drawn[order[j]], gr); }, context, 64);
        } else {
            run_on_thread_pool(kept, 64, context.num_threads, [&](int64_t begin, int64_t end) {
                const SceneGradients mine = thread_grads.acquire();
                std::vector<CellGroup> groups;
                std::vector<int> entries;
                CellWindingScratch winding_scratch;
                std::vector<unsigned char> layer_bits;
                CellProgram program;
                int program_tile = -1;
                for (int64_t j = begin; j < end; ++j) {
                    const BoundarySample& bs = drawn[order[j]];
                    int tile, cell;
                    jumps.locate(bs, &tile, &cell);
                    if (cell < 0 || !backward.cell_programs) {
                        jumps.shade(bs, mine);
                        continue;
                    }
                    if (tile != program_tile || cell != program.cell) {
                        const int n = grid.tile_begin[tile + 1] - grid.tile_begin[tile];
                        groups.resize(size_t(n) + 1);
                        entries.resize(size_t(n) + 1);
                        const Vec2f margin(kEntryMargin, kEntryMargin);
                        const Vec2f lo = cell_lo(grid, tile, cell) - margin, hi = cell_hi(grid, tile, cell) + margin;
                        layer_bits.resize(size_t(n) + 1);
                        program = build_cell_program(s, grid, tile, cell, lo, hi, groups.data(), entries.data());
                        // shade_jump_top_down, where some layer can stop its walk: with
                        // no opaque paint it tests every group anyway, and its second
                        // loop costs more than the bottom-up walk (fills256: +0.5%).
                        if (program_has_opaque_paint(s, program)) program.scratch = layer_bits.data();
                        // The per-cell stroke lists of the sampled passes, over the same grown
                        // box (the fill lists cost the boundary samples of plain fills more
                        // than they save: cat +1.4%).
                        build_cell_windings(s, grid, program, lo, hi, winding_scratch, false, false);
                        program_tile = tile;
                    }
                    jumps.shade(bs, mine, &program);
                }
                ThreadGradients::release();
            });
        }
    }
    thread_grads.reduce();  // nothing to sum on the device, where no copy was made
}

}  // namespace pdvg
