// Building the piece CDF of the boundary sampler.
#include "boundary_sampler.h"

#include "../core/parallel.h"

namespace pdvg {

double build_boundary_cdf(const float* weights, int count, float* cdf, const ExecutionContext& context) {
    if (count <= 0) return 0.0;
    // The blocked scan of parallel.h, in double, over the weights with NaN,
    // inf and negative ones counted as zero; cdf[i] = Σ_{j<i} w_j / Σ w.
    auto weight = [=] HOST_DEVICE(int64_t i) {
        const float w = weights[i];
        return (w > 0.0f && is_finite(w)) ? double(w) : 0.0;
    };
    const double total = parallel_exclusive_scan(
        count, weight,
        [=] HOST_DEVICE(int64_t i, double prefix, double sum) {
            cdf[i] = sum > 0.0 ? float(prefix / sum) : 0.0f;
            return weight(i);
        }, context);
    const float last = total > 0.0 ? 1.0f : 0.0f;
    context.from_host(cdf + count, &last, 1);
    return total;
}

}  // namespace pdvg
