"""Libraries behind the applications, apart from the core renderer:

* ``pydiffvg.apps.clipdraw`` -- CLIP-guided drawing (CLIPDraw, style losses);
* ``pydiffvg.apps.seam`` -- seam carving of vector art;
* ``pydiffvg.apps.generative`` -- stroke VAE/GAN models that output scenes.
* ``pydiffvg.apps.vectorize`` -- photos to layered SVGs of filled paths
  (LIVE), behind ``pydiffvg vectorize``.

Nothing here is imported with ``pydiffvg``; import the module you need.

These modules were ``pydiffvg.clipdraw``, ``pydiffvg.seam`` and
``pydiffvg.generative`` in 0.1.0. Those names still import, with a
DeprecationWarning, for one release (``install_old_names``).
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

#: Old module name -> new one; remove after the release that follows 0.1.0.
MOVED_MODULES = {f"pydiffvg.{name}": f"pydiffvg.apps.{name}" for name in ("clipdraw", "seam", "generative")}


class _MovedModuleLoader(importlib.abc.Loader):
    def __init__(self, new_name):
        self.new_name = new_name

    def create_module(self, spec):
        warnings.warn(f"{spec.name} moved to {self.new_name}; the old name goes in the next release",
                      DeprecationWarning, stacklevel=2)
        return importlib.import_module(self.new_name)  # the same module object under both names

    def exec_module(self, module):
        pass  # already executed under its new name


class _MovedModuleFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        new_name = MOVED_MODULES.get(fullname)
        if new_name is None:
            return None
        return importlib.util.spec_from_loader(fullname, _MovedModuleLoader(new_name))


def install_old_names():
    """Lets ``import pydiffvg.seam`` (and the other old names) load the
    modules from their new place. Called once by ``pydiffvg/__init__.py``."""
    if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())
