"""Environment light (r3.EnvironmentMap): lookups against a NumPy
implementation of the documented (Mitsuba 3) convention, closed forms
(white furnace, irradiance of a plane by quadrature), importance-sampled vs
uniform estimates, texel and silhouette gradients against central finite
differences, and input validation."""
import math

import numpy as np
import pytest
import torch

import pydiffvg.render3d as r3

from conftest import DEVICE_CASES, device_case  # noqa: F401  (device fixture)


# ------------------------------------------------------------------ helpers

def icosphere(level=2, radius=1.0, centre=(0.0, 0.0, 0.0)):
    t = (1 + 5 ** 0.5) / 2
    v = [[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t], [0, -1, -t], [0, 1, -t],
         [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]]
    f = [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4], [11, 10, 2],
         [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5], [2, 4, 11],
         [6, 2, 10], [8, 6, 7], [9, 8, 1]]
    v = [np.array(p, float) / np.linalg.norm(p) for p in v]
    for _ in range(level):
        cache, faces = {}, []

        def mid(a, b):
            key = (min(a, b), max(a, b))
            if key not in cache:
                m = v[a] + v[b]
                v.append(m / np.linalg.norm(m))
                cache[key] = len(v) - 1
            return cache[key]
        for a, b, c in f:
            ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
            faces += [[a, ab, ca], [b, bc, ab], [c, ca, bc], [ab, bc, ca]]
        f = faces
    verts = np.array(v) * radius + np.array(centre)
    return torch.tensor(verts, dtype=torch.float32), torch.tensor(f, dtype=torch.int32)


def cube(centre, half):
    c = torch.tensor(centre, dtype=torch.float32)
    v = torch.tensor([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=torch.float32) * half + c
    f = [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6], [0, 2, 6],
         [0, 6, 4], [1, 5, 7], [1, 7, 3]]
    return v, torch.tensor(f, dtype=torch.int32)


def plane(y=0.0, half=1.0):
    v = torch.tensor([[-half, y, -half], [half, y, -half], [half, y, half], [-half, y, half]], dtype=torch.float32)
    return v, torch.tensor([[0, 2, 1], [0, 3, 2]], dtype=torch.int32)  # faces +y


def local_direction(u, v):
    """Map-frame direction of lat-long coordinates (the documented convention)."""
    phi, theta = 2 * np.pi * u, np.pi * v
    return np.stack([np.sin(phi) * np.sin(theta), np.cos(theta), -np.cos(phi) * np.sin(theta)], -1)


def lookup(texels, d, to_world=np.eye(3)):
    """NumPy bilinear lookup of world directions d (..., 3): u = atan2(x, -z) / 2π,
    v = acos(y) / π in the map frame; texel (i, j) at u = (j + .5) / W, v = i / (H - 1)."""
    t = np.asarray(texels, np.float64)
    h, w = t.shape[:2]
    l = np.asarray(d, np.float64) @ np.asarray(to_world, np.float64)  # Rᵀ d, row vectors
    l = l / np.linalg.norm(l, axis=-1, keepdims=True)
    u = np.mod(np.arctan2(l[..., 0], -l[..., 2]) / (2 * np.pi), 1.0)
    vv = np.arccos(np.clip(l[..., 1], -1, 1)) / np.pi
    x, y = u * w - 0.5, np.clip(vv * (h - 1), 0, h - 1)
    x0 = np.floor(x)
    fx = (x - x0)[..., None]
    c0 = np.mod(x0, w).astype(int)
    c1 = np.mod(c0 + 1, w)
    r0 = np.minimum(np.floor(y), h - 2).astype(int)
    fy = (y - r0)[..., None]
    return ((1 - fy) * ((1 - fx) * t[r0, c0] + fx * t[r0, c1]) + fy * ((1 - fx) * t[r0 + 1, c0] + fx * t[r0 + 1, c1]))


def sky(h=16, w=32, sun=(0.3, 0.25), sun_radiance=40.0):
    """A sky-like map: a blue-ish gradient bright toward the zenith, a dark
    ground and a small bright 'sun' around (u, v) = sun."""
    v = (np.arange(h) / (h - 1))[:, None]
    u = ((np.arange(w) + 0.5) / w)[None, :]
    base = np.where(v < 0.5, 0.4 + 0.6 * np.cos(np.pi * v), 0.05) * np.ones((1, w))
    t = np.stack([0.5 * base + 0.1 * u, 0.7 * base, base + 0.2 * (1 - u)], -1) * np.ones((h, w, 1))
    du = np.minimum(np.abs(u - sun[0]), 1 - np.abs(u - sun[0]))
    blob = np.exp(-((du / 0.03) ** 2 + ((v - sun[1]) / 0.05) ** 2))
    t = t + sun_radiance * blob[..., None] * np.array([1.0, 0.9, 0.7])
    return torch.tensor(t, dtype=torch.float32)


