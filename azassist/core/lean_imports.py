"""Import only what the chosen path needs: openai-python's type packages re-export lazily.

LiveKit's OpenAI plugin and ``livekit.agents`` import a few names from single modules of
``openai.types`` and its packages, but a package's ``__init__`` re-exports every module below
it: importing ``openai.types.beta.realtime.session`` (the preview protocol's session) runs
``openai/types/beta/__init__.py`` first, which imports every beta type (Assistants, threads,
chatkit, the whole preview protocol: 558 modules). Measured on 2 cores: ``import
azassist.core.engine`` took 1.65 s with 2,677 modules, 1.12 s with 1,821 with this.

:func:`defer_package_inits` installs a finder that gives each package below ``openai.types``
whose ``__init__`` only re-exports (``from .x import Y as Y``; checked when it is found) a
module with a PEP 562 ``__getattr__``: reading ``Y`` imports just ``.x``; a submodule imports
as always; reading anything else runs the real ``__init__`` once, into the same module. So
every ``from openai.types.beta import realtime`` or ``openai.types.realtime.Session`` works as
before, and only a path that uses a type pays for its module.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import ModuleType

DEFERRED_PACKAGES = ("openai.types",)  # and every package below it


def reexports(source: str) -> dict[str, tuple[str, str | None]] | None:
    """``name -> (submodule, attribute)`` for a package ``__init__`` made only of relative
    imports (``attribute`` None: the name is the submodule itself); None when it does
    anything else, so the whole ``__init__`` must run."""
    import ast  # only once a deferred package is imported (not on the way to the first paint)

    names: dict[str, tuple[str, str | None]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):  # docstring
            continue
        if not (isinstance(node, ast.ImportFrom) and node.level == 1):
            return None
        for alias in node.names:
            if alias.name == "*":
                return None
            if node.module is None:  # from . import submodule
                names[alias.asname or alias.name] = (alias.name, None)
            else:
                names[alias.asname or alias.name] = (node.module, alias.name)
    return names


class _DeferredInit:
    """Wraps the package's real loader: exec_module sets up the package; a name read from it
    later imports just the submodule that defines it; any other read runs the real
    ``__init__`` (into the same namespace) once."""

    def __init__(self, real: Any, origin: str) -> None:
        self.real = real
        self.origin = origin
        self._lock = threading.RLock()

    def __getattr__(self, name: str) -> Any:  # get_source, get_code, is_package, resources...
        return getattr(self.real, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.real.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        try:
            with open(self.origin, encoding="utf-8") as source:
                names = reexports(source.read())
        except (OSError, SyntaxError, ValueError):
            names = None
        if names is None:
            self.real.exec_module(module)
            return
        loader, lock = self.real, self._lock
        package = module.__name__

        def run_init() -> None:
            with lock:
                if module.__dict__.get("__getattr__") is __getattr__:
                    del module.__dict__["__getattr__"]
                    loader.exec_module(module)  # the real __init__, into the same namespace

        def __getattr__(name: str) -> object:  # PEP 562
            module_name, attribute = names.get(name, (name, None))
            try:
                submodule = importlib.import_module(f"{package}.{module_name}")
            except ModuleNotFoundError as missing:
                if missing.name != f"{package}.{module_name}":
                    raise
                run_init()  # not a re-export nor a submodule: what else the __init__ makes
            else:
                if attribute is not None:  # as the __init__ binds it (it may shadow a submodule)
                    module.__dict__[name] = getattr(submodule, attribute)
                elif name not in module.__dict__:
                    module.__dict__[name] = submodule
            try:
                return module.__dict__[name]
            except KeyError:
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None

        module.__getattr__ = __getattr__  # type: ignore[method-assign]



class _DeferringFinder:
    def __init__(self, names: Sequence[str]) -> None:
        self.roots = frozenset(names)
        self.prefixes = tuple(name + "." for name in names)

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if not (fullname in self.roots or fullname.startswith(self.prefixes)):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)  # None in a frozen bundle
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            return spec  # a plain module: as found (no second search by the next finder)
        spec.loader = _DeferredInit(spec.loader, spec.origin or "")  # type: ignore[assignment]
        return spec


def defer_package_inits(names: Sequence[str] = DEFERRED_PACKAGES) -> None:
    """Install the finder, once per process, before the packages are first imported (a
    package already imported stays as it is)."""
    if not any(isinstance(finder, _DeferringFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _DeferringFinder(names))


def is_deferred(name: str) -> bool:
    """The package is imported and its own ``__init__`` has not run (yet)."""
    module = sys.modules.get(name)
    return module is not None and isinstance(module.__loader__, _DeferredInit) and "__getattr__" in vars(module)
