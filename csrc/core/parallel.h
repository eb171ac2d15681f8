// parallel_for(n, body, context): the single switch point between CPU
// threads and a CUDA grid. `body(i)` runs once for every i in [0, n). On the
// CPU, work is split into chunks taken dynamically by a persistent pool of
// threads; on CUDA, one thread per index. Bodies passed for CUDA must be
// HOST_DEVICE lambdas capturing by value.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

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

// CUDA's launch shape, which the emulated device path (context.h) repeats on
// host threads: blocks of kBlockThreads threads, at most kMaxGridBlocks of
// them (gridDim.x), thread i of block b running index b·kBlockThreads + i.
constexpr int kBlockThreads = 128;
constexpr int64_t kMaxGridBlocks = 2147483647;

inline int64_t grid_blocks(int64_t n) {
    const int64_t blocks = (n + kBlockThreads - 1) / kBlockThreads;
    if (blocks > kMaxGridBlocks) throw InvalidArgument("scene too large: a pass over more than 2^38 work items");
    return blocks;
}

// The device branch on host threads: each block is a chunk of the pool's
// work, its threads run in order, and the body is the kernel argument, a
// copy made per block as the launch copies it.
template <typename Body>
void emulate_grid(int64_t n, const Body& body, const ExecutionContext& context) {
    const int64_t blocks = grid_blocks(n);
    run_on_thread_pool(blocks, 1, context.num_threads, [&body, n](int64_t begin, int64_t end) {
        for (int64_t block = begin; block < end; ++block) {
            const Body kernel_argument = body;
            for (int thread = 0; thread < kBlockThreads; ++thread) {
                const int64_t i = block * kBlockThreads + thread;
                if (i < n) kernel_argument(i);
            }
        }
    });
}

template <typename Body>
void parallel_for(int64_t n, const Body& body, const ExecutionContext& context, int64_t grain = 64) {
    if (n <= 0) return;
    if (context.use_cuda) {
#if PDVG_HAS_CUDA_COMPILER
        const int64_t blocks = grid_blocks(n);
        parallel_for_kernel<<<(unsigned)blocks, kBlockThreads, 0, (cudaStream_t)context.stream>>>(n, body);
        check_cuda_launch("parallel_for");
        return;
#else
        throw Unsupported("this build of pydiffvg has no CUDA support; reinstall with PYDIFFVG_CUDA=1");
#endif
    }
    if (context.emulate_device) {
        emulate_grid(n, body, context);
        return;
    }
    run_on_thread_pool(n, grain, context.num_threads, [&body](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) body(i);
    });
}

// ---- Scans and sums, on the context's device --------------------------------
//
// One blocked algorithm for CPU and device memory: each of at most
// kScanBlocks blocks sums its range in a parallel_for, the block totals (a
// few thousand doubles) are scanned on the host, and each block then walks
// its range again from its offset. Sums run in double. On the CPU the block
// totals live in host vectors, elsewhere in scratch from the allocator.
constexpr int64_t kScanBlocks = 4096;

inline int64_t scan_block_size(int64_t n) { return std::max<int64_t>(256, (n + kScanBlocks - 1) / kScanBlocks); }

// Per-block sums of value(i) over [0, n), on the host.
template <typename Value>
std::vector<double> block_sums(int64_t n, const Value& value, const ExecutionContext& context) {
    const int64_t block = scan_block_size(n), blocks = (n + block - 1) / block;
    std::vector<double> host(size_t(blocks), 0.0);
    double* sums = context.device_code() ? context.allocate<double>(size_t(blocks)) : host.data();
    parallel_for(blocks, [=] HOST_DEVICE(int64_t b) {
        double sum = 0.0;
        const int64_t end = min_value(n, (b + 1) * block);
        for (int64_t i = b * block; i < end; ++i) sum += double(value(i));
        sums[b] = sum;
    }, context, 1);
    if (context.device_code()) context.copy_to_host(host.data(), sums, host.size() * sizeof(double));
    return host;
}

// Σ value(i) over [0, n). `value` is a HOST_DEVICE functor reading device memory.
template <typename Value>
double parallel_sum(int64_t n, const Value& value, const ExecutionContext& context) {
    if (n <= 0) return 0.0;
    double total = 0.0;
    for (double v : block_sums(n, value, context)) total += v;
    return total;
}

// Exclusive scan: visit(i, prefix, total) is called once for every i with
// prefix = Σ_{j<i} value(j) and the grand total, and returns value(i) (read
// before it overwrites anything, so that a scan may run in place). Returns
// the total; a total above `max_total` throws before anything is visited.
template <typename Value, typename Visit>
double parallel_exclusive_scan(int64_t n, const Value& value, const Visit& visit, const ExecutionContext& context,
                               double max_total = INFINITY) {
    if (n <= 0) return 0.0;
    std::vector<double> offsets = block_sums(n, value, context);
    double total = 0.0;
    for (double& v : offsets) {
        const double sum = v;
        v = total;
        total += sum;
    }
    if (total > max_total) throw InvalidArgument("scene too large: more than 2^31 work items");
    const int64_t block = scan_block_size(n), blocks = int64_t(offsets.size());
    const double* starts = offsets.data();
    if (context.device_code()) {
        double* device_offsets = context.allocate<double>(offsets.size());
        context.from_host(device_offsets, offsets.data(), offsets.size());
        starts = device_offsets;
    }
    parallel_for(blocks, [=] HOST_DEVICE(int64_t b) {
        double running = starts[b];
        const int64_t end = min_value(n, (b + 1) * block);
        for (int64_t i = b * block; i < end; ++i) running += double(visit(i, running, total));
    }, context, 1);
    return total;
}

// Exclusive prefix sum of `count` integers in place (device memory on the
// device); returns the total. The int version refuses totals past 2^31.
int64_t exclusive_scan_inplace(int* values, int64_t count, const ExecutionContext& context);
int64_t exclusive_scan_inplace(int64_t* values, int64_t count, const ExecutionContext& context);

}  // namespace pdvg
