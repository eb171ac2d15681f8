"""The boundary between torch and the extension: tensors become raw
pointers, and scratch memory is allocated as torch tensors on the caller's
device (so it comes from torch's caching allocator, on the current stream)."""
from __future__ import annotations

import contextlib
import functools
import os

import numpy as np
import torch

from . import _core


def float32_under_autocast(fn):
    """Runs ``fn`` with autocast off on the CPU and CUDA. The kernels compute
    in float32 whatever autocast asks for, so the packing of the scene (whose
    transforms autocast would turn into bfloat16 or float16 matrix products)
    and the op stay in float32, and the image comes back as float32. Gradients
    reach each leaf in its own dtype through the packer's conversions."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with contextlib.ExitStack() as stack:
            for device_type in ("cpu", "cuda"):
                if torch.is_autocast_enabled(device_type):
                    stack.enter_context(torch.autocast(device_type, enabled=False))
            return fn(*args, **kwargs)
    return wrapper


# The native backends (csrc/core/context.h, Backend).
BACKEND_CPU, BACKEND_CUDA, BACKEND_EMULATED_DEVICE = 0, 1, 2

_emulation = {"on": os.environ.get("PYDIFFVG_EMULATE_DEVICE", "") not in ("", "0")}


@contextlib.contextmanager
def emulate_device(enabled: bool = True):
    """Runs the native calls on CPU tensors inside the ``with`` block through
    the CUDA build's code path, emulated on the CPU's threads: the per-pixel
    walks, the counted layer storage of the backward pass, device-side
    scans, CUDA's launch shape, device atomics and host/device copies.
    Results equal the CPU path's within float rounding (and Monte Carlo
    noise where the two draw differently). It exists to test the device code
    without a GPU and is slower than the CPU path; CUDA tensors are not
    affected. Process-wide (every thread's calls), and nestable
    (``emulate_device(False)`` turns it off inside). The environment variable
    ``PYDIFFVG_EMULATE_DEVICE=1`` turns it on for the whole process.

    Example: ``with pydiffvg.emulate_device(): img = pydiffvg.render(scene)``.
    """
    previous = _emulation["on"]
    _emulation["on"] = bool(enabled)
    try:
        yield
    finally:
        _emulation["on"] = previous


def device_emulated() -> bool:
    """Whether native calls on CPU tensors take the emulated device path now."""
    return _emulation["on"]


class CallScope:
    """Holds the execution arguments for one native call on ``device`` and
    keeps every scratch tensor alive until the scope is dropped.

    Usage: ``scope = CallScope(device); _core.fn(*scope.context_args(), ...)``.
    """

    def __init__(self, device: torch.device):
        self.device = torch.device(device)
        self._scratch = []

    def allocate(self, nbytes: int) -> int:
        buffer = zeros(max(int(nbytes), 1), torch.uint8, self.device)
        self._scratch.append(buffer)
        return buffer.data_ptr()

    def context_args(self):
        """(backend, device_index, stream, num_threads, allocator)."""
        if self.device.type == "cuda":
            if not _core.built_with_cuda():
                raise RuntimeError("a CUDA tensor was given, but this build of pydiffvg has no CUDA support; "
                                   "reinstall with PYDIFFVG_CUDA=1 pip install .")
            index = self.device.index if self.device.index is not None else torch.cuda.current_device()
            stream = torch.cuda.current_stream(index).cuda_stream
            return BACKEND_CUDA, index, stream, 1, self.allocate
        if self.device.type != "cpu":
            raise ValueError(f"unsupported device {self.device}; pydiffvg runs on cpu and cuda")
        backend = BACKEND_EMULATED_DEVICE if _emulation["on"] else BACKEND_CPU
        return backend, -1, 0, torch.get_num_threads(), self.allocate


_NUMPY_DTYPES = {torch.uint8: np.uint8, torch.float32: np.float32}


def zeros(shape, dtype, device) -> torch.Tensor:
    """torch.zeros, but on the CPU through NumPy's calloc: torch would fill a
    large tensor in an OpenMP region, whose worker threads then spin for
    milliseconds, competing for the cores with the extension's own pool
    (on 2 cores that cost the forward pass about a fifth of its time)."""
    device = torch.device(device)
    if device.type == "cpu" and dtype in _NUMPY_DTYPES:
        return torch.from_numpy(np.zeros(shape, _NUMPY_DTYPES[dtype]))
    return torch.zeros(shape, dtype=dtype, device=device)


def all_finite(tensor: torch.Tensor) -> bool:
    """torch.isfinite(t).all(), without an OpenMP region on the CPU (see zeros)."""
    if tensor.device.type == "cpu" and tensor.dtype == torch.float32:
        return bool(np.isfinite(tensor.detach().contiguous().numpy()).all())
    return bool(torch.isfinite(tensor).all())


def ptr(tensor: torch.Tensor | None) -> int:
    """Address of a contiguous tensor's data, 0 for None."""
    if tensor is None:
        return 0
    if not tensor.is_contiguous():
        raise ValueError("internal error: non-contiguous tensor passed to the extension")
    return tensor.data_ptr()
