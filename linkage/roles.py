"""The staff roles (SPEC 2: clerks, supervisors, administrators) as groups with permissions.

Kept in code and applied after every `migrate`, so each installation has the same roles and
a changed role reaches every installation with the release that changes it. Users are put in
a group by an administrator; administrators also need `is_staff` to enter the admin site.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth.management import create_permissions
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
    "linkage.view_reviewitem",
    "linkage.view_personmerge",
]
_SUPERVISOR_PERMISSIONS = [
    *_CLERK_PERMISSIONS,
    "linkage.reveal_individual_number",
    "linkage.export_person",
    "linkage.retry_coderequest",
    "linkage.view_accessrecord",
    "linkage.merge_person",
]
_CRUD = ("add", "change", "delete", "view")
# Separation of duties: an administrator runs the system (users and groups, the business
# systems' keys and OAuth clients, staff tokens, the labels of business items) and sees no
# person: no search, person page, list, error list, access record or received data, on
# screen, in the admin or through the API.
_ADMINISTRATOR_PERMISSIONS = [
    *(f"auth.{action}_{model}" for model in ("user", "group") for action in _CRUD),
    *(
        f"linkage.{action}_{model}"
        for model in ("backboneclient", "oauthclient", "stafftoken", "businesslabel")
        for action in _CRUD
    ),
    # The OAuth tokens issued (who, which scopes, until when; never the token itself).
    "linkage.view_oauthaccesstoken",
]
# The sandbox's simulated business systems are worked by clerks, where they are installed.
_SANDBOX_PERMISSIONS = {"backbone": ["backbone.operate_business_system"]}

ROLES: dict[str, list[str]] = {
    CLERK: _CLERK_PERMISSIONS,
    SUPERVISOR: _SUPERVISOR_PERMISSIONS,
    ADMINISTRATOR: _ADMINISTRATOR_PERMISSIONS,
}


def role_permissions(name: str) -> list[str]:
    """The permissions of role `name`: its own, and for clerks and supervisors those of the
    installed sandbox apps."""
    wanted = list(ROLES[name])
    if name in (CLERK, SUPERVISOR):
        for app, permissions in _SANDBOX_PERMISSIONS.items():
            if apps.is_installed(app):
                wanted += permissions
    return wanted


def _sandbox_permissions_ensure() -> None:
    """The sandbox apps migrate after linkage: their permissions are created here first."""
    for app in _SANDBOX_PERMISSIONS:
        if apps.is_installed(app):
            create_permissions(apps.get_app_config(app), verbosity=0)


def roles_sync(**kwargs: Any) -> None:
    """Create or update the role groups to hold exactly their permissions (post_migrate)."""
    _sandbox_permissions_ensure()
    for name in ROLES:
        wanted = role_permissions(name)
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
