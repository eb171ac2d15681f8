"""``python -m pydiffvg``: the command line (see :mod:`pydiffvg.cli`)."""
import sys

from .cli import main

sys.exit(main())
