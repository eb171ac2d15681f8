"""Generative models whose output is vector strokes (a VAE and a WGAN-GP).

A decoder maps a latent code to a fixed number of open cubic Bézier paths
(points, half stroke widths, RGBA stroke colours). A batch of decoded
stroke sets becomes a list of :class:`pydiffvg.Scene` and renders in ONE
``pydiffvg.render`` call; losses compare rasters. Images are float32
(B, H, W, 3) in [0, 1], white-on-black for digit data.

The training steps run the backward pass in stages (loss -> image, image ->
stroke parameters, parameters -> networks) so that :class:`StepTimer` can
report the renderer's own share of a step; the gradients equal one plain
``loss.backward()``.
"""
from __future__ import annotations

import gzip
import os
import time
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..render import render
from ..scene_types import Scene
from ..shapes import Path, ShapeGroup

__all__ = ["load_digits_28", "load_mnist", "StrokeDecoder", "Encoder", "Critic", "strokes_to_scenes",
           "render_strokes", "StepTimer", "StrokeVAE", "vae_loss", "vae_step", "reconstruction_loss", "critic_step", "generator_step",
           "image_grid"]


# ----------------------------------------------------------------------------- data

def load_digits_28(limit: Optional[int] = None) -> torch.Tensor:
    """scikit-learn's bundled 8x8 digits (1,797 images, no download), upsampled
    bilinearly to 20x20 and padded to 28x28 as MNIST centres its digits.
    Returns (N, 28, 28) float32 in [0, 1]."""
    from sklearn.datasets import load_digits
    images = torch.from_numpy(load_digits().images.astype(np.float32) / 16.0)
    if limit is not None:
        images = images[:limit]
    up = F.interpolate(images[:, None], size=(20, 20), mode="bilinear", align_corners=False)
    return F.pad(up, (4, 4, 4, 4))[:, 0].clamp(0, 1).contiguous()


def load_mnist(data_dir: str, limit: Optional[int] = None) -> torch.Tensor:
    """MNIST training images from `data_dir`: `train-images-idx3-ubyte[.gz]`
    (the standard idx files) or `mnist.npz` (key `x_train`).
    Returns (N, 28, 28) float32 in [0, 1]."""
    for name in ("train-images-idx3-ubyte", "train-images.idx3-ubyte", "train-images-idx3-ubyte.gz"):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            with (gzip.open(path, "rb") if name.endswith(".gz") else open(path, "rb")) as handle:
                data = handle.read()
            magic, count, rows, cols = np.frombuffer(data[:16], dtype=">i4")
            if magic != 2051:
                raise ValueError(f"load_mnist(): {path} has magic {magic}, expected 2051 (idx3 ubyte)")
            images = np.frombuffer(data[16:16 + count * rows * cols], dtype=np.uint8).reshape(count, rows, cols)
            break
    else:
        path = os.path.join(data_dir, "mnist.npz")
        if not os.path.exists(path):
            raise FileNotFoundError(f"load_mnist(): no train-images-idx3-ubyte[.gz] or mnist.npz in {data_dir!r}")
        with np.load(path) as archive:
            images = archive["x_train"]
    if limit is not None:
        images = images[:limit]
    return torch.from_numpy(images.astype(np.float32) / 255.0)


# ----------------------------------------------------------------------------- networks

class StrokeDecoder(nn.Module):
    """Latent (B, latent_dim) -> strokes: a dict of
    points (B, num_paths, 3 * num_segments + 1, 2) in canvas pixels,
    widths (B, num_paths) half stroke widths in pixels, and
    colors (B, num_paths, 4) straight RGBA in [0, 1]."""

    def __init__(self, latent_dim: int, num_paths: int = 4, num_segments: int = 1, hidden: int = 128,
                 canvas: int = 28, min_width: float = 0.5, max_width: float = 2.0):
        super().__init__()
        self.num_paths, self.num_points = num_paths, 3 * num_segments + 1
        self.canvas, self.min_width, self.max_width = canvas, min_width, max_width
        self.body = nn.Sequential(nn.Linear(latent_dim, hidden), nn.LeakyReLU(0.2),
                                  nn.Linear(hidden, hidden), nn.LeakyReLU(0.2))
        self.points = nn.Linear(hidden, num_paths * self.num_points * 2)
        self.widths = nn.Linear(hidden, num_paths)
        self.colors = nn.Linear(hidden, num_paths * 4)

    def forward(self, z: torch.Tensor) -> Dict[str, torch.Tensor]:
        h = self.body(z)
        batch = z.shape[0]
        # Points may leave the canvas by 10 % so that strokes can touch its border.
        points = (torch.sigmoid(self.points(h)) * 1.2 - 0.1) * self.canvas
        widths = self.min_width + (self.max_width - self.min_width) * torch.sigmoid(self.widths(h))
        colors = torch.sigmoid(self.colors(h))
        return {"points": points.view(batch, self.num_paths, self.num_points, 2),
                "widths": widths, "colors": colors.view(batch, self.num_paths, 4)}


