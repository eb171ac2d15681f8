// Test entry points for the geometry kernels (filled in with the geometry work).
#include <pybind11/pybind11.h>
namespace py = pybind11;
void register_geometry_bindings(py::module_& m) { (void)m; }
