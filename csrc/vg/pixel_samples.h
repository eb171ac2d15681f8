// Where the samples of a pixel lie, and how many pixels a sample reaches.
// Samples are jittered on an samples_x × samples_y grid inside the pixel,
// with random numbers keyed by (seed, pixel, sample) so that the image does
// not depend on the thread count. Prefiltering, and centre_samples (one
// sample per pixel for crisp layers), use the stratum centres.
#pragma once

#include "../core/pcg.h"
#include "scene.h"

namespace pdvg {

HOST_DEVICE inline int samples_per_pixel(const RenderOptions& o) { return o.samples_x * o.samples_y; }

HOST_DEVICE inline uint64_t sample_stream(const RenderOptions& o, int b, int x, int y, int k) {
    uint64_t w = uint64_t(o.width), h = uint64_t(o.height);
    if (o.stream_origin) {  // a frame of a larger image (see RenderOptions)
        const int* origin = o.stream_origin + 3 * b;
        b = origin[0];
        x += origin[1];
        y += origin[2];
        w = uint64_t(o.stream_width);
        h = uint64_t(o.stream_height);
    }
    // pixels left of or above the image wrap to other (unused) streams
    return ((uint64_t(b) * h + uint64_t(int64_t(y))) * w + uint64_t(int64_t(x))) *
               uint64_t(samples_per_pixel(o)) + uint64_t(k);
}

HOST_DEVICE FORCE_INLINE Vec2f sample_position(const RenderOptions& o, int b, int x, int y, int k) {
    int i = k % o.samples_x, j = k / o.samples_x;
    float u = 0.5f, v = 0.5f;
    if (o.centre_samples) {
        // a centre exactly on an edge belongs to the shape above or left of
        // it: rows [round(top), round(bottom)) as tiny-skia (resvg) fills
        // without anti-aliasing, rounding halves up
        u = v = 0.5f - 1.0f / 512.0f;
    } else if (!o.prefiltering) {
        Pcg32 rng(o.seed, sample_stream(o, b, x, y, k));
        u = rng.next_float();
        v = rng.next_float();
    }
    return {float(x) + (float(i) + u) / float(o.samples_x), float(y) + (float(j) + v) / float(o.samples_y)};
}

// Whether the filter is the box of radius 1/2: it weighs each of a pixel's
// own samples exactly 1 (they lie in the pixel, at most half a pixel from
// its centre) and no other sample, so a pixel's weight sum is spp.
HOST_DEVICE inline bool unit_box_filter(const RenderOptions& o) {
    return o.filter == kFilterBox && o.filter_radius == 0.5f;
}

// How many neighbouring pixels, on each side, can hold samples inside the
// filter support of a pixel centre.
HOST_DEVICE inline int filter_reach(const RenderOptions& o) {
    float r = o.filter_radius;
    return r <= 0.5f ? 0 : int(ceilf(r - 0.5f));
}

}  // namespace pdvg
