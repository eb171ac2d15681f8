// Bindings of the 3-D tracer (csrc/rt/). Python passes data_ptr() integers
// in two dicts (scene buffers and sizes, options); this file checks them and
// launches. No math here.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "context_binding.h"
#include "core/errors.h"
#include "rt/mesh.h"
#include "rt/bsdf.h"
#include "rt/render.h"

namespace py = pybind11;
using pybind11_pdvg::make_context;
using pybind11_pdvg::pointer;
using pybind11_pdvg::without_gil;

namespace {

std::uintptr_t get_address(const py::dict& d, const char* key, bool required = true) {
    if (!d.contains(key)) {
        if (required) pdvg::throw_invalid("render3d: internal scene dict lacks '", key, "'");
        return 0;
    }
    py::object v = d[key];
    if (v.is_none()) {
        if (required) pdvg::throw_invalid("render3d: '", key, "' must not be None");
        return 0;
    }
    return v.cast<std::uintptr_t>();
}

int get_int(const py::dict& d, const char* key, int fallback) {
    return d.contains(key) ? d[key].cast<int>() : fallback;
}

pdvg::rt::SceneView scene_from_dict(const py::dict& d) {
    using pdvg::rt::SceneView;
    SceneView s;
    s.vertices = pointer<const float>(get_address(d, "vertices"));
    s.normals = pointer<const float>(get_address(d, "normals", false));
    s.indices = pointer<const int>(get_address(d, "indices"));
    s.face_material = pointer<const int>(get_address(d, "face_material"));
    s.face_light = pointer<const int>(get_address(d, "face_light"));
    s.face_two_sided = pointer<const int>(get_address(d, "face_two_sided"));
    s.diffuse = pointer<const float>(get_address(d, "diffuse"));
    s.specular = pointer<const float>(get_address(d, "specular", false));
    s.roughness = pointer<const float>(get_address(d, "roughness", false));
    s.light_intensity = pointer<const float>(get_address(d, "light_intensity", false));
    s.light_two_sided = pointer<const int>(get_address(d, "light_two_sided", false));
    s.emissive_faces = pointer<const int>(get_address(d, "emissive_faces", false));
    s.uvs = pointer<const float>(get_address(d, "uvs", false));
    s.texels = pointer<const float>(get_address(d, "texels", false));
    s.material_textures = pointer<const int>(get_address(d, "material_textures", false));
    s.material_model = pointer<const int>(get_address(d, "material_model", false));
    s.material_params = pointer<const float>(get_address(d, "material_params", false));
    if (s.material_model && !s.material_params)
        pdvg::throw_invalid("render3d: microfacet materials need the material_params buffer");
    if (s.material_textures && (!s.texels || !s.uvs))
        pdvg::throw_invalid("render3d: textured materials need the texel and uv buffers");
    // Environment map: (H, W, 3) texels, its size and a 3x3 row-major rotation.
    s.envmap.texels = pointer<const float>(get_address(d, "envmap", false));
    if (s.envmap.texels) {
        s.envmap.width = get_int(d, "envmap_width", 0);
        s.envmap.height = get_int(d, "envmap_height", 0);
        if (s.envmap.width < 1 || s.envmap.height < 2)
            pdvg::throw_invalid("render3d: the environment map must be at least 2 x 1 texels, got ",
                                s.envmap.height, " x ", s.envmap.width);
        std::vector<float> m = d.contains("envmap_to_world") ? d["envmap_to_world"].cast<std::vector<float>>()
                                                              : std::vector<float>{1, 0, 0, 0, 1, 0, 0, 0, 1};
        if (m.size() != 9) pdvg::throw_invalid("render3d: envmap_to_world must hold 9 floats");
        for (int k = 0; k < 9; ++k) s.envmap.to_world[k] = m[size_t(k)];
    }
    s.num_vertices = get_int(d, "num_vertices", 0);
    s.num_faces = get_int(d, "num_faces", 0);
    s.num_materials = get_int(d, "num_materials", 0);
    s.num_lights = get_int(d, "num_lights", 0);
    s.num_emissive_faces = get_int(d, "num_emissive_faces", 0);
    if (s.num_vertices < 0 || s.num_faces < 0 || s.num_materials < 0 || s.num_lights < 0 || s.num_emissive_faces < 0)
        pdvg::throw_invalid("render3d: negative sizes in the packed scene");
    if (s.num_lights > 0 && (!s.light_intensity || !s.light_two_sided))
        pdvg::throw_invalid("render3d: lights given without intensities");
    if (s.num_emissive_faces > 0 && !s.emissive_faces)
        pdvg::throw_invalid("render3d: emissive faces count without a buffer");
    return s;
}

pdvg::rt::RenderOptions options_from_dict(const py::dict& d) {
    pdvg::rt::RenderOptions o;
    o.width = get_int(d, "width", 0);
    o.height = get_int(d, "height", 0);
    o.samples_per_pixel = get_int(d, "samples_per_pixel", 1);
    o.max_bounces = get_int(d, "max_bounces", 1);
    o.seed = d.contains("seed") ? d["seed"].cast<uint64_t>() : 0u;
    o.orthographic = d.contains("orthographic") && d["orthographic"].cast<bool>();
    o.clip_near = d.contains("clip_near") ? d["clip_near"].cast<float>() : 1e-2f;
    o.primary_edges = !d.contains("primary_edges") || d["primary_edges"].cast<bool>();
    o.secondary_edges = !d.contains("secondary_edges") || d["secondary_edges"].cast<bool>();
    if (o.width <= 0 || o.height <= 0)
        pdvg::throw_invalid("render3d: resolution must be positive, got (", o.height, ", ", o.width, ")");
    if (o.samples_per_pixel <= 0)
        pdvg::throw_invalid("render3d: num_samples must be positive, got ", o.samples_per_pixel);
    if (o.max_bounces < 0 || o.max_bounces > pdvg::rt::kMaxBounces)
        pdvg::throw_invalid("render3d: max_bounces must be in [0, ", pdvg::rt::kMaxBounces, "], got ", o.max_bounces);
    if (!(o.clip_near > 0.0f)) pdvg::throw_invalid("render3d: clip_near must be positive, got ", o.clip_near);
    return o;
}

py::dict timings_dict(const pdvg::rt::RenderTimings& t) {
    py::dict d;
    d["bvh"] = t.bvh;
    d["trace"] = t.trace;
    d["edges"] = t.edges;
    return d;
}

}  // namespace

