// Building the piece CDF of the boundary sampler.
#include "boundary_sampler.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "../core/parallel.h"

namespace pdvg {

double build_boundary_cdf(const float* weights, int count, float* cdf, const ExecutionContext& context) {
    if (count <= 0) return 0.0;
    // Blocked prefix sums in double: each block sums its own range, a short
    // scan over block totals gives offsets, then each block writes its CDF.
    const int block = 4096;
    const int blocks = (count + block - 1) / block;
    std::vector<float> host_weights = context.to_host(weights, size_t(count));
    std::vector<double> totals(size_t(blocks), 0.0);
    // Host-only work: the thread pool directly, not parallel_for, whose CUDA
    // branch cannot take a host lambda when this file goes through nvcc.
    run_on_thread_pool(blocks, 1, context.num_threads, [&](int64_t first, int64_t last) {
      for (int64_t b = first; b < last; ++b) {
        double sum = 0.0;
        int end = std::min(count, int(b + 1) * block);
        for (int i = int(b) * block; i < end; ++i) {
            float w = host_weights[size_t(i)];
            sum += (w > 0.0f && std::isfinite(w)) ? double(w) : 0.0;
        }
        totals[size_t(b)] = sum;
      }
    });
    std::vector<double> offsets(size_t(blocks) + 1, 0.0);
    for (int b = 0; b < blocks; ++b) offsets[size_t(b) + 1] = offsets[size_t(b)] + totals[size_t(b)];
    double total = offsets[size_t(blocks)];
    std::vector<float> host_cdf(size_t(count) + 1, 0.0f);
    if (total > 0.0) {
        run_on_thread_pool(blocks, 1, context.num_threads, [&](int64_t first, int64_t last) {
          for (int64_t b = first; b < last; ++b) {
            double running = offsets[size_t(b)];
            int end = std::min(count, int(b + 1) * block);
            for (int i = int(b) * block; i < end; ++i) {
                host_cdf[size_t(i)] = float(running / total);
                float w = host_weights[size_t(i)];
                running += (w > 0.0f && std::isfinite(w)) ? double(w) : 0.0;
            }
          }
        });
        host_cdf[size_t(count)] = 1.0f;
    }
    context.from_host(cdf, host_cdf.data(), host_cdf.size());
    return total;
}

}  // namespace pdvg
