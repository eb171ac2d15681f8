"""diffvg's call patterns: RenderFunction.serialize_scene/apply, the device
setters and imwrite. Code written for diffvg runs with ``import pydiffvg``.

Differences on purpose: the device follows the input tensors (the setters
are kept and ``get_device`` answers, but rendering needs no global state),
strokes are drawn over fills (SVG order), and ``render_grad`` is not
provided (autograd through ``apply`` gives the same gradients).
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path as _FsPath

import numpy as np
import torch

from .layers import has_layers
from .render import _device_of, _render_tree, render_packed
from .shapes import FilterType, OutputType, PixelFilter

_state = {"use_gpu": torch.cuda.is_available(), "device": None, "print_timing": False}


def set_use_gpu(use_gpu):
    """Selects whether get_device() reports CUDA (diffvg compatibility)."""
    _state["use_gpu"] = bool(use_gpu)


def get_use_gpu():
    return _state["use_gpu"]


def set_device(device):
    """Sets the device get_device() reports (diffvg compatibility)."""
    _state["device"] = torch.device(device)
    if _state["device"].type == "cuda":
        _state["use_gpu"] = True


def get_device():
    """The device diffvg code should create its tensors on."""
    if _state["device"] is not None:
        return _state["device"]
    if _state["use_gpu"] and torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def set_print_timing(print_timing):
    """Accepted for compatibility; pydiffvg prints nothing while rendering."""
    _state["print_timing"] = bool(print_timing)


class _SerializedScene:
    """What serialize_scene returns inside its argument list."""

    def __init__(self, canvas_width, canvas_height, shapes, shape_groups, filter, output_type,
                 use_prefiltering, eval_positions):
        self.canvas_width = int(canvas_width)
        self.canvas_height = int(canvas_height)
        self.shapes = list(shapes)
        self.shape_groups = list(shape_groups)
        self.filter = filter
        self.output_type = output_type
        self.use_prefiltering = bool(use_prefiltering)
        self.eval_positions = eval_positions


class RenderFunction:
    """diffvg's rendering entry point.

    ``args = RenderFunction.serialize_scene(w, h, shapes, groups)`` then
    ``img = RenderFunction.apply(w, h, num_samples_x, num_samples_y, seed, background, *args)``
    returns (H, W, 4) (or (H, W, 1) for OutputType.sdf), differentiable with
    respect to the tensors held by the shapes and groups.
    """

    @staticmethod
    def serialize_scene(canvas_width, canvas_height, shapes, shape_groups, filter=None,
                        output_type=OutputType.color, use_prefiltering=False, eval_positions=None):
        if filter is None:
            filter = PixelFilter(type=FilterType.box, radius=torch.tensor(0.5))
        if eval_positions is not None and isinstance(eval_positions, torch.Tensor) and eval_positions.numel():
            raise NotImplementedError("pydiffvg: eval_positions is not supported; render an image and sample it")
        return [_SerializedScene(canvas_width, canvas_height, shapes, shape_groups, filter, output_type,
                                 use_prefiltering, eval_positions)]

    @staticmethod
    def apply(width, height, num_samples_x, num_samples_y, seed, background_image, *args):
        if not args or not isinstance(args[0], _SerializedScene):
            raise TypeError("RenderFunction.apply: pass the list returned by RenderFunction.serialize_scene "
                            "as *args")
        s = args[0]
        scenes = [(s.canvas_width, s.canvas_height, s.shapes, s.shape_groups)]
        device = _device_of(scenes, None)
        if has_layers(s.shape_groups):  # a scene tree (pydiffvg.Layer): composited in torch
            return _render_tree(scenes, int(width), int(height), int(num_samples_x), int(num_samples_y), int(seed),
                                s.filter, background_image, False, s.use_prefiltering, s.output_type, device)[0]
        image = render_packed(scenes, int(width), int(height), int(num_samples_x), int(num_samples_y),
                              int(seed), s.filter, background_image, False, s.use_prefiltering,
                              s.output_type, device)
        return image[0]

    @staticmethod
    def render_grad(*args, **kwargs):
        raise NotImplementedError("pydiffvg does not provide RenderFunction.render_grad; call .backward() on a "
                                  "loss of RenderFunction.apply's image instead")


def _png_bytes(array):
    """Encodes an (H, W, C) uint8 array (C in 1, 3, 4) as PNG."""
    h, w, c = array.shape
    color_type = {1: 0, 3: 2, 4: 6}[c]
    raw = b"".join(b"\x00" + array[y].tobytes() for y in range(h))

    def chunk(tag, data):
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + \
        chunk(b"IEND", b"")


def imwrite(img, filename, gamma=2.2, normalize=False):
    """Writes an image tensor or array (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)
    with values in [0, 1] to PNG, applying ``x ** (1 / gamma)`` as diffvg does.
    The file is written whole or not at all."""
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu().numpy()
    img = np.asarray(img, dtype=np.float64)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise ValueError(f"imwrite: img must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), "
                         f"got {img.shape}")
    if not np.isfinite(img).all():
        raise ValueError("imwrite: img contains NaN or inf")
    if normalize:
        lo, hi = img.min(), img.max()
        img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    img = np.clip(img, 0.0, 1.0)
    if gamma and gamma != 1.0:
        img = np.power(img, 1.0 / gamma)
    data = _png_bytes(np.ascontiguousarray((img * 255.0 + 0.5).astype(np.uint8)))
    path = _FsPath(filename)
    if path.suffix.lower() != ".png":
        try:
            import imageio.v3 as iio
        except ImportError as exc:
            raise ValueError(f"imwrite: only .png is built in; install imageio for {path.suffix}") from exc
        iio.imwrite(path, (img * 255.0 + 0.5).astype(np.uint8))
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
