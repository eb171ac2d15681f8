"""Backward pass of the 2-D renderer (area and boundary terms)."""


def render_backward(ctx, grad_image):
    raise NotImplementedError("pydiffvg: the 2-D backward pass is not built yet")
