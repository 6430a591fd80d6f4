"""Django admin for administrators. Received data is read-only here: it changes only
through the API and the services, which keep its history."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import (
    AccessRecord,
    AddressChangeReceipt,
    AddressVersion,
    BackboneClient,
    BusinessInformation,
    BusinessLabel,
    CodeRequest,
    CodeRequestTransition,
    CrossReference,
    Notice,
    OAuthAccessToken,
    OAuthClient,
    Person,
    StaffToken,
)
from .services.oauth_clients import oauth_client_revoke

admin.site.site_header = _("情報連携サーバー 管理サイト")
admin.site.site_title = _("情報連携サーバー 管理サイト")
admin.site.index_title = _("管理")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AddressVersionInline(admin.TabularInline):
    model = AddressVersion
    fields = (
        "history_seq",
        "number_system",
        "address_number",
        "name",
        "birth_date",
        "registered_at",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin):
    list_display = ("integrated_number", "created_at")
    search_fields = ("integrated_number",)
    readonly_fields = ("integrated_number", "created_at")
    exclude = ("individual_number_index", "individual_number_encrypted")
    inlines = [AddressVersionInline]


@admin.register(AddressVersion)
class AddressVersionAdmin(ReadOnlyAdmin):
    list_display = (
        "person",
        "history_seq",
        "number_system",
        "address_number",
        "name",
        "registered_at",
    )
    list_select_related = ("person",)
    list_filter = ("number_system", "source")


@admin.register(CrossReference)
class CrossReferenceAdmin(ReadOnlyAdmin):
    list_display = ("number_system", "address_number", "person", "created_at")
    list_select_related = ("person",)
    list_filter = ("number_system",)


@admin.register(BusinessInformation)
class BusinessInformationAdmin(ReadOnlyAdmin):
    list_display = ("person", "data_type", "number_system", "confirmed_at", "registered_at")
    list_select_related = ("person",)


@admin.register(BusinessLabel)
class BusinessLabelAdmin(admin.ModelAdmin):
    """業務項目の表示名: what the clerk screens call a business system's data types and
    items, beyond the shipped dictionary (linkage/data/business_labels.json)."""

    list_display = ("kind", "key", "label", "label_en")
    list_filter = ("kind",)
    search_fields = ("key", "label")


@admin.register(CodeRequest)
class CodeRequestAdmin(ReadOnlyAdmin):
    list_display = ("person", "status", "attempts", "status_changed_at")
    list_select_related = ("person",)
    list_filter = ("status",)


@admin.register(CodeRequestTransition)
class CodeRequestTransitionAdmin(ReadOnlyAdmin):
    list_display = ("code_request", "from_status", "to_status", "cause", "occurred_at")


@admin.register(AddressChangeReceipt)
class AddressChangeReceiptAdmin(ReadOnlyAdmin):
    list_display = ("number_system", "event_id", "status_code", "client", "received_at")
    list_select_related = ("client",)
    exclude = ("body_digest",)


@admin.register(BackboneClient)
class BackboneClientAdmin(admin.ModelAdmin):
    """Keys are created with `manage.py create_backbone_client`; here they can be revoked."""

    list_display = (
        "name",
        "number_system",
        "key_prefix",
        "callback_url",
        "created_at",
        "revoked_at",
    )
    readonly_fields = ("name", "number_system", "key_prefix", "created_at")
    fields = (
        "name",
        "number_system",
        "key_prefix",
        "callback_url",
        "created_at",
        "expires_at",
        "rate_limit",
        "revoked_at",
    )
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OAuthClient)
class OAuthClientAdmin(admin.ModelAdmin):
    """OAuth clients are created with `manage.py create_oauth_client` and their secrets
    rotated with `rotate_oauth_secret`; here they are revoked, with every token they hold."""

    list_display = ("client_id", "backbone_client", "created_at", "revoked_at")
    list_select_related = ("backbone_client",)
    readonly_fields = (
        "client_id",
        "backbone_client",
        "created_at",
        "previous_secret_valid_until",
        "revoked_at",
    )
    fields = readonly_fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("選択したOAuthクライアントを失効させる（発行済みのトークンも）"))
    def revoke(self, request: HttpRequest, queryset: models.QuerySet[OAuthClient]) -> None:
        for client in queryset.filter(revoked_at__isnull=True):
            oauth_client_revoke(client=client)
        self.message_user(request, _("失効させました。"))


@admin.register(OAuthAccessToken)
class OAuthAccessTokenAdmin(ReadOnlyAdmin):
    """The tokens issued: who, which scopes, until when (the token itself is never kept)."""

    list_display = ("client", "scope", "issued_at", "expires_at", "revoked_at")
    list_select_related = ("client",)
    list_filter = ("client",)


@admin.register(StaffToken)
class StaffTokenAdmin(admin.ModelAdmin):
    """Staff tokens are created with `manage.py create_staff_token`; here they can be
    revoked. A token has the permissions of its user's role."""

    list_display = ("name", "user", "key_prefix", "created_at", "revoked_at")
    list_select_related = ("user",)
    readonly_fields = ("name", "user", "key_prefix", "created_at")
    fields = ("name", "user", "key_prefix", "created_at", "expires_at", "rate_limit", "revoked_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AccessRecord)
class AccessRecordAdmin(ReadOnlyAdmin):
    """The access audit, read-only (the table itself refuses changes)."""

    list_display = ("occurred_at", "action", "outcome", "username", "client", "source_address")
    list_select_related = ("client",)
    list_filter = ("action", "outcome")


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    """The notices to business systems and how far each got; pending ones are retried by the
    workers and the sweep."""

    list_display = (
        "event",
        "client",
        "person",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "delivered_at",
    )
    list_select_related = ("client", "person")
    list_filter = ("status", "event", "client__number_system")
    exclude = ("payload",)


class HistoryAdmin(ReadOnlyAdmin):
    """The data history (django-pghistory): what each row was after each insert and update,
    with the request's user and path."""

    list_display = ("recorded_at", "operation", "row", "context")
    list_filter = ("pgh_label",)
    list_select_related = ("pgh_context",)
    # The detail page names pghistory's own columns as the list does.
    exclude = ("pgh_created_at", "pgh_label", "pgh_obj", "pgh_context")
    readonly_fields = ("recorded_at", "operation", "row", "context")

    @admin.display(description=_("記録日時"), ordering="pgh_created_at")
    def recorded_at(self, event: Any) -> Any:
        return event.pgh_created_at

    @admin.display(description=_("操作"), ordering="pgh_label")
    def operation(self, event: Any) -> str:
        return str({"insert": _("登録"), "update": _("更新")}.get(event.pgh_label, event.pgh_label))

    @admin.display(description=_("対象"))
    def row(self, event: Any) -> Any:
        return event.pgh_obj

    @admin.display(description=_("操作した職員・経路"))
    def context(self, event: Any) -> Any:
        return event.pgh_context


for _tracked_model in (Person, AddressVersion, CrossReference, CodeRequest):
    admin.site.register(apps.get_model("linkage", f"{_tracked_model.__name__}Event"), HistoryAdmin)
