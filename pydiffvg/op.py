"""The 2-D renderer as torch.library operators, for torch.compile.

``torch.ops.pydiffvg.render2d`` takes a scene as a short list of tensors,
its attribute tensors joined into buckets (see _Buckets), and a string that
says where each piece goes (the *spec*). Both are built by
``flatten_scenes`` from the Python objects with attribute reads, isinstance
checks, stacks and concatenations and string formatting only, which dynamo
traces without a graph break; the spec is a constant of the graph, so scenes
of one structure share one compiled graph and only a new structure
recompiles.

Why the packing stays inside the op, on purpose: packing reads integer
structure from tensors (``num_control_points``, ``shape_ids``) to build index
tables, and checks values (finite, ascending stops). Traced, each read is a
data-dependent guard (``Eq(u0, 1)``) and a recompilation or a graph break.
Inside the op the same packer and the same checks run on real tensors, so
compiled code raises the same errors as eager code.

The forward op packs with autograd switched back on inside it, from
detached copies of its buckets split into their pieces, and hands the packed scene (and the CPU
layer log) to its backward op (see _HANDOVER). The backward op runs the
kernel's backward pass over the packed tensors and carries those gradients
through the packing to the inputs with ``torch.autograd.grad``. Eager code
keeps ``pydiffvg.render``'s autograd.Function, which does the same work
without the op boundary. Both paths run the same packer and kernels, and
the tests compare them.
"""
from __future__ import annotations

import contextlib
import functools

import torch
from torch.library import custom_op
from torch.multiprocessing.reductions import StorageWeakRef

from . import _core
from .scene import FLOAT_FIELDS
from .shapes import (Circle, Ellipse, LinearGradient, OutputType, Path, PixelFilter, Polygon, RadialGradient,
                     Rect, ShapeGroup)

__all__ = ["flatten_scenes", "unflatten_scenes", "render_op"]

# Tensor attributes of each class, in the order they are flattened.
_SHAPE_KINDS = (  # isinstance order: code, class, tensor attributes
    ("C", Circle, ("radius", "center", "stroke_width")),
    ("E", Ellipse, ("radius", "center", "stroke_width")),
    ("R", Rect, ("p_min", "p_max", "stroke_width")),
    ("P", Path, ("num_control_points", "points", "stroke_width")),
    ("Y", Polygon, ("points", "stroke_width")),
)
_SHAPE_CLASSES = {code: (cls, names) for code, cls, names in _SHAPE_KINDS}
_GRADIENT_FIELDS = {"L": (LinearGradient, ("begin", "end", "offsets", "stop_colors")),
                    "Q": (RadialGradient, ("center", "radius", "offsets", "stop_colors", "focal",
                                           "focal_radius"))}
_INTEGER_FIELDS = ("num_control_points", "shape_ids")


# Bucket letters of the spec: lowercase, never 'n' (None).
_BUCKET_LETTERS = "abcdefghijklmopqrstuvwxyz"


class _Buckets:
    """The scene's tensors, grouped by dtype, device and shape past the first
    dimension, each group joined into one tensor: 0-d tensors stacked, the
    others concatenated along their first dimension. The op then takes a
    handful of tensors however many shapes the scene has, and splits each
    bucket back into its pieces with one call (``unbind`` or ``split``, in
    C++, differentiable through one autograd node).

    Why: each tensor that crosses an op boundary costs about 5 us at every
    call (guards, fake-tensor checks, dispatcher and autograd bookkeeping,
    forward and backward), and a CLIPDraw scene of 64 strokes has 385 of
    them: about 2 ms a step, more than torch.compile saves elsewhere. The
    joins are one fused kernel in the compiled graph."""

    def __init__(self):
        self.index = {}     # (dtype, device, trailing shape or None for 0-d) -> bucket number
        self.members = []   # per bucket, its tensors in spec order
        self.trailing = []  # per bucket, the trailing shape (None: 0-d tensors, stacked)

    def add(self, value):
        trailing = tuple(value.shape[1:]) if value.dim() else None
        key = (value.dtype, value.device, trailing)
        if key not in self.index:
            if len(self.index) == len(_BUCKET_LETTERS):
                raise TypeError(f"render: the scene's tensors come in more than {len(_BUCKET_LETTERS)} "
                                f"kinds of (dtype, device, shape)")
            self.index[key] = len(self.members)
            self.members.append([])
            self.trailing.append(trailing)
        self.members[self.index[key]].append(value)
        return _BUCKET_LETTERS[self.index[key]]

    def tensors(self):
        return [torch.stack(members) if trailing is None else torch.cat(members)
                for members, trailing in zip(self.members, self.trailing)]

    def tokens(self):
        """A ``T,letter,-`` token per bucket of 0-d tensors, and
        ``T,letter,n/n/...`` (the first dimensions) per other bucket."""
        return [f"T,{_BUCKET_LETTERS[k]}," + ("-" if trailing is None else "/".join(str(t.shape[0]) for t in members))
                for k, (members, trailing) in enumerate(zip(self.members, self.trailing))]


