"""Builds pydiffvg._core by running CMake on CMakeLists.txt.

Environment variables:
  PYDIFFVG_CUDA=1                 compile the kernels with nvcc as well (default: CPU only)
  PYDIFFVG_CUDA_ARCHITECTURES=90  CMAKE_CUDA_ARCHITECTURES for that build
  PYDIFFVG_BUILD_DIR=path         where CMake builds (default: build/<python tag>)
  PYDIFFVG_DEBUG=1                debug build
  PYDIFFVG_NATIVE=0               portable host code (no -march=native), e.g. for wheels
"""
import os
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        import pybind11

        output = Path(self.get_ext_fullpath(ext.name)).resolve()
        cuda = os.environ.get("PYDIFFVG_CUDA", "0") not in ("", "0", "false", "OFF")
        tag = f"py{sys.version_info[0]}{sys.version_info[1]}" + ("-cuda" if cuda else "")
        build_dir = Path(os.environ.get("PYDIFFVG_BUILD_DIR", ROOT / "build" / tag)).resolve()
        build_dir.mkdir(parents=True, exist_ok=True)
        config = "Debug" if os.environ.get("PYDIFFVG_DEBUG") else "Release"
        args = [
            f"-DCMAKE_LIBRARY_OUTPUT_DIRECTORY={output.parent}",
            f"-DPython_EXECUTABLE={sys.executable}",
            f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
            f"-DCMAKE_BUILD_TYPE={config}",
            f"-DPYDIFFVG_CUDA={'ON' if cuda else 'OFF'}",
            f"-DPYDIFFVG_NATIVE={'OFF' if os.environ.get('PYDIFFVG_NATIVE', '1') in ('0', 'OFF', 'false') else 'ON'}",
        ]
        if cuda and os.environ.get("PYDIFFVG_CUDA_ARCHITECTURES"):
            args.append(f"-DCMAKE_CUDA_ARCHITECTURES={os.environ['PYDIFFVG_CUDA_ARCHITECTURES']}")
        try:
            import ninja  # noqa: F401  (the build requirement provides the binary)
            args.append("-GNinja")
        except ImportError:
            pass
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
        subprocess.run(["cmake", str(ROOT), *args], cwd=build_dir, check=True)
        subprocess.run(["cmake", "--build", ".", "--parallel", jobs], cwd=build_dir, check=True)


setup(ext_modules=[CMakeExtension("pydiffvg._core")], cmdclass={"build_ext": CMakeBuild})
