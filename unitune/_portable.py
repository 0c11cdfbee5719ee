"""Objectives that run in other processes (Ray's workers), sent so they load there.

cloudpickle sends a function of a script's ``__main__`` by value, with the
globals it uses; anything among those that pickles by name (an ``lru_cache``
data loader, a class defined in the script) then names ``__main__``, which in
the worker is not the script, and every trial fails to load. multiprocessing
solves this by importing the script in the worker under another name (its
``if __name__ == "__main__":`` block does not run); unitune does the same: an
object the script defines at top level travels as (script path, name), the
worker imports the script once, and everything else travels as cloudpickle
sends it.

``Portable.of`` pickles the objective in the driver and loads it in a fresh
Python process before the first trial, so what cannot load in a worker is
refused up front, naming the object, with the fix. A worker that still cannot
load it (a module missing on a cluster node) raises ``NotLoadable``, which ends
the study at once with that message instead of failing every trial.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pickle
import subprocess
import sys
from typing import Any

from unitune.errors import ObjectiveError

__all__ = ["NotLoadable", "Portable", "loading_script"]

_MAIN = "__unitune_main__"  # the script's module name in a worker (multiprocessing: __mp_main__)
_scripts: dict[str, Any] = {}  # path -> the script's module, imported once per process
_loading: list[str] = []  # the scripts being imported now (see ``loading_script``)
_FIX = ("move the objective and what it uses into a script or module file (a notebook "
        "cell, `python -` or `python -c` have no file a worker can import), or create what "
        "it uses inside the objective")


class NotLoadable(ObjectiveError):
    """The objective could not be loaded in a worker process."""


def loading_script() -> str | None:
    """The script this process is importing to find an objective, if any: a script
    that starts a study when imported would start one in every worker."""
    return _loading[-1] if _loading else None


def _script_module(path: str, module_name: str | None) -> Any:
    main = sys.modules.get("__main__")
    if module_name:  # run as ``python -m package.module``
        if getattr(getattr(main, "__spec__", None), "name", None) == module_name:
            return main
        try:
            return importlib.import_module(module_name)
        except ImportError:  # the package is not on this worker's path: load the file
            pass
    if os.path.abspath(getattr(main, "__file__", "") or "") == path:
        return main  # the driver itself
    if path not in _scripts:
        folder = os.path.dirname(path)
        if folder not in sys.path:  # as for ``python script.py``: its folder is importable
            sys.path.insert(0, folder)
        spec = importlib.util.spec_from_file_location(_MAIN, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"{path} is not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[_MAIN] = module
        _loading.append(path)
        try:
            spec.loader.exec_module(module)
        finally:
            _loading.pop()
        _scripts[path] = module
    return _scripts[path]


def _from_script(path: str, qualname: str, module_name: str | None = None) -> Any:
    """The object ``qualname`` of the script at ``path`` (unpickling side)."""
    obj = _script_module(path, module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _script_ref(obj: Any) -> tuple[str, str, str | None] | None:
    """(path, qualname, module name) if ``obj`` is defined at the top level of the
    script run as ``__main__``; else None."""
    try:
        if obj.__module__ != "__main__":
            return None
        qualname = obj.__qualname__
    except Exception:  # noqa: BLE001 - any object: no such attributes
        return None
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not isinstance(qualname, str) or "<" in qualname or not path \
            or not os.path.isfile(path):  # ``python -`` names its file "<stdin>"
        return None
    found: Any = main
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if found is not obj:
        return None
    spec_name = getattr(getattr(main, "__spec__", None), "name", None)
    return os.path.abspath(path), qualname, spec_name


def dumps(obj: Any) -> bytes:
    import io

    import cloudpickle

    class _Pickler(cloudpickle.Pickler):
        def reducer_override(self, value: Any) -> Any:
            ref = _script_ref(value)
            if ref is not None:
                return _from_script, ref
            return super().reducer_override(value)

    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


def _describe(obj: Any) -> str:
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    module = getattr(obj, "__module__", None)
    return f"{module}.{name}" if module else name


_CHECK = """\
import pickle, sys
try:
    pickle.loads(sys.stdin.buffer.read())
except BaseException as exc:
    sys.stdout.write(f"{type(exc).__name__}: {exc}")
    sys.exit(3)
"""


class Portable:
    """An object pickled for other processes; ``load()`` there unpickles it once."""

    def __init__(self, blob: bytes, label: str) -> None:
        self.blob = blob
        self.label = label
        self._loaded: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"blob": self.blob, "label": self.label}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["blob"], state["label"])  # type: ignore[misc]

    @classmethod
    def of(cls, obj: Any, what: Any, where: str) -> Portable:
        """Pickle ``obj`` and check it loads in a fresh process; ``what`` is the user's
        object to name in errors, ``where`` says which processes run it."""
        label = _describe(what)
        try:
            blob = dumps(obj)
        except Exception as exc:  # noqa: BLE001 - any pickling error means the same thing
            raise ObjectiveError(
                f"{where}, but objective {label!r} cannot be pickled: "
                f"{type(exc).__name__}: {exc}; {_FIX}") from None
        portable = cls(blob, label)
        error = portable._load_elsewhere()
        if error is not None and error.startswith(f"{ObjectiveError.__name__}: "):
            raise NotLoadable(error.partition(": ")[2])  # unitune's own, with its fix
        if error is not None:
            raise NotLoadable(f"{where}, but objective {label!r} cannot be loaded in a new "
                              f"Python process: {error}; {_FIX}")
        return portable

    def _load_elsewhere(self) -> str | None:
        """Unpickle in a fresh interpreter with this process's path; the error, if any."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        done = subprocess.run([sys.executable, "-c", _CHECK], input=self.blob, env=env,
                              capture_output=True, check=False)
        if done.returncode == 0:
            return None
        out = done.stdout.decode(errors="replace").strip()
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        return out or (lines[-1] if lines else f"exit code {done.returncode}")

    def load(self) -> Any:
        """The object (unpickled on first use in this process)."""
        if self._loaded is None:
            try:
                self._loaded = pickle.loads(self.blob)
            except Exception as exc:  # noqa: BLE001 - reported as the study's end
                raise NotLoadable(f"objective {self.label!r} cannot be loaded in a worker "
                                  f"process: {type(exc).__name__}: {exc}; {_FIX}") from None
        return self._loaded