def _slot(value, name, buckets):
    """Adds a tensor attribute to ``buckets``; returns its spec letter: its
    bucket's letter, or 'n' for None. Array-likes become tensors here, as
    the packer would convert them."""
    if value is None:
        return "n"
    if not isinstance(value, torch.Tensor):
        value = torch.as_tensor(value, dtype=torch.int32 if name in _INTEGER_FIELDS else torch.float32)
    return buckets.add(value)


def _paint_token(paint, where, buckets):
    if paint is None:
        return "n"
    if isinstance(paint, (LinearGradient, RadialGradient)):
        code = "L" if isinstance(paint, LinearGradient) else "Q"
        return code + "".join(_slot(getattr(paint, n, None), n, buckets) for n in _GRADIENT_FIELDS[code][1])
    if isinstance(paint, torch.Tensor):
        return buckets.add(paint)
    raise TypeError(f"{where} must be None, an RGBA tensor, LinearGradient or RadialGradient, "
                    f"got {type(paint).__name__}")


def flatten_scenes(scenes, filter_radius, background):
    """(tensors, spec) of a list of (canvas_width, canvas_height, shapes,
    groups), the filter radius tensor and the background (or None).

    Spec grammar, tokens joined by ';': ``v2,B`` (B: 1 with a background),
    then per scene ``S,width,height``, then a token per shape
    ``code slots cap join miter closed`` and per group
    ``G slots even_odd fill stroke``, and last a ``T`` token per bucket
    (see _Buckets). Slots are one letter per tensor attribute: 'n' for
    None, else the letter of the bucket that holds it. The tensors are the
    radius, the background, then the buckets in letter order; each bucket
    is its tensors flattened and concatenated in slot order."""
    buckets = _Buckets()
    tokens = [f"v2,{1 if background is not None else 0}"]
    for b, (canvas_width, canvas_height, shapes, groups) in enumerate(scenes):
        prefix = f"scenes[{b}]." if len(scenes) > 1 else ""
        tokens.append(f"S,{float(canvas_width)!r},{float(canvas_height)!r}")
        for i, shape in enumerate(shapes):
            code, names = None, ()
            for kind_code, cls, kind_names in _SHAPE_KINDS:
                if isinstance(shape, cls):
                    code, names = kind_code, kind_names
                    break
            if code is None:
                raise TypeError(f"{prefix}shapes[{i}] must be a Circle, Ellipse, Rect, Path or Polygon, "
                                f"got {type(shape).__name__}")
            slots = "".join(_slot(getattr(shape, n, None), n, buckets) for n in names)
            cap, join = int(getattr(shape, "line_cap", 0)), int(getattr(shape, "line_join", 0))
            miter = float(getattr(shape, "miter_limit", 4.0))
            closed = 1 if getattr(shape, "is_closed", True) else 0
            tokens.append(f"{code},{slots},{cap},{join},{miter!r},{closed}")
        for j, group in enumerate(groups):
            where = f"{prefix}shape_groups[{j}]"
            if not isinstance(group, ShapeGroup):
                raise TypeError(f"{where} must be a ShapeGroup, got {type(group).__name__}")
            slots = _slot(group.shape_ids, "shape_ids", buckets) + _slot(group.shape_to_canvas, "shape_to_canvas",
                                                                        buckets)
            fill = _paint_token(group.fill_color, f"{where}.fill_color", buckets)
            stroke = _paint_token(group.stroke_color, f"{where}.stroke_color", buckets)
            tokens.append(f"G,{slots},{1 if group.use_even_odd_rule else 0},{fill},{stroke}")
    tensors = [filter_radius] + ([background] if background is not None else []) + buckets.tensors()
    return tensors, ";".join(tokens + buckets.tokens())