def irradiance_up(texels, n_theta=600, n_phi=1200):
    """E = ∫_{ω_y > 0} L(ω) ω_y dω by the midpoint rule in (θ, φ), RGB."""
    theta = (np.arange(n_theta) + 0.5) / n_theta * (np.pi / 2)
    phi = (np.arange(n_phi) + 0.5) / n_phi * (2 * np.pi)
    tt, pp = np.meshgrid(theta, phi, indexing="ij")
    d = local_direction(pp / (2 * np.pi), tt / np.pi)
    weight = (np.cos(tt) * np.sin(tt) * (np.pi / 2 / n_theta) * (2 * np.pi / n_phi))[..., None]
    return (lookup(texels, d) * weight).sum((0, 1))


def plane_scene(texels, albedo=0.5, res=8, to_world=None):
    """A camera looking straight down at a large diffuse plane that fills the view."""
    pv, pf = plane(0.0, 10.0)
    cam = r3.Camera([0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, -1.0], 30.0, resolution=(res, res))
    return r3.Scene(cam, [r3.Shape(pv, pf, 0)], [r3.Material(torch.full((3,), albedo))],
                    envmap=r3.EnvironmentMap(texels, to_world))


# ------------------------------------------------------------- closed forms

def test_white_furnace_sphere(device):
    """A constant map L on a convex diffuse object: every pixel on it is ρL
    (direct light only: the object cannot see itself), background L."""
    v, f = icosphere(2)
    cam = r3.Camera([0.0, 0.0, 4.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0], 40.0, resolution=(16, 16))
    L, rho = 1.5, 0.6
    texels = torch.full((6, 12, 3), L, device=device)
    scene = r3.Scene(cam, [r3.Shape(v.to(device), f.to(device), 0)],
                     [r3.Material(torch.full((3,), rho, device=device))], envmap=r3.EnvironmentMap(texels))
    for bounces in (1, 3):
        img = r3.render_pathtracing(scene, 64, bounces, seed=1).cpu()
        centre = img[5:11, 5:11]
        print(bounces, centre.mean().item(), rho * L, img[0, 0].tolist())
        assert abs(centre.mean().item() - rho * L) < 0.01 * rho * L
        assert torch.allclose(img[0, 0], torch.full((3,), L))


def test_plane_irradiance_matches_quadrature_and_uniform_sampling():
    """A diffuse plane under a sky with a bright sun: the pixel is ρ/π E with
    E = ∫ L cos dω. The renderer (map importance sampling + BSDF sampling, MIS)
    agrees with midpoint quadrature and with uniform hemisphere sampling."""
    texels = sky()
    rho = 0.5
    ref = rho / np.pi * irradiance_up(texels.numpy())
    rng = np.random.default_rng(0)
    n = 400_000
    z, phi = rng.random(n), 2 * np.pi * rng.random(n)  # uniform on the upper hemisphere: ω_y = z
    r = np.sqrt(1 - z * z)
    d = np.stack([r * np.cos(phi), z, r * np.sin(phi)], -1)
    samples = lookup(texels.numpy(), d) * z[:, None] * (2 * np.pi) * rho / np.pi
    uniform, uniform_se = samples.mean(0), samples.std(0) / np.sqrt(n)
    img = r3.render_pathtracing(plane_scene(texels, rho), 64, 1, seed=2).numpy().reshape(-1, 3)
    ours, ours_se = img.mean(0), img.std(0) / np.sqrt(img.shape[0])
    print("quadrature", ref, "uniform", uniform, "+-", uniform_se, "importance", ours, "+-", ours_se)
    assert np.all(np.abs(uniform - ref) < 4 * uniform_se + 1e-3 * ref)
    assert np.all(np.abs(ours - ref) < 4 * ours_se + 5e-3 * ref)
    # Importance sampling pays off: its per-pixel spread is well below uniform sampling's
    # at the same sample count (64 per pixel).
    assert np.all(img.std(0) < samples.std(0) / np.sqrt(64))


