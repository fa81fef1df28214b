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
    # Whose key it is, what it reaches and whether it is revoked are never
    # edited: a revoked key brought back, or one moved to another account,
    # would act for someone who never made it. Revoke with the action.
    fields = (
        "name",
        "prefix",
        "user",
        "project",
        "read_only",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = tuple(name for name in fields if name != "name")
    actions = (revoke_keys,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiKey]:
        # Staff who are not superusers see their own keys only.
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(user=request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # The key is shown only to the person who creates it, on the dashboard.
        return False
