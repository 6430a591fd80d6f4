"""The signals linkage itself sends (their receivers are in linkage/signals.py, listed in
docs/signals.md)."""

from __future__ import annotations

from django.dispatch import Signal

# Numbering (unit 37) issued integrated numbers to new persons, in the transaction that
# stores them: `persons` (the new Person rows, a batch of one from the API, thousands from
# the bulk import) and `cause` (what the code-request transitions record).
persons_numbered = Signal()
