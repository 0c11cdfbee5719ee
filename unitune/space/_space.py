"""``Space``: a set of named parameters (or a union of such sets), its grid, and its
dict and YAML/JSON forms. The converters from other libraries' syntaxes are in
``_convert.py``; they return plain parameters, which ``Space`` wraps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from unitune.errors import InvalidSpace, SpaceTypeError, UnsupportedFeature
from unitune.space import _conditions
from unitune.space._distributions import Distribution, Parts, named, params_from_dict
from unitune.space._scipy import quantile_from_dict

__all__ = ["Space"]


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    dup = next((k for i, k in enumerate(keys) if k in keys[:i]), None)
    if dup is not None:
        raise ValueError(f"key {dup!r} is given twice")
    return dict(pairs)


def _filler(dist: Distribution) -> Any:
    choices = getattr(dist, "choices", None)
    return choices[0] if choices is not None else getattr(dist, "low")


def _yaml_loader() -> Any:
    """PyYAML's safe loader, refusing a key given twice in a mapping (PyYAML keeps the
    last one silently: a parameter written twice would lose its first spec unseen)."""
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if isinstance(key, str) and key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} is given twice", key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return Loader


def _parse(path: Path, text: str) -> Any:
    """A space file's YAML or JSON; a syntax error as ``FILE:LINE:COL: message``."""
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text, object_pairs_hook=_json_pairs)
        except json.JSONDecodeError as exc:
            raise InvalidSpace(f"space file {path}:{exc.lineno}:{exc.colno}: invalid JSON: "
                               f"{exc.msg}") from None
        except ValueError as exc:  # a duplicate key: json has no position for it
            raise InvalidSpace(f"space file {path}: invalid JSON: {exc}") from None
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader())  # a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        what = ": ".join(p for p in (exc.context, exc.problem) if p) or type(exc).__name__
        raise InvalidSpace(f"space file {where}: invalid YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise InvalidSpace(f"space file {path}: invalid YAML: "
                           f"{' '.join(str(exc).split())}") from None


def _quantiles(spec: Any) -> Any:
    """``spec`` with each ``{"type": "scipy", ...}`` read as a ``Quantile`` (``_scipy.py``)."""
    if isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        return [_quantiles(s) for s in spec]
    if not isinstance(spec, Mapping):
        return spec
    out = dict(spec)
    for name, item in spec.items():
        if isinstance(item, Mapping) and item.get("type") == "scipy":
            try:
                out[name] = quantile_from_dict({k: v for k, v in item.items() if k != "type"})
            except (InvalidSpace, SpaceTypeError) as exc:
                raise named(exc, name) from None
    return out


