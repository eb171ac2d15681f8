"""Compiles the CUDA build of the extension into PYDIFFVG_BUILD_DIR without
installing it (CI uses this to keep the nvcc path from rotting)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pybind11

root = Path(__file__).resolve().parents[1]
build = Path(os.environ.get("PYDIFFVG_BUILD_DIR", root / "build" / "cuda-check")).resolve()
build.mkdir(parents=True, exist_ok=True)
arch = os.environ.get("PYDIFFVG_CUDA_ARCHITECTURES", "90")
try:  # the ninja package's binary, wherever pip put its script
    import ninja
    ninja_binary = os.path.join(ninja.BIN_DIR, "ninja")
except ImportError:
    ninja_binary = shutil.which("ninja")
generator = ["-GNinja", f"-DCMAKE_MAKE_PROGRAM={ninja_binary}"] if ninja_binary else []
subprocess.run(["cmake", str(root), *generator, "-DPYDIFFVG_CUDA=ON", f"-DCMAKE_CUDA_ARCHITECTURES={arch}",
                f"-Dpybind11_DIR={pybind11.get_cmake_dir()}", f"-DPython_EXECUTABLE={sys.executable}",
                f"-DCMAKE_LIBRARY_OUTPUT_DIRECTORY={build / 'out'}"], cwd=build, check=True)
subprocess.run(["cmake", "--build", ".", "--parallel", str(os.cpu_count() or 2)], cwd=build, check=True)
print("CUDA build OK:", sorted(p.name for p in (build / "out").glob("_core*")))
