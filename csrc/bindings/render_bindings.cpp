// Render entry points (filled in with the renderer).
#include <pybind11/pybind11.h>
namespace py = pybind11;
void register_render_bindings(py::module_& m) { (void)m; }
