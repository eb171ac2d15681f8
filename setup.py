"""Builds pydiffvg._core by running CMake on CMakeLists.txt.

Environment variables:
  PYDIFFVG_CUDA=1                 compile the kernels with nvcc as well (default: CPU only)
  PYDIFFVG_CUDA_ARCHITECTURES=90  CMAKE_CUDA_ARCHITECTURES for that build
  PYDIFFVG_BUILD_DIR=path         where CMake builds (default: build/<python tag>)
  PYDIFFVG_DEBUG=1                debug build
  PYDIFFVG_NATIVE=0               portable host code (no -march=native), e.g. for wheels

Reinstalls reuse the build folder, so an unchanged source tree only relinks.
Each pip build runs in a temporary environment whose cmake and ninja are gone
by the next one, and a CMake cache remembers such paths; see configure().
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
# Written beside CMakeCache.txt: what the cache was configured with.
FINGERPRINT_FILE = "pydiffvg-configured-with.json"


def _flag(name, default):
    return os.environ.get(name, default) not in ("", "0", "false", "False", "OFF", "off")


def _tool_version(program):
    try:
        out = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=60)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
    except (OSError, subprocess.SubprocessError):
        return None


def clear_cmake_cache(build_dir: Path):
    """Forgets a configuration: the cache and CMake's generated files (the
    object files inside CMakeFiles/ go with them)."""
    (build_dir / "CMakeCache.txt").unlink(missing_ok=True)
    (build_dir / FINGERPRINT_FILE).unlink(missing_ok=True)
    shutil.rmtree(build_dir / "CMakeFiles", ignore_errors=True)


def configure(build_dir: Path, args, fingerprint: dict, cmake="cmake", run=subprocess.run):
    """Runs CMake's configure step in ``build_dir``, whatever an earlier build
    left there.

    A cache from another build environment must not break the build. Paths
    that change from one pip build to the next (its cmake, ninja and pybind11
    live in a temporary folder) are passed on every configure, so a cache
    that names the vanished ones is simply updated. What CMake cannot change
    in place (generator, compiler, Python, tool versions; ``fingerprint``)
    is recorded beside the cache, and a different record clears the cache
    first. If configuring over an old cache still fails, the cache is
    cleared and the configure run once more from scratch.
    """
    build_dir.mkdir(parents=True, exist_ok=True)
    record = json.dumps(fingerprint, sort_keys=True)
    stamp = build_dir / FINGERPRINT_FILE
    cache = build_dir / "CMakeCache.txt"
    if cache.exists() and (not stamp.exists() or stamp.read_text() != record):
        print(f"pydiffvg: {build_dir} was configured in another build environment; configuring afresh",
              flush=True)
        clear_cmake_cache(build_dir)
    command = [cmake, str(ROOT), *args]
    if cache.exists():
        if run(command, cwd=build_dir).returncode != 0:
            print(f"pydiffvg: configuring over the cache in {build_dir} failed; clearing it and retrying",
                  flush=True)
            clear_cmake_cache(build_dir)
            run(command, cwd=build_dir, check=True)
    else:
        run(command, cwd=build_dir, check=True)
    stamp.write_text(record)


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


def cmake_configuration(output_dir: Path, cuda: bool, native: bool, debug: bool):
    """(configure arguments, fingerprint) for a build whose module goes to
    ``output_dir``. The make program is always named: CMake keeps the one
    it found first in its cache, and pip's build environments (ninja, or a
    make from PATH) do not outlive the build."""
    import pybind11

    args = [
        f"-DCMAKE_LIBRARY_OUTPUT_DIRECTORY={output_dir}",
        f"-DPython_EXECUTABLE={sys.executable}",
        f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
        f"-DCMAKE_BUILD_TYPE={'Debug' if debug else 'Release'}",
        f"-DPYDIFFVG_CUDA={'ON' if cuda else 'OFF'}",
        f"-DPYDIFFVG_NATIVE={'ON' if native else 'OFF'}",
    ]
    if cuda and os.environ.get("PYDIFFVG_CUDA_ARCHITECTURES"):
        args.append(f"-DCMAKE_CUDA_ARCHITECTURES={os.environ['PYDIFFVG_CUDA_ARCHITECTURES']}")
    ninja = shutil.which("ninja")  # the build requirement provides it
    make = ninja or shutil.which("make") or shutil.which("gmake")
    if ninja:
        args.append("-GNinja")
    if make:
        args.append(f"-DCMAKE_MAKE_PROGRAM={make}")
    compiler = os.environ.get("CXX") or shutil.which("c++") or ""
    fingerprint = {
        "generator": "Ninja" if ninja else "default",
        "cmake": _tool_version(shutil.which("cmake") or "cmake"),
        "cxx": os.path.realpath(compiler) if compiler else "",
        "cxx_version": _tool_version(compiler) if compiler else None,
        "cuda": cuda,
        "python": sys.executable,
        "pybind11": pybind11.__version__,
    }
    return args, fingerprint


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        output = Path(self.get_ext_fullpath(ext.name)).resolve()
        cuda = _flag("PYDIFFVG_CUDA", "0")
        tag = f"py{sys.version_info[0]}{sys.version_info[1]}" + ("-cuda" if cuda else "")
        build_dir = Path(os.environ.get("PYDIFFVG_BUILD_DIR", ROOT / "build" / tag)).resolve()
        args, fingerprint = cmake_configuration(output.parent, cuda, _flag("PYDIFFVG_NATIVE", "1"),
                                                bool(os.environ.get("PYDIFFVG_DEBUG")))
        cmake = shutil.which("cmake") or "cmake"
        configure(build_dir, args, fingerprint, cmake=cmake)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
        subprocess.run([cmake, "--build", ".", "--parallel", jobs], cwd=build_dir, check=True)


if __name__ == "__main__":  # pip runs this file as a script; tests import configure() from it
    setup(ext_modules=[CMakeExtension("pydiffvg._core")], cmdclass={"build_ext": CMakeBuild})
