"""The boundary between torch and the extension: tensors become raw
pointers, and scratch memory is allocated as torch tensors on the caller's
device (so it comes from torch's caching allocator, on the current stream)."""
from __future__ import annotations

import torch

from . import _core


class CallScope:
    """Holds the execution arguments for one native call on ``device`` and
    keeps every scratch tensor alive until the scope is dropped.

    Usage: ``scope = CallScope(device); _core.fn(*scope.context_args(), ...)``.
    """

    def __init__(self, device: torch.device):
        self.device = torch.device(device)
        self._scratch = []

    def allocate(self, nbytes: int) -> int:
        buffer = torch.zeros(max(int(nbytes), 1), dtype=torch.uint8, device=self.device)
        self._scratch.append(buffer)
        return buffer.data_ptr()

    def context_args(self):
        """(use_cuda, device_index, stream, num_threads, allocator)."""
        if self.device.type == "cuda":
            if not _core.built_with_cuda():
                raise RuntimeError("a CUDA tensor was given, but this build of pydiffvg has no CUDA support; "
                                   "reinstall with PYDIFFVG_CUDA=1 pip install .")
            index = self.device.index if self.device.index is not None else torch.cuda.current_device()
            stream = torch.cuda.current_stream(index).cuda_stream
            return True, index, stream, 1, self.allocate
        if self.device.type != "cpu":
            raise ValueError(f"unsupported device {self.device}; pydiffvg runs on cpu and cuda")
        return False, -1, 0, torch.get_num_threads(), self.allocate


def ptr(tensor: torch.Tensor | None) -> int:
    """Address of a contiguous tensor's data, 0 for None."""
    if tensor is None:
        return 0
    if not tensor.is_contiguous():
        raise ValueError("internal error: non-contiguous tensor passed to the extension")
    return tensor.data_ptr()
