// pydiffvg._core: the module entry point. Each area registers its own
// functions; binding files check arguments and launch, and hold no math.
#include <pybind11/pybind11.h>

#include "core/context.h"
#include "core/errors.h"

namespace py = pybind11;

void register_geometry_bindings(py::module_& m);
void register_render_bindings(py::module_& m);
void register_rt_bindings(py::module_& m);

PYBIND11_MODULE(_core, m) {
    m.doc() = "pydiffvg native kernels (internal; use the pydiffvg package)";
    py::register_exception<pdvg::InvalidArgument>(m, "InvalidArgument", PyExc_ValueError);
    py::register_exception<pdvg::Unsupported>(m, "Unsupported", PyExc_RuntimeError);
    m.def("built_with_cuda", &pdvg::built_with_cuda, "True when the kernels were compiled with nvcc.");
    register_geometry_bindings(m);
    register_render_bindings(m);
    register_rt_bindings(m);
}
