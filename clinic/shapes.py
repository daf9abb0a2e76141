"""Queries compiled once per process and run again with other values.

Django builds and compiles a queryset's SQL on every call: for a lookup by primary key of
a model with many columns that is 0.3-0.6 ms of Python, more than PostgreSQL takes to
answer it. The few lookups that every request or every booking makes (the signed-in user,
the booking's patient, doctor, chair and slot checks) are written as a ``Shape``: a
function from named values to a queryset, compiled on first use; later calls put their
values into the same SQL.

The named values must reach the SQL as they are (``pk=id``, ``start__lt=moment``): ids,
dates, aware times and text. A value that Django would transform (``icontains``, a list
for ``__in``, ``None`` for ``IS NULL``) cannot be a parameter, and neither can anything the
function computes itself (``timezone.now()``): compiling twice with different stand-ins
catches both, at first use, with an error that names the shape. PostgreSQL only; on SQLite
(the quickstart) every call builds its queryset as usual.
"""

import datetime
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
from django.db.models.sql.compiler import SQLCompiler

from clinic.db import pipelined

_STAND_IN_TYPES = (int, str, datetime.datetime, datetime.date)


def _stand_in(kind: type, index: int, generation: int) -> Any:
    """A value of ``kind`` that no real query carries, different per index and generation."""
    if kind is int:
        return -(2**62) - generation * 2**40 - index
    if kind is str:
        return f"\x00shape-{generation}-{index}"
    if kind is datetime.datetime:
        start = datetime.datetime(1901 + generation, 1, 1, tzinfo=datetime.UTC)
        return start + datetime.timedelta(microseconds=index + 1)
    return datetime.date(1901 + generation, 1, 1) + datetime.timedelta(days=index)


def _kind(value: Any) -> type:
    kind: type | None
    if isinstance(value, bool):  # an int, but not one to stand in for
        kind = None
    elif isinstance(value, datetime.datetime):
        kind = datetime.datetime if value.tzinfo is not None else None
    else:
        kind = next((kind for kind in _STAND_IN_TYPES if isinstance(value, kind)), None)
    if kind is None:
        raise TypeError(f"a shape's value must be an id, text, a date or an aware time: {value!r}")
    return kind


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    positions: dict[str, tuple[int, ...]]
    kinds: dict[str, type]
    compiler: SQLCompiler
    iterable: type