class Space(Mapping[str, Distribution]):
    """An ordered set of named parameters, or a union of such sets (``branches``).

    ``Space(C=ut.Float(1e-3, 1e3, log=True), kernel=ut.Categorical(["rbf", "linear"]))``.
    A parameter declared with ``when=`` exists only when its parents have the given
    values (``_conditions.py``): ``active``, ``prune`` and ``fill`` read a point under
    those conditions. A union (what a scikit-learn list of ``param_grid`` dicts means)
    holds several sub-spaces; ``as_conditional`` makes it one conditional space.
    """

    __slots__ = ("_params", "_branches", "_order")

    def __init__(
        self,
        params: Mapping[str, Distribution] | None = None,
        /,
        *,
        branches: Sequence[Space] | None = None,
        **kwargs: Distribution,
    ) -> None:
        merged: dict[str, Any] = dict(params or {})
        for name, dist in kwargs.items():
            if name in merged:
                raise InvalidSpace(f"parameter {name!r} is given twice")
            merged[name] = dist
        if branches is not None:
            if merged:
                raise InvalidSpace("give either parameters or branches, not both")
            branches = tuple(branches)
            if not branches or not all(isinstance(b, Space) and not b.branches for b in branches):
                raise InvalidSpace("branches must be a non-empty list of plain Space objects")
            self._branches: tuple[Space, ...] = branches
            self._params: dict[str, Distribution] = {}
            self._order: list[str] | None = None
            return
        self._branches = ()
        self._params = {}
        for name, dist in merged.items():
            if not isinstance(name, str) or not name:
                raise InvalidSpace(f"parameter names must be non-empty strings, got {name!r}")
            if not isinstance(dist, Distribution):
                raise SpaceTypeError(
                    f"parameter {name!r}: expected ut.Float, ut.Int or ut.Categorical, got "
                    f"{dist!r} ({type(dist).__name__}); Space.coerce() converts other syntaxes"
                )
            self._params[name] = dist
        if not self._params and params is None:
            # ``Space({})`` (an empty param_grid) is one point, {}: the defaults
            raise InvalidSpace("the space has no parameters")
        self._order = _conditions.check(self._params)

    # -- mapping protocol ---------------------------------------------------------------
    def __getitem__(self, name: str) -> Distribution:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Space):
            return NotImplemented
        return list(self._params.items()) == list(other._params.items()) and (
            self._branches == other._branches
        )

    def __hash__(self) -> int:
        return hash((tuple(self._params.items()), self._branches))

    def __repr__(self) -> str:
        if self._branches:
            return f"Space(branches={list(self._branches)!r})"
        inner = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"Space({inner})"

    @property
    def branches(self) -> tuple[Space, ...]:
        """The sub-spaces of a union; empty for a plain space."""
        return self._branches

    @property
    def names(self) -> list[str]:
        """Every parameter name, in order (over all branches for a union)."""
        if not self._branches:
            return list(self._params)
        seen: dict[str, None] = {}
        for b in self._branches:
            seen.update(dict.fromkeys(b))
        return list(seen)

    # -- conditions ---------------------------------------------------------------------
    @property
    def conditional(self) -> bool:
        """True if a parameter is declared with ``when=``."""
        return self._order is not None

    @property
    def order(self) -> list[str]:
        """The names with every parent before its children (define-by-run order)."""
        return list(self._order or self._params)

    def active(self, params: Mapping[str, Any]) -> list[str]:
        """The names active for the values in ``params`` (all for a plain space)."""
        if self._order is None:
            return list(self._params)
        return _conditions.active(self._params, self._order, params)

    def prune(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` without the inactive ones, in the space's order (what the objective
        gets from an engine that proposes every parameter)."""
        if self._order is None:
            return dict(params)
        keep = set(self.active(params))
        return {n: params[n] for n in self._params if n in keep and n in params}

    def fill(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Every parameter: the active ones from ``params``, each inactive one at a fixed
        filler (its first choice or its low end), so that an engine searching the flat
        vector is told the same value for a parameter that did not matter."""
        if self._order is None:
            return dict(params)
        return {n: params[n] if n in params else _filler(d) for n, d in self._params.items()}

    def as_conditional(self) -> Space:
        """A union as the conditional space with the same points (a Categorical that
        tells the branches apart is the parent); a plain space is itself."""
        if not self._branches:
            return self
        parts = _conditions.union([dict(b) for b in self._branches])
        if isinstance(parts, str):
            raise UnsupportedFeature(f"this union of sub-spaces (a list of param grids) is no "
                                     f"conditional space: {parts}; use optuna:grid")
        return Space(parts)

    # -- checks -------------------------------------------------------------------------
    def contains(self, params: Mapping[str, Any]) -> bool:
        """True if ``params`` is a complete point of this space (of one branch for a union;
        its active parameters only for a conditional space)."""
        if self._branches:
            return any(b.contains(params) for b in self._branches)
        if self._order is not None:
            return set(params) == set(self.active(params)) and all(
                self._params[k].contains(v) for k, v in params.items())
        return set(params) == set(self._params) and all(
            d.contains(params[k]) for k, d in self._params.items()
        )

    def grid(self) -> list[dict[str, Any]]:
        """Every point of a finite space, in order (branches one after another)."""
        if self._branches:
            return [p for b in self._branches for p in b.grid()]
        if self._order is not None:
            return _conditions.grid(self._params, self._order)
        import itertools

        axes = []
        for name, dist in self._params.items():
            values = dist.grid()
            if values is None:
                raise InvalidSpace(
                    f"parameter {name!r} is a continuous Float and has no grid; "
                    "give it a step or make it Categorical"
                )
            axes.append(values)
        return [dict(zip(self._params, combo)) for combo in itertools.product(*axes)]

    # -- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any] | list[dict[str, Any]]:
        """A JSON/YAML-ready form; ``Space.from_dict`` reads it back (a list for a union)."""
        if self._branches:
            return [b._params_dict() for b in self._branches]
        return self._params_dict()

    def _params_dict(self) -> dict[str, Any]:
        out = {}
        for name, dist in self._params.items():
            try:
                out[name] = dist.to_dict()
            except (InvalidSpace, SpaceTypeError) as exc:
                raise named(exc, name) from None
        return out

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Space:
        return cls._from_parts(params_from_dict(_quantiles(spec)))

    @classmethod
    def _from_parts(cls, parts: Parts) -> Space:
        """A Space from what the converters return (a list is a union)."""
        if isinstance(parts, list):
            return cls(branches=[cls._from_parts(p) for p in parts])
        return cls(parts)

    @classmethod
    def from_file(cls, path: str | Path) -> Space:
        """Read a space from a ``.yaml``/``.yml`` or ``.json`` file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidSpace(f"cannot read space file {str(path)!r}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise InvalidSpace(f"space file {str(path)!r} is not UTF-8 text (byte "
                               f"{exc.start}); give a YAML or JSON file") from None
        data = _parse(path, text)
        if data is None:
            raise InvalidSpace(f"space file {str(path)!r} is empty")
        try:
            return cls.from_dict(data)
        except (InvalidSpace, SpaceTypeError) as exc:
            raise type(exc)(f"space file {str(path)!r}: {exc}") from None

    def to_file(self, path: str | Path) -> None:
        path = Path(path)
        if path.suffix.lower() == ".json":
            path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        else:
            import yaml

            path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

    # -- converters (see _convert.py) -----------------------------------------------------
    @classmethod
    def coerce(cls, obj: Any) -> Space:
        """A Space from anything unitune understands: a Space, a dict of ut types, a spec
        dict, an sklearn ``param_grid``/``param_distributions``, skopt dimensions, Ray
        Tune domains or Optuna distributions."""
        if isinstance(obj, cls):
            return obj
        from unitune.space import _convert

        return cls._from_parts(_convert.coerce(obj))

    @classmethod
    def from_sklearn_grid(cls, param_grid: Any) -> Space:
        from unitune.space import _convert

        return cls._from_parts(_convert.from_sklearn_grid(param_grid))

    @classmethod
    def from_sklearn_distributions(cls, param_distributions: Any) -> Space:
        from unitune.space import _convert

        return cls._from_parts(_convert.from_sklearn_distributions(param_distributions))

    @classmethod
    def from_skopt(cls, dimensions: Any) -> Space:
        from unitune.space import _convert

        return cls._from_parts(_convert.from_skopt(dimensions))

    @classmethod
    def from_ray(cls, config: Mapping[str, Any]) -> Space:
        from unitune.space import _convert

        return cls._from_parts(_convert.from_ray(config))

    @classmethod
    def from_optuna(cls, distributions: Mapping[str, Any]) -> Space:
        from unitune.space import _convert

        return cls._from_parts(_convert.from_optuna(distributions))
