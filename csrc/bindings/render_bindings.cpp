// Bindings of the 2-D renderer. Python (pydiffvg/render.py) passes the packed
// scene as a dict of raw addresses and counts; this file reads the dict into
// a SceneView, reads the options, and launches. No math here.
#include <pybind11/pybind11.h>

#include <string>

#include "context_binding.h"
#include "vg/render.h"

namespace py = pybind11;
using namespace pybind11_pdvg;

namespace {

template <typename T>
const T* address(const py::dict& d, const char* key) {
    if (!d.contains(key)) throw pdvg::InvalidArgument(std::string("internal error: packed scene lacks '") + key + "'");
    return pointer<const T>(d[key].cast<std::uintptr_t>());
}

int count(const py::dict& d, const char* key) {
    if (!d.contains(key)) throw pdvg::InvalidArgument(std::string("internal error: packed scene lacks '") + key + "'");
    return d[key].cast<int>();
}

pdvg::SceneView scene_from_dict(const py::dict& d) {
    pdvg::SceneView s;
    s.num_shapes = count(d, "num_shapes");
    s.shape_kind = address<int>(d, "shape_kind");
    s.shape_params = address<float>(d, "shape_params");
    s.shape_width = address<float>(d, "shape_width");
    s.shape_segment_begin = address<int>(d, "shape_segment_begin");
    s.shape_closed = address<int>(d, "shape_closed");
    s.shape_stroke_style = address<int>(d, "shape_stroke_style");
    s.shape_miter_limit = address<float>(d, "shape_miter_limit");
    s.num_points = count(d, "num_points");
    s.points = address<float>(d, "points");
    s.point_width = address<float>(d, "point_width");
    s.num_segments = count(d, "num_segments");
    s.segment_degree = address<int>(d, "segment_degree");
    s.segment_points = address<int>(d, "segment_points");
    s.num_groups = count(d, "num_groups");
    s.num_pairs = count(d, "num_pairs");
    s.group_pair_begin = address<int>(d, "group_pair_begin");
    s.pair_shape = address<int>(d, "pair_shape");
    s.pair_group = address<int>(d, "pair_group");
    s.group_even_odd = address<int>(d, "group_even_odd");
    s.group_to_output = address<float>(d, "group_to_output");
    s.group_to_shape = address<float>(d, "group_to_shape");
    s.paint_kind = address<int>(d, "paint_kind");
    s.paint_params = address<float>(d, "paint_params");
    s.paint_stop_begin = address<int>(d, "paint_stop_begin");
    s.stop_offsets = address<float>(d, "stop_offsets");
    s.stop_colors = address<float>(d, "stop_colors");
    s.num_scenes = count(d, "num_scenes");
    s.scene_group_begin = address<int>(d, "scene_group_begin");
    s.group_scene = address<int>(d, "group_scene");
    return s;
}

pdvg::RenderOptions options_from_dict(const py::dict& d) {
    pdvg::RenderOptions o;
    o.width = count(d, "width");
    o.height = count(d, "height");
    o.samples_x = count(d, "samples_x");
    o.samples_y = count(d, "samples_y");
    o.seed = d["seed"].cast<uint64_t>();
    o.filter = count(d, "filter");
    o.filter_radius = d["filter_radius"].cast<float>();
    o.prefiltering = d["prefiltering"].cast<bool>();
    o.centre_samples = d.contains("centre_samples") && d["centre_samples"].cast<bool>();
    o.premultiplied = d["premultiplied"].cast<bool>();
    o.output_sdf = d["output_sdf"].cast<bool>();
    o.background = d["background"].cast<std::uintptr_t>() ? address<float>(d, "background") : nullptr;
    if (d.contains("stream_origin") && d["stream_origin"].cast<std::uintptr_t>()) {
        o.stream_origin = address<int>(d, "stream_origin");
        o.stream_width = count(d, "stream_width");
        o.stream_height = count(d, "stream_height");
        if (o.stream_width <= 0 || o.stream_height <= 0)
            throw pdvg::InvalidArgument("render: stream_width and stream_height must be positive");
    }
    if (o.width <= 0 || o.height <= 0) throw pdvg::InvalidArgument("render: width and height must be positive");
    if (o.samples_x <= 0 || o.samples_y <= 0) throw pdvg::InvalidArgument("render: sample counts must be positive");
    if (!(o.filter_radius > 0.0f)) throw pdvg::InvalidArgument("render: filter radius must be positive");
    return o;
}

}  // namespace

