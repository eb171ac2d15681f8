// Test entry points for the geometry kernels: pydiffvg._core.geometry.
// Argument checking and conversion only; the math lives in csrc/geometry/.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "geometry/closest_point.h"
#include "geometry/roots.h"
#include "geometry/winding.h"
#include "vg/segment_cache.h"

namespace py = pybind11;

namespace {

using Point = std::array<float, 2>;
using pdvg::Segment;
using pdvg::Vec2f;

Vec2f to_vec(const Point& p) { return Vec2f(p[0], p[1]); }
py::tuple to_tuple(Vec2f p) { return py::make_tuple(p.x, p.y); }

// A Bézier segment from 2, 3 or 4 control points (degree 1, 2 or 3).
Segment to_segment(const char* function, const std::vector<Point>& points) {
    if (points.size() < 2 || points.size() > 4)
        pdvg::throw_invalid(function, "(): 'points' must hold 2, 3 or 4 (x, y) pairs, got ", points.size());
    Segment s;
    s.degree = int(points.size()) - 1;
    for (int k = 0; k < 4; ++k) s.p[k] = to_vec(points[std::min<size_t>(k, points.size() - 1)]);
    return s;
}

py::list segment_points(const Segment& s) {
    py::list out;
    for (int k = 0; k <= s.degree; ++k) out.append(to_tuple(s.p[k]));
    return out;
}

py::tuple closest_to_tuple(const pdvg::ClosestPoint& c) {
    return py::make_tuple(c.t, to_tuple(c.point), c.distance);
}

// A one-segment scene whose per-call segment caches are built as a render
// builds them.
struct OneSegmentScene {
    Segment segment;
    std::vector<float> xy, monotone, boxes, flat;
    int indices[4];
    pdvg::SceneView scene;

    explicit OneSegmentScene(const Segment& s)
        : segment(s), monotone(pdvg::kSegmentMonotoneFloats), boxes(16), flat(pdvg::kFlatFloats) {
        for (int k = 0; k <= s.degree; ++k) { xy.push_back(s.p[k].x); xy.push_back(s.p[k].y); }
        for (int j = 0; j < 4; ++j) indices[j] = std::min(j, s.degree);
        scene.points = xy.data();
        scene.segment_degree = &segment.degree;
        scene.segment_points = indices;
        pdvg::build_segment_cache(scene, 0, monotone.data(), boxes.data(), flat.data());
        scene.segment_monotone = monotone.data();
        scene.segment_boxes = boxes.data();
        scene.segment_flat = flat.data();
    }
    OneSegmentScene(const OneSegmentScene&) = delete;
    OneSegmentScene& operator=(const OneSegmentScene&) = delete;
};

}  // namespace

