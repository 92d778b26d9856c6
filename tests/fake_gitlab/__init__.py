"""The fake GitLab moved into the product as `release_tools.sandbox`; import it from there.

This alias keeps `tests.fake_gitlab` and its submodules importable for code written before
the move.
"""

import importlib
import pkgutil
import sys

from release_tools import sandbox
from release_tools.sandbox import *  # noqa: F401,F403

for _module in pkgutil.iter_modules(sandbox.__path__):
    sys.modules[f"{__name__}.{_module.name}"] = importlib.import_module(f"{sandbox.__name__}.{_module.name}")

__all__ = sandbox.__all__
