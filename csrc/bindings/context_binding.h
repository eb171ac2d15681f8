// Building an ExecutionContext from Python arguments. Python passes raw
// pointers (tensor.data_ptr()) as integers; scratch memory is requested
// through `allocator(nbytes) -> int`, a Python callable that returns the
// address of a zero-filled torch tensor on the right device and keeps it
// alive until the call returns (see pydiffvg/_native.py).
#pragma once

#include <pybind11/functional.h>
#include <pybind11/pybind11.h>

#include <cstdint>

#include "core/context.h"

namespace pybind11_pdvg {

namespace py = pybind11;

// `backend` is a pdvg::Backend value: the CPU, CUDA, or the CUDA branches
// emulated on the CPU's threads (context.h). `allocator` must outlive the
// context: it is the binding's own argument.
inline pdvg::ExecutionContext make_context(int backend, int device_index, std::uintptr_t stream,
                                           int num_threads, const py::function& allocator) {
    if (backend != pdvg::kBackendCpu && backend != pdvg::kBackendCuda && backend != pdvg::kBackendEmulatedDevice)
        throw pdvg::InvalidArgument(pdvg::concat("execution context: unknown backend ", backend,
                                                 " (0 cpu, 1 cuda, 2 emulated device)"));
    if (backend == pdvg::kBackendCuda && !pdvg::built_with_cuda())
        throw pdvg::Unsupported("a CUDA tensor was given, but this build of pydiffvg has no CUDA support; "
                                "reinstall with PYDIFFVG_CUDA=1 pip install .");
    pdvg::ExecutionContext c;
    c.use_cuda = backend == pdvg::kBackendCuda;
    c.emulate_device = backend == pdvg::kBackendEmulatedDevice;
    c.device_index = device_index;
    c.stream = reinterpret_cast<void*>(stream);
    c.num_threads = num_threads > 0 ? num_threads : 1;
    // Kernels run with the GIL released (without_gil), so a scratch
    // allocation takes it back for the Python call. The context keeps a plain
    // pointer to the callable: copying the context then copies no Python
    // object, which would need the GIL.
    const py::function* callable = &allocator;
    c.allocate_bytes = [callable](size_t nbytes) -> void* {
        py::gil_scoped_acquire gil;
        py::object address = (*callable)(nbytes);
        return reinterpret_cast<void*>(address.cast<std::uintptr_t>());
    };
    return c;
}

// Runs `kernel` with the GIL released, so that renders from several Python
// threads (and other Python work) run at once. Everything read from Python
// objects must be read before: the kernel sees plain C++ values only.
template <typename Kernel>
inline void without_gil(Kernel&& kernel) {
    py::gil_scoped_release release;
    kernel();
}

template <typename T>
inline T* pointer(std::uintptr_t address) { return reinterpret_cast<T*>(address); }

}  // namespace pybind11_pdvg
