// Pinhole and orthographic cameras: ray generation, projection to the screen
// and their adjoints with respect to the 13 packed camera parameters.
//
// Packed parameters (built by pydiffvg/render3d with differentiable torch ops
// from position, look_at, up and fov):
//   [0..2]  origin o      [3..5] right r     [6..8] up u     [9..11] forward f
//   [12]    scale s: tan(fov / 2) for a pinhole (fov = full vertical angle),
//           the half-height of the view in world units for an orthographic one.
// Screen coordinates are pixels, origin top-left, y down (DESIGN.md):
//   ndc_x = 2 px / W - 1,  ndc_y = 1 - 2 py / H,  aspect a = W / H.
#pragma once

#include "math3d.h"

namespace pdvg {
namespace rt {

constexpr int kCameraParams = 13;

struct CameraView {
    Vec3f origin, right, up, forward;
    float scale = 1.0f;
    float aspect = 1.0f;
    int width = 1, height = 1;
    float clip_near = 1e-2f;
    bool orthographic = false;

    static CameraView from_params(const float* p, int width, int height, float clip_near, bool orthographic) {
        CameraView c;
        c.origin = load3(p, 0); c.right = load3(p, 1); c.up = load3(p, 2); c.forward = load3(p, 3);
        c.scale = p[12];
        c.width = width; c.height = height;
        c.aspect = float(width) / float(height);
        c.clip_near = clip_near;
        c.orthographic = orthographic;
        return c;
    }
};

struct CameraGrad {
    Vec3f origin, right, up, forward;
    float scale = 0.0f;
    HOST_DEVICE void add_to_buffer(float* buffer) const {
        if (!buffer) return;
        atomic_add3(buffer, 0, origin); atomic_add3(buffer, 1, right);
        atomic_add3(buffer, 2, up); atomic_add3(buffer, 3, forward);
        if (scale != 0.0f) atomic_add(buffer + 12, scale);
    }
};

struct Ray {
    Vec3f origin, direction;
    float t_min, t_max;
};

// Ray through screen point (px, py):
//   pinhole:       o' = o,                     d = normalize(f + sx r + sy u)
//   orthographic:  o' = o + sx r + sy u,       d = f
// with sx = ndc_x s a, sy = ndc_y s. The near clip is a camera-space depth.
HOST_DEVICE inline Ray camera_ray(const CameraView& cam, float px, float py) {
    float nx = 2.0f * px / float(cam.width) - 1.0f;
    float ny = 1.0f - 2.0f * py / float(cam.height);
    float sx = nx * cam.scale * cam.aspect, sy = ny * cam.scale;
    Ray ray;
    if (cam.orthographic) {
        ray.origin = cam.origin + cam.right * sx + cam.up * sy;
        ray.direction = cam.forward;
        ray.t_min = cam.clip_near;
    } else {
        ray.origin = cam.origin;
        ray.direction = normalize(cam.forward + cam.right * sx + cam.up * sy);
        float along = dot(ray.direction, cam.forward);
        ray.t_min = along > 0.0f ? cam.clip_near / along : cam.clip_near;
    }
    ray.t_max = 3.0e38f;
    return ray;
}

HOST_DEVICE inline void camera_ray_adjoint(const CameraView& cam, float px, float py, Vec3f d_origin,
                                           Vec3f d_direction, CameraGrad& grad) {
    float nx = 2.0f * px / float(cam.width) - 1.0f;
    float ny = 1.0f - 2.0f * py / float(cam.height);
    float sx = nx * cam.scale * cam.aspect, sy = ny * cam.scale;
    Vec3f ds_dir = cam.right * (nx * cam.aspect) + cam.up * ny;  // d(sx r + sy u)/ds
    if (cam.orthographic) {
        add_to(grad.origin, d_origin);
        add_to(grad.right, d_origin * sx);
        add_to(grad.up, d_origin * sy);
        grad.scale += dot(d_origin, ds_dir);
        add_to(grad.forward, d_direction);
    } else {
        add_to(grad.origin, d_origin);
        Vec3f unnormalized = cam.forward + cam.right * sx + cam.up * sy;
        Vec3f d_un = normalize_adjoint(unnormalized, d_direction);
        add_to(grad.forward, d_un);
        add_to(grad.right, d_un * sx);
        add_to(grad.up, d_un * sy);
        grad.scale += dot(d_un, ds_dir);
    }
}

// Camera-space depth of a world point (distance along forward).
HOST_DEVICE inline float camera_depth(const CameraView& cam, Vec3f p) { return dot(p - cam.origin, cam.forward); }

// World point -> screen pixel coordinates. q = p - o; (x, y, z) = (q·r, q·u, q·f);
//   pinhole: ndc = (x / (z s a), y / (z s));  orthographic: ndc = (x / (s a), y / s).
// Valid only for z > 0 (the caller clips at the near plane first).
HOST_DEVICE inline Vec2f project_point(const CameraView& cam, Vec3f p) {
    Vec3f q = p - cam.origin;
    float x = dot(q, cam.right), y = dot(q, cam.up), z = dot(q, cam.forward);
    float w = cam.orthographic ? cam.scale : z * cam.scale;
    float nx = x / (w * cam.aspect), ny = y / w;
    return {(nx + 1.0f) * 0.5f * float(cam.width), (1.0f - ny) * 0.5f * float(cam.height)};
}

// Adjoint of project_point: adds d(loss)/dp into d_point and the camera
// parameters' share into grad.
HOST_DEVICE inline void project_point_adjoint(const CameraView& cam, Vec3f p, Vec2f d_screen, Vec3f& d_point,
                                              CameraGrad& grad) {
    Vec3f q = p - cam.origin;
    float x = dot(q, cam.right), y = dot(q, cam.up), z = dot(q, cam.forward);
    float d_nx = d_screen.x * 0.5f * float(cam.width);
    float d_ny = -d_screen.y * 0.5f * float(cam.height);
    float d_x, d_y, d_z = 0.0f;
    if (cam.orthographic) {
        float nx = x / (cam.scale * cam.aspect), ny = y / cam.scale;
        d_x = d_nx / (cam.scale * cam.aspect);
        d_y = d_ny / cam.scale;
        grad.scale -= (d_nx * nx + d_ny * ny) / cam.scale;
    } else {
        float nx = x / (z * cam.scale * cam.aspect), ny = y / (z * cam.scale);
        d_x = d_nx / (z * cam.scale * cam.aspect);
        d_y = d_ny / (z * cam.scale);
        d_z = -(d_nx * nx + d_ny * ny) / z;
        grad.scale -= (d_nx * nx + d_ny * ny) / cam.scale;
    }
    Vec3f d_q = cam.right * d_x + cam.up * d_y + cam.forward * d_z;
    add_to(grad.right, q * d_x);
    add_to(grad.up, q * d_y);
    add_to(grad.forward, q * d_z);
    add_to(d_point, d_q);
    subtract_from(grad.origin, d_q);
}

}  // namespace rt
}  // namespace pdvg
