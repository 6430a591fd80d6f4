"""`manage.py create_staff_user <username> <clerk|supervisor|administrator>`: a staff login in
exactly one role, created or updated. The password is read from standard input (one line), so
it never appears in a shell history or a process list:

    printf '%s\n' "$PASSWORD" | python manage.py create_staff_user tanaka clerk
"""

from __future__ import annotations

import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from linkage.roles import ROLES, staff_user_ensure


class Command(BaseCommand):
    help = "Create or update a staff user in one role; the password is read from stdin."
    # call_command(..., stdin=StringIO(...)) for scripts such as the demo.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("role", choices=sorted(ROLES))

    def handle(self, *args: Any, username: str, role: str, **options: Any) -> None:
        try:  # the rules the admin's user form applies (letters, digits and @.+-_; length)
            get_user_model()._meta.get_field("username").clean(username, None)
        except ValidationError as error:
            raise CommandError("username: " + " ".join(error.messages)) from error
        password = (options.get("stdin") or sys.stdin).readline().rstrip("\n")
        if not password:
            raise CommandError("give the password on standard input (one line)")
        try:
            validate_password(password)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        staff_user_ensure(username=username, password=password, role=role)
        self.stdout.write(f"Staff user {username} is now in role {role}.")
