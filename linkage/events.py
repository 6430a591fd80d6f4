"""The signals linkage itself sends (their receivers are in linkage/signals.py, listed in
docs/signals.md).

The services never reach for a task: they say what happened, in the transaction that did it,
and the receivers hand the work to Celery after that transaction commits."""

from __future__ import annotations

from django.dispatch import Signal

# Numbering (unit 37) issued integrated numbers to new persons, in the transaction that
# stores them: `persons` (the new Person rows, a batch of one from the API, thousands from
# the bulk import) and `cause` (what the code-request transitions record).
persons_numbered = Signal()

# Code requests are due for the request unit (S28-S29): opened, re-requested by a clerk, or
# found stalled by the sweep. `code_request_ids`.
code_requests_due = Signal()

# Stalled file work the sweep found: `drain` (persons with a serial number wait to be
# gathered into a file) and `file_ids` (files to send again).
code_acquisition_files_due = Signal()

# Notices were written (or found overdue by the sweep) and are due for delivery: `notice_ids`.
notices_due = Signal()

# The confirmation unit (42) found these persons' codes acquired: `person_ids`. What waited
# for their codes (copies, SPEC 11) goes out now.
codes_acquired = Signal()

# Copies are due for delivery to the intermediate server (registered, replaced, withdrawn,
# released by their person's code, or found stalled by the sweep): `copy_ids`.
copies_due = Signal()

# Inquiries are due to be asked of the intermediate server (made, released by their person's
# code, or found stalled by the sweep): `inquiry_ids`.
inquiries_due = Signal()
