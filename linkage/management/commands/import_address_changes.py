"""`manage.py import_address_changes FILE [--format csv|jsonl] [--encoding utf-8|cp932]
[--number-system NN] [--rejects PATH] [--duplicates PATH]`: an address-change file with the
API's rules, set-wise in chunks.

Every row is checked by the API's own fields; a bad row is written to the rejects file with
its line number, field and reason and never stops the batch. Each chunk is one transaction,
so a row is either stored whole or not at all, and running an interrupted import again skips
what was stored (idempotency by event_id). See docs/bulk-import.md.
"""

from __future__ import annotations

import csv
import resource
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from tqdm import tqdm

from linkage.bulk.checking import CheckedRow, checked_rows
from linkage.bulk.files import AddressChangeFile, FileLayoutError
from linkage.bulk.ingest import BlindIndexRotationUnderWay, ChunkResult, Importer
from linkage.bulk.initial_load import (
    InitialLoadRefused,
    initial_load_begin,
    initial_load_finish,
    initial_load_loaded,
    initial_load_unfinished,
)
from linkage.bulk.rows import RowError
from linkage.models import InitialLoad
from primitives.layout import ENCODINGS, FORMATS

REJECT_COLUMNS = ("line", "event_id", "field", "code", "message")
# The migration report: rows whose existing integrated number could not be kept.
MIGRATION_CODES = ("integrated_number_taken", "integrated_number_differs")
DUPLICATE_COLUMNS = (
    "line",
    "event_id",
    "number_system",
    "address_number",
    "integrated_number",
    "code",
    "message",
)


