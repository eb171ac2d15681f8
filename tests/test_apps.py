"""Applications: vector seam carving and the stroke VAE / WGAN-GP.

Small workloads only (the suite runs on 2 shared cores)."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import pydiffvg
from pydiffvg.apps import seam

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCENE_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="48" height="32">
<rect x="0" y="0" width="48" height="32" fill="#e6e6b3"/>
<circle cx="9" cy="16" r="5" fill="#e61a1a"/>
<rect x="21" y="9" width="7" height="14" fill="#1a991a"/>
<path d="M40 8 C45 10 45 20 42 25 C39 27 35 20 36 14 C37 10 38 8 40 8 Z" fill="#1a33e6"/>
</svg>
"""


def test_find_vertical_seam_follows_the_low_energy_column():
    energy = np.ones((6, 5))
    energy[:, 3] = 0.0
    energy[2, 3], energy[2, 2] = 5.0, 0.0  # the cheap path detours one column at row 2
    assert seam.find_vertical_seam(energy).tolist() == [3, 3, 2, 3, 3, 3]


def test_remove_vertical_seam_drops_one_pixel_per_row():
    image = torch.arange(12.0).reshape(3, 4, 1)
    out = seam.remove_vertical_seam(image, np.array([0, 3, 1]))
    assert out[..., 0].tolist() == [[1, 2, 3], [4, 5, 6], [8, 10, 11]]


def _render_rgb(shapes, groups, width, height):
    return seam.composite_rgb(pydiffvg.render(shapes, groups, width=width, height=height, num_samples=2, seed=0))


def test_seam_carving_beats_horizontal_scaling(tmp_path):
    width, height, shapes, groups = pydiffvg.svg_to_scene(SCENE_SVG)
    target_width = 36  # 75 %
    reference, _ = seam.carve_image(_render_rgb(shapes, groups, width, height), width - target_width)

    svg_in, svg_out = tmp_path / "in.svg", tmp_path / "out.svg"
    svg_in.write_text(SCENE_SVG)
    subprocess.run([sys.executable, os.path.join(ROOT, "apps", "seam_carving.py"), str(svg_in), "--width",
                    str(target_width), "-o", str(svg_out), "--steps", "8", "--frames", str(tmp_path / "frames")],
                   check=True, capture_output=True, cwd=ROOT)
    out_width, out_height, carved, carved_groups = pydiffvg.svg_to_scene(svg_out)
    assert (out_width, out_height) == (target_width, height)
    assert (tmp_path / "out.png").exists() and len(os.listdir(tmp_path / "frames")) == 3

    scaled = seam.scale_scene_horizontally(shapes, groups, target_width / width)
    err_carved = float(((_render_rgb(carved, carved_groups, target_width, height) - reference) ** 2).mean())
    err_scaled = float(((_render_rgb(scaled, groups, target_width, height) - reference) ** 2).mean())
    print(f"L2 to raster-carved: vector carving {err_carved:.5f}, horizontal scale {err_scaled:.5f}")
    assert err_carved < 0.5 * err_scaled, (err_carved, err_scaled)


# ----------------------------------------------------------------------------- generative models

from pydiffvg.apps import generative as gen  # noqa: E402


def test_digits_are_mnist_sized():
    data = gen.load_digits_28(10)
    assert data.shape == (10, 28, 28) and data.dtype == torch.float32
    assert 0.0 <= float(data.min()) and float(data.max()) <= 1.0 and float(data[:, :4].abs().sum()) == 0.0


def test_vae_steps_lower_reconstruction_loss():
    torch.manual_seed(0)
    data = gen.load_digits_28(64)
    model = gen.StrokeVAE(latent_dim=4, num_paths=3, hidden=64)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    before = gen.reconstruction_loss(model, data[:32])
    timer = gen.StepTimer()
    for step in range(24):
        batch = data[torch.randint(0, 64, (16,))]
        gen.vae_step(model, optimizer, batch, beta=0.1, seed=step, timer=timer)
    after = gen.reconstruction_loss(model, data[:32])
    print(f"VAE reconstruction {before:.2f} -> {after:.2f}; {timer.summary()}")
    assert after < 0.8 * before, (before, after)
    assert 0.0 < timer.render_share() <= 1.0


def test_staged_backward_matches_plain_backward():
    torch.manual_seed(1)
    model = gen.StrokeVAE(latent_dim=3, num_paths=2, hidden=16)
    images = gen.load_digits_28(4)
    grads = []
    for staged in (True, False):
        model.zero_grad()
        torch.manual_seed(2)
        if staged:
            gen.vae_step(model, torch.optim.SGD(model.parameters(), lr=0.0), images, seed=5, timer=gen.StepTimer())
        else:
            mu, logvar = model.encoder(images)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(1).mean()
            image = gen.render_strokes(**model.decoder(z), canvas=28, num_samples=2, seed=5)
            (((image - images) ** 2).sum((1, 2)).mean() + kl).backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-5)


def test_gan_step_runs_and_samples_are_valid_svgs(tmp_path):
    script = os.path.join(ROOT, "apps", "generative", "strokes.py")
    out = tmp_path / "gan"
    result = subprocess.run([sys.executable, script, "train-gan", "--steps", "2", "--n-critic", "1", "--batch", "8",
                             "--paths", "2", "--hidden", "32", "--limit", "32", "--out", str(out)],
                            check=True, capture_output=True, text=True, cwd=ROOT)
    assert "% of the step" in result.stdout
    subprocess.run([sys.executable, script, "sample", str(out / "checkpoint.pt"), "--count", "3", "--out",
                    str(tmp_path / "samples")], check=True, capture_output=True, cwd=ROOT)
    for folder in (out, tmp_path / "samples"):
        assert (folder / "samples.png").exists() and (folder / "interpolation.png").exists()
    svgs = sorted((tmp_path / "samples").glob("sample_*.svg"))
    assert len(svgs) == 3
    for svg in svgs:
        width, height, shapes, groups = pydiffvg.svg_to_scene(str(svg))
        assert (width, height) == (28, 28) and len(shapes) == 3  # background rect + 2 strokes
        assert pydiffvg.render(shapes, groups, width=28, height=28, num_samples=1).shape == (28, 28, 4)
