"""The staff roles (SPEC 2: clerks, supervisors, administrators) as groups with permissions.

Kept in code and applied after every `migrate`, so each installation has the same roles and
a changed role reaches every installation with the release that changes it. Users are put in
a group by an administrator; administrators also need `is_staff` to enter the admin site.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

CLERK = "clerk"
SUPERVISOR = "supervisor"
ADMINISTRATOR = "administrator"

_CLERK_PERMISSIONS = [
    "linkage.view_person",
    "linkage.view_addressversion",
    "linkage.view_crossreference",
    "linkage.view_businessinformation",
    "linkage.view_coderequest",
    "linkage.correct_person",
]
_SUPERVISOR_PERMISSIONS = [
    *_CLERK_PERMISSIONS,
    "linkage.reveal_individual_number",
    "linkage.export_person",
    "linkage.retry_coderequest",
    "linkage.view_accessrecord",
]
_CRUD = ("add", "change", "delete", "view")
_ADMINISTRATOR_PERMISSIONS = [
    # The admin site: users and groups, the business systems' keys and staff tokens, and
    # read access to every linkage table (received data stays read-only there).
    *(f"auth.{action}_{model}" for model in ("user", "group") for action in _CRUD),
    *(
        f"linkage.{action}_{model}"
        for model in ("backboneclient", "stafftoken")
        for action in _CRUD
    ),
    *(
        f"linkage.view_{model}"
        for model in (
            "person",
            "addressversion",
            "crossreference",
            "businessinformation",
            "coderequest",
            "coderequesttransition",
            "codeacquisitionfile",
            "addresschangereceipt",
            "notice",
            "accessrecord",
            "personevent",
            "addressversionevent",
            "crossreferenceevent",
            "coderequestevent",
        )
    ),
]

ROLES: dict[str, list[str]] = {
    CLERK: _CLERK_PERMISSIONS,
    SUPERVISOR: _SUPERVISOR_PERMISSIONS,
    ADMINISTRATOR: _ADMINISTRATOR_PERMISSIONS,
}


def roles_sync(**kwargs: Any) -> None:
    """Create or update the role groups to hold exactly their permissions (post_migrate)."""
    for name, wanted in ROLES.items():
        query = Q()
        for permission in wanted:
            app_label, codename = permission.split(".")
            query |= Q(content_type__app_label=app_label, codename=codename)
        permissions = list(Permission.objects.filter(query))
        if len(permissions) != len(wanted):
            found = {f"{p.content_type.app_label}.{p.codename}" for p in permissions}
            raise LookupError(f"role {name}: unknown permissions {sorted(set(wanted) - found)}")
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(permissions)


def staff_user_ensure(*, username: str, password: str, role: str) -> Any:
    """A user in exactly one role group, created or updated (demo and test personas). An
    administrator is also `is_staff` (the admin site) but not a superuser: administering the
    system does not give access to individual numbers (separation of duties)."""
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username=username)
    user.is_staff = role == ADMINISTRATOR
    user.is_superuser = False
    user.set_password(password)
    user.save()
    user.groups.set([Group.objects.get(name=role)])
    return user
