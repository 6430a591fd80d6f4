"""`manage.py demo`: the whole system on one machine, with demo data sent over real HTTP.

Migrates, connects the four simulated business systems to linkage (an API client each, with
its notice callback) and creates a demo login for each role, starts the web server and a Celery
worker with beat (filesystem broker: no server needed), registers the demo residents through
the business systems (`seed_demo`, the same residents every run: some known to several
systems, some moving house; the last marked unknown to the simulated national registry, so
one code request ends in the error list), waits for their code requests and notices, then
prints the URL, the logins and the keys and serves until Ctrl-C.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from io import StringIO
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from backbone.linkage_client import LinkageApiClient, LinkageUnavailable
from backbone.models import BusinessSystem, ReceivedNotice
from backbone.services import business_systems_connect

# (username, password, role): one login per role of linkage (docs/security.md).
DEMO_USERS = [
    ("clerk", "demo-clerk-pass", "clerk"),
    ("supervisor", "demo-supervisor-pass", "supervisor"),
    ("admin", "demo-admin-pass", "administrator"),
]
# The code request statuses the summary counts (SPEC 6), as the staff API names them.
CODE_REQUEST_STATUSES = ("requesting", "requested", "error")


class Command(BaseCommand):
    help = "Run the whole system with demo data (SQLite and a broker that needs no server)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--residents", type=int, default=12)
        parser.add_argument(
            "--no-serve", action="store_true", help="stop after loading the data (for scripts)"
        )

    def handle(self, *args: Any, port: int, residents: int, no_serve: bool, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        base_url = f"http://127.0.0.1:{port}"
        keys = business_systems_connect(
            linkage_url=base_url, callback_base_url=base_url, names=settings.NUMBER_SYSTEMS
        )
        # Through linkage's own commands, as an operator sets it up: the logins, and a staff
        # key with which the demo reads the code requests' progress over the API.
        for username, password, role in DEMO_USERS:
            call_command(
                "create_staff_user", username, role, stdin=StringIO(password), stdout=StringIO()
            )
        issued = StringIO()
        call_command("create_staff_token", "supervisor", "demo progress", stdout=issued)
        staff = LinkageApiClient(
            base_url, issued.getvalue().strip().splitlines()[-1], scheme="Bearer"
        )

        env = {**os.environ, "SIMULATOR_BASE_URL": base_url, "CODE_REQUEST_CONFIRM_EVERY": "3"}
        server = subprocess.Popen(  # noqa: S603 (our own interpreter and manage.py)
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=settings.BASE_DIR,
            env=env,
        )
        worker = subprocess.Popen(  # noqa: S603
            [
                sys.executable, "-m", "celery", "-A", "config", "worker", "-B",
                "--loglevel", "WARNING", "--concurrency", "2",
                "-s", str(settings.VAR_DIR / "celerybeat-schedule"),
            ],
            cwd=settings.BASE_DIR,
            env=env,
        )  # fmt: skip
        try:
            self._wait_until_up(base_url, server)
            seeded = StringIO()
            # The same residents every run: what the README shows is what a newcomer sees.
            call_command("seed_demo", residents=residents, seed=2026, stdout=seeded)
            outcome = self._wait_for_code_requests(staff)
            self._print_summary(base_url, keys, seeded.getvalue().strip(), outcome)
            if not no_serve:
                server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for process in (worker, server):
                process.terminate()
            for process in (worker, server):
                process.wait(timeout=15)

    def _wait_until_up(self, base_url: str, server: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError("the web server exited during start-up; see its output above")
            try:
                with urllib.request.urlopen(f"{base_url}/", timeout=1):  # noqa: S310
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        raise CommandError(f"the web server did not answer at {base_url} within 30 seconds")

    def _wait_for_code_requests(
        self, staff: LinkageApiClient, seconds: float = 60
    ) -> dict[str, int]:
        """Until no code request is still `requesting` and the business systems have received
        no new notice for two seconds (or the time is up)."""
        deadline = time.monotonic() + seconds
        received = -1
        while True:
            try:
                counts = {
                    status: staff.code_requests_count(status) for status in CODE_REQUEST_STATUSES
                }
            except LinkageUnavailable:
                counts = {}
            now_received = ReceivedNotice.objects.count()
            settled = bool(counts) and not counts["requesting"] and now_received == received
            if settled or time.monotonic() > deadline:
                return {status: count for status, count in counts.items() if count}
            received = now_received
            time.sleep(2)

    def _print_summary(
        self, base_url: str, keys: dict[str, str], seeded: str, outcome: dict[str, int]
    ) -> None:
        lines = [
            "",
            "情報連携サーバー demo is running.",
            f"  URL:        {base_url}/",
            f"  API docs:   {base_url}/api/docs/",
            f"  Business systems (clerk screens): {base_url}/backbone/",
            f"  Admin:      {base_url}/admin/",
            "  Logins (one per role):",
            *(f"    {role:<14} {user} / {password}" for user, password, role in DEMO_USERS),
            f"  {seeded}",
            f"  Notices received by the business systems: {ReceivedNotice.objects.count()}",
            "  Code requests: "
            + ", ".join(f"{status} {count}" for status, count in sorted(outcome.items()))
            + " (one resident is unknown to the national registry: see the error list at"
            + f" {base_url}/code-requests/errors/)",
            "  OAuth clients of the business systems (client_secret_jwt, docs/api.md):",
            *(
                f"    {system.number_system} {system.name}: client_id {system.oauth_client_id}"
                f" client_secret {keys[system.number_system]}"
                for system in BusinessSystem.objects.filter(number_system__in=keys)
            ),
            "Press Ctrl-C to stop.",
            "",
        ]
        self.stdout.write("\n".join(lines))