void register_rt_bindings(py::module_& m) {
    m.def("rt_render_forward",
          [](int backend, int device_index, std::uintptr_t stream, int num_threads, py::function allocator,
             py::dict scene, std::uintptr_t camera, py::dict options, std::uintptr_t image) {
              auto context = make_context(backend, device_index, stream, num_threads, allocator);
              pdvg::rt::RenderTimings timings;
              auto packed = scene_from_dict(scene);
              auto settings = options_from_dict(options);
              without_gil([&] {
                  pdvg::rt::render_forward(packed, pointer<const float>(camera), settings, pointer<float>(image),
                                           context, &timings);
              });
              return timings_dict(timings);
          });
    m.def("rt_render_backward",
          [](int backend, int device_index, std::uintptr_t stream, int num_threads, py::function allocator,
             py::dict scene, std::uintptr_t camera, py::dict options, std::uintptr_t d_image, py::dict grads) {
              auto context = make_context(backend, device_index, stream, num_threads, allocator);
              pdvg::rt::SceneGrads g;
              g.vertices = pointer<float>(get_address(grads, "vertices", false));
              g.normals = pointer<float>(get_address(grads, "normals", false));
              g.camera = pointer<float>(get_address(grads, "camera", false));
              g.diffuse = pointer<float>(get_address(grads, "diffuse", false));
              g.specular = pointer<float>(get_address(grads, "specular", false));
              g.roughness = pointer<float>(get_address(grads, "roughness", false));
              g.light_intensity = pointer<float>(get_address(grads, "light_intensity", false));
              g.uvs = pointer<float>(get_address(grads, "uvs", false));
              g.texels = pointer<float>(get_address(grads, "texels", false));
              g.envmap = pointer<float>(get_address(grads, "envmap", false));
              pdvg::rt::RenderTimings timings;
              auto packed = scene_from_dict(scene);
              auto settings = options_from_dict(options);
              without_gil([&] {
                  pdvg::rt::render_backward(packed, pointer<const float>(camera), settings,
                                            pointer<const float>(d_image), g, context, &timings);
              });
              return timings_dict(timings);
          });
    m.def("rt_render_gbuffer",
          [](int backend, int device_index, std::uintptr_t stream, int num_threads, py::function allocator,
             py::dict scene, std::uintptr_t camera, py::dict options, std::vector<int> channels, std::uintptr_t out) {
              for (int c : channels)
                  if (c < 0 || c > pdvg::rt::kAlpha) pdvg::throw_invalid("render_g_buffer(): unknown channel id ", c);
              if (channels.empty() || channels.size() > 8)
                  pdvg::throw_invalid("render_g_buffer(): 1 to 8 channels, got ", channels.size());
              auto context = make_context(backend, device_index, stream, num_threads, allocator);
              pdvg::rt::render_gbuffer(scene_from_dict(scene), pointer<const float>(camera), options_from_dict(options),
                                       channels.data(), int(channels.size()), pointer<float>(out), context);
          });
    m.def("rt_gbuffer_channel_width", [](int channel) { return pdvg::rt::gbuffer_channel_width(channel); });
    m.def("rt_trace_rays",
          [](int backend, int device_index, std::uintptr_t stream, int num_threads, py::function allocator,
             py::dict scene, std::uintptr_t origins, std::uintptr_t directions, int n, std::uintptr_t out_face,
             std::uintptr_t out_t) {
              if (n < 0) pdvg::throw_invalid("rt_trace_rays: negative ray count ", n);
              auto context = make_context(backend, device_index, stream, num_threads, allocator);
              pdvg::rt::trace_rays(scene_from_dict(scene), pointer<const float>(origins),
                                   pointer<const float>(directions), n, pointer<int>(out_face), pointer<float>(out_t),
                                   context);
          });
    m.def("rt_project_points",
          [](int backend, int device_index, std::uintptr_t stream, int num_threads, py::function allocator,
             std::uintptr_t camera, py::dict options, std::uintptr_t points, int n, std::uintptr_t out) {
              if (n < 0) pdvg::throw_invalid("rt_project_points: negative point count ", n);
              auto context = make_context(backend, device_index, stream, num_threads, allocator);
              pdvg::rt::project_points(pointer<const float>(camera), options_from_dict(options),
                                       pointer<const float>(points), n, pointer<float>(out), context);
          });
    m.def("rt_primary_edge_weights",
          [](int backend, int device_index, std::uintptr_t stream, int num_threads, py::function allocator,
             py::dict scene, std::uintptr_t camera, py::dict options, bool creases, std::uintptr_t out, int max_edges) {
              auto context = make_context(backend, device_index, stream, num_threads, allocator);
              pdvg::rt::primary_edge_weights(scene_from_dict(scene), pointer<const float>(camera),
                                             options_from_dict(options), creases, pointer<float>(out), max_edges,
                                             context);
          });
    // Host-only: the rough plastic's tables (microfacet.h) for relative index eta, into
    // kPlasticTableSize floats of a CPU buffer.
    m.attr("rt_plastic_table_size") = pdvg::rt::kPlasticTableSize;
    m.def("rt_plastic_table", [](float eta, std::uintptr_t out) {
        if (!(eta > 0.0f) || eta == 1.0f || !std::isfinite(eta))
            pdvg::throw_invalid("rt_plastic_table: eta must be positive, finite and not 1, got ", eta);
        py::gil_scoped_release release;
        pdvg::rt::build_plastic_table(eta, pointer<float>(out));
    });
    // Host-only test hook (CPU buffers): evaluates, samples and differentiates one
    // material's BSDF for `count` direction triples (microfacet.h, BsdfProbe).
    m.def("rt_bsdf_probe", [](int model, std::vector<float> params, std::uintptr_t table, std::vector<float> diffuse,
                              std::vector<float> specular, float roughness, int count, std::uintptr_t normals,
                              std::uintptr_t wo, std::uintptr_t wi, std::uintptr_t u, std::uintptr_t d_value,
                              std::uintptr_t value, std::uintptr_t pdf, std::uintptr_t sampled, std::uintptr_t grads) {
        if (count < 0) pdvg::throw_invalid("rt_bsdf_probe: negative count ", count);
        if (model < 0 || model > 2) pdvg::throw_invalid("rt_bsdf_probe: unknown model ", model);
        if (params.size() != 8 || diffuse.size() != 3 || specular.size() != 3)
            pdvg::throw_invalid("rt_bsdf_probe: params must hold 8 floats, diffuse and specular 3");
        if (model == pdvg::rt::kModelRoughPlastic && !table)
            pdvg::throw_invalid("rt_bsdf_probe: the plastic needs its table");
        pdvg::rt::Material mat;
        mat.diffuse = pdvg::Vec3f(diffuse[0], diffuse[1], diffuse[2]);
        mat.specular = pdvg::Vec3f(specular[0], specular[1], specular[2]);
        mat.roughness = roughness;
        int packed_model[2] = {model, 0};
        mat.microfacet = pdvg::rt::load_microfacet_params(packed_model, params.data(), 0);
        mat.microfacet.table = pointer<const float>(table);
        pdvg::rt::BsdfProbe probe{mat, pointer<const float>(normals), pointer<const float>(wo),
                                  pointer<const float>(wi), pointer<const float>(u), pointer<const float>(d_value),
                                  pointer<float>(value), pointer<float>(pdf), pointer<float>(sampled),
                                  pointer<float>(grads)};
        py::gil_scoped_release release;
        pdvg::rt::bsdf_probe(probe, count);
    });
    // Host-only (CPU tensors): the edge list of an index buffer, as (E, 4) rows v0, v1, f0, f1.
    m.def("rt_extract_edges", [](std::uintptr_t indices, int num_faces) {
        if (num_faces < 0) pdvg::throw_invalid("rt_extract_edges: negative face count ", num_faces);
        auto edges = pdvg::rt::extract_edges(pointer<const int>(indices), num_faces);
        std::vector<std::vector<int>> rows;
        rows.reserve(edges.size());
        for (auto& e : edges) rows.push_back({e.v0, e.v1, e.f0, e.f1});
        return rows;
    });
}
