// Pixel reconstruction filters. A pixel is the filter-weighted average of
// the samples within `radius` of its centre, normalised by the weight sum,
// so the filters need no normalisation constant.
#pragma once

#include "scene.h"

namespace pdvg {

HOST_DEVICE inline float filter_weight(int kind, float radius, float dx, float dy) {
    float ax = fabsf(dx), ay = fabsf(dy);
    if (ax > radius || ay > radius) return 0.0f;
    switch (kind) {
        case kFilterTent: return (radius - ax) * (radius - ay);
        case kFilterRadialParabolic: {
            float r2 = (dx * dx + dy * dy) / (radius * radius);
            return r2 < 1.0f ? 1.0f - r2 : 0.0f;
        }
        case kFilterHann: {
            float wx = 0.5f + 0.5f * cosf(kPi * ax / radius);
            float wy = 0.5f + 0.5f * cosf(kPi * ay / radius);
            return wx * wy;
        }
        default: return 1.0f;
    }
}

// d(weight)/d(radius), for the radius gradient.
HOST_DEVICE inline float filter_weight_radius_derivative(int kind, float radius, float dx, float dy) {
    float ax = fabsf(dx), ay = fabsf(dy);
    if (ax > radius || ay > radius) return 0.0f;
    switch (kind) {
        case kFilterTent: return (radius - ay) + (radius - ax);
        case kFilterRadialParabolic: {
            float d2 = dx * dx + dy * dy;
            return d2 < radius * radius ? 2.0f * d2 / (radius * radius * radius) : 0.0f;
        }
        case kFilterHann: {
            float wx = 0.5f + 0.5f * cosf(kPi * ax / radius);
            float wy = 0.5f + 0.5f * cosf(kPi * ay / radius);
            float dwx = 0.5f * sinf(kPi * ax / radius) * kPi * ax / (radius * radius);
            float dwy = 0.5f * sinf(kPi * ay / radius) * kPi * ay / (radius * radius);
            return dwx * wy + wx * dwy;
        }
        default: return 0.0f;
    }
}

}  // namespace pdvg
