"""``/api/status-pages/``: a project's status pages with their layout.

Reads need any role in the project; writes the admin role, as the dashboard.
``groups`` is the whole layout: ``[{"name": "API", "monitors": [{"monitor":
12, "display_name": "Public API"}]}]``; a write that gives it replaces it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.scope import scope_choices
from monitors.api.scoped import ProjectScopedViewSet
from monitors.models import Monitor, Project, Role
from uptime.auth import signed_in_user
from uptime.serializers import ModelSerializer, service_errors

from . import services
from .models import StatusPage


class EntrySerializer(serializers.Serializer):
    monitor = serializers.IntegerField(min_value=1)
    display_name = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )


class GroupSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    monitors = EntrySerializer(many=True, required=False, default=list)


class StatusPageSerializer(ModelSerializer):
    project = serializers.PrimaryKeyRelatedField(
        queryset=Project.objects.none(), required=False
    )
    groups = GroupSerializer(many=True, required=False)
    url = serializers.SerializerMethodField()

    class Meta:
        model = StatusPage
        fields = (
            "id",
            "project",
            "slug",
            "title",
            "logo_url",
            "custom_domain",
            "public",
            "show_details",
            "groups",
            "url",
            "created_at",
        )
        read_only_fields = ("created_at",)
        # The services check uniqueness (and say which field clashes).
        extra_kwargs: dict[str, dict[str, Any]] = {
            "slug": {"validators": []},
            "custom_domain": {"validators": []},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scope_choices(self.fields, self.context.get("request"))

    def get_url(self, page: StatusPage) -> str:
        return services.page_link(page)

    def to_representation(self, instance: StatusPage) -> dict[str, Any]:
        data = dict(super().to_representation(instance))
        data["groups"] = [
            {
                "name": g["name"],
                "monitors": [
                    {"monitor": e["monitor"].pk, "display_name": e["display_name"]}
                    for e in g["monitors"]
                ],
            }
            for g in services.status_page_layout(instance)
        ]
        return data


def _layout(groups: list[dict[str, Any]] | None, project: Project) -> Any:
    """The layout with monitor objects; an id outside the project is a 400."""
    if groups is None:
        return None
    # A PATCH validates nested fields partially: a group without its name
    # or an entry without its monitor gets this far.
    for g in groups:
        if not g.get("name") or any(
            "monitor" not in e for e in g.get("monitors") or []
        ):
            raise serializers.ValidationError(
                {"groups": "Each group needs a name, each entry a monitor."}
            )
    ids = {e["monitor"] for g in groups for e in g.get("monitors") or []}
    found = {m.pk: m for m in Monitor.objects.filter(pk__in=ids, project=project)}
    missing = sorted(ids - set(found))
    if missing:
        raise serializers.ValidationError(
            {"groups": f"Not monitors of the page's project: {missing}."}
        )
    return [
        {
            "name": g["name"],
            "monitors": [
                {
                    "monitor": found[e["monitor"]],
                    "display_name": e.get("display_name") or "",
                }
                for e in g.get("monitors") or []
            ],
        }
        for g in groups
    ]


class StatusPageViewSet(ProjectScopedViewSet[StatusPage]):
    serializer_class = StatusPageSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    write_role = Role.ADMIN
    noun = "status pages"

    def get_queryset(self) -> QuerySet[StatusPage]:
        return self.scoped(StatusPage.objects.select_related("project"))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        project = self.project_for_create(data)
        layout = _layout(data.pop("groups", None), project)
        with service_errors():
            page = services.status_page_create(
                user=signed_in_user(request),
                project=project,
                fields=data,
                layout=layout,
            )
        return Response(self.get_serializer(page).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: BaseSerializer[StatusPage]) -> None:
        page = serializer.instance
        assert page is not None  # an update's serializer has its instance
        data = dict(serializer.validated_data)
        project = data.pop("project", None)
        if project is not None and project.pk != page.project_id:
            raise serializers.ValidationError(
                {"project": "A page stays in its project: delete and add it."}
            )
        layout = _layout(data.pop("groups", None), page.project)
        with service_errors():
            serializer.instance = services.status_page_update(
                user=signed_in_user(self.request), page=page, fields=data, layout=layout
            )

    def perform_destroy(self, instance: StatusPage) -> None:
        services.status_page_delete(user=signed_in_user(self.request), page=instance)
