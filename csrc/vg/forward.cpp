// The forward pass: shade every sample, then filter samples into pixels.
//
// When the filter radius is at most half a pixel, a pixel's support holds
// only its own samples, and each pixel is shaded and filtered in one step.
// Wider filters first shade all samples into a buffer, then gather.
#include "render.h"

#include <atomic>
#include <type_traits>

#include "../core/parallel.h"
#include "filter.h"
#include "layer_log.h"
#include "pixel_samples.h"
#include "segment_cache.h"
#include "shade.h"

namespace pdvg {

namespace {

// A visitor that writes each layer (layer_log.h) at a cursor into a LayerLog
// tile buffer that the recorder has made room in. The output kind is a
// template argument so that sampled output reads none of the prefiltering
// facts (and the shading code need not keep them).
template <bool Prefiltering>
struct LogLayers {
    int32_t* cursor;
    void operator()(const LayerEvent& e) { cursor = log_layer(e, Prefiltering, cursor); }
};

// Colour (or signed distance) value of sample k of pixel (x, y) in scene b,
// shaded through the program of its cell when there is one.
template <typename Visitor>
HOST_DEVICE FORCE_INLINE Vec4f sample_value(const SceneView& scene, const TileGrid& grid, const RenderOptions& o,
                                      int b, int x, int y, Vec2f position, const CellProgram* program,
                                      Visitor& visit) {
    if (o.output_sdf) {
        float d = signed_distance_point(scene, grid, b, position).value;
        float cap = float(o.width + o.height);
        return {clamp_value(d, -cap, cap), 0, 0, 0};
    }
    Vec4f color = program ? shade_point(scene, grid, o, *program, b, x, y, position, visit)
                          : shade_point(scene, grid, o, b, x, y, position, visit);
    return sample_output(color, o.premultiplied);
}

HOST_DEVICE FORCE_INLINE Vec4f sample_value(const SceneView& scene, const TileGrid& grid, const RenderOptions& o,
                                            int b, int x, int y, Vec2f position,
                                            const CellProgram* program = nullptr) {
    IgnoreLayers ignore;
    return sample_value(scene, grid, o, b, x, y, position, program, ignore);
}

HOST_DEVICE inline void write_pixel(float* image, const RenderOptions& o, int channels, int64_t pixel, Vec4f sum,
                                    float weight) {
    float inv = weight > 0.0f ? 1.0f / weight : 0.0f;
    for (int c = 0; c < channels; ++c) image[pixel * channels + c] = sum[c] * inv;
}

// What render_pixel records per sample: nothing, or (LayerRecorder) the
// sample's entry in a LayerLog tile (layer_log.h). NoRecorder carries the
// recorder's fields too, so that one tile loop drives either.
struct NoRecorder {
    int max_layers = 0;
    size_t used = 0;
    HOST_DEVICE IgnoreLayers start() { return {}; }
    HOST_DEVICE void finish(const IgnoreLayers&) {}
};

// Records into a per-thread buffer. Before each sample it makes room for the
// word count and for every layer the cell program can composite (a fill and
// a stroke per group) at its largest, so the visitor writes through a bare
// cursor, with no capacity check per layer.
template <bool Prefiltering>
struct LayerRecorder {
    std::vector<int32_t>* buffer;
    int max_layers = 0;
    size_t used = 0;
    int32_t* count_slot = nullptr;
    LogLayers<Prefiltering> start() {
        size_t room = 1 + size_t(max_layers) * size_t(log_words_per_layer(Prefiltering));
        if (buffer->size() < used + room) buffer->resize(2 * (used + room));
        count_slot = buffer->data() + used;
        return {count_slot + 1};
    }
    void finish(const LogLayers<Prefiltering>& visit) {
        *count_slot = int32_t(visit.cursor - count_slot - 1);
        used = size_t(visit.cursor - buffer->data());
    }
};

// Shades and filters one pixel whose filter support holds only its own samples.
template <typename Recorder>
HOST_DEVICE inline void render_pixel(const SceneView& scene, const TileGrid& grid, const RenderOptions& o,
                                     float* image, int channels, int64_t pixel, const CellProgram* program,
                                     Recorder& record) {
    int x = int(pixel % o.width), y = int((pixel / o.width) % o.height), b = int(pixel / (int64_t(o.width) * o.height));
    Vec4f sum;
    float weight = 0.0f;
    int spp = samples_per_pixel(o);
    // A cell that no group reaches, with nothing under it: every sample is
    // transparent (+0, whatever its weight), so none is placed or shaded. A
    // recorder still logs each sample, with no layers.
    if (program && program->num_groups == 0 && !o.background && !o.output_sdf) {
        for (int k = 0; k < spp; ++k) {
            auto visit = record.start();
            record.finish(visit);
        }
        write_pixel(image, o, channels, pixel, sum, weight);
        return;
    }
    // A cell whose every group is in the constant prefix (set_constant_prefix):
    // each sample has the prefix's colour, so only the filter weights are
    // computed per sample; under the unit box, whose weights are all 1
    // (unit_box_filter), no sample is even placed. A recorder (sampled: the
    // prefix is never set with prefiltering) logs for each sample the fill
    // of every group, bottom to top, as shading it would (a constant group
    // has coverage 1 and no stroke near); none for a sample of weight 0.
    if (program && program->prefix > 0 && program->prefix == program->num_groups && !o.output_sdf) {
        const Vec4f value = sample_output(program->prefix_color, o.premultiplied);
        auto log_sample = [&](bool weighted) {
            auto visit = record.start();
            if constexpr (std::is_same<Recorder, LayerRecorder<false>>::value) {
                if (weighted) {
                    LayerEvent e;
                    e.coverage = 1.0f;
                    for (int n = 0; n < program->num_groups; ++n) {
                        e.group = program->groups[n].group;
                        e.paint = 2 * e.group;
                        visit(e);
                    }
                }
            }
            record.finish(visit);
        };
        if (unit_box_filter(o)) {
            for (int k = 0; k < spp; ++k) {
                sum += value;  // value * w for w = 1, exactly
                weight += 1.0f;
                log_sample(true);
            }
            write_pixel(image, o, channels, pixel, sum, weight);
            return;
        }
        for (int k = 0; k < spp; ++k) {
            Vec2f p = sample_position(o, b, x, y, k);
            float w = filter_weight(o.filter, o.filter_radius, p.x - (float(x) + 0.5f), p.y - (float(y) + 0.5f));
            if (w != 0.0f) {
                sum += value * w;
                weight += w;
            }
            log_sample(w != 0.0f);
        }
        write_pixel(image, o, channels, pixel, sum, weight);
        return;
    }
    for (int k = 0; k < spp; ++k) {
        Vec2f p = sample_position(o, b, x, y, k);
        float w = filter_weight(o.filter, o.filter_radius, p.x - (float(x) + 0.5f), p.y - (float(y) + 0.5f));
        auto visit = record.start();
        if (w != 0.0f) {
            sum += sample_value(scene, grid, o, b, x, y, p, program, visit) * w;
            weight += w;
        }
        record.finish(visit);
    }
    write_pixel(image, o, channels, pixel, sum, weight);
}

HOST_DEVICE inline void render_pixel_direct(const SceneView& scene, const TileGrid& grid, const RenderOptions& o,
                                            float* image, int channels, int64_t pixel,
                                            const CellProgram* program = nullptr) {
    NoRecorder none;
    render_pixel(scene, grid, o, image, channels, pixel, program, none);
}

HOST_DEVICE inline void gather_pixel(const float* samples, const RenderOptions& o, float* image, int channels,
                                     int64_t pixel) {
    int x = int(pixel % o.width), y = int((pixel / o.width) % o.height), b = int(pixel / (int64_t(o.width) * o.height));
    int reach = filter_reach(o), spp = samples_per_pixel(o);
    Vec4f sum;
    float weight = 0.0f;
    for (int ny = max_value(y - reach, 0); ny <= min_value(y + reach, o.height - 1); ++ny)
        for (int nx = max_value(x - reach, 0); nx <= min_value(x + reach, o.width - 1); ++nx)
            for (int k = 0; k < spp; ++k) {
                Vec2f p = sample_position(o, b, nx, ny, k);
                float w = filter_weight(o.filter, o.filter_radius, p.x - (float(x) + 0.5f), p.y - (float(y) + 0.5f));
                if (w == 0.0f) continue;
                int64_t index = ((int64_t(b) * o.height + ny) * o.width + nx) * spp + k;
                const float* v = samples + index * 4;
                sum += Vec4f(v[0], v[1], v[2], v[3]) * w;
                weight += w;
            }
    write_pixel(image, o, channels, pixel, sum, weight);
}

}  // namespace

void render_forward(const SceneView& input_scene, const RenderOptions& options, float* image,
                    const ExecutionContext& context, LayerLog* log) {
    const PreparedRender prepared = prepare_render(input_scene, options, context);
    if (log) {
        // Kept for the backward pass when the log applies: then no other
        // scratch of this call (the wide-filter sample buffer) is held with it.
        log->has_prepared = layer_log_applies(options, context);
        log->prepared = prepared;
        log->prepared_input = input_scene;
        log->prepared_options = options;
    }
    const SceneView& scene = prepared.scene;
    const TileGrid& grid = prepared.grid;
    const int channels = options.output_sdf ? 1 : 4;
    const int64_t pixels = int64_t(scene.num_scenes) * options.width * options.height;
    const SceneView s = scene;
    const RenderOptions o = options;

    if (filter_reach(options) == 0) {
        if (context.device_code()) {
            parallel_for(pixels, [=] HOST_DEVICE(int64_t pixel) {
                render_pixel_direct(s, grid, o, image, channels, pixel);
            }, context);
        } else {
            // CPU: walk tile by tile, and within a tile cell by cell, so that
            // the samples of a cell share one walk of the tile list.
            const int64_t tiles = int64_t(scene.num_scenes) * grid.tiles_per_scene;
            const bool logging = log && layer_log_applies(options, context);
            if (log) {
                log->tiles.assign(logging ? size_t(tiles) : 0, {});
                log->complete = false;
            }
            // The log's budget: 64 M entries (256 MB) in all.
            std::atomic<int64_t> logged{0};
            const int64_t budget = int64_t(64) << 20;
            parallel_for_host(tiles, [&](int64_t t) {
                int b = int(t / grid.tiles_per_scene);
                const bool record_tile = logging && logged.load(std::memory_order_relaxed) <= budget;
                // Each pool thread records into its own buffer, which keeps its
                // capacity from tile to tile and call to call; the tile's log is
                // one exact-size copy of it.
                static thread_local std::vector<int32_t> buffer;
                const int tile_groups = grid.tile_begin[t + 1] - grid.tile_begin[t];
                // A tile that records no layers skips the groups hidden under
                // an opaque one (build_cell_program): the backward pass, which
                // differentiates them too, replays only recorded tiles.
                auto shade_tile = [&](auto& record) {
                    for_each_tile_pixel(s, grid, o, t, [&](const CellProgram* program, int x, int y) {
                        int64_t pixel = (int64_t(b) * o.height + y) * o.width + x;
                        record.max_layers = 2 * (program ? program->num_groups : tile_groups);
                        render_pixel(s, grid, o, image, channels, pixel, program, record);
                    }, !record_tile, record_tile);
                    return record.used;
                };
                size_t used = 0;
                if (!record_tile) {
                    NoRecorder none;
                    shade_tile(none);
                } else if (o.prefiltering) {
                    LayerRecorder<true> record{&buffer};
                    used = shade_tile(record);
                } else {
                    LayerRecorder<false> record{&buffer};
                    used = shade_tile(record);
                }
                if (record_tile) {
                    log->tiles[size_t(t)].assign(buffer.data(), buffer.data() + used);
                    logged += int64_t(used);
                }
            }, context.num_threads, 1);
            if (logging) {
                // Every tile holds pixels, so an empty tile log is one skipped past the budget.
                bool whole = logged.load() <= budget;
                for (int64_t t = 0; t < tiles && whole; ++t) whole = !log->tiles[size_t(t)].empty();
                if (!whole) log->tiles.clear();
                log->complete = whole;
            }
        }
        return;
    }

    const int spp = samples_per_pixel(options);
    float* samples = context.allocate<float>(size_t(pixels) * spp * 4);
    parallel_for(pixels * spp, [=] HOST_DEVICE(int64_t index) {
        int64_t pixel = index / spp;
        int k = int(index % spp);
        int x = int(pixel % o.width), y = int((pixel / o.width) % o.height), b = int(pixel / (int64_t(o.width) * o.height));
        Vec4f v = sample_value(s, grid, o, b, x, y, sample_position(o, b, x, y, k));
        float* out = samples + index * 4;
        out[0] = v.x; out[1] = v.y; out[2] = v.z; out[3] = v.w;
    }, context, 256);
    parallel_for(pixels, [=] HOST_DEVICE(int64_t pixel) {
        gather_pixel(samples, o, image, channels, pixel);
    }, context, 256);
}

}  // namespace pdvg