class Shape:
    def __init__(self, build: Callable[..., QuerySet], name: str = "") -> None:
        self.build = build
        self.name = name or getattr(build, "__qualname__", repr(build))
        self._compiled: _Compiled | None = None

    def __repr__(self) -> str:
        return f"<Shape {self.name}>"

    # --- Running --------------------------------------------------------------------

    def rows(self, **values: Any) -> list[Any]:
        """What iterating the queryset would give: model instances (with what it selects
        related) or, for ``values_list``, tuples."""
        if connection.vendor != "postgresql":
            return list(self.build(**values))
        compiled = self._compiled_for(values)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, self._params(compiled, values))
            return self._converted(compiled, cursor.fetchall())

    def first(self, **values: Any) -> Any:
        rows = self.rows(**values)
        return rows[0] if rows else None

    def sql(self, **values: Any) -> tuple[str, list[Any]]:
        """The SQL and its parameters, for a caller that composes queries (``first_values``)."""
        if connection.vendor != "postgresql":
            sql, params = self.build(**values).query.sql_with_params()
            return sql, list(params)
        compiled = self._compiled_for(values)
        return compiled.sql, self._params(compiled, values)

    # --- Compiling ------------------------------------------------------------------

    def _compiled_for(self, values: dict[str, Any]) -> _Compiled:
        compiled = self._compiled
        if compiled is None:
            # Racing threads compile the same thing; the last one's copy is kept.
            compiled = self._compiled = self._compile(
                {name: _kind(v) for name, v in values.items()}
            )
        if values.keys() != compiled.kinds.keys():
            raise TypeError(f"{self.name} takes {sorted(compiled.kinds)}, got {sorted(values)}")
        for name, value in values.items():
            if _kind(value) is not compiled.kinds[name]:
                raise TypeError(f"{self.name}: {name} must be {compiled.kinds[name].__name__}")
        return compiled

    def _compile(self, kinds: dict[str, type]) -> _Compiled:
        first, second = (
            {
                name: _stand_in(kind, index, generation)
                for index, (name, kind) in enumerate(kinds.items())
            }
            for generation in (0, 1)
        )
        queryset = self.build(**first)
        if queryset._iterable_class not in (ModelIterable, ValuesListIterable):
            raise TypeError(f"{self.name}: only model instances or values_list tuples")
        compiler = queryset.query.get_compiler(connection.alias)
        sql, params = compiler.as_sql()
        other_sql, other_params = self.build(**second).query.sql_with_params()
        positions = {
            name: tuple(index for index, param in enumerate(params) if param == stand_in)
            for name, stand_in in first.items()
        }
        missing = [name for name, found in positions.items() if not found]
        if missing:
            raise ValueError(f"{self.name}: {missing} do not reach the SQL as given")
        placed = set(itertools.chain.from_iterable(positions.values()))
        constant_differs = any(
            a != b
            for index, (a, b) in enumerate(zip(params, other_params, strict=True))
            if index not in placed
        )
        if sql != other_sql or constant_differs:
            raise ValueError(f"{self.name} builds a different query each time")
        return _Compiled(
            sql=sql,
            params=tuple(params),
            positions=positions,
            kinds=kinds,
            compiler=compiler,
            iterable=queryset._iterable_class,
        )

    @staticmethod
    def _params(compiled: _Compiled, values: dict[str, Any]) -> list[Any]:
        params = list(compiled.params)
        for name, indexes in compiled.positions.items():
            for index in indexes:
                params[index] = values[name]
        return params

    @classmethod
    def _converted(cls, compiled: _Compiled, fetched: list[tuple]) -> list[Any]:
        if compiled.iterable is ValuesListIterable:
            rows = compiled.compiler.results_iter(results=[fetched])  # type: ignore[list-item]
            return [tuple(row) for row in rows]
        return _instances(compiled.compiler, fetched)


def _instances(compiler: SQLCompiler, fetched: list[tuple]) -> list[Any]:
    """The model instances of a compiled queryset's rows, as Django's ModelIterable builds
    them (converters applied, select_related included)."""
    rows = compiler.results_iter(results=[fetched])  # type: ignore[list-item]
    alias = connection.alias
    select, klass_info = compiler.select, compiler.klass_info
    model = klass_info["model"]
    start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    names = [column[0].target.attname for column in select[start:end]]
    populators = get_related_populators(klass_info, select, alias)  # type: ignore[call-arg]
    instances = []
    for row in rows:
        instance = model.from_db(alias, names, row[start:end])
        for populator in populators:
            populator.populate(row, instance)
        instances.append(instance)
    return instances


def first_of_each(*lookups: tuple[Shape, dict[str, Any]]) -> list[Any]:
    """``shape.first(**values)`` of each, all read in one round trip (``clinic.db.pipelined``):
    a form's chosen objects, say."""
    return read_together(lookups)[0]


def read_together(
    lookups: Sequence[tuple[Shape, dict[str, Any]]], querysets: Sequence[QuerySet] = ()
) -> tuple[list[Any], list[list[Any]]]:
    """``first_of_each(*lookups)`` and the model instances of each queryset, all read in one
    round trip (a queryset is compiled as usual: for the ones whose SQL varies, a list of
    ids, say)."""
    if connection.vendor != "postgresql":
        return [shape.first(**values) for shape, values in lookups], [list(q) for q in querysets]
    compiled = [shape._compiled_for(values) for shape, values in lookups]
    compilers = [queryset.query.get_compiler(connection.alias) for queryset in querysets]
    fetched = pipelined(
        *(
            (each.sql, Shape._params(each, values))
            for each, (_shape, values) in zip(compiled, lookups, strict=True)
        ),
        *(compiler.as_sql() for compiler in compilers),
    )
    firsts = []
    for each, rows in zip(compiled, fetched[: len(compiled)], strict=True):
        converted = Shape._converted(each, rows)
        firsts.append(converted[0] if converted else None)
    listed = [
        _instances(compiler, rows)
        for compiler, rows in zip(compilers, fetched[len(compiled) :], strict=True)
    ]
    return firsts, listed
