"""Backward pass of the 2-D renderer: hands the image adjoint to the native
kernel, which returns gradients for every packed float tensor (area and
boundary terms, see csrc/vg/backward.cpp)."""
from __future__ import annotations

import torch

from . import _core
from ._native import CallScope, all_finite, ptr, zeros
from .scene import FLOAT_FIELDS

# Module-level knobs, for tests and benchmarks; see BackwardOptions in
# csrc/vg/render.h.
BACKWARD_OPTIONS = {"boundary_density": 1.0, "boundary_term": True, "area_term": True, "cell_programs": True}


def render_backward(ctx, grad_image):
    saved = ctx.saved_tensors
    needs = ctx.needs_input_grad
    background = saved[1] if ctx.has_background else None
    grad_radius, grad_bg, grads = native_backward(
        ctx.settings, ctx.packed, list(saved[2:]), ctx.filter_radius, background, saved[0], grad_image,
        want_radius=needs[2], want_background=needs[3], log=getattr(ctx, "log", None))
    return (None, None, grad_radius, grad_bg, *grads)


def native_backward(settings, packed, floats, filter_radius, background, image, grad_image, want_radius=True,
                    want_background=True, log=None):
    """The kernel's backward pass: the gradients of the loss with respect to
    the filter radius (a () tensor, or None unless wanted), the background
    (or None) and each packed float tensor (in FLOAT_FIELDS order)."""
    from .render import _scene_dict  # local import: render imports this module lazily

    grad_image = grad_image.contiguous().to(torch.float32)
    if not all_finite(grad_image):
        raise ValueError("render backward: the incoming gradient contains NaN or inf")
    grads = {name: zeros(t.shape, t.dtype, t.device) for name, t in zip(FLOAT_FIELDS, floats)}
    grad_bg = zeros(background.shape, background.dtype, background.device) \
        if background is not None and want_background else None
    grad_radius = torch.zeros(1, dtype=torch.float32, device=packed.device) if want_radius else None
    pointers = {k: ptr(v) for k, v in grads.items()}
    if grad_bg is not None:
        pointers["background"] = ptr(grad_bg)
    if grad_radius is not None:
        pointers["filter_radius"] = ptr(grad_radius)
    scope = CallScope(packed.device)
    options = settings.as_dict(filter_radius, background)
    _core.render_backward(*scope.context_args(), _scene_dict(packed, floats), options, dict(BACKWARD_OPTIONS),
                          ptr(image), ptr(grad_image), pointers, log)
    out_radius = grad_radius.reshape(()) if grad_radius is not None else None
    return out_radius, grad_bg, [grads[name] for name in FLOAT_FIELDS]
