"""Compiles the CUDA build of the extension into PYDIFFVG_BUILD_DIR without
installing it (CI uses this to keep the nvcc path from rotting)."""
import os
import subprocess
import sys
from pathlib import Path

import pybind11

root = Path(__file__).resolve().parents[1]
build = Path(os.environ.get("PYDIFFVG_BUILD_DIR", root / "build" / "cuda-check")).resolve()
build.mkdir(parents=True, exist_ok=True)
arch = os.environ.get("PYDIFFVG_CUDA_ARCHITECTURES", "90")
subprocess.run(["cmake", str(root), "-GNinja", "-DPYDIFFVG_CUDA=ON", f"-DCMAKE_CUDA_ARCHITECTURES={arch}",
                f"-Dpybind11_DIR={pybind11.get_cmake_dir()}", f"-DPython_EXECUTABLE={sys.executable}",
                f"-DCMAKE_LIBRARY_OUTPUT_DIRECTORY={build / 'out'}"], cwd=build, check=True)
subprocess.run(["cmake", "--build", ".", "--parallel", str(os.cpu_count() or 2)], cwd=build, check=True)
print("CUDA build OK:", sorted(p.name for p in (build / "out").glob("_core*")))
