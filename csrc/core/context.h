// Where and how a call runs: CPU thread count or CUDA device and stream, and
// an allocator supplied by the caller (the Python side allocates torch
// tensors), so that scratch memory comes from the framework's allocator.
//
// Three backends. The CPU's, the CUDA grid's, and the CUDA branches emulated
// on host threads (emulate_device): every kernel then takes the branch a CUDA
// build takes (device_code()), parallel_for runs CUDA's launch shape on the
// thread pool, and "device" memory is host memory from the same allocator,
// copied through to_host/from_host as on CUDA. It exists so that the device
// branches run, and are tested, in a build without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#include "defs.h"
#include "errors.h"

namespace pdvg {

// Values of the `backend` argument the bindings take (context_binding.h).
enum Backend : int { kBackendCpu = 0, kBackendCuda = 1, kBackendEmulatedDevice = 2 };

struct ExecutionContext {
    bool use_cuda = false;
    bool emulate_device = false;  // host threads run the device branches (never with use_cuda)
    int device_index = -1;
    void* stream = nullptr;     // cudaStream_t on CUDA
    int num_threads = 1;        // CPU worker count
    // Returns zero-initialised device memory of the given size, owned by the
    // caller and alive until the call returns.
    std::function<void*(size_t)> allocate_bytes;

    // Whether kernels take the branches of a CUDA build: on CUDA, or emulated.
    bool device_code() const { return use_cuda || emulate_device; }

    template <typename T>
    T* allocate(size_t count) const {
        if (count == 0) count = 1;
        void* p = allocate_bytes(count * sizeof(T));
        if (!p) throw std::bad_alloc();
        return static_cast<T*>(p);
    }

    // Copies `count` elements from device (or host) memory into a host vector.
    template <typename T>
    std::vector<T> to_host(const T* source, size_t count) const {
        std::vector<T> out(count);
        copy_to_host(out.data(), source, count * sizeof(T));
        return out;
    }
    template <typename T>
    void from_host(T* destination, const T* source, size_t count) const {
        copy_from_host(destination, source, count * sizeof(T));
    }
    void copy_to_host(void* destination, const void* source, size_t bytes) const;
    void copy_from_host(void* destination, const void* source, size_t bytes) const;
    void fill_zero(void* destination, size_t bytes) const;
    void synchronize() const;
};

// True when this build of the extension contains CUDA kernels.
bool built_with_cuda();

}  // namespace pdvg
