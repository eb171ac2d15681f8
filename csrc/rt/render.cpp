// The 3-D tracer's passes. Each call builds what it needs (BVH, edge list,
// edge CDFs) from the current vertex positions, with scratch memory from the
// context's allocator, then launches one parallel_for per pass. Random
// numbers: Pcg32 keyed by (seed, pass) with sequence = pixel * spp + sample,
// so results do not depend on the thread count.
#include "render.h"

#include <chrono>
#include <vector>

#include "../core/parallel.h"
#include "../sampling/boundary_sampler.h"
#include "path_adjoint.h"

namespace pdvg {
namespace rt {

namespace {

enum StreamKey : uint64_t { kPixelStream = 0, kPrimaryEdgeStream = 1, kSecondaryEdgeStream = 2, kGBufferStream = 3 };

uint64_t stream_key(uint64_t seed, StreamKey stream) { return Pcg32::mix64(seed * 4u + uint64_t(stream)); }

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

template <typename T>
T* upload(const std::vector<T>& host, const ExecutionContext& context) {
    T* device = context.allocate<T>(host.size());
    if (!host.empty()) context.from_host(device, host.data(), host.size());
    return device;
}

// Camera from the packed parameters, and the BVH over the current vertices.
void prepare_scene(SceneView& scene, const float* camera_params, const RenderOptions& options,
                   const ExecutionContext& context, RenderTimings* timings) {
    auto start = std::chrono::steady_clock::now();
    std::vector<float> cam = context.to_host(camera_params, kCameraParams);
    scene.camera = CameraView::from_params(cam.data(), options.width, options.height, options.clip_near,
                                           options.orthographic);
    scene.max_bounces = options.max_bounces;
    std::vector<float> vertices = context.to_host(scene.vertices, size_t(scene.num_vertices) * 3);
    std::vector<int> indices = context.to_host(scene.indices, size_t(scene.num_faces) * 3);
    std::vector<BvhNode> nodes;
    std::vector<BvhTriangle> triangles;
    build_bvh(vertices.data(), indices.data(), scene.num_faces, nodes, triangles);
    scene.bvh.nodes = upload(nodes, context);
    scene.bvh.triangles = upload(triangles, context);
    scene.bvh.num_nodes = int(nodes.size());
    if (scene.num_emissive_faces > 0) {
        EmitterGeometry* emitters = context.allocate<EmitterGeometry>(size_t(scene.num_emissive_faces));
        const SceneView view = scene;
        parallel_for(scene.num_emissive_faces, [=] HOST_DEVICE(int64_t k) {
            emitters[k] = emitter_geometry(view, view.emissive_faces[k]);
        }, context, 256);
        scene.emitters = emitters;
    }
    if (scene.envmap.texels) prepare_envmap(scene.envmap, scene.num_emissive_faces, context);
    if (timings) timings->bvh += seconds_since(start);
}

struct EdgeData {
    MeshEdge* edges = nullptr;
    int count = 0;
};

struct GBufferChannelList {
    int id[8];
    int count;
    int stride;
};

EdgeData upload_edges(const SceneView& scene, const ExecutionContext& context) {
    std::vector<int> indices = context.to_host(scene.indices, size_t(scene.num_faces) * 3);
    std::vector<MeshEdge> edges = extract_edges(indices.data(), scene.num_faces);
    EdgeData data;
    data.edges = upload(edges, context);
    data.count = int(edges.size());
    return data;
}

}  // namespace

void render_forward(SceneView scene, const float* camera_params, const RenderOptions& options, float* image,
                    const ExecutionContext& context, RenderTimings* timings) {
    prepare_scene(scene, camera_params, options, context, timings);
    auto start = std::chrono::steady_clock::now();
    const SceneView s = scene;
    const int width = options.width, spp = options.samples_per_pixel, bounces = options.max_bounces;
    const uint64_t key = stream_key(options.seed, kPixelStream);
    parallel_for(int64_t(options.width) * options.height, [=] HOST_DEVICE(int64_t pixel) {
        int px = int(pixel % width), py = int(pixel / width);
        Vec3f sum;
        for (int k = 0; k < spp; ++k) {
            Pcg32 rng(key, uint64_t(pixel) * uint64_t(spp) + uint64_t(k));
            float sx = float(px) + rng.next_float(), sy = float(py) + rng.next_float();
            Ray ray = camera_ray(s.camera, sx, sy);
            Hit hit = closest_hit(s, ray.origin, ray.direction, ray.t_min, ray.t_max, -1);
            sum += shade_path(s, ray, hit, bounces, rng, nullptr);
        }
        sum = sum / float(spp);
        image[3 * pixel] = sum.x; image[3 * pixel + 1] = sum.y; image[3 * pixel + 2] = sum.z;
    }, context, 8);
    context.synchronize();
    if (timings) timings->trace += seconds_since(start);
}

void render_backward(SceneView scene, const float* camera_params, const RenderOptions& options, const float* d_image,
                     const SceneGrads& grads, const ExecutionContext& context, RenderTimings* timings) {
    prepare_scene(scene, camera_params, options, context, timings);
    const SceneView s = scene;
    const SceneGrads g = grads;
    const int width = options.width, height = options.height, spp = options.samples_per_pixel;
    const int bounces = options.max_bounces;
    auto start = std::chrono::steady_clock::now();
    EdgeData edges = upload_edges(scene, context);
    const MeshEdge* edge_list = edges.edges;
    const int edge_count = edges.count;

    // Secondary edge table: every non-flat edge, by 3-D length plus the mean length.
    SecondaryEdgeTable secondary;
    bool use_secondary = options.secondary_edges && bounces > 0 && edge_count > 0;
    if (use_secondary) {
        float* weights = context.allocate<float>(size_t(edge_count));
        float* cdf = context.allocate<float>(size_t(edge_count) + 1);
        parallel_for(edge_count, [=] HOST_DEVICE(int64_t i) {
            const MeshEdge& e = edge_list[i];
            weights[i] = edge_is_flat(s, e) ? 0.0f : length(load3(s.vertices, e.v1) - load3(s.vertices, e.v0));
        }, context, 256);
        // Mix length with a uniform share (w = length + mean length): a few
        // huge edges (a ground plane's border) must not starve the short
        // silhouettes of small occluders of candidates.
        const double total = parallel_sum(edge_count, [=] HOST_DEVICE(int64_t i) {
            return weights[i] > 0.0f ? weights[i] : 0.0f;
        }, context);
        const double nonzero = parallel_sum(edge_count, [=] HOST_DEVICE(int64_t i) {
            return weights[i] > 0.0f ? 1.0f : 0.0f;
        }, context);
        if (nonzero > 0.0) {
            const float mean = float(total / nonzero);
            parallel_for(edge_count, [=] HOST_DEVICE(int64_t i) {
                if (weights[i] > 0.0f) weights[i] += mean;
            }, context, 256);
        }
        use_secondary = build_boundary_cdf(weights, edge_count, cdf, context) > 0.0;
        secondary.edges = edge_list;
        secondary.cdf = cdf;
        secondary.count = edge_count;
    }
    double edge_setup = seconds_since(start);

    // Interior term (and secondary edges at each path vertex).
    start = std::chrono::steady_clock::now();
    const uint64_t key = stream_key(options.seed, kPixelStream);
    const uint64_t secondary_key = stream_key(options.seed, kSecondaryEdgeStream);
    const bool with_secondary = use_secondary;
    const SecondaryEdgeTable secondary_table = secondary;
    parallel_for(int64_t(width) * height, [=] HOST_DEVICE(int64_t pixel) {
        Vec3f adjoint = load3(d_image, int(pixel)) / float(spp);
        if (is_black(adjoint)) return;
        int px = int(pixel % width), py = int(pixel / width);
        CameraGrad camera_grad;
        for (int k = 0; k < spp; ++k) {
            uint64_t sequence = uint64_t(pixel) * uint64_t(spp) + uint64_t(k);
            Pcg32 rng(key, sequence);
            float sx = float(px) + rng.next_float(), sy = float(py) + rng.next_float();
            Ray ray = camera_ray(s.camera, sx, sy);
            Hit hit = closest_hit(s, ray.origin, ray.direction, ray.t_min, ray.t_max, -1);
            PathRecord record;
            shade_path(s, ray, hit, bounces, rng, &record);
            Pcg32 edge_rng(secondary_key, sequence);
            path_adjoint(s, g, record, adjoint, sx, sy, with_secondary ? &secondary_table : nullptr, edge_rng,
                         camera_grad);
        }
        camera_grad.add_to_buffer(g.camera);
    }, context, 8);
    context.synchronize();
    if (timings) timings->trace += seconds_since(start);

    // Primary edges through the shared boundary sampler.
    start = std::chrono::steady_clock::now();
    if (options.primary_edges && edge_count > 0) {
        PrimaryEdgePiece* pieces = context.allocate<PrimaryEdgePiece>(size_t(edge_count));
        float* weights = context.allocate<float>(size_t(edge_count));
        float* cdf = context.allocate<float>(size_t(edge_count) + 1);
        const bool creases = s.normals == nullptr;
        parallel_for(edge_count, [=] HOST_DEVICE(int64_t i) {
            PrimaryEdgePiece piece;
            float w = make_primary_piece(s, edge_list[i], creases, piece);
            piece.edge = int(i);
            pieces[i] = piece;
            weights[i] = w;
        }, context, 256);
        if (build_boundary_cdf(weights, edge_count, cdf, context) > 0.0) {
            const PrimaryEdgeTable table{pieces};
            const int64_t num_samples = int64_t(width) * height * spp;
            const uint64_t edge_key = stream_key(options.seed, kPrimaryEdgeStream);
            // Offset of the two side rays from the edge, in pixels.
            const float offset = 1e-3f;
            parallel_for(num_samples, [=] HOST_DEVICE(int64_t i) {
                Pcg32 rng(edge_key, uint64_t(i));
                float u0 = rng.next_float(), u1 = rng.next_float();
                BoundarySample b = sample_boundary(table, cdf, edge_count, u0, u1);
                if (b.piece < 0) return;
                int px = clamp_value(int(floorf(b.point.x)), 0, width - 1);
                int py = clamp_value(int(floorf(b.point.y)), 0, height - 1);
                Vec3f adjoint = load3(d_image, py * width + px);
                if (is_black(adjoint)) return;
                // Both sides use the same random numbers: correlated paths
                // make the difference L_in - L_out far less noisy.
                uint64_t side_key = rng.next_uint(), side_sequence = rng.next_uint();
                Vec2f inside = b.point - b.normal * offset, outside = b.point + b.normal * offset;
                Ray ray_in = camera_ray(s.camera, inside.x, inside.y);
                Ray ray_out = camera_ray(s.camera, outside.x, outside.y);
                Pcg32 rng_in(side_key, side_sequence), rng_out(side_key, side_sequence);
                Vec3f l_in = shade_path(s, ray_in, closest_hit(s, ray_in.origin, ray_in.direction, ray_in.t_min,
                                                               ray_in.t_max, -1), bounces, rng_in, nullptr);
                Vec3f l_out = shade_path(s, ray_out, closest_hit(s, ray_out.origin, ray_out.direction, ray_out.t_min,
                                                                 ray_out.t_max, -1), bounces, rng_out, nullptr);
                float weight = dot(adjoint, l_in - l_out) / (b.pdf * float(num_samples));
                if (weight == 0.0f) return;
                CameraGrad camera_grad;
                const PrimaryEdgePiece& piece = table.pieces[b.piece];
                scatter_primary_edge(s, g, edge_list[piece.edge], piece, b.point, b.normal, weight, camera_grad);
                camera_grad.add_to_buffer(g.camera);
            }, context, 64);
        }
    }
    context.synchronize();
    if (timings) timings->edges += edge_setup + seconds_since(start);
}

void render_gbuffer(SceneView scene, const float* camera_params, const RenderOptions& options, const int* channels,
                    int num_channels, float* out, const ExecutionContext& context) {
    prepare_scene(scene, camera_params, options, context, nullptr);
    const SceneView s = scene;
    int ids[8];
    int stride = 0;
    if (num_channels > 8) throw InvalidArgument("render_g_buffer(): at most 8 channels");
    for (int c = 0; c < num_channels; ++c) {
        ids[c] = channels[c];
        stride += gbuffer_channel_width(channels[c]);
    }
    GBufferChannelList list;
    for (int c = 0; c < 8; ++c) list.id[c] = c < num_channels ? ids[c] : 0;
    list.count = num_channels;
    list.stride = stride;
    const int width = options.width, spp = options.samples_per_pixel;
    const uint64_t key = stream_key(options.seed, kGBufferStream);
    parallel_for(int64_t(options.width) * options.height, [=] HOST_DEVICE(int64_t pixel) {
        int px = int(pixel % width), py = int(pixel / width);
        float* o = out + pixel * list.stride;
        for (int k = 0; k < spp; ++k) {
            Pcg32 rng(key, uint64_t(pixel) * uint64_t(spp) + uint64_t(k));
            float sx = float(px) + rng.next_float(), sy = float(py) + rng.next_float();
            Ray ray = camera_ray(s.camera, sx, sy);
            Hit hit = closest_hit(s, ray.origin, ray.direction, ray.t_min, ray.t_max, -1);
            if (hit.face < 0) continue;
            SurfacePoint sp = surface_point(s, hit.face, hit.b1, hit.b2);
            float w = 1.0f / float(spp);
            int at = 0;
            for (int c = 0; c < list.count; ++c) {
                Vec3f value;
                switch (list.id[c]) {
                    case kDepth: value.x = hit.t; break;
                    case kPosition: value = sp.position; break;
                    case kGeometryNormal: value = sp.geometric_normal; break;
                    case kShadingNormal: value = sp.shading_normal; break;
                    case kAlbedo: value = surface_material(s, hit.face, hit.b1, hit.b2).diffuse; break;
                    default: value.x = 1.0f; break;
                }
                int width_c = gbuffer_channel_width(list.id[c]);
                for (int k2 = 0; k2 < width_c; ++k2) o[at + k2] += value[k2] * w;
                at += width_c;
            }
        }
    }, context, 8);
    context.synchronize();
}

void trace_rays(SceneView scene, const float* origins, const float* directions, int n, int* out_face, float* out_t,
                const ExecutionContext& context) {
    RenderOptions options;
    std::vector<float> identity_camera(kCameraParams, 0.0f);
    identity_camera[12] = 1.0f;
    float* camera = upload(identity_camera, context);
    prepare_scene(scene, camera, options, context, nullptr);
    const SceneView s = scene;
    parallel_for(n, [=] HOST_DEVICE(int64_t i) {
        Hit hit = closest_hit(s, load3(origins, int(i)), load3(directions, int(i)), 0.0f, 3.0e38f, -1);
        out_face[i] = hit.face;
        out_t[i] = hit.face >= 0 ? hit.t : -1.0f;
    }, context, 64);
    context.synchronize();
}

void primary_edge_weights(SceneView scene, const float* camera_params, const RenderOptions& options, bool creases,
                          float* out_weights, int max_edges, const ExecutionContext& context) {
    prepare_scene(scene, camera_params, options, context, nullptr);
    const SceneView s = scene;
    EdgeData edges = upload_edges(scene, context);
    const MeshEdge* edge_list = edges.edges;
    int count = edges.count < max_edges ? edges.count : max_edges;
    parallel_for(count, [=] HOST_DEVICE(int64_t i) {
        PrimaryEdgePiece piece;
        out_weights[i] = make_primary_piece(s, edge_list[i], creases, piece);
    }, context, 256);
    context.synchronize();
}

void project_points(const float* camera_params, const RenderOptions& options, const float* points, int n,
                    float* out, const ExecutionContext& context) {
    std::vector<float> cam = context.to_host(camera_params, kCameraParams);
    const CameraView camera = CameraView::from_params(cam.data(), options.width, options.height, options.clip_near,
                                                      options.orthographic);
    parallel_for(n, [=] HOST_DEVICE(int64_t i) {
        Vec2f p = project_point(camera, load3(points, int(i)));
        out[2 * i] = p.x;
        out[2 * i + 1] = p.y;
    }, context, 256);
    context.synchronize();
}

}  // namespace rt
}  // namespace pdvg
