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
import gc
import heapq
import multiprocessing
import queue
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections
from django.utils import translation
from tqdm import tqdm

from linkage.bulk.checking import CheckedRow, checked_rows
from linkage.bulk.exclusive import ImportRunning, import_held
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
from linkage.bulk.streams import Partition, highest_kept
from linkage.masking import safe_text
from linkage.models import InitialLoad
from linkage.services.numbering import integrated_number_sequence_raise
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
        parser.add_argument(
            "--streams",
            type=int,
            default=None,
            help="on PostgreSQL the file is split by person into this many streams stored "
            "side by side, one process each (default: one per CPU, at most 4); SQLite, or a "
            "call inside a transaction, runs one stream",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        # Reasons in the rejects file are the API's, in the API's language (docs/api.md).
        # One import at a time (linkage.bulk.exclusive): an initial load is refused while
        # another import runs; an ordinary import waits for it.
        def waiting() -> None:
            self.stderr.write("another import is running: waiting for it to end (Ctrl-C stops)")

        with translation.override("en"), _collected_seldom():
            try:
                held = import_held(waiting=None if options["initial_load"] else waiting)
                with held:
                    self._import(**options)
            except ImportRunning as error:
                raise CommandError(
                    f"{error}: an initial load runs alone; load the other files after it, "
                    "without --initial-load"
                ) from error

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
        streams: int | None,
        no_progress: bool,
        **options: Any,
    ) -> None:
        if not file.is_file():
            raise CommandError(f"{file} is not a readable file")
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1")
        if streams is not None and streams < 1:
            raise CommandError("--streams must be at least 1")
        if number_system is not None and number_system not in settings.NUMBER_SYSTEMS:
            # Else every row of the file would be refused for a typing error in the option.
            raise CommandError(
                f"--number-system must be one of {', '.join(settings.NUMBER_SYSTEMS)}"
            )
        file_format = file_format or ("jsonl" if file.suffix in (".jsonl", ".ndjson") else "csv")
        rejects = rejects or file.with_name(file.name + ".rejects.csv")
        duplicates = duplicates or file.with_name(file.name + ".duplicates.csv")
        _writable(rejects, "--rejects")
        _writable(duplicates, "--duplicates")
        try:
            source = AddressChangeFile(file, file_format=file_format, encoding=encoding)
        except FileLayoutError as error:
            raise CommandError(str(error)) from error
        except OSError as error:
            raise CommandError(f"{file} cannot be read ({error.strerror})") from error
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
                self._initial_load_finish(load, time.monotonic(), _streams_count(streams))
                return
        elif (unfinished := initial_load_unfinished()) is not None:
            source.close()
            raise CommandError(
                f"the initial load of {unfinished.file_name} is not finished; "
                "run it again with --initial-load"
            )
        started = time.monotonic()
        source.close()
        count = _streams_count(streams)
        partition = Partition(1)
        if count > 1:
            partition = Partition.of_file(
                file,
                file_format=file_format,
                encoding=encoding,
                streams=count,
                stored=not initial_load,
            )
            count = partition.streams
            highest = partition.highest_kept
        else:
            highest = highest_kept(file, file_format=file_format, encoding=encoding)
        # Kept numbers are above anything issued, whatever the order of the rows or streams.
        if highest:
            integrated_number_sequence_raise(highest)
        loading = _Loading(file, file_format, encoding, number_system, partition)
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
            if count == 1:
                run = loading.stream(0, run, rejects, duplicates, _bar(progress))
            else:
                run = loading.side_by_side(run, rejects, duplicates, progress=progress)
        except FileLayoutError as error:
            raise CommandError(str(error)) from error
        finally:
            progress.close()
        seconds = time.monotonic() - started
        self.stdout.write(
            f"read {run.read}, registered {run.totals.registered}, updated {run.totals.updated}, "
            f"unchanged {run.totals.unchanged}, duplicates {run.totals.duplicates}, "
            f"rejected {run.rejected} "
            f"in {seconds:.1f} s ({run.read / max(seconds, 1e-9):,.0f} rows/s, "
            f"{count} stream{'s' if count > 1 else ''}), "
            f"peak memory {peak_rss_mib():.0f} MiB; rejects: {rejects}"
        )
        if run.totals.kept or run.numbers_refused:
            self.stdout.write(
                f"migration: kept {run.totals.kept} existing integrated numbers, "
                f"could not keep {run.numbers_refused}; report: {duplicates}"
            )
        if load is not None:
            initial_load_loaded(load)
            self._initial_load_finish(load, started, count)

    def _initial_load_finish(self, load: InitialLoad, started: float, workers: int) -> None:
        """The deferred work, its index builds and statistics on as many connections as the
        load had streams."""
        finishing = time.monotonic()
        initial_load_finish(
            load, step=lambda what: self.stderr.write(f"initial load: {what}"), workers=workers
        )
        now = time.monotonic()
        self.stdout.write(
            f"initial load finished: history, indexes and foreign keys in "
            f"{now - finishing:.1f} s; {now - started:.1f} s in all, "
            f"peak memory {peak_rss_mib():.0f} MiB"
        )