def test_area_light_and_map_together():
    """With an area light too, next-event estimation picks the map half the
    time: the sum of the two single-light images equals the combined image."""
    texels = sky(8, 16, sun_radiance=10.0)
    pv, pf = plane(0.0, 10.0)
    lv = torch.tensor([[-0.3, 0.6, -0.3], [0.3, 0.6, -0.3], [0.3, 0.6, 0.3], [-0.3, 0.6, 0.3]]) + \
        torch.tensor([1.0, 0.0, 0.0])
    lf = torch.tensor([[0, 1, 2], [0, 2, 3]], dtype=torch.int32)  # faces -y (down)
    cam = r3.Camera([0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, -1.0], 30.0, resolution=(8, 8))
    mats = [r3.Material(torch.full((3,), 0.5))]
    shapes = [r3.Shape(pv, pf, 0), r3.Shape(lv, lf, 0)]
    light = [r3.AreaLight(1, torch.tensor([5.0, 5.0, 5.0]))]
    both = r3.render_pathtracing(r3.Scene(cam, shapes, mats, light, envmap=r3.EnvironmentMap(texels)), 256, 1)
    env = r3.render_pathtracing(r3.Scene(cam, shapes, mats, envmap=r3.EnvironmentMap(texels)), 256, 1)
    area = r3.render_pathtracing(r3.Scene(cam, shapes, mats, light), 256, 1)
    a, b = both.mean().item(), (env + area).mean().item()
    print("combined", a, "sum of parts", b)
    assert abs(a - b) < 0.01 * b


# ------------------------------------------------------------------ lookups

@pytest.mark.parametrize("rotate", [False, True])
def test_background_is_the_map_lookup(rotate):
    """Camera rays that escape read the map: a 1-pixel camera with a tiny
    field of view along several directions sees the NumPy lookup."""
    texels = sky(8, 16, sun_radiance=3.0)
    c, s = math.cos(0.7), math.sin(0.7)
    to_world = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]) @ np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    to_world = to_world if rotate else np.eye(3)
    tv, tf = cube([0.0, 0.0, 100.0], 0.01)  # out of sight
    for d in ([0.0, 0.0, -1.0], [1.0, 0.2, 0.0], [0.0, 0.3, 1.0], [-1.0, -0.5, 0.3], [0.3, 0.95, 0.1]):
        d = np.array(d) / np.linalg.norm(d)
        up = [0.0, 1.0, 0.0] if abs(d[1]) < 0.9 else [1.0, 0.0, 0.0]
        cam = r3.Camera([0.0, 0.0, 0.0], d.tolist(), up, 0.01, resolution=(1, 1))
        scene = r3.Scene(cam, [r3.Shape(tv, tf, 0)], [r3.Material(torch.full((3,), 0.5))],
                         envmap=r3.EnvironmentMap(texels, torch.tensor(to_world, dtype=torch.float32)))
        got = r3.render_pathtracing(scene, 4, 0)[0, 0].numpy()
        want = lookup(texels.numpy(), d, to_world)
        print(d, got, want)
        assert np.allclose(got, want, rtol=1e-3, atol=1e-4)


def test_lookup_orientation():
    """+y is row 0 (the zenith), -z is u = 0, +x is u = 1/4 (Mitsuba 3's envmap)."""
    h, w = 5, 4
    texels = torch.zeros((h, w, 3))
    texels[0] = torch.tensor([1.0, 0.0, 0.0])       # zenith row: red
    texels[h - 1] = torch.tensor([0.0, 0.0, 1.0])   # nadir row: blue
    texels[2, 0] = torch.tensor([0.0, 1.0, 0.0])    # horizon, u = 1/8 (column 0's centre)
    tv, tf = cube([0.0, 0.0, 100.0], 0.01)

    def see(d, up=(0.0, 1.0, 0.0)):
        cam = r3.Camera([0.0, 0.0, 0.0], list(d), list(up), 0.01, resolution=(1, 1))
        scene = r3.Scene(cam, [r3.Shape(tv, tf, 0)], [r3.Material(torch.full((3,), 0.5))],
                         envmap=r3.EnvironmentMap(texels))
        return r3.render_pathtracing(scene, 1, 0)[0, 0]
    assert torch.allclose(see((0.0, 1.0, 0.0), (1.0, 0.0, 0.0)), torch.tensor([1.0, 0.0, 0.0]), atol=1e-3)
    assert torch.allclose(see((0.0, -1.0, 0.0), (1.0, 0.0, 0.0)), torch.tensor([0.0, 0.0, 1.0]), atol=1e-3)
    phi = 2 * math.pi / 8  # u = 1/8: direction (sin φ, 0, -cos φ)
    assert torch.allclose(see((math.sin(phi), 0.0, -math.cos(phi))), torch.tensor([0.0, 1.0, 0.0]), atol=1e-3)


