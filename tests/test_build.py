"""The build survives reinstalls: setup.configure() over a CMake cache left by
another build environment, generator or compiler (issue: a second
``pip install`` failed on the vanished ninja of the first one's temporary
build environment). Each case runs CMake's real configure step on the
project, so it needs cmake, make and pybind11 (the build requirements)."""
import pathlib
import runpy
import shutil
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
pybind11 = pytest.importorskip("pybind11")
if shutil.which("cmake") is None or shutil.which("make") is None:
    pytest.skip("cmake and make are needed to configure the project", allow_module_level=True)

SETUP = runpy.run_path(str(ROOT / "setup.py"), run_name="setup_under_test")  # setup() runs only as __main__


def _configuration(build_dir):
    """What setup.py's build would pass (it uses ninja where there is one)."""
    return SETUP["cmake_configuration"](pathlib.Path(build_dir) / "out", cuda=False, native=False, debug=False)


def _configure(build_dir, fingerprint=None, extra=(), run=None):
    args, default_fingerprint = _configuration(build_dir)
    kwargs = {"run": run} if run else {}
    SETUP["configure"](pathlib.Path(build_dir), [*args, *extra], fingerprint or default_fingerprint, **kwargs)


def _cache(build_dir):
    return (pathlib.Path(build_dir) / "CMakeCache.txt").read_text()


def _set_cache_entry(build_dir, name, value):
    """Sets cache entry ``name`` (whatever its type) to ``value``."""
    path = pathlib.Path(build_dir) / "CMakeCache.txt"
    lines = path.read_text().splitlines()
    hits = [i for i, line in enumerate(lines) if line.startswith(name + ":")]
    assert hits, f"{name} is not in the cache"
    for i in hits:
        lines[i] = lines[i].split("=", 1)[0] + "=" + value
    path.write_text("\n".join(lines) + "\n")


def test_stale_cache_from_a_vanished_build_environment(tmp_path):
    """The cache names a make program, CMake and pybind11 that no longer
    exist (pip's temporary build environment is gone); the fingerprint is
    unchanged, so the cache is kept and updated in place, or, if CMake
    refuses it, cleared and configured again."""
    _configure(tmp_path)
    _set_cache_entry(tmp_path, "CMAKE_MAKE_PROGRAM", "/tmp/pip-build-env-gone/overlay/bin/make")
    _set_cache_entry(tmp_path, "CMAKE_COMMAND", "/tmp/pip-build-env-gone/overlay/bin/cmake")
    _configure(tmp_path)
    cache = _cache(tmp_path)
    make = next(line.split("=", 1)[1] for line in cache.splitlines() if line.startswith("CMAKE_MAKE_PROGRAM:"))
    assert pathlib.Path(make).exists(), f"the cache still names a missing make program: {make}"
    assert "pip-build-env-gone" not in cache


def test_cache_from_another_generator_is_replaced(tmp_path):
    """A cache made by another generator, with no record of what made it
    (as every cache before this fix): CMake alone stops with 'generator does
    not match'."""
    uses_ninja = "-GNinja" in _configuration(tmp_path)[0]
    other, ours = ("Unix Makefiles", "Ninja") if uses_ninja else ("Ninja", "Unix Makefiles")
    (tmp_path / "CMakeCache.txt").write_text(
        f"CMAKE_GENERATOR:INTERNAL={other}\n"
        "CMAKE_MAKE_PROGRAM:FILEPATH=/tmp/pip-build-env-gone/overlay/bin/ninja\n"
        f"CMAKE_HOME_DIRECTORY:INTERNAL={ROOT}\n")
    (tmp_path / "CMakeFiles").mkdir()
    _configure(tmp_path)
    assert f"CMAKE_GENERATOR:INTERNAL={ours}" in _cache(tmp_path)


def test_changed_fingerprint_configures_afresh(tmp_path):
    """A different compiler (or Python, or generator) in the fingerprint
    clears the cache: a value set only in the first configure is gone."""
    _configure(tmp_path, extra=["-DPYDIFFVG_TEST_MARKER=kept"])
    assert "PYDIFFVG_TEST_MARKER:UNINITIALIZED=kept" in _cache(tmp_path)
    _configure(tmp_path)
    assert "PYDIFFVG_TEST_MARKER" in _cache(tmp_path), "same fingerprint: the cache is kept"
    _configure(tmp_path, fingerprint={**_configuration(tmp_path)[1], "cxx": "/opt/other/c++"})
    assert "PYDIFFVG_TEST_MARKER" not in _cache(tmp_path)


def test_failed_configure_over_a_cache_is_retried_from_scratch(tmp_path):
    """Whatever else breaks a configure over an old cache (the fingerprint
    matches, yet CMake fails): the cache is cleared and CMake runs again."""
    calls = []

    def run(command, cwd, check=False):
        calls.append(pathlib.Path(cwd, "CMakeCache.txt").exists())
        import subprocess
        if len(calls) == 1:
            return subprocess.CompletedProcess(command, 1)
        return subprocess.run(command, cwd=cwd, check=check)

    _configure(tmp_path)
    _configure(tmp_path, run=run)
    assert calls == [True, False], calls
    assert (tmp_path / "CMakeCache.txt").exists()
