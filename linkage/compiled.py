"""Reads whose SQL Django compiles once per process, then sends with each call's lists.

Determination reads the same few shapes for every API request: the persons holding these
blind indexes, the links of these address numbers, the versions of these persons. Building
and compiling each queryset cost more of a request's time than PostgreSQL took to answer it.
On PostgreSQL the `__any` lookup (linkage.lookups) sends a list as one array parameter, so a
read's text is the same whatever its lists hold: it is compiled the first time, and later
calls send that text with their own arguments. Django still runs the rows through its own
converters and builds the model instances (select_related included) as for any queryset.

    compiled("persons by index", lambda indexes: Person.objects.filter(
        individual_number_index__any=indexes), indexes)

`build` makes the read from the arguments; the compiled statement's parameters must be the
arguments themselves, in order (lists for `__any`, plain values for `=`): the first call
checks that and, if they differ, leaves the read uncompiled (it is then built every time,
correct and slower). A shape whose SQL changes with its arguments (a list that may be empty,
a number of OR branches) takes its shape into `key`. Elsewhere than PostgreSQL (`__any` is
`IN` there, its text as long as its list) the read is built every time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.sql.query import Query
from django.db.models.sql.where import NothingNode, WhereNode
from django.db.transaction import TransactionManagementError

logger = logging.getLogger(__name__)

R = TypeVar("R")  # what iterating the read gives: model instances or value tuples

# What SQLCompiler.as_sql leaves on the compiler for execute_sql, results_iter and the
# iterables (ModelIterable reads select, klass_info and annotation_col_map).
_STATE = ("select", "klass_info", "annotation_col_map", "col_count", "has_extra_select")


@dataclass(frozen=True)
class _Compiled:
    sql: str
    state: dict[str, Any]
    template: QuerySet[Any]


_compiled: dict[Hashable, _Compiled | None] = {}
_compilers: dict[type, type] = {}


class _CompiledQuery(Query):
    """A compiled read's query: it carries the call's arguments, and its compiler answers with
    the compiled text instead of compiling the (emptied) conditions again."""

    compiled: _Compiled | None = None
    arguments: list[Any] | None = None

    def get_compiler(
        self, using: Any = None, connection: Any = None, elide_empty: bool = True
    ) -> Any:
        compiler = super().get_compiler(using, connection, elide_empty)
        compiler.__class__ = _compiler_class(type(compiler))
        return compiler


class _CompiledSQL:
    def as_sql(self: Any, with_limits: bool = True, with_col_aliases: bool = False) -> Any:
        compiled, arguments = self.query.compiled, self.query.arguments
        assert compiled is not None and arguments is not None  # noqa: S101
        if self.query.select_for_update and self.connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        self.__dict__.update(compiled.state)
        return compiled.sql, list(arguments)


def _compiler_class(base: type) -> type:
    found = _compilers.get(base)
    if found is None:
        found = _compilers.setdefault(
            base, type(f"Compiled{base.__name__}", (_CompiledSQL, base), {})
        )
    return found


def compiled(
    key: Hashable, build: Callable[..., QuerySet[Any, R]], *arguments: Any
) -> QuerySet[Any, R]:
    """The read `build(*arguments)` on the default database, its SQL compiled once per `key`."""
    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        return build(*arguments)
    try:
        entry = _compiled[key]
    except KeyError:
        entry = _compiled.setdefault(key, _compile(key, build(*arguments), arguments))
    if entry is None:
        return build(*arguments)
    queryset = entry.template.all()
    query = queryset.query
    assert isinstance(query, _CompiledQuery)  # noqa: S101
    query.arguments = [_sent(argument) for argument in arguments]
    return queryset


def _compile(
    key: Hashable, queryset: QuerySet[Any], arguments: tuple[Any, ...]
) -> _Compiled | None:
    """The template of `key`'s reads, or None where its statement's parameters are not the
    arguments (such a read is built every time)."""
    compiler = queryset.query.get_compiler(DEFAULT_DB_ALIAS)
    sql, params = compiler.as_sql()
    if list(params) != [_sent(argument) for argument in arguments]:
        logger.warning("the read %r is built every time: its parameters are not its arguments", key)
        return None
    template = queryset.all()
    template.query.__class__ = _CompiledQuery
    query = template.query
    assert isinstance(query, _CompiledQuery)  # noqa: S101
    # The first call's values go: the compiled text is what is sent. Were it ever compiled
    # again, these conditions would match nothing.
    query.where = WhereNode([NothingNode()])
    entry = _Compiled(sql, {name: getattr(compiler, name) for name in _STATE}, template)
    query.compiled = entry
    return entry


def _sent(argument: Any) -> Any:
    return list(argument) if isinstance(argument, list | tuple | set | frozenset) else argument