# --------------------------------------------------------------- gradients

def _texel_fd(make_scene, texels, index, spp, bounces, seeds, h):
    grads, fds = [], []
    for seed in seeds:
        t = texels.clone().requires_grad_(True)
        img = r3.render_pathtracing(make_scene(t), spp, bounces, seed=seed)
        img.sum().backward()
        grads.append(t.grad[index].item())
        with torch.no_grad():
            tp, tm = texels.clone(), texels.clone()
            tp[index] += h
            tm[index] -= h
            fp = r3.render_pathtracing(make_scene(tp), spp, bounces, seed=seed).sum().item()
            fm = r3.render_pathtracing(make_scene(tm), spp, bounces, seed=seed).sum().item()
        fds.append((fp - fm) / (2 * h))
    return np.array(grads), np.array(fds)


def test_texel_gradient_through_lighting():
    """d(Σ image)/d(texel) of a sun texel lighting a plane (next-event
    estimation and escaped BSDF samples) against central differences; the
    image is linear in the texels, so a large step is exact in expectation."""
    texels = sky(8, 16, sun=(0.3, 0.25), sun_radiance=10.0)
    index = (2, 5, 0)  # near the sun
    seeds = range(4)
    g, fd = _texel_fd(lambda t: plane_scene(t, 0.5, 8), texels, index, 64, 1, seeds, 0.5 * texels[index].item())
    ge, fe = g.mean(), fd.mean()
    print("texel grad", ge, "+-", g.std() / 2, "fd", fe, "+-", fd.std() / 2)
    assert abs(ge - fe) < 0.1 * abs(fe)


def test_texel_gradient_of_background(device):
    """Background pixels: the gradient is the bilinear weight summed over the
    pixels that see the texel (central differences are exact here)."""
    texels = sky(8, 16, sun_radiance=3.0).to(device)
    tv, tf = cube([0.0, 0.0, 100.0], 0.01)

    def make(t):
        look = local_direction((11 + 0.5) / 16, 2 / 7).tolist()  # texel (2, 11)'s direction
        cam = r3.Camera(torch.zeros(3, device=device), torch.tensor(look, device=device),
                        torch.tensor([0.0, 1.0, 0.0], device=device), 60.0, resolution=(8, 8))
        return r3.Scene(cam, [r3.Shape(tv.to(device), tf.to(device), 0)],
                        [r3.Material(torch.full((3,), 0.5, device=device))], envmap=r3.EnvironmentMap(t))
    index = (2, 11, 1)
    g, fd = _texel_fd(make, texels, index, 4, 0, [0], 0.25)
    print("background texel grad", g, "fd", fd)
    assert fd[0] > 0.1
    assert abs(g[0] - fd[0]) < 0.02 * fd[0]


def test_camera_gradient_of_background():
    """Turning the camera pans the map across the image: d(Σ w ⊙ image)/d(look_at)
    through the escaped camera rays' directions, against central differences
    (the same seed keeps the pixel jitter, so the differences are exact up to
    the bilinear lookup's kinks)."""
    texels = sky(16, 32, sun=(0.7, 0.35), sun_radiance=2.0)
    tv, tf = cube([0.0, 0.0, 100.0], 0.01)
    res = 12
    weights = torch.linspace(0.0, 1.0, res).reshape(1, res, 1).expand(res, res, 3) + 0.2

    def render(look_at):
        cam = r3.Camera([0.0, 0.0, 0.0], look_at, [0.0, 1.0, 0.0], 50.0, resolution=(res, res))
        scene = r3.Scene(cam, [r3.Shape(tv, tf, 0)], [r3.Material(torch.full((3,), 0.5))],
                         envmap=r3.EnvironmentMap(texels))
        return (r3.render_pathtracing(scene, 8, 0, seed=5) * weights).sum()
    base = torch.tensor([0.5, 0.3, -1.0])
    look = base.clone().requires_grad_(True)
    render(look).backward()
    h = 2e-3
    for axis in range(2):
        e = torch.zeros(3)
        e[axis] = h
        with torch.no_grad():
            fd = (render(base + e) - render(base - e)).item() / (2 * h)
        got = look.grad[axis].item()
        print("camera axis", axis, "grad", got, "fd", fd)
        assert abs(got - fd) < 0.05 * abs(fd) + 0.05


