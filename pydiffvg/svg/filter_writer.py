"""``<filter>`` elements from pydiffvg filter objects, for ``save_svg``.

The writer (pydiffvg/svg/writer.py) calls ``filter.to_svg(id)`` on a
Layer's filter; FilterGraph and FilterChain forward to ``filter_to_svg``
here. The filtered ``g`` is written in canvas coordinates, so the filter is
written in canvas units (filterUnits and primitiveUnits userSpaceOnUse),
which the importer reads back unchanged. Exact for every primitive except
feTurbulence (its user-space mapping is not kept: the noise is written in
canvas units, frequency scaled) and feImage (its painter is not
serialisable: written as a transparent flood, with a warning).
"""
from __future__ import annotations

import warnings
from xml.sax.saxutils import quoteattr

import numpy as np
import torch

from .. import filters as fx

__all__ = ["filter_to_svg"]


def _num(value) -> str:
    if isinstance(value, torch.Tensor):
        value = float(value.detach())
    text = format(float(value), ".9g")
    return "0" if text == "-0" else text


def _nums(values) -> str:
    if isinstance(values, torch.Tensor):
        values = values.detach().reshape(-1).tolist()
    return " ".join(_num(v) for v in np.asarray(values, dtype=np.float64).reshape(-1))


def _color(rgba):
    """(straight sRGB colour attribute, opacity) of a (3,) or (4,) colour."""
    c = rgba.detach().reshape(-1).tolist() if isinstance(rgba, torch.Tensor) else list(rgba)
    rgb = "rgb(" + ",".join(f"{_num(100.0 * min(1.0, max(0.0, v)))}%" for v in c[:3]) + ")"
    return rgb, (c[3] if len(c) > 3 else 1.0)


def _common(prim):
    attrs = []
    names = ("in", "in2")
    for name, value in zip(names, prim.inputs[:2] if not isinstance(prim, fx.Merge) else []):
        if value is not None:
            attrs.append(f"{name}={quoteattr(value)}")
    if prim.result:
        attrs.append(f"result={quoteattr(prim.result)}")
    if prim.subregion is not None:
        x0, y0, x1, y1 = prim.subregion
        attrs += [f'x="{_num(x0)}"', f'y="{_num(y0)}"', f'width="{_num(x1 - x0)}"',
                  f'height="{_num(y1 - y0)}"']
    attrs.append(f'color-interpolation-filters="{prim.color_space}"')
    return attrs


def _element(tag, attrs, children=""):
    head = f"<{tag} " + " ".join(attrs)
    return head + (f">{children}</{tag}>" if children else "/>")


def _light(light):
    if isinstance(light, fx.DistantLight):
        return f'<feDistantLight azimuth="{_num(light.azimuth)}" elevation="{_num(light.elevation)}"/>'
    if isinstance(light, fx.SpotLight):
        cone = "" if light.cone is None else f' limitingConeAngle="{_num(light.cone)}"'
        return (f'<feSpotLight x="{_num(light.x)}" y="{_num(light.y)}" z="{_num(light.z)}" '
                f'pointsAtX="{_num(light.at_x)}" pointsAtY="{_num(light.at_y)}" '
                f'pointsAtZ="{_num(light.at_z)}" specularExponent="{_num(light.exponent)}"{cone}/>')
    return f'<fePointLight x="{_num(light.x)}" y="{_num(light.y)}" z="{_num(light.z)}"/>'


def _transfer(channel, func):
    tag = "feFunc" + "RGBA"[channel]
    if func is None or func[0] == "identity":
        return f'<{tag} type="identity"/>'
    kind = func[0]
    if kind in ("table", "discrete"):
        return f'<{tag} type="{kind}" tableValues="{_nums(func[1])}"/>'
    if kind == "linear":
        return f'<{tag} type="linear" slope="{_num(func[1])}" intercept="{_num(func[2])}"/>'
    return (f'<{tag} type="gamma" amplitude="{_num(func[1])}" exponent="{_num(func[2])}" '
            f'offset="{_num(func[3])}"/>')