class Command(BaseCommand):
    help = "Import an address-change file (CSV or JSON Lines) with the API's rules."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", dest="file_format", choices=FORMATS, default=None)
        parser.add_argument("--encoding", choices=sorted(ENCODINGS), default="utf-8")
        parser.add_argument(
            "--number-system", default=None, help="refuse rows of any other number system"
        )
        parser.add_argument("--chunk-size", type=int, default=5000)
        parser.add_argument(
            "--rejects",
            type=Path,
            default=None,
            help="where bad rows are listed (default: FILE.rejects.csv)",
        )
        parser.add_argument(
            "--duplicates",
            type=Path,
            default=None,
            help="where a migration lists the integrated numbers it could not keep "
            "(default: FILE.duplicates.csv)",
        )
        parser.add_argument(
            "--initial-load",
            action="store_true",
            help="the first load of a whole municipality into an empty database: search "
            "indexes, foreign keys and history triggers are deferred to the end "
            "(docs/bulk-import.md); run again to resume an interrupted one",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        # Reasons in the rejects file are the API's, in the API's language (docs/api.md).
        with translation.override("en"):
            self._import(**options)

    def _import(
        self,
        *,
        file: Path,
        file_format: str | None,
        encoding: str,
        number_system: str | None,
        chunk_size: int,
        rejects: Path | None,
        duplicates: Path | None,
        initial_load: bool,
        no_progress: bool,
        **options: Any,
    ) -> None:
        if not file.is_file():
            raise CommandError(f"{file} is not a readable file")
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1")
        file_format = file_format or ("jsonl" if file.suffix in (".jsonl", ".ndjson") else "csv")
        rejects = rejects or file.with_name(file.name + ".rejects.csv")
        duplicates = duplicates or file.with_name(file.name + ".duplicates.csv")
        try:
            source = AddressChangeFile(file, file_format=file_format, encoding=encoding)
        except FileLayoutError as error:
            raise CommandError(str(error)) from error
        try:
            # The initial load defers the indexes duplicate screening needs: screening each
            # person without a number would scan the versions (docs/bulk-import.md).
            run = _Run(Importer(screen=not initial_load), chunk_size)
        except BlindIndexRotationUnderWay as error:
            raise CommandError(str(error)) from error
        load = None
        if initial_load:
            try:
                load = initial_load_begin(str(file))
            except InitialLoadRefused as error:
                source.close()
                raise CommandError(str(error)) from error
            if load.loaded_at is not None:  # interrupted while finishing: finish it
                source.close()
                self._initial_load_finish(load, time.monotonic())
                return
        elif (unfinished := initial_load_unfinished()) is not None:
            source.close()
            raise CommandError(
                f"the initial load of {unfinished.file_name} is not finished; "
                "run it again with --initial-load"
            )
        started = time.monotonic()
        progress = tqdm(
            total=source.size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            disable=True if no_progress else None,
            file=sys.stderr,
            desc=file.name,
        )
        try:
            with (
                rejects.open("w", newline="", encoding="utf-8-sig") as rejects_file,
                duplicates.open("w", newline="", encoding="utf-8-sig") as duplicates_file,
            ):
                run.rejects = csv.writer(rejects_file)
                run.rejects.writerow(REJECT_COLUMNS)
                run.duplicates = csv.writer(duplicates_file)
                run.duplicates.writerow(DUPLICATE_COLUMNS)
                try:
                    for row in checked_rows(source, number_system=number_system):
                        run.take(row)
                        if run.chunk_full():
                            run.flush()
                            self._progress(progress, source.position, run, started)
                    run.flush()
                except FileLayoutError as error:
                    raise CommandError(str(error)) from error
                self._progress(progress, source.position, run, started)
        finally:
            progress.close()
            source.close()
        seconds = time.monotonic() - started
        self.stdout.write(
            f"read {run.read}, registered {run.totals.registered}, updated {run.totals.updated}, "
            f"unchanged {run.totals.unchanged}, duplicates {run.totals.duplicates}, "
            f"rejected {run.rejected} "
            f"in {seconds:.1f} s ({run.read / max(seconds, 1e-9):,.0f} rows/s), "
            f"peak memory {peak_rss_mib():.0f} MiB; rejects: {rejects}"
        )
        if run.totals.kept or run.numbers_refused:
            self.stdout.write(
                f"migration: kept {run.totals.kept} existing integrated numbers, "
                f"could not keep {run.numbers_refused}; report: {duplicates}"
            )
        if load is not None:
            initial_load_loaded(load)
            self._initial_load_finish(load, started)

    def _initial_load_finish(self, load: InitialLoad, started: float) -> None:
        finishing = time.monotonic()
        initial_load_finish(load, step=lambda what: self.stderr.write(f"initial load: {what}"))
        now = time.monotonic()
        self.stdout.write(
            f"initial load finished: history, indexes and foreign keys in "
            f"{now - finishing:.1f} s; {now - started:.1f} s in all, "
            f"peak memory {peak_rss_mib():.0f} MiB"
        )

    @staticmethod
    def _progress(progress: Any, position: int, run: _Run, started: float) -> None:
        progress.update(position - progress.n)
        progress.set_postfix(
            rows=run.read, rate=f"{run.read / max(time.monotonic() - started, 1e-9):,.0f}/s"
        )


def peak_rss_mib() -> float:
    """The largest resident set this process has had (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Run:
    """The rows of one import: checked rows gathered into chunks, stored, counted."""

    def __init__(self, importer: Importer, chunk_size: int) -> None:
        self.importer = importer
        self.chunk_size = chunk_size
        self.chunk: list[CheckedRow] = []
        self.pending_rejects: list[tuple[int, str, RowError]] = []
        self.totals = ChunkResult()
        self.read = 0
        self.rejected = 0
        self.numbers_refused = 0
        self.rejects: Any = None
        self.duplicates: Any = None

    def take(self, row: CheckedRow) -> None:
        self.read += 1
        if row.change is None:
            self.pending_rejects += [(row.line, row.event_id, problem) for problem in row.errors]
            return
        self.chunk.append(row)

    def chunk_full(self) -> bool:
        """Full of changes, or of rejects (memory stays bounded even for a file of bad rows)."""
        return len(self.chunk) + len(self.pending_rejects) >= self.chunk_size

    def flush(self) -> None:
        if self.chunk:
            result = self.importer.import_chunk(self.chunk)
            self.totals.registered += result.registered
            self.totals.updated += result.updated
            self.totals.unchanged += result.unchanged
            self.totals.duplicates += result.duplicates
            self.totals.kept += result.kept
            event_ids = {row.line: row.event_id for row in self.chunk}
            self.pending_rejects += [
                (line, event_ids.get(line, ""), problem) for line, problem in result.rejects
            ]
            self._migration_report(result)
        self.rejected += len({line for line, _, _ in self.pending_rejects})
        for line, event_id, problem in sorted(self.pending_rejects, key=lambda item: item[0]):
            self.rejects.writerow((line, event_id, problem.field, problem.code, problem.message))
        self.chunk = []
        self.pending_rejects = []

    def _migration_report(self, result: ChunkResult) -> None:
        changes = {row.line: row.change for row in self.chunk if row.change is not None}
        for line, problem in result.rejects:
            change = changes.get(line)
            if problem.code not in MIGRATION_CODES or change is None:
                continue
            self.numbers_refused += 1
            self.duplicates.writerow(
                (
                    line,
                    change.event_id,
                    change.number_system,
                    change.address_number,
                    change.integrated_number,
                    problem.code,
                    problem.message,
                )
            )
