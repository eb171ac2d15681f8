// Building the per-call segment caches (see segment_cache.h).
#include "segment_cache.h"

#include "stroke_style.h"

#include "../core/atomics.h"
#include "../core/parallel.h"

namespace pdvg {

SceneView prepare_scene(const SceneView& scene, int num_segments, bool fill_distances,
                        const ExecutionContext& context) {
    SceneView prepared = scene;
    if (num_segments <= 0) return prepared;
    float* monotone = context.allocate<float>(size_t(num_segments) * kSegmentMonotoneFloats);
    float* boxes = context.allocate<float>(size_t(num_segments) * 16);
    float* flat = context.allocate<float>(size_t(num_segments) * kFlatFloats);
    float* stroke_boxes = context.allocate<float>(size_t(num_segments) * 4);
    const SceneView s = scene;
    // What each shape's pairs draw it with: counts of filling and stroking
    // pairs, then each segment's needs from its shape's. Real art strokes
    // about half its paths and fills the rest, and a segment's pieces and
    // its flattening cost about the same, so this halves the build.
    int* fills = context.allocate<int>(size_t(scene.num_shapes));
    int* strokes = context.allocate<int>(size_t(scene.num_shapes));
    int* needs = context.allocate<int>(size_t(num_segments));
    parallel_for(scene.num_pairs, [=] HOST_DEVICE(int64_t m) {
        int g = s.pair_group[m], shape = s.pair_shape[m];
        if (s.has_fill(g)) atomic_add_int(fills + shape, 1);
        if (s.has_stroke(g)) atomic_add_int(strokes + shape, 1);
    }, context);
    parallel_for(scene.num_shapes, [=] HOST_DEVICE(int64_t shape) {
        int need = (fills[shape] ? kNeedMonotone : 0) |
                   ((strokes[shape] || (fills[shape] && fill_distances)) ? kNeedFlat : 0);
        const bool styled = strokes[shape] && !stroke_is_round(s, int(shape));
        for (int k = s.shape_segment_begin[shape]; k < s.shape_segment_begin[shape + 1]; ++k) {
            needs[k] = need;
            float* box = stroke_boxes + 4 * k;
            if (styled) {
                build_stroke_box(s, int(shape), k, box);
            } else {
                box[0] = box[1] = -INFINITY;
                box[2] = box[3] = INFINITY;
            }
        }
    }, context);
    // A segment's cache takes microseconds (dozens of de Casteljau splits):
    // small chunks, so that a scene of a few hundred segments uses every thread.
    parallel_for(num_segments, [=] HOST_DEVICE(int64_t k) {
        build_segment_cache(s, int(k), monotone, boxes, flat, needs[k]);
    }, context, 16);
    prepared.segment_monotone = monotone;
    prepared.segment_boxes = boxes;
    prepared.segment_flat = flat;
    prepared.segment_stroke_boxes = stroke_boxes;
    return prepared;
}

}  // namespace pdvg