@functools.lru_cache(maxsize=64)
def _parse_spec(spec):
    """The structure a spec describes, parsed once per spec (a compiled graph
    calls its op with the same spec every time): (has_background, scenes,
    buckets). A scene is (width, height, shapes, groups). A shape is (class,
    slots, attributes): slots pair the name of each tensor attribute with
    its bucket's letter, in feed order, and attributes is a dict of the
    others (None attributes included). A group is the same, then its fill
    and stroke paints, each None, a bucket letter, or a (class, slots,
    attributes) of its own. A bucket is (letter, sizes): the first
    dimensions of its pieces, or None for a stack of 0-d tensors."""
    tokens = spec.split(";")
    version, has_background = tokens[0].split(",")
    if version != "v2":
        raise ValueError(f"pydiffvg::render2d: unknown scene spec version {version!r}")

    def slots(letters, names, **attributes):
        attributes.update({name: None for letter, name in zip(letters, names) if letter == "n"})
        return tuple((name, letter) for letter, name in zip(letters, names) if letter != "n"), attributes

    def paint(token):
        if token[0] in "LQ":
            cls, names = _GRADIENT_FIELDS[token[0]]
            return (cls,) + slots(token[1:], names)
        return None if token == "n" else token

    scenes, buckets = [], []
    for token in tokens[1:]:
        fields = token.split(",")
        if fields[0] == "S":
            w, h = float(fields[1]), float(fields[2])
            scenes.append((int(w) if w == int(w) else w, int(h) if h == int(h) else h, [], []))
        elif fields[0] == "G":
            scenes[-1][3].append((ShapeGroup,) + slots(fields[1], ("shape_ids", "shape_to_canvas"),
                                                       use_even_odd_rule=fields[2] == "1", id="")
                                 + (paint(fields[3]), paint(fields[4])))
        elif fields[0] == "T":
            buckets.append((fields[1], None if fields[2] == "-" else [int(n) for n in fields[2].split("/")]))
        else:
            cls, names = _SHAPE_CLASSES[fields[0]]
            scenes[-1][2].append((cls,) + slots(fields[1], names, line_cap=int(fields[2]), line_join=int(fields[3]),
                                                miter_limit=float(fields[4]), is_closed=fields[5] == "1", id="",
                                                use_distance_approx=False))
    return has_background == "1", scenes, buckets


def unflatten_scenes(tensors, spec):
    """The inverse of flatten_scenes: (scenes, filter_radius, background),
    with new shape and group objects that hold views of the buckets."""
    has_background, plan, bucket_plan = _parse_spec(spec)
    radius = tensors[0]
    background = tensors[1] if has_background else None
    feeds = {letter: iter(bucket.unbind(0) if sizes is None else bucket.split(sizes))
             for (letter, sizes), bucket in zip(bucket_plan, tensors[2 if has_background else 1:])}

    def build(cls, slots, attributes):
        obj = cls.__new__(cls)
        fields = obj.__dict__
        fields.update(attributes)
        for name, letter in slots:
            fields[name] = next(feeds[letter])
        return obj

    def paint(entry):
        if entry is None or isinstance(entry, str):
            return None if entry is None else next(feeds[entry])
        return build(*entry)

    scenes = []
    for width, height, shape_plan, group_plan in plan:
        shapes = [build(*entry) for entry in shape_plan]
        groups = []
        for cls, slots, attributes, fill_paint, stroke_paint in group_plan:
            group = build(cls, slots, attributes)
            group.fill_color = paint(fill_paint)
            group.stroke_color = paint(stroke_paint)
            groups.append(group)
        scenes.append((width, height, shapes, groups))
    return scenes, radius, background


def _prepare(tensors, spec, width, height, samples_x, samples_y, seed, filter_type, prefiltering, premultiplied,
             output_sdf, device):
    from .render import prepare_render  # render.py imports this module
    scenes, radius, background = unflatten_scenes(tensors, spec)
    return prepare_render(scenes, width, height, samples_x, samples_y, seed & 0xFFFFFFFFFFFFFFFF,
                          PixelFilter(filter_type, radius), background, premultiplied, prefiltering,
                          OutputType.sdf if output_sdf else OutputType.color, device)


# What a forward call hands to its backward call: the packed scene with its
# autograd graph back to detached views of the inputs, and on the CPU the
# layer log of the forward pass, so that the backward pass neither packs
# again nor re-composites what the forward pass did. Entries are keyed by
# the address of the image the forward returned, which autograd saves for
# the backward, and hold a weak reference to that image's storage (the C++
# object, which outlives any Python object of the image): a backward takes
# the entry only if its image lies in that very storage. Entries whose
# storage is gone are swept out at the next forward; beyond
# _HANDOVER_LIMIT live ones (images kept without a backward), the oldest
# go. A backward that finds none (evicted, a second backward with
# retain_graph, or a compiler that copied the image) packs again, with the
# same result.
_HANDOVER: dict = {}
_HANDOVER_LIMIT = 32


