"""The backend registry: ``"<engine>:<algorithm>"`` -> adapter class.

Adapter modules (a module or a package per engine) are imported on first use; they
import their engine only when a backend of theirs runs, so listing backends never
loads Ray or skopt. ``base.py`` says what an adapter implements.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import TypeVar

from unitune.adapters.base import Adapter, BaseAdapter, Capabilities, Proposal
from unitune.errors import UnknownBackend

__all__ = ["Adapter", "BackendInfo", "BaseAdapter", "Capabilities", "Proposal", "backends",
           "get", "register"]

_REGISTRY: dict[str, type[BaseAdapter]] = {}
_loaded = False


_AdapterT = TypeVar("_AdapterT", bound=type[BaseAdapter])


def register(cls: _AdapterT) -> _AdapterT:
    """Class decorator: make an adapter available under ``cls.name``."""
    engine, sep, algo = cls.name.partition(":")
    if not sep or not engine or not algo or engine != cls.engine:
        raise ValueError(f"adapter name {cls.name!r} must be '{cls.engine}:<algorithm>'")
    _REGISTRY[cls.name] = cls
    return cls


def _load() -> None:
    """Import every adapter module of this package (each registers its backends). Adapter
    modules import their engine lazily, so this stays light."""
    global _loaded
    if not _loaded:
        for module in pkgutil.iter_modules(__path__):
            if module.name != "base" and not module.name.startswith("_"):
                importlib.import_module(f"{__name__}.{module.name}")
        _loaded = True


def get(name: str) -> type[BaseAdapter]:
    """The adapter class for ``name`` (``"optuna"`` means its default, ``optuna:tpe``;
    ``"auto"`` the choice of ``auto.py``, ``"auto:optuna"`` that choice within Optuna)."""
    _load()
    if not isinstance(name, str):
        raise UnknownBackend(f"backend must be a string like 'optuna:tpe', got {name!r}")
    if name in _REGISTRY:
        return _REGISTRY[name]
    defaults = [c for c in _REGISTRY.values() if c.engine == name and c.default]
    if defaults:
        return defaults[0]
    if name.startswith("auto:") and "auto:any" in _REGISTRY:  # auto:<engine> (auto.py)
        return _REGISTRY["auto:any"].restricted(name[5:])  # type: ignore[attr-defined]
    raise UnknownBackend(
        f"unknown backend {name!r}; known backends: {', '.join(sorted(_REGISTRY))}"
    )


@dataclass(frozen=True)
class BackendInfo:
    name: str
    engine: str
    installed: bool
    extra: str
    default: bool
    capabilities: Capabilities
    description: str


def backends() -> list[BackendInfo]:
    """Every registered backend, with its capabilities and whether its engine is installed."""
    _load()
    return [
        BackendInfo(c.name, c.engine, c.installed(), c.extra, c.default, c.capabilities,
                    c.description)
        for c in sorted(_REGISTRY.values(), key=lambda c: c.name)
    ]