void register_render_bindings(py::module_& m) {
    // dynamic_attr: Python keeps the forward call's scratch (which the
    // prepared scene points into) alive as an attribute of the log.
    py::class_<pdvg::LayerLog>(m, "LayerLog",
                               "The layers a CPU forward pass composited at each sample, and its prepared scene, "
                               "kept for its backward pass (internal).", py::dynamic_attr())
        .def(py::init<>())
        .def_property_readonly("complete", [](const pdvg::LayerLog& l) { return l.complete; })
        .def_property_readonly("has_prepared", [](const pdvg::LayerLog& l) { return l.has_prepared; })
        .def_property_readonly("nbytes", &pdvg::LayerLog::bytes);
    m.def("render_forward",
          [](int backend, int device, std::uintptr_t stream, int threads, py::function allocator,
             py::dict scene, py::dict options, std::uintptr_t image, pdvg::LayerLog* log) {
              pdvg::ExecutionContext context = make_context(backend, device, stream, threads, allocator);
              auto packed = scene_from_dict(scene);
              auto settings = options_from_dict(options);
              without_gil([&] { pdvg::render_forward(packed, settings, pointer<float>(image), context, log); });
          },
          py::arg("backend"), py::arg("device"), py::arg("stream"), py::arg("threads"), py::arg("allocator"),
          py::arg("scene"), py::arg("options"), py::arg("image"), py::arg("log") = nullptr,
          "Renders the packed scene into image [B,H,W,C], filling `log` when given (internal).");
    m.def("render_backward",
          [](int backend, int device, std::uintptr_t stream, int threads, py::function allocator,
             py::dict scene, py::dict options, py::dict backward, std::uintptr_t image, std::uintptr_t grad_image,
             py::dict grads, const pdvg::LayerLog* log) {
              pdvg::ExecutionContext context = make_context(backend, device, stream, threads, allocator);
              pdvg::BackwardOptions b;
              b.boundary_density = backward["boundary_density"].cast<float>();
              b.boundary_term = backward["boundary_term"].cast<bool>();
              b.area_term = backward["area_term"].cast<bool>();
              if (backward.contains("cell_programs")) b.cell_programs = backward["cell_programs"].cast<bool>();
              if (!(b.boundary_density > 0.0f) || b.boundary_density > 1e6f)
                  throw pdvg::InvalidArgument("render: boundary_density must be in (0, 1e6]");
              auto grad = [&](const char* key) -> float* {
                  if (!grads.contains(key)) return nullptr;
                  return pointer<float>(grads[key].cast<std::uintptr_t>());
              };
              pdvg::SceneGradients g;
              g.shape_params = grad("shape_params");
              g.shape_width = grad("shape_width");
              g.points = grad("points");
              g.point_width = grad("point_width");
              g.group_to_output = grad("group_to_output");
              g.group_to_shape = grad("group_to_shape");
              g.paint_params = grad("paint_params");
              g.stop_offsets = grad("stop_offsets");
              g.stop_colors = grad("stop_colors");
              g.background = grad("background");
              g.filter_radius = grad("filter_radius");
              auto packed = scene_from_dict(scene);
              auto settings = options_from_dict(options);
              without_gil([&] {
                  pdvg::render_backward(packed, settings, b, pointer<const float>(image),
                                        pointer<const float>(grad_image), g, context, log);
              });
          },
          py::arg("backend"), py::arg("device"), py::arg("stream"), py::arg("threads"), py::arg("allocator"),
          py::arg("scene"), py::arg("options"), py::arg("backward"), py::arg("image"), py::arg("grad_image"),
          py::arg("grads"), py::arg("log") = nullptr,
          "Accumulates scene gradients of sum(grad_image * image), replaying `log` when it is the forward pass's "
          "(internal).");
}