class Encoder(nn.Module):
    """Image (B, H, W) -> (mu, logvar), each (B, latent_dim)."""

    def __init__(self, latent_dim: int, hidden: int = 128, canvas: int = 28):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(canvas * canvas, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, 2 * latent_dim))

    def forward(self, images: torch.Tensor):
        mu, logvar = self.net(images).chunk(2, dim=1)
        return mu, logvar


class Critic(nn.Module):
    """WGAN critic: image (B, H, W) -> score (B,). No normalisation layers
    (the gradient penalty is per sample)."""

    def __init__(self, hidden: int = 128, canvas: int = 28):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(canvas * canvas, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)[:, 0]


class StrokeVAE(nn.Module):
    """Encoder + StrokeDecoder. Calling it encodes, samples z and decodes in
    one forward pass, which is what DistributedDataParallel wraps."""

    def __init__(self, latent_dim: int = 8, num_paths: int = 4, num_segments: int = 1, hidden: int = 128,
                 canvas: int = 28):
        super().__init__()
        self.encoder = Encoder(latent_dim, hidden, canvas)
        self.decoder = StrokeDecoder(latent_dim, num_paths, num_segments, hidden, canvas)

    def forward(self, images: torch.Tensor, noise: Optional[torch.Tensor] = None):
        """images (B, H, W) -> (strokes, mu, logvar); z = mu + noise * sigma
        with ``noise`` ~ N(0, I) drawn here unless given (B, latent_dim)."""
        mu, logvar = self.encoder(images)
        if noise is None:
            noise = torch.randn_like(mu)
        return self.decoder(mu + noise * torch.exp(0.5 * logvar)), mu, logvar


# ----------------------------------------------------------------------------- rendering

