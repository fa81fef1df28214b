from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import ApiKey
from .services import api_key_revoke


@admin.action(description="Revoke selected API keys")
def revoke_keys(
    modeladmin: admin.ModelAdmin, request: HttpRequest, qs: QuerySet
) -> None:
    for key in qs:
        api_key_revoke(key=key)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "prefix",
        "user",
        "project",
        "read_only",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("read_only",)
    search_fields = ("name", "prefix", "user__username")
    list_select_related = ("user", "project")
    raw_id_fields = ("user", "project")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")
    actions = (revoke_keys,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # The key is shown only to the person who creates it, on the dashboard.
        return False