def _translation_fd(make_scene, spp, bounces, seeds, h, weights, edge_sampling=True):
    grads, fds = [], []
    for seed in seeds:
        t = torch.zeros(3, requires_grad=True)
        img = r3.render_pathtracing(make_scene(t), spp, bounces, seed=seed, _edge_sampling=edge_sampling)
        (img * weights).sum().backward()
        grads.append(t.grad[0].item())
        with torch.no_grad():
            fp = (r3.render_pathtracing(make_scene(torch.tensor([h, 0.0, 0.0])), spp, bounces, seed=seed) *
                  weights).sum().item()
            fm = (r3.render_pathtracing(make_scene(torch.tensor([-h, 0.0, 0.0])), spp, bounces, seed=seed) *
                  weights).sum().item()
        fds.append((fp - fm) / (2 * h))
    return np.array(grads), np.array(fds)


def test_silhouette_gradient_against_the_map():
    """Primary edges: a sphere moving sideways in front of a non-constant
    map; the far side of its silhouette is the map's radiance."""
    texels = sky(8, 16, sun=(0.55, 0.4), sun_radiance=5.0)
    v, f = icosphere(1, 0.8)
    res = 16
    weights = torch.linspace(0.0, 1.0, res).reshape(1, res, 1).expand(res, res, 3)

    def make(t):
        cam = r3.Camera([0.0, 0.0, 4.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0], 35.0, resolution=(res, res))
        return r3.Scene(cam, [r3.Shape(v + t, f, 0)], [r3.Material(torch.tensor([0.2, 0.2, 0.2]))],
                        envmap=r3.EnvironmentMap(texels))
    g, fd = _translation_fd(make, 16, 1, range(3), 0.02, weights)
    ge, fe = g.mean(), fd.mean()
    print("silhouette grad", ge, "+-", g.std() / math.sqrt(3), "fd", fe, "+-", fd.std() / math.sqrt(3))
    assert abs(ge - fe) < 0.1 * abs(fe)
    g0, _ = _translation_fd(make, 16, 1, [0], 0.02, weights, edge_sampling=False)
    print("without edge sampling", g0)
    assert abs(g0[0] - fe) > 0.3 * abs(fe)  # the check can fail: the boundary term matters


def test_shadow_gradient_from_the_map():
    """Secondary edges: a cube over a ground plane casts the map's sun's
    shadow; the shadow's far side is the map. Only the ground away from the
    cube's image is weighted, so the term is the shadow's (secondary edges)."""
    texels = sky(16, 32, sun=(0.25, 0.3), sun_radiance=60.0)
    res = 16
    cv, cf = cube([0.0, 0.45, 0.0], 0.25)
    pv, pf = plane(0.0, 3.0)

    def make(t):
        cam = r3.Camera([0.0, 3.0, 0.01], [0.0, 0.0, 0.0], [0.0, 0.0, -1.0], 45.0, resolution=(res, res))
        return r3.Scene(cam, [r3.Shape(cv + t, cf, 0), r3.Shape(pv, pf, 0)],
                        [r3.Material(torch.tensor([0.5, 0.5, 0.5]))], envmap=r3.EnvironmentMap(texels))
    with torch.no_grad():
        ground = r3.render_g_buffer(make(torch.zeros(3)), [r3.channels.position], 4)[..., 1] < 1e-3
    # Ground pixels at least 3 pixels away from the cube's image.
    near_cube = torch.nn.functional.max_pool2d((~ground).float()[None, None], 5, 1, 2)[0, 0] > 0
    weights = (ground & ~near_cube)[..., None].float().expand(res, res, 3)
    g, fd = _translation_fd(make, 256, 1, range(3), 0.05, weights)
    ge, fe = g.mean(), fd.mean()
    print("shadow grad", ge, "+-", g.std() / math.sqrt(3), "fd", fe, "+-", fd.std() / math.sqrt(3))
    assert abs(fe) > 0.05
    assert abs(ge - fe) < 0.1 * abs(fe)
    g0, _ = _translation_fd(make, 32, 1, [0], 0.08, weights, edge_sampling=(True, False))
    print("without secondary edges", g0)
    assert abs(g0[0] - fe) > 0.3 * abs(fe)