def _hand_over(image, entry):
    for key in [k for k, e in _HANDOVER.items() if e[0].expired()]:
        del _HANDOVER[key]
    while len(_HANDOVER) >= _HANDOVER_LIMIT:
        del _HANDOVER[next(iter(_HANDOVER))]
    _HANDOVER[image.data_ptr()] = (StorageWeakRef(image.untyped_storage()),) + entry


def _take_over(image):
    entry = _HANDOVER.get(image.data_ptr())
    if entry is None or entry[0].expired() or entry[0] != StorageWeakRef(image.untyped_storage()):
        return None
    del _HANDOVER[image.data_ptr()]
    return entry[1:]


def _prepare_differentiable(tensors, needs_grad, settings_args):
    """(leaves, prepared scene) with autograd on from ``leaves`` (detached
    copies of ``tensors``, requiring grad where asked) to the packed tensors."""
    with _autograd_inside_an_op():
        leaves = [t.detach().requires_grad_(True) if need else (t.detach() if t.requires_grad else t)
                  for t, need in zip(tensors, needs_grad)]
        return leaves, _prepare(leaves, *settings_args)


@custom_op("pydiffvg::render2d", mutates_args=(), device_types=("cpu", "cuda"))
def render2d(tensors: list[torch.Tensor], needs_grad: list[bool], spec: str, width: int, height: int,
             samples_x: int, samples_y: int, seed: int, filter_type: int, prefiltering: bool, premultiplied: bool,
             output_sdf: bool, device: torch.device) -> torch.Tensor:
    """The image (B, H, W, C) float32 of the scenes in (tensors, spec).
    ``needs_grad`` says which tensors a backward pass will want gradients
    for; with none, nothing is handed over to it."""
    from .render import KEEP_LAYER_LOG, native_forward
    settings_args = (spec, width, height, samples_x, samples_y, seed, filter_type, prefiltering, premultiplied,
                     output_sdf, device)
    differentiable = any(needs_grad)
    if differentiable:
        leaves, prepared = _prepare_differentiable(tensors, needs_grad, settings_args)
    else:
        prepared = _prepare(tensors, *settings_args)
    settings, packed, radius, background = prepared
    floats = [packed.floats[k].detach().contiguous() for k in FLOAT_FIELDS]
    bg = background.detach().contiguous() if background is not None else None
    log = _core.LayerLog() if differentiable and KEEP_LAYER_LOG and packed.device.type == "cpu" else None
    image = native_forward(settings, packed, floats, float(radius.detach()), bg, log)
    if differentiable:
        _hand_over(image, (leaves, prepared, log))
    return image


@render2d.register_fake
def _render2d_fake(tensors, needs_grad, spec, width, height, samples_x, samples_y, seed, filter_type, prefiltering,
                   premultiplied, output_sdf, device):
    num_scenes = spec.count(";S,")
    return torch.empty((num_scenes, height, width, 1 if output_sdf else 4), dtype=torch.float32, device=device)


@contextlib.contextmanager
def _autograd_inside_an_op():
    """Autograd, inside an operator's implementation. The dispatcher runs a
    custom op's kernel with the autograd keys excluded, so tensor ops there
    record no graph even under enable_grad; this restores the keys (and
    keeps autocast excluded, so the packing stays in float32)."""
    autocast = torch._C.DispatchKeySet(torch._C.DispatchKey.AutocastCPU) | \
        torch._C.DispatchKeySet(torch._C.DispatchKey.AutocastCUDA)
    with torch._C._ForceDispatchKeyGuard(torch._C._dispatch_tls_local_include_set(), autocast), \
            torch.enable_grad():
        yield


