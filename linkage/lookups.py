"""`field__any=[...]`: the `__in` lookup for the bulk paths' long lists of values.

On PostgreSQL the list is sent as one array parameter, `field = ANY(%s::type[])`: the
statement's text stays the same whatever the list's length, so neither Django's compiler nor
the driver handles thousands of placeholders (`__in` with a chunk's 5,000 event ids built and
split a statement of 5,000 `%s` each time). The cast to the column's own type keeps its index
usable. Elsewhere it is `__in`. Registered for plain fields and for foreign keys (`person_id`).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Field, ForeignObject
from django.db.models.fields.related_lookups import RelatedIn
from django.db.models.lookups import In


class _AsArray:
    def as_postgresql(self: Any, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(value, connection, prepared=True) for value in self.rhs]
        return f"{lhs} = ANY(%s::{field.rel_db_type(connection)}[])", [*lhs_params, values]


@Field.register_lookup
class AnyOf(_AsArray, In):
    lookup_name = "any"


@ForeignObject.register_lookup
class RelatedAnyOf(_AsArray, RelatedIn):
    lookup_name = "any"
