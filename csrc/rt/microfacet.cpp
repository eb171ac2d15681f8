// Host-side tables of the rough plastic (see microfacet.h): the coat's
// transmittance T(μ, α) and internal reflectance R_int(α), in double
// precision, by Gauss-Legendre quadrature over the square that
// sample_ggx_visible_normal maps onto the visible normals (its density is
// the VNDF, so ∫ VNDF(m) g(m) dm = ∫∫ g(m(u1, u2)) du1 du2).
#include "microfacet.h"

#include "bsdf.h"

#include <cmath>
#include <vector>

namespace pdvg {
namespace rt {

namespace {

// Nodes and weights of the n-point Gauss-Legendre rule on [-1, 1]: the
// roots of P_n by Newton's method from x ≈ cos(π (i + 3/4) / (n + 1/2)),
// with P_n and P_n' from the three-term recurrence
//   (k + 1) P_{k+1} = (2k + 1) x P_k - k P_{k-1},  P_n' = n (x P_n - P_{n-1}) / (x² - 1),
// and weights w = 2 / ((1 - x²) P_n'(x)²).
void gauss_legendre(int n, std::vector<double>& nodes, std::vector<double>& weights) {
    nodes.assign(size_t(n), 0.0);
    weights.assign(size_t(n), 0.0);
    for (int i = 0; i < n; ++i) {
        double x = std::cos(M_PI * (double(i) + 0.75) / (double(n) + 0.5));
        double derivative = 1.0;
        for (int iteration = 0; iteration < 100; ++iteration) {
            double p0 = 1.0, p1 = x;
            for (int k = 1; k < n; ++k) {
                double p2 = ((2.0 * k + 1.0) * x * p1 - k * p0) / (k + 1.0);
                p0 = p1;
                p1 = p2;
            }
            derivative = n * (x * p1 - p0) / (x * x - 1.0);
            double step = p1 / derivative;
            x -= step;
            if (std::fabs(step) < 1e-15) break;
        }
        nodes[size_t(i)] = x;
        weights[size_t(i)] = 2.0 / ((1.0 - x * x) * derivative * derivative);
    }
}

struct Quadrature {
    std::vector<double> u, w;  // nodes on [0, 1] and their weights (sum 1)
    explicit Quadrature(int n) {
        gauss_legendre(n, u, w);
        for (size_t i = 0; i < u.size(); ++i) {
            u[i] = 0.5 * u[i] + 0.5;
            w[i] *= 0.5;
        }
    }
};

// ∫ g(wo, m) over the visible normals m of direction wo (cos θ = mu), as
// the double sum Σ_ab w_a w_b g(m(u_a, u_b)). `term(wo, m, c, w)` returns
// w g(m) (c = wo·m), or 0 where the integrand vanishes.
template <class Term>
double integrate_visible_normals(double mu, double alpha, const Quadrature& q, Term term) {
    Vec3d wo(std::sqrt(1.0 - mu * mu), 0.0, mu);
    double sum = 0.0;
    for (size_t a = 0; a < q.u.size(); ++a)
        for (size_t b = 0; b < q.u.size(); ++b) {
            Vec3d m = sample_ggx_visible_normal(wo, alpha, q.u[a], q.u[b]);
            sum += term(wo, m, dot(wo, m), q.w[a] * q.w[b]);
        }
    return sum;
}

// Fraction of light from direction wo (cos θ = mu) that the rough
// interface of relative index eta refracts inward without being masked:
// ∫ (1 - F(wo·m)) G1(t(m)) over visible normals, t the refracted direction
//   t = m (c/η + cos_t) - wo/η,  cos_t = -sqrt(1 - (1 - c²)/η²)  (c = wo·m).
double transmittance(double mu, double alpha, double eta, const Quadrature& q) {
    return integrate_visible_normals(mu, alpha, q, [&](const Vec3d& wo, const Vec3d& m, double c, double w) {
        double cos_t2 = 1.0 - (1.0 - c * c) / (eta * eta);
        if (!(c > 0.0) || !(cos_t2 > 0.0)) return 0.0;  // total reflection: nothing enters
        double cos_t = -std::sqrt(cos_t2);
        double f = fresnel_dielectric(c, float(eta));
        Vec3d t = m * (c / eta + cos_t) - wo / eta;
        if (!(t.z < 0.0) || !(dot(t, m) * t.z > 0.0)) return 0.0;
        return w * (1.0 - f) * smith_g1(-t.z, alpha);
    });
}

// Light from wo (cos θ = mu) reflected by the interface, unmasked:
// ∫ F(wo·m) G1(r(m)) over visible normals, r = 2 (wo·m) m - wo.
double reflectance(double mu, double alpha, double eta, const Quadrature& q) {
    return integrate_visible_normals(mu, alpha, q, [&](const Vec3d& wo, const Vec3d& m, double c, double w) {
        Vec3d r = m * (2.0 * c) - wo;
        if (!(c > 0.0) || !(r.z > 0.0)) return 0.0;
        return w * fresnel_dielectric(c, float(eta)) * smith_g1(r.z, alpha);
    });
}

}  // namespace

// Nodes per axis for the light inside the coat (η < 1, with its total
// internal reflection edge). Mitsuba takes 128; 64 changes R_int by at most
// 3e-4 (measured at η = 1.49 over the α grid) at a quarter of the cost.
constexpr int kInsideNodes = 64;

void build_plastic_table(float eta, float* table) {
    // 32 nodes per axis from outside (η > 1), as Mitsuba.
    const Quadrature outside(eta > 1.0f ? 32 : kInsideNodes), inside(eta > 1.0f ? kInsideNodes : 32);
    for (int j = 0; j < kPlasticAlpha; ++j) {
        double alpha = std::fmax(double(j) / double(kPlasticAlpha - 1), 1e-4);
        double internal = 0.0;
        for (int i = 0; i < kPlasticMu; ++i) {
            double mu = std::fmax(double(i) / double(kPlasticMu - 1), 1e-6);
            table[j * kPlasticMu + i] = float(transmittance(mu, alpha, eta, outside));
            internal += reflectance(mu, alpha, 1.0 / eta, inside) * mu;
        }
        table[kPlasticAlpha * kPlasticMu + j] = float(2.0 * internal / double(kPlasticMu));
    }
}

void bsdf_probe(const BsdfProbe& probe, int count) {
    const Material& m = probe.material;
    for (int i = 0; i < count; ++i) {
        Vec3f n = load3(probe.normals, i), wo = load3(probe.wo, i), wi = load3(probe.wi, i);
        Vec3f value = bsdf_eval_cos(m, n, wo, wi);
        for (int c = 0; c < 3; ++c) probe.value[3 * i + c] = value[c];
        probe.pdf[i] = bsdf_pdf(m, n, wo, wi);
        Vec3f sampled;
        bool ok = bsdf_sample(m, n, wo, probe.u[3 * i], probe.u[3 * i + 1], probe.u[3 * i + 2], sampled);
        for (int c = 0; c < 3; ++c) probe.sampled[3 * i + c] = ok ? sampled[c] : 0.0f;
        Vec3f d_n, d_wo, d_wi;
        MaterialGrad d_mat;
        bsdf_eval_cos_adjoint(m, n, wo, wi, load3(probe.d_value, i), d_n, d_wo, d_wi, d_mat);
        float* g = probe.grads + 16 * i;
        Vec3f parts[5] = {d_n, d_wo, d_wi, d_mat.diffuse, d_mat.specular};
        for (int k = 0; k < 5; ++k)
            for (int c = 0; c < 3; ++c) g[3 * k + c] = parts[k][c];
        g[15] = d_mat.roughness;
    }
}

}  // namespace rt
}  // namespace pdvg