def test_smallest_and_black_maps():
    """A 2 x 1 map (two pole rows, one column) and an all-black map (nothing
    to sample: next-event estimation skips it) render finite images with
    finite gradients."""
    v, f = icosphere(1)
    cam = r3.Camera([0.0, 0.0, 4.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0], 40.0, resolution=(8, 8))
    for texels, expect in [(torch.tensor([[[2.0, 2.0, 2.0]], [[0.0, 0.0, 0.0]]]), None),
                           (torch.zeros(4, 8, 3), 0.0)]:
        t = texels.clone().requires_grad_(True)
        scene = r3.Scene(cam, [r3.Shape(v, f, 0)], [r3.Material(torch.full((3,), 0.5))],
                         envmap=r3.EnvironmentMap(t))
        img = r3.render_pathtracing(scene, 4, 2)
        img.sum().backward()
        assert bool(torch.isfinite(img).all()) and bool(torch.isfinite(t.grad).all())
        assert float(t.grad.sum()) > 0  # every pixel's radiance grows with the map
        if expect is not None:
            assert float(img.detach().abs().max()) == expect
        else:  # L = 2 (1 - θ/π); the top image row looks above the horizon
            assert float(img.detach()[0].mean()) > 1.0


# -------------------------------------------------------------- validation

@pytest.mark.parametrize("texels, match", [
    (torch.ones(4, 8), "must be \\(H, W, 3\\)"),
    (torch.ones(4, 8, 4), "must be \\(H, W, 3\\)"),
    (torch.ones(1, 8, 3), "H >= 2"),
    (torch.ones(4, 0, 3), "W >= 1"),
    (torch.full((4, 8, 3), float("nan")), "non-finite"),
    (torch.full((4, 8, 3), float("inf")), "non-finite"),
    (-torch.ones(4, 8, 3), "negative"),
    (torch.ones(4, 8, 3, dtype=torch.float64), "float32"),
])
def test_bad_texels(texels, match):
    with pytest.raises(ValueError, match="'texels'.*" + match):
        r3.EnvironmentMap(texels)


def test_bad_arguments():
    with pytest.raises(TypeError, match="'texels'"):
        r3.EnvironmentMap(np.ones((4, 8, 3), np.float32))
    for bad, match in [(torch.ones(2, 2), "\\(3, 3\\) or \\(4, 4\\)"), (2.0 * torch.eye(3), "rotation"),
                       (torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, float("nan")]]), "non-finite"),
                       (torch.ones(4, 4), "last row")]:
        with pytest.raises(ValueError, match="'to_world'.*" + match):
            r3.EnvironmentMap(torch.ones(4, 8, 3), bad)
    with pytest.raises(TypeError, match="'to_world'"):
        r3.EnvironmentMap(torch.ones(4, 8, 3), "identity")
    tv, tf = cube([0.0, 0.0, 0.0], 0.5)
    cam = r3.Camera([0.0, 0.0, 4.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0], 40.0, resolution=(4, 4))
    with pytest.raises(TypeError, match="'envmap'"):
        r3.Scene(cam, [r3.Shape(tv, tf, 0)], [r3.Material(torch.full((3,), 0.5))], envmap=torch.ones(4, 8, 3))
    # A 4x4 transform with a translation is accepted (directions ignore it).
    m = torch.eye(4)
    m[:3, 3] = torch.tensor([1.0, 2.0, 3.0])
    assert torch.equal(r3.EnvironmentMap(torch.ones(4, 8, 3), m).to_world, torch.eye(3))


def test_envmap_on_another_device_is_refused():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device to put the map elsewhere")
    tv, tf = cube([0.0, 0.0, 0.0], 0.5)
    cam = r3.Camera([0.0, 0.0, 4.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0], 40.0, resolution=(4, 4))
    scene = r3.Scene(cam, [r3.Shape(tv, tf, 0)], [r3.Material(torch.full((3,), 0.5))],
                     envmap=r3.EnvironmentMap(torch.ones(4, 8, 3, device="cuda")))
    with pytest.raises(ValueError, match="'envmap'"):
        r3.render_pathtracing(scene, 1, 1)