void register_geometry_bindings(py::module_& m) {
    py::module_ g = m.def_submodule("geometry", "Test entry points for the geometry kernels (internal).");

    g.def("solve_quadratic", [](double a, double b, double c) {
        double roots[2];
        int n = pdvg::solve_quadratic(a, b, c, roots);
        return std::vector<double>(roots, roots + n);
    }, py::arg("a"), py::arg("b"), py::arg("c"), "Real roots of a t^2 + b t + c, ascending.");

    g.def("solve_cubic", [](double a, double b, double c, double d) {
        double roots[3];
        int n = pdvg::solve_cubic(a, b, c, d, roots);
        return std::vector<double>(roots, roots + n);
    }, py::arg("a"), py::arg("b"), py::arg("c"), py::arg("d"), "Real roots of a t^3 + b t^2 + c t + d, ascending.");

    g.def("polynomial_roots", [](const std::vector<double>& coefficients, double t0, double t1) {
        if (coefficients.empty() || coefficients.size() > 6)
            pdvg::throw_invalid("polynomial_roots(): 'coefficients' must hold 1 to 6 values (degree <= 5), got ",
                                coefficients.size());
        double roots[5];
        int n = pdvg::polynomial_roots_in_interval(coefficients.data(), int(coefficients.size()) - 1, t0, t1, roots);
        return std::vector<double>(roots, roots + n);
    }, py::arg("coefficients"), py::arg("t0"), py::arg("t1"),
       "Real roots in [t0, t1] of sum_k coefficients[k] t^k (lowest degree first), ascending.");

    g.def("closest_point", [](const std::vector<Point>& points, Point p) {
        return closest_to_tuple(pdvg::closest_point_on_segment(to_segment("closest_point", points), to_vec(p)));
    }, py::arg("points"), py::arg("p"), "(t, (x, y), distance) of the closest point on a Bézier segment.");

    g.def("closest_point_within", [](const std::vector<Point>& points, Point p, float limit) -> py::object {
        pdvg::ClosestPoint c =
            pdvg::closest_point_on_segment_within(to_segment("closest_point_within", points), to_vec(p), limit);
        if (!(c.distance < INFINITY)) return py::none();
        return closest_to_tuple(c);
    }, py::arg("points"), py::arg("p"), py::arg("limit"),
       "closest_point, but only when nearer than limit (else None): the bounded search prefiltering uses.");
    g.def("within_distance", [](const std::vector<Point>& points, Point p, float r) {
        return pdvg::segment_within_distance(to_segment("within_distance", points), to_vec(p), r);
    }, py::arg("points"), py::arg("p"), py::arg("r"),
       "Whether some point of a Bézier segment lies within distance r of p (the stroke membership test).");

    g.def("within_distance_flat", [](const std::vector<Point>& points, Point p, float r) {
        pdvg::Segment s = to_segment("within_distance_flat", points);
        if (s.degree == 1) return pdvg::segment_within_distance(s, to_vec(p), r);
        float flat[pdvg::kFlatFloats];
        pdvg::flatten_segment(s, flat);
        return pdvg::flat_within_distance(s, flat, to_vec(p), r);
    }, py::arg("points"), py::arg("p"), py::arg("r"),
       "within_distance through the per-call flattening into chords (what stroke sampling uses).");
    g.def("closest_point_within_flat", [](const std::vector<Point>& points, Point p, float limit) -> py::object {
        pdvg::Segment s = to_segment("closest_point_within_flat", points);
        float flat[pdvg::kFlatFloats];
        pdvg::flatten_segment(s, flat);
        pdvg::ClosestPoint c = pdvg::flat_closest_point_within(s, flat, to_vec(p), limit);
        if (!(c.distance < INFINITY)) return py::none();
        return closest_to_tuple(c);
    }, py::arg("points"), py::arg("p"), py::arg("limit"),
       "closest_point_within through the per-call flattening into chords (what prefiltering uses).");

    g.def("closest_point_ellipse", [](Point center, Point radius, Point p) {
        return closest_to_tuple(pdvg::closest_point_on_ellipse(to_vec(center), to_vec(radius), to_vec(p)));
    }, py::arg("center"), py::arg("radius"), py::arg("p"), "(angle, (x, y), distance) on an ellipse.");

    g.def("closest_point_rect", [](Point lo, Point hi, Point p) {
        return closest_to_tuple(pdvg::closest_point_on_rect(to_vec(lo), to_vec(hi), to_vec(p)));
    }, py::arg("lo"), py::arg("hi"), py::arg("p"), "(perimeter t, (x, y), distance) on a rectangle's boundary.");

    g.def("winding_contribution", [](const std::vector<Point>& points, Point p) {
        return pdvg::winding_contribution(to_segment("winding_contribution", points), to_vec(p));
    }, py::arg("points"), py::arg("p"), "Signed crossings of the ray from p toward +x with one segment.");

    g.def("winding_contribution_cached", [](const std::vector<Point>& points, Point p) {
        OneSegmentScene one(to_segment("winding_contribution_cached", points));
        return pdvg::cached_winding_contribution(one.scene, 0, to_vec(p));
    }, py::arg("points"), py::arg("p"), "winding_contribution through the per-call cache that renders use.");

    g.def("within_distance_cached", [](const std::vector<Point>& points, Point p, float r) {
        OneSegmentScene one(to_segment("within_distance_cached", points));
        unsigned quarters = pdvg::cached_quarters_within(one.scene, 0, to_vec(p), r * r);
        return quarters != 0 && pdvg::cached_within_distance(one.scene, 0, to_vec(p), r, quarters);
    }, py::arg("points"), py::arg("p"), py::arg("r"),
       "within_distance through the per-call cache (quarter boxes, then chords) that stroke sampling uses.");

    g.def("winding_number_path", [](const std::vector<std::vector<Point>>& segments, Point p) {
        std::vector<Segment> converted;
        for (const auto& points : segments) converted.push_back(to_segment("winding_number_path", points));
        int winding = 0;
        for (const Segment& s : converted) winding += pdvg::winding_contribution(s, to_vec(p));
        return winding;
    }, py::arg("segments"), py::arg("p"), "Sum of winding_contribution over a list of segments.");

    g.def("winding_number_ellipse", [](Point center, Point radius, Point p) {
        return pdvg::winding_number_ellipse(to_vec(center), to_vec(radius), to_vec(p));
    }, py::arg("center"), py::arg("radius"), py::arg("p"));

    g.def("winding_number_rect", [](Point lo, Point hi, Point p) {
        return pdvg::winding_number_rect(to_vec(lo), to_vec(hi), to_vec(p));
    }, py::arg("lo"), py::arg("hi"), py::arg("p"));

    g.def("evaluate", [](const std::vector<Point>& points, float t) {
        return to_tuple(pdvg::evaluate(to_segment("evaluate", points), t));
    }, py::arg("points"), py::arg("t"));

    g.def("bounds", [](const std::vector<Point>& points) {
        pdvg::BBox2 box = pdvg::bounds(to_segment("bounds", points));
        return py::make_tuple(to_tuple(box.lo), to_tuple(box.hi));
    }, py::arg("points"), "((xmin, ymin), (xmax, ymax)) of a Bézier segment.");

    g.def("split", [](const std::vector<Point>& points, float t) {
        Segment left, right;
        pdvg::split(to_segment("split", points), t, &left, &right);
        return py::make_tuple(segment_points(left), segment_points(right));
    }, py::arg("points"), py::arg("t"), "de Casteljau split at t: (left points, right points).");
}