def strokes_to_scenes(points, widths, colors, canvas: int) -> List[Scene]:
    """One Scene per batch entry: each path an open cubic path with its own
    group (stroke only). Tensors as returned by StrokeDecoder; autograd flows
    from the scenes back to them."""
    batch, num_paths, num_points, _ = points.shape
    num_control = torch.full(((num_points - 1) // 3,), 2, dtype=torch.int32)
    ids = [torch.tensor([i]) for i in range(num_paths)]
    scenes = []
    for b in range(batch):
        shapes = [Path(num_control_points=num_control, points=points[b, i], is_closed=False,
                       stroke_width=widths[b, i]) for i in range(num_paths)]
        groups = [ShapeGroup(shape_ids=ids[i], fill_color=None, stroke_color=colors[b, i])
                  for i in range(num_paths)]
        scenes.append(Scene(canvas, canvas, shapes, groups))
    return scenes


def render_strokes(points, widths, colors, canvas: int = 28, num_samples: int = 2, seed: int = 0) -> torch.Tensor:
    """Render a batch of stroke sets over opaque black in ONE batched call.
    Returns (B, canvas, canvas) float32: the mean of RGB."""
    batch = points.shape[0]
    background = torch.zeros(batch, canvas, canvas, 4, device=points.device)
    background[..., 3] = 1.0
    image = render(strokes_to_scenes(points, widths, colors, canvas), num_samples=num_samples, seed=seed,
                   background=background)
    return image[..., :3].mean(-1)


class StepTimer:
    """Wall-clock seconds of whole steps and of the renderer inside them."""

    def __init__(self):
        self.step = self.render_forward = self.render_backward = 0.0
        self.steps = 0

    def render_share(self) -> float:
        return (self.render_forward + self.render_backward) / self.step if self.step else 0.0

    def summary(self) -> str:
        n = max(self.steps, 1)
        return (f"{1e3 * self.step / n:.0f} ms/step; batched render forward {1e3 * self.render_forward / n:.0f} ms"
                f" + backward {1e3 * self.render_backward / n:.0f} ms = {100 * self.render_share():.0f}% of the step")


def _render_timed(strokes, timer: Optional[StepTimer], **render_args):
    start = time.perf_counter()
    image = render_strokes(strokes["points"], strokes["widths"], strokes["colors"], **render_args)
    if timer is not None:
        timer.render_forward += time.perf_counter() - start
    return image


def _staged_backward(strokes: Dict[str, torch.Tensor], loss_of_image, timer: Optional[StepTimer],
                     **render_args):
    """loss_of_image(image) -> loss. Backpropagates loss into the networks in
    three stages (loss -> image, render backward, strokes -> decoder), timing
    the middle one. Returns (loss, image), detached."""
    leaves = {k: v.detach().requires_grad_(True) for k, v in strokes.items()}
    image = _render_timed(leaves, timer, **render_args)
    image_leaf = image.detach().requires_grad_(True)
    loss = loss_of_image(image_leaf)
    loss.backward(retain_graph=True)  # the decoder's graph is walked again below
    start = time.perf_counter()
    image.backward(image_leaf.grad)
    if timer is not None:
        timer.render_backward += time.perf_counter() - start
    names = [k for k in strokes if leaves[k].grad is not None]
    torch.autograd.backward([strokes[k] for k in names], [leaves[k].grad for k in names])
    return loss.detach(), image.detach()


def vae_loss(model, images: torch.Tensor, *, beta: float = 1.0, num_samples: int = 2, seed: int = 0,
             noise: Optional[torch.Tensor] = None):
    """(loss, reconstruction, KL) of a batch of images (B, H, W), each a
    tensor per image: summed squared error + beta * KL(q(z|x) || N(0, I)).
    ``model`` is a StrokeVAE or a wrapper that calls it (DDP)."""
    strokes, mu, logvar = model(images, noise)
    kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(1).mean()
    image = render_strokes(strokes["points"], strokes["widths"], strokes["colors"], canvas=images.shape[-1],
                           num_samples=num_samples, seed=seed)
    recon = ((image - images) ** 2).sum((1, 2)).mean()
    return recon + beta * kl, recon, kl


def vae_step(model, optimizer, images: torch.Tensor, *, beta: float = 1.0, num_samples: int = 2, seed: int = 0,
             timer: Optional[StepTimer] = None, noise: Optional[torch.Tensor] = None):
    """One VAE step on images (B, H, W) (see vae_loss); ``model`` may be
    wrapped in DistributedDataParallel. With a timer the backward pass runs
    in stages to time the renderer's part (not under DDP, which allows one
    backward pass per forward). Returns (reconstruction loss, KL) as floats
    (per image)."""
    start = time.perf_counter()
    optimizer.zero_grad()
    if timer is None:
        loss, recon, kl = vae_loss(model, images, beta=beta, num_samples=num_samples, seed=seed, noise=noise)
        loss.backward()
    else:
        strokes, mu, logvar = model(images, noise)
        kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(1).mean()
        parts = {}

        def loss_of_image(image):
            parts["recon"] = ((image - images) ** 2).sum((1, 2)).mean()
            return parts["recon"] + beta * kl

        _staged_backward(strokes, loss_of_image, timer, canvas=images.shape[-1], num_samples=num_samples,
                         seed=seed)
        recon = parts["recon"]
    optimizer.step()
    if timer is not None:
        timer.step += time.perf_counter() - start
        timer.steps += 1
    return float(recon.detach()), float(kl.detach())


@torch.no_grad()
def reconstruction_loss(model: StrokeVAE, images: torch.Tensor, num_samples: int = 2) -> float:
    """Mean summed squared error of decode(mu(images)) (deterministic)."""
    mu, _ = model.encoder(images)
    strokes = model.decoder(mu)
    image = render_strokes(**strokes, canvas=images.shape[-1], num_samples=num_samples, seed=0)
    return float(((image - images) ** 2).sum((1, 2)).mean())


def critic_step(generator: StrokeDecoder, critic: Critic, optimizer, real: torch.Tensor, latent_dim: int, *,
                gp_weight: float = 10.0, num_samples: int = 2, seed: int = 0,
                timer: Optional[StepTimer] = None) -> float:
    """One WGAN-GP critic step (Gulrajani et al. 2017, Algorithm 1):
    L = D(fake) - D(real) + gp_weight * (|grad D(x_hat)| - 1)^2, with x_hat
    uniformly between real and fake. Returns L (float)."""
    start = time.perf_counter()
    with torch.no_grad():
        fake = _render_timed(generator(torch.randn(real.shape[0], latent_dim)), timer,
                             canvas=real.shape[-1], num_samples=num_samples, seed=seed)
    optimizer.zero_grad()
    eps = torch.rand(real.shape[0], 1, 1)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad, = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
    loss = critic(fake).mean() - critic(real).mean() + gp_weight * penalty
    loss.backward()
    optimizer.step()
    if timer is not None:
        timer.step += time.perf_counter() - start
    return float(loss)


def generator_step(generator: StrokeDecoder, critic: Critic, optimizer, batch: int, latent_dim: int, *,
                   canvas: int = 28, num_samples: int = 2, seed: int = 0,
                   timer: Optional[StepTimer] = None) -> float:
    """One WGAN generator step: L = -mean D(render(G(z))). Returns L (float)."""
    start = time.perf_counter()
    optimizer.zero_grad()
    critic.requires_grad_(False)
    try:
        loss, _ = _staged_backward(generator(torch.randn(batch, latent_dim)), lambda img: -critic(img).mean(),
                                   timer, canvas=canvas, num_samples=num_samples, seed=seed)
    finally:
        critic.requires_grad_(True)
    optimizer.step()
    if timer is not None:
        timer.step += time.perf_counter() - start
        timer.steps += 1
    return float(loss)


def image_grid(images: torch.Tensor, columns: int = 8, gap: int = 1) -> torch.Tensor:
    """(B, H, W) -> one (rows * (H + gap) - gap, columns * (W + gap) - gap) grid image."""
    batch, height, width = images.shape
    rows = (batch + columns - 1) // columns
    grid = torch.full((rows * (height + gap) - gap, columns * (width + gap) - gap), 0.25)
    for i in range(batch):
        r, c = divmod(i, columns)
        grid[r * (height + gap):r * (height + gap) + height, c * (width + gap):c * (width + gap) + width] = images[i]
    return grid