# Allocations between two collections of the youngest generation while a file is loaded
# (Python's default is 700).
COLLECTION_THRESHOLD = 100_000


@contextmanager
def _collected_seldom() -> Iterator[None]:
    """Python's cyclic garbage collector, with its default thresholds, collected so often
    during a load (a chunk holds tens of thousands of objects alive and a load makes millions)
    that it took about a third of a stream's time: 99,961 changes in one stream, 22.0 s of
    chunks against 15.4 s with this. The objects alive before the load are set aside for its
    duration (gc.freeze, which also keeps them shared with the stream processes forked from
    it) and the young generation is collected every COLLECTION_THRESHOLD allocations; what a
    chunk made is still freed by reference counting as soon as the chunk is done."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(COLLECTION_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _part(report: Path, stream: int) -> Path:
    """Where one stream writes its part of a report, merged into `report` at the end."""
    return report.with_name(f"{report.name}.{stream}")


def _writable(path: Path, option: str) -> None:
    """A report the import can write (and its streams' parts beside it), checked before
    anything is read or stored: not a traceback after the load has begun. Nothing is left
    behind by the check (an import refused for another reason writes no report)."""
    for probe in (path, _part(path, 0)):
        existed = probe.exists()
        try:
            with probe.open("a", encoding="utf-8"):
                pass
        except OSError as error:
            raise CommandError(f"{option} {path} cannot be written ({error.strerror})") from error
        if not existed:
            probe.unlink()


def _streams_count(asked: int | None) -> int:
    """Streams side by side only on PostgreSQL (SQLite has one writer), and not inside a
    caller's transaction (each stream's process commits on a connection of its own): as
    asked, else one per CPU, at most 4."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    if asked is not None:
        return asked
    return max(1, min(4, multiprocessing.cpu_count()))


def _bar(progress: Any) -> Callable[[int, int], None]:
    """A report of the bytes and rows read so far, shown on the progress bar."""
    started = time.monotonic()

    def report(position: int, rows: int) -> None:
        progress.update(position - progress.n)
        rate = rows / max(time.monotonic() - started, 1e-9)
        progress.set_postfix(rows=rows, rate=f"{rate:,.0f}/s")

    return report


class _Loading:
    """A file's rows stored as one stream, or as several side by side (linkage.bulk.streams),
    each in a process of its own that writes its own rejects and migration report, merged by
    line at the end."""

    def __init__(
        self,
        file: Path,
        file_format: str,
        encoding: str,
        number_system: str | None,
        partition: Partition,
    ) -> None:
        self.file, self.file_format, self.encoding = file, file_format, encoding
        self.number_system = number_system
        self.partition = partition

    def stream(
        self,
        index: int,
        run: _Run,
        rejects: Path,
        duplicates: Path,
        report: Callable[[int, int], None],
    ) -> _Run:
        """Store the rows of stream `index`, reporting the bytes and rows read after each
        chunk."""
        source = AddressChangeFile(self.file, file_format=self.file_format, encoding=self.encoding)
        try:
            with (
                rejects.open("w", newline="", encoding="utf-8-sig") as rejects_file,
                duplicates.open("w", newline="", encoding="utf-8-sig") as duplicates_file,
            ):
                run.rejects = csv.writer(rejects_file)
                run.rejects.writerow(REJECT_COLUMNS)
                run.duplicates = csv.writer(duplicates_file)
                run.duplicates.writerow(DUPLICATE_COLUMNS)
                for row in checked_rows(
                    self._rows(source, index), number_system=self.number_system
                ):
                    run.take(row)
                    if run.chunk_full():
                        run.flush()
                        report(source.position, run.read)
                run.flush()
                report(source.position, run.read)
        finally:
            source.close()
        return run

    def _rows(self, source: AddressChangeFile, index: int) -> Iterator[Any]:
        stream_of = self.partition.stream_of
        return (row for row in source if stream_of(row.body, row.line) == index)

    def side_by_side(self, run: _Run, rejects: Path, duplicates: Path, *, progress: Any) -> _Run:
        """Every stream in a process of its own (forked: the partition is inherited, each
        opens its own database connection); their counts added, their reports merged."""
        count = self.partition.streams
        context = multiprocessing.get_context("fork")
        shared = context.Array("q", count * 2)
        results = context.Queue()
        parts = [(_part(rejects, i), _part(duplicates, i)) for i in range(count)]
        connections.close_all()
        workers = [
            context.Process(
                target=self._child, args=(i, run, parts[i], shared, results), daemon=False
            )
            for i in range(count)
        ]
        for worker in workers:
            worker.start()
        report = _bar(progress)
        outcomes: dict[int, Any] = {}
        while len(outcomes) < count:
            try:
                index, outcome = results.get(timeout=1)
                outcomes[index] = outcome
            except queue.Empty:  # no stream finished this second
                if not any(worker.is_alive() for worker in workers) and results.empty():
                    break
            position = min(progress.total or 0, sum(shared[i * 2] for i in range(count)))
            report(position, sum(shared[i * 2 + 1] for i in range(count)))
        for worker in workers:
            worker.join()
        failed = [str(outcome) for outcome in outcomes.values() if isinstance(outcome, str)]
        if len(outcomes) < count or failed:
            raise CommandError(
                "a stream of the load failed; run the command again to resume: "
                + ("; ".join(failed) or "a stream process ended without a result")
            )
        for outcome in outcomes.values():
            run.add(outcome)
        _merged(rejects, [part for part, _ in parts], REJECT_COLUMNS)
        _merged(duplicates, [part for _, part in parts], DUPLICATE_COLUMNS)
        return run

    def _child(
        self, index: int, run: _Run, parts: tuple[Path, Path], shared: Any, results: Any
    ) -> None:

        def report(position: int, rows: int) -> None:
            shared[index * 2], shared[index * 2 + 1] = position, rows

        try:
            results.put((index, self.stream(index, run, *parts, report).counts()))
        except BaseException as error:  # the parent reports it and exits non-zero
            # The reason as an error answer would repeat it (a unique key's DETAIL quotes
            # the key's values: an event id may be number-shaped).
            reason = safe_text(f"{type(error).__name__}: {error}")
            results.put((index, f"stream {index + 1}: {reason}"))
        finally:
            connections.close_all()


