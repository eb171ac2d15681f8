// The environment map's instances of the path tracer (shade_path_impl<true>,
// path_adjoint_impl<true>) for the CPU build, in a translation unit of their
// own: compiled next to the kernels in render.cpp they shifted GCC's
// per-unit inlining budgets, and so the floating-point contractions of the
// code that renders scenes without a map (see path_tracer.h). Under nvcc
// the header defines them inline instead.
#include "path_adjoint.h"

#if !PDVG_HAS_CUDA_COMPILER

namespace pdvg {
namespace rt {

Vec3f shade_path_with_envmap(const SceneView& s, const Ray& ray, Hit hit, int bounces, Pcg32& rng,
                             PathRecord* record) {
    return shade_path_impl<true>(s, ray, hit, bounces, rng, record);
}

void path_adjoint_with_envmap(const SceneView& s, const SceneGrads& g, const PathRecord& rec, Vec3f adjoint, float px,
                              float py, const SecondaryEdgeTable* secondary, Pcg32& edge_rng, CameraGrad& camera_grad) {
    path_adjoint_impl<true>(s, g, rec, adjoint, px, py, secondary, edge_rng, camera_grad);
}

}  // namespace rt
}  // namespace pdvg

#endif
