// parallel_for(n, body, context): the single switch point between CPU
// threads and a CUDA grid. `body(i)` runs once for every i in [0, n). On the
// CPU, work is split into chunks taken dynamically by a persistent pool of
// threads; on CUDA, one thread per index. Bodies passed for CUDA must be
// HOST_DEVICE lambdas capturing by value.
#pragma once

#include <cstdint>
#include <functional>

#include "context.h"
#include "defs.h"

#if PDVG_HAS_CUDA_COMPILER
#include <cuda_runtime.h>
#endif

namespace pdvg {

// Runs chunk(begin, end) over [0, n) in pieces of about `grain` indices on
// `num_threads` threads (the calling thread included). Blocks until done.
void run_on_thread_pool(int64_t n, int64_t grain, int num_threads,
                        const std::function<void(int64_t, int64_t)>& chunk);

#if PDVG_HAS_CUDA_COMPILER
template <typename Body>
__global__ void parallel_for_kernel(int64_t n, Body body) {
    int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) body(i);
}
void check_cuda_launch(const char* what);
#endif

// Host-only variant for bodies that are ordinary host lambdas (capturing by
// reference, using host containers): always the CPU thread pool.
template <typename Body>
void parallel_for_host(int64_t n, const Body& body, int num_threads, int64_t grain = 64) {
    if (n <= 0) return;
    run_on_thread_pool(n, grain, num_threads, [&body](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) body(i);
    });
}

template <typename Body>
void parallel_for(int64_t n, const Body& body, const ExecutionContext& context, int64_t grain = 64) {
    if (n <= 0) return;
    if (context.use_cuda) {
#if PDVG_HAS_CUDA_COMPILER
        const int block = 128;
        int64_t blocks = (n + block - 1) / block;
        parallel_for_kernel<<<(unsigned)blocks, block, 0, (cudaStream_t)context.stream>>>(n, body);
        check_cuda_launch("parallel_for");
        return;
#else
        throw Unsupported("this build of pydiffvg has no CUDA support; reinstall with PYDIFFVG_CUDA=1");
#endif
    }
    run_on_thread_pool(n, grain, context.num_threads, [&body](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) body(i);
    });
}

// Exclusive prefix sum of `count` ints in place; returns the total. Runs on
// the host for CPU memory and copies through the host for device memory
// (scans here are over tiles or pieces: thousands, not millions).
int64_t exclusive_scan_inplace(int* values, int64_t count, const ExecutionContext& context);

}  // namespace pdvg
