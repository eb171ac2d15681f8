// The packed scene: flat arrays built by pydiffvg/scene.py, viewed by the
// kernels through raw pointers. Every index here was validated on the host.
//
// Coordinates: shapes live in their own space; group_to_output maps shape
// space to OUTPUT pixels (it already includes the canvas->output scale), and
// group_to_shape is its inverse.
#pragma once

#include "../core/vec.h"
#include "../geometry/bezier.h"

namespace pdvg {

enum ShapeKind : int { kCircle = 0, kEllipse = 1, kRect = 2, kPath = 3 };
enum PaintKind : int { kPaintNone = 0, kPaintSolid = 1, kPaintLinear = 2, kPaintRadial = 3 };
// Floats per paint in paint_params.
constexpr int kPaintFloats = 8;
enum LineCap : int { kCapRound = 0, kCapButt = 1, kCapSquare = 2 };
enum LineJoin : int { kJoinRound = 0, kJoinMiter = 1, kJoinBevel = 2 };
enum FilterKind : int { kFilterBox = 0, kFilterTent = 1, kFilterRadialParabolic = 2, kFilterHann = 3 };

struct SceneView {
    // Shapes.
    int num_shapes = 0;
    const int* shape_kind = nullptr;           // [S] ShapeKind
    const float* shape_params = nullptr;       // [S,4] circle cx,cy,r,r; ellipse cx,cy,rx,ry; rect x0,y0,x1,y1
    const float* shape_width = nullptr;        // [S] stroke half width of circles, ellipses and rects
    const int* shape_segment_begin = nullptr;  // [S+1] path segments of shape s
    const int* shape_closed = nullptr;         // [S] 1 if the path is closed
    const int* shape_stroke_style = nullptr;   // [S] cap | join << 4
    const float* shape_miter_limit = nullptr;  // [S]
    int num_points = 0;
    const float* points = nullptr;             // [P,2]
    const float* point_width = nullptr;        // [P] stroke half width per path point
    int num_segments = 0;
    const int* segment_degree = nullptr;       // [N] 1 line, 2 quadratic, 3 cubic
    const int* segment_points = nullptr;       // [N,4] absolute point indices, unused slots repeat the last

    // Groups and (group, shape) pairs, pairs ordered by group then shape.
    int num_groups = 0;
    int num_pairs = 0;
    const int* group_pair_begin = nullptr;     // [G+1]
    const int* pair_shape = nullptr;           // [M]
    const int* pair_group = nullptr;           // [M]
    const int* group_even_odd = nullptr;       // [G] 1 even-odd, 0 nonzero
    const float* group_to_output = nullptr;    // [G,3,3] shape -> output pixels
    const float* group_to_shape = nullptr;     // [G,3,3] output pixels -> shape

    // Paints: index 2g is group g's fill, 2g+1 its stroke.
    const int* paint_kind = nullptr;           // [2G] PaintKind
    const float* paint_params = nullptr;       // [2G,8] solid rgba; linear x0,y0,x1,y1;
                                               // radial cx,cy,rx,ry,fx,fy,fr (focal circle)
    const int* paint_stop_begin = nullptr;     // [2G+1] into the stop arrays
    const float* stop_offsets = nullptr;       // [K]
    const float* stop_colors = nullptr;        // [K,4]

    // Derived per call by prepare_scene (segment_cache.h), not by Python:
    // per segment, up to 3 y-monotone pieces for ray casting, 4 sub-curve
    // boxes for distance pruning and a 16-chord flattening with each chord's
    // deviation. Null until prepared.
    const float* segment_monotone = nullptr;   // [N, kSegmentMonotoneFloats]
    const float* segment_boxes = nullptr;      // [N, 4, 4] xmin, ymin, xmax, ymax
    const float* segment_flat = nullptr;       // [N, kFlatFloats] 17 points, 16 deviations
    // Per segment of a path with a styled stroke, the box outside which its
    // stroke holds no point (build_stroke_box, stroke_style.h); unbounded
    // for the other segments.
    const float* segment_stroke_boxes = nullptr;  // [N, 4] xmin, ymin, xmax, ymax

    // Batch: groups of scene b are [scene_group_begin[b], scene_group_begin[b+1]).
    int num_scenes = 1;
    const int* scene_group_begin = nullptr;    // [B+1]
    const int* group_scene = nullptr;          // [G]

    HOST_DEVICE Vec2f point(int i) const { return {points[2 * i], points[2 * i + 1]}; }

    HOST_DEVICE Segment segment(int k) const {
        Segment s;
        s.degree = segment_degree[k];
        for (int j = 0; j < 4; ++j) s.p[j] = point(segment_points[4 * k + j]);
        return s;
    }
    // Stroke half width at parameter t of segment k: the Bernstein blend of its
    // control points' widths (a per-point width varies smoothly along a curve).
    HOST_DEVICE float segment_width(int k, float t) const {
        float w[4];
        int degree = segment_degree[k];
        bernstein_weights(degree, t, w);
        float r = 0.0f;
        for (int j = 0; j <= degree; ++j) r += w[j] * point_width[segment_points[4 * k + j]];
        return r;
    }
    HOST_DEVICE Affine2 to_shape(int g) const { return Affine2::from_3x3(group_to_shape + 9 * g); }
    HOST_DEVICE Affine2 to_output(int g) const { return Affine2::from_3x3(group_to_output + 9 * g); }
    HOST_DEVICE int cap(int s) const { return shape_stroke_style[s] & 15; }
    HOST_DEVICE int join(int s) const { return (shape_stroke_style[s] >> 4) & 15; }
    HOST_DEVICE bool has_fill(int g) const { return paint_kind[2 * g] != kPaintNone; }
    HOST_DEVICE bool has_stroke(int g) const { return paint_kind[2 * g + 1] != kPaintNone; }
};

// The render options shared by the forward and backward passes.
struct RenderOptions {
    int width = 0, height = 0;          // output pixels
    int samples_x = 1, samples_y = 1;   // stratified samples per pixel
    uint64_t seed = 0;
    int filter = kFilterBox;
    float filter_radius = 0.5f;
    bool prefiltering = false;
    bool centre_samples = false;        // samples at stratum centres, no jitter (crisp layers)
    bool premultiplied = false;         // false: un-premultiply each sample (diffvg)
    bool output_sdf = false;
    const float* background = nullptr;  // [B,H,W,4] straight RGBA or null
    int tile_size = 16;
    // Random streams: by default pixel (x, y) of scene b draws the stream of
    // its own place. A layer's image (pydiffvg/layers.py) covers a frame of
    // a larger image instead; with stream_origin [B,3] = (scene, x0, y0) per
    // scene, its pixel (x, y) draws the stream of pixel (x0 + x, y0 + y) of
    // that scene in a stream_width x stream_height image, so a layer samples
    // exactly where the whole canvas would.
    const int* stream_origin = nullptr;
    int stream_width = 0, stream_height = 0;
};

}  // namespace pdvg
