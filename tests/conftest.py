"""Shared fixtures: a `device` fixture with one case per backend; CUDA cases
are skipped (not failed) where no GPU or no CUDA build exists. The
`emulated` case runs the CUDA build's code path on the CPU's threads
(pydiffvg.emulate_device): its tensors are CPU tensors, so every
device-parametrised test checks the device branches on every commit."""
import contextlib
import os

import pytest
import torch


def _cuda_ready():
    if not torch.cuda.is_available():
        return False
    from pydiffvg import _core
    return _core.built_with_cuda()


DEVICE_CASES = ["cpu", "emulated", "cuda"]


@contextlib.contextmanager
def device_case(name):
    """The torch.device of one case, with the emulation on for `emulated`
    while the block runs; skips the test for `cuda` without a GPU. For
    module-scoped fixtures too (see tests/test_render3d.py)."""
    if name == "cuda" and not _cuda_ready():
        pytest.skip("no CUDA device or no CUDA build of pydiffvg")
    if name == "emulated":
        import pydiffvg
        with pydiffvg.emulate_device():
            yield torch.device("cpu")
        return
    yield torch.device(name)


@pytest.fixture(params=DEVICE_CASES)
def device(request):
    with device_case(request.param) as chosen:
        yield chosen


@pytest.fixture(autouse=True)
def _deterministic_threads():
    # The suite runs on 2-core CI machines; keep torch from oversubscribing.
    torch.set_num_threads(int(os.environ.get("PYDIFFVG_TEST_THREADS", "2")))
    yield


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a GPU")