def _primitive(prim) -> str:
    a = _common(prim)
    if isinstance(prim, fx.GaussianBlur):
        return _element("feGaussianBlur", a + [f'stdDeviation="{_num(prim.std_x)} {_num(prim.std_y)}"'])
    if isinstance(prim, fx.Offset):
        return _element("feOffset", a + [f'dx="{_num(prim.dx)}"', f'dy="{_num(prim.dy)}"'])
    if isinstance(prim, fx.Flood):
        rgb, alpha = _color(prim.color)
        return _element("feFlood", a + [f'flood-color="{rgb}"', f'flood-opacity="{_num(alpha)}"'])
    if isinstance(prim, fx.ColorMatrix):
        return _element("feColorMatrix", a + ['type="matrix"', f'values="{_nums(prim.matrix)}"'])
    if isinstance(prim, fx.ComponentTransfer):
        return _element("feComponentTransfer", a,
                        "".join(_transfer(k, f) for k, f in enumerate(prim.functions)))
    if isinstance(prim, fx.Composite):
        extra = [f'operator="{prim.operator}"']
        if prim.operator == "arithmetic":
            extra += [f'k{i + 1}="{_num(prim.k[i])}"' for i in range(4)]
        return _element("feComposite", a + extra)
    if isinstance(prim, fx.Blend):
        return _element("feBlend", a + [f'mode="{prim.mode}"'])
    if isinstance(prim, fx.Merge):
        nodes = "".join("<feMergeNode/>" if n is None else f"<feMergeNode in={quoteattr(n)}/>"
                        for n in prim.inputs)
        return _element("feMerge", a, nodes)
    if isinstance(prim, fx.Morphology):
        return _element("feMorphology", a + [f'operator="{prim.operator}"',
                                             f'radius="{_num(prim.rx)} {_num(prim.ry)}"'])
    if isinstance(prim, fx.Tile):
        return _element("feTile", a)
    if isinstance(prim, fx.DropShadow):
        rgb, alpha = _color(prim.color)
        return _element("feDropShadow", a + [f'dx="{_num(prim.dx)}"', f'dy="{_num(prim.dy)}"',
                                             f'stdDeviation="{_num(prim.std_x)} {_num(prim.std_y)}"',
                                             f'flood-color="{rgb}"', f'flood-opacity="{_num(alpha)}"'])
    if isinstance(prim, fx.Turbulence):
        fx_, fy_ = prim.base_frequency
        m = prim.canvas_to_user if prim.canvas_to_user is not None else np.eye(3)
        # frequencies per canvas unit (the user-space offset is not kept)
        fx_, fy_ = fx_ * abs(m[0, 0]), fy_ * abs(m[1, 1])
        extra = [f'baseFrequency="{_num(fx_)} {_num(fy_)}"', f'numOctaves="{prim.num_octaves}"',
                 f'seed="{prim.seed}"', f'type="{"fractalNoise" if prim.fractal else "turbulence"}"']
        if prim.stitch:
            extra.append('stitchTiles="stitch"')
        return _element("feTurbulence", a + extra)
    if isinstance(prim, fx.ConvolveMatrix):
        rows, cols = prim.kernel.shape
        extra = [f'order="{cols} {rows}"', f'kernelMatrix="{_nums(prim.kernel)}"',
                 f'divisor="{_num(prim.divisor)}"', f'bias="{_num(prim.bias)}"',
                 f'targetX="{prim.target[0]}"', f'targetY="{prim.target[1]}"',
                 f'edgeMode="{prim.edge_mode}"', f'preserveAlpha="{str(prim.preserve_alpha).lower()}"']
        return _element("feConvolveMatrix", a + extra)
    if isinstance(prim, fx.DisplacementMap):
        return _element("feDisplacementMap", a + [f'scale="{_num(prim.scale)}"',
                                                  f'xChannelSelector="{prim.x_channel}"',
                                                  f'yChannelSelector="{prim.y_channel}"'])
    if isinstance(prim, (fx.DiffuseLighting, fx.SpecularLighting)):
        rgb, _ = _color(prim.color)
        extra = [f'surfaceScale="{_num(prim.surface_scale)}"', f'lighting-color="{rgb}"']
        if isinstance(prim, fx.SpecularLighting):
            extra += [f'specularConstant="{_num(prim.constant)}"',
                      f'specularExponent="{_num(prim.exponent)}"']
            return _element("feSpecularLighting", a + extra, _light(prim.light))
        extra.append(f'diffuseConstant="{_num(prim.constant)}"')
        return _element("feDiffuseLighting", a + extra, _light(prim.light))
    warnings.warn(f"save_svg(): {type(prim).__name__} cannot be written as SVG; written as a "
                  f"transparent feFlood", stacklevel=3)
    return _element("feFlood", a + ['flood-opacity="0"'])


def filter_to_svg(graph, ident: str) -> str:
    """The ``<filter id=ident>`` text of a FilterGraph (canvas units)."""
    attrs = [f"id={quoteattr(ident)}", 'filterUnits="userSpaceOnUse"', 'primitiveUnits="userSpaceOnUse"']
    if graph.region is not None:
        x0, y0, x1, y1 = graph.region
        attrs += [f'x="{_num(x0)}"', f'y="{_num(y0)}"', f'width="{_num(x1 - x0)}"',
                  f'height="{_num(y1 - y0)}"']
    else:
        attrs += ['x="-1e6"', 'y="-1e6"', 'width="2e6"', 'height="2e6"']
    return _element("filter", attrs, "".join(_primitive(p) for p in graph.primitives))