def _reported(line: int, event_id: str, problem: RowError) -> tuple[Any, ...]:
    """A rejects file's row. The event id is the sender's text from a row that was refused:
    it may hold anything (a lone surrogate, which no UTF-8 file can hold; an individual number
    where a misaligned file put one), so it is written as an error answer would repeat it:
    printable, every number-shaped run masked. The line number finds the row."""
    return (line, safe_text(event_id), problem.field, problem.code, safe_text(problem.message))


def _line_of(row: Any) -> int:
    return int(row[0])


def _merged(target: Path, parts: list[Path], header: tuple[str, ...]) -> None:
    """The streams' report files as one, by line, each part removed."""
    readers: list[Iterator[list[str]]] = []
    files = [part.open(newline="", encoding="utf-8-sig") for part in parts]
    try:
        for opened in files:
            reader = csv.reader(opened)
            next(reader, None)
            readers.append(reader)
        with target.open("w", newline="", encoding="utf-8-sig") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            writer.writerows(heapq.merge(*readers, key=_line_of))
    finally:
        for opened in files:
            opened.close()
        for part in parts:
            part.unlink(missing_ok=True)


def peak_rss_mib() -> float:
    """The largest resident set this process, or any stream's process, has had (Linux
    reports KiB)."""
    return (
        max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        / 1024
    )


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

    def counts(self) -> tuple[int, int, int, ChunkResult]:
        """What a stream sends back: its counts (its rows and reports stay where they are)."""
        return self.read, self.rejected, self.numbers_refused, self.totals

    def add(self, counts: tuple[int, int, int, ChunkResult]) -> None:
        """Another stream's counts added to this run's."""
        read, rejected, numbers_refused, totals = counts
        self.read += read
        self.rejected += rejected
        self.numbers_refused += numbers_refused
        self.totals.add(totals)

    def chunk_full(self) -> bool:
        """Full of changes, or of rejects (memory stays bounded even for a file of bad rows)."""
        return len(self.chunk) + len(self.pending_rejects) >= self.chunk_size

    def flush(self) -> None:
        if self.chunk:
            result = self.importer.import_chunk(self.chunk)
            self.totals.add(result)
            event_ids = {row.line: row.event_id for row in self.chunk}
            self.pending_rejects += [
                (line, event_ids.get(line, ""), problem) for line, problem in result.rejects
            ]
            self._migration_report(result)
        self.rejected += len({line for line, _, _ in self.pending_rejects})
        for line, event_id, problem in sorted(self.pending_rejects, key=lambda item: item[0]):
            self.rejects.writerow(_reported(line, event_id, problem))
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
                    safe_text(change.event_id),
                    change.number_system,
                    change.address_number,
                    change.integrated_number,
                    problem.code,
                    problem.message,
                )
            )
