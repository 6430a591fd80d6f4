"""`manage.py demo`: the whole system on one machine, with demo data sent over real HTTP.

Migrates, creates one API client per business system and a demo administrator, starts the
web server and a Celery worker with beat (filesystem broker: no server needed), enrols the
demo residents in the simulated national registry (all but one, whose code request ends in
the error list), sends them through the real API (some known to several systems, some moving
house), waits for their code requests to be confirmed, then prints the URL, the logins and
the keys and serves until Ctrl-C.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from io import StringIO
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count
from django.utils import timezone

from backbone.linkage_client import LinkageApiClient
from backbone.synthetic import ResidentGenerator
from intermediate.services import registry_enrol
from linkage.models import CodeRequest, CodeRequestStatus

DEMO_ADMIN = ("admin", "demo-admin-pass")


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
        keys = {
            number_system: self._create_client(number_system, f"demo {label}")
            for number_system, label in settings.NUMBER_SYSTEMS.items()
        }
        self._create_admin()

        base_url = f"http://127.0.0.1:{port}"
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
            sent = self._send_demo_residents(base_url, keys, residents)
            outcome = self._wait_for_code_requests()
            self._print_summary(base_url, keys, sent, outcome)
            if not no_serve:
                server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for process in (worker, server):
                process.terminate()
            for process in (worker, server):
                process.wait(timeout=15)

    def _create_client(self, number_system: str, name: str) -> str:
        out = StringIO()
        call_command("create_backbone_client", number_system, name, stdout=out)
        return out.getvalue().strip().splitlines()[-1]

    def _create_admin(self) -> None:
        username, password = DEMO_ADMIN
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()

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

    def _send_demo_residents(self, base_url: str, keys: dict[str, str], count: int) -> int:
        """Each resident enters through 住基; every second one is also known to 税 and a
        third to 国保 (one person, several systems); every fourth then moves house."""
        generator = ResidentGenerator(seed=int(time.time()))
        clients = {ns: LinkageApiClient(base_url, key) for ns, key in keys.items()}
        run = timezone.now().strftime("%Y%m%d%H%M%S")
        sent = 0
        for index in range(count):
            resident = generator.resident()
            if index != count - 1:  # the last one is unknown to the national registry
                registry_enrol(individual_number=resident.individual_number)
            systems = (
                ["01"] + (["02"] if index % 2 == 0 else []) + (["03"] if index % 3 == 0 else [])
            )
            for number_system in systems:
                answer = clients[number_system].address_change_send(
                    {
                        "event_id": f"demo-{run}-{index}-{number_system}",
                        "number_system": number_system,
                        "address_number": f"{int(number_system)}{run[4:]}{index:03d}",
                        "individual_number": resident.individual_number,
                        "changed_at": timezone.now().isoformat(),
                        "person": resident.as_person(),
                    }
                )
                if not answer.ok:
                    raise CommandError(f"linkage refused a demo change: {answer.body}")
                sent += 1
            if index % 4 == 0:
                moved = generator.moved(resident)
                answer = clients["01"].address_change_send(
                    {
                        "event_id": f"demo-{run}-{index}-move",
                        "number_system": "01",
                        "address_number": f"1{run[4:]}{index:03d}",
                        "individual_number": moved.individual_number,
                        "changed_at": (timezone.now() + datetime.timedelta(seconds=1)).isoformat(),
                        "person": moved.as_person(),
                    }
                )
                if not answer.ok:
                    raise CommandError(f"linkage refused a demo change: {answer.body}")
                sent += 1
        return sent

    def _wait_for_code_requests(self, seconds: float = 60) -> dict[str, int]:
        """Until no demo code request is still `requesting` (or the time is up)."""
        deadline = time.monotonic() + seconds
        while True:
            counts = dict(
                CodeRequest.objects.values_list("status").annotate(n=Count("pk")).order_by()
            )
            if not counts.get(CodeRequestStatus.REQUESTING) or time.monotonic() > deadline:
                return counts
            time.sleep(1)

    def _print_summary(
        self, base_url: str, keys: dict[str, str], sent: int, outcome: dict[str, int]
    ) -> None:
        username, password = DEMO_ADMIN
        lines = [
            "",
            "情報連携サーバー demo is running.",
            f"  URL:        {base_url}/",
            f"  API docs:   {base_url}/api/docs/",
            f"  Admin:      {base_url}/admin/  login {username} / {password}",
            f"  Sent {sent} demo address changes through the API.",
            "  Code requests: "
            + ", ".join(f"{status} {count}" for status, count in sorted(outcome.items()))
            + " (one resident is unknown to the national registry: see the error list at"
            + f" {base_url}/admin/linkage/coderequest/?status__exact=error)",
            "  API keys (Authorization: Token <key>):",
            *(f"    {ns} {settings.NUMBER_SYSTEMS[ns]}: {key}" for ns, key in keys.items()),
            "Press Ctrl-C to stop.",
            "",
        ]
        self.stdout.write("\n".join(lines))