@custom_op("pydiffvg::render2d_backward", mutates_args=(), device_types=("cpu", "cuda"))
def render2d_backward(grad_image: torch.Tensor, image: torch.Tensor, tensors: list[torch.Tensor], needs_grad: list[bool], spec: str, width: int, height: int,
                      samples_x: int, samples_y: int, seed: int, filter_type: int, prefiltering: bool,
                      premultiplied: bool, output_sdf: bool, device: torch.device) -> torch.Tensor:
    """The gradients of the ``tensors`` for which ``needs_grad`` is true, in
    their order, flattened and concatenated (see _flat_dtype)."""
    from .backward import native_backward
    settings_args = (spec, width, height, samples_x, samples_y, seed, filter_type, prefiltering, premultiplied,
                     output_sdf, device)
    entry = _take_over(image)
    if entry is None:
        leaves, prepared = _prepare_differentiable(tensors, needs_grad, settings_args)
        log = None
    else:
        leaves, prepared, log = entry
    settings, packed, radius, background = prepared
    with _autograd_inside_an_op():
        floats = [packed.floats[k] for k in FLOAT_FIELDS]
        grad_radius, grad_bg, grad_floats = native_backward(
            settings, packed, [f.detach().contiguous() for f in floats], float(radius.detach()),
            background.detach().contiguous() if background is not None else None, image, grad_image,
            want_radius=radius.requires_grad, want_background=background is not None and background.requires_grad,
            log=log)
        outputs, adjoints = [], []
        for value, adjoint in zip(floats + [radius, background], grad_floats + [grad_radius, grad_bg]):
            if value is not None and adjoint is not None and value.requires_grad:
                outputs.append(value)
                adjoints.append(_as_dtype(adjoint.reshape(value.shape), value.dtype))
        wanted = [leaf for leaf, need in zip(leaves, needs_grad) if need]
        grads = (torch.autograd.grad(outputs, wanted, adjoints, allow_unused=True) if outputs and wanted
                 else [None] * len(wanted))
    # One flat output, split into the leaves' gradients by the caller
    # (views, in the traced graph): a custom op's outputs may not alias each
    # other, and autograd hands back views of one buffer (the backward of a
    # stack), so separate outputs would each need a copy.
    flat_dtype = _flat_dtype(needs_grad, tensors)
    parts = [_as_dtype((g if g is not None else torch.zeros_like(leaf)).reshape(-1), flat_dtype)
             for leaf, g in zip(wanted, grads)]
    return torch.cat(parts) if parts else torch.zeros(0, dtype=flat_dtype, device=image.device)


def _as_dtype(tensor, dtype):
    """tensor.to(dtype), without the call when it already is (hundreds of
    gradients a step pass here)."""
    return tensor if tensor.dtype == dtype else tensor.to(dtype)


def _flat_dtype(needs_grad, tensors):
    """float64 when a wanted tensor is float64 (no gradient loses precision
    in the flat buffer), float32 otherwise."""
    return torch.float64 if any(need and t.dtype == torch.float64 for t, need in zip(tensors, needs_grad)) \
        else torch.float32


@render2d_backward.register_fake
def _render2d_backward_fake(grad_image, image, tensors, needs_grad, spec, width, height, samples_x,
                            samples_y, seed, filter_type, prefiltering, premultiplied, output_sdf, device):
    size = sum(t.numel() for t, need in zip(tensors, needs_grad) if need)
    return image.new_empty((size,), dtype=_flat_dtype(needs_grad, tensors))


def _setup_context(ctx, inputs, output):
    tensors, needs_grad, *settings = inputs
    ctx.needs_grad, ctx.settings = needs_grad, settings
    ctx.save_for_backward(output, *tensors)


def _backward(ctx, grad_image):
    image, *tensors = ctx.saved_tensors
    flat = render2d_backward(grad_image, image, tensors, ctx.needs_grad, *ctx.settings)
    wanted = [t for t, need in zip(tensors, ctx.needs_grad) if need]
    pieces = iter(torch.split(flat, [t.numel() for t in wanted]))
    grads = [_as_dtype(next(pieces).view(t.shape), t.dtype) if need else None for t, need in zip(tensors, ctx.needs_grad)]
    return (grads,) + (None,) * (len(ctx.settings) + 1)


render2d.register_autograd(_backward, setup_context=_setup_context)


def render_op(scenes, width, height, nx, ny, seed, filt, background, premultiplied, use_prefiltering, output_type,
              device):
    """render_packed through torch.ops.pydiffvg.render2d: what pydiffvg.render
    calls under torch.compile."""
    radius = filt.radius if isinstance(filt.radius, torch.Tensor) else torch.tensor(float(filt.radius))
    tensors, spec = flatten_scenes(scenes, radius, background)
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    if seed >= 1 << 63:  # the schema's int is int64; the kernel reads the same 64 bits
        seed -= 1 << 64
    # Which tensors a backward pass will want: known when tracing, so the
    # list is a constant of the graph.
    grad_on = torch.is_grad_enabled()
    needs_grad = [grad_on and t.requires_grad and t.is_floating_point() for t in tensors]
    return render2d(tensors, needs_grad, spec, int(width), int(height), int(nx), int(ny), seed, int(filt.type),
                    bool(use_prefiltering), bool(premultiplied), output_type == OutputType.sdf, torch.device(device))
