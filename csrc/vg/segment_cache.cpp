// Building the per-call segment caches (see segment_cache.h).
#include "segment_cache.h"

#include "../core/parallel.h"

namespace pdvg {

SceneView prepare_scene(const SceneView& scene, int num_segments, const ExecutionContext& context) {
    SceneView prepared = scene;
    if (num_segments <= 0) return prepared;
    float* monotone = context.allocate<float>(size_t(num_segments) * kSegmentMonotoneFloats);
    float* boxes = context.allocate<float>(size_t(num_segments) * 16);
    float* flat = context.allocate<float>(size_t(num_segments) * kFlatFloats);
    const SceneView s = scene;
    // A segment's cache takes microseconds (dozens of de Casteljau splits):
    // small chunks, so that a scene of a few hundred segments uses every thread.
    parallel_for(num_segments, [=] HOST_DEVICE(int64_t k) { build_segment_cache(s, int(k), monotone, boxes, flat); },
                 context, 16);
    prepared.segment_monotone = monotone;
    prepared.segment_boxes = boxes;
    prepared.segment_flat = flat;
    return prepared;
}

}  // namespace pdvg
