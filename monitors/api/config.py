"""``/api/config/?project=<id>``: a project's configuration as one document.

GET returns it (JSON, or YAML for ``Accept: application/yaml``); any role
may read it, as every secret in it is a reference. PUT applies a document
(JSON, or YAML with ``Content-Type: application/yaml``) and answers the
diff; ``dry_run=1`` applies nothing, ``prune=1`` deletes what the document
leaves out. PUT needs the admin role. Here a ``${NAME}`` reference never
reads the server's environment: it keeps the secret already stored in that
place, and a new secret is given in clear (see ``monitors.config.refs``).
"""

from __future__ import annotations

from typing import Any

import yaml
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ParseError, ValidationError
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ApiKeyAccess
from accounts.scope import api_projects
from uptime.auth import signed_in_user

from ..config import ConfigError, export_document, import_document, parse_document
from ..models import Project

YAML_TYPE = "application/yaml"
_TRUE = ("1", "true", "yes", "on")


class YAMLRenderer(BaseRenderer):
    media_type = YAML_TYPE
    format = "yaml"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Any = None,
    ) -> bytes:
        return yaml.safe_dump(
            data, sort_keys=False, allow_unicode=True, default_flow_style=False
        ).encode()


class YAMLParser(BaseParser):
    media_type = YAML_TYPE

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> dict[str, Any]:
        try:
            return parse_document(stream.read())
        except ConfigError as exc:
            raise ParseError(exc.message) from None


def _flag(request: Request, name: str) -> bool:
    return str(request.query_params.get(name, "")).lower() in _TRUE


def _project(request: Request) -> Project:
    raw = str(request.query_params.get("project", ""))
    if not raw.isdigit():
        raise ValidationError({"project": "Give the project's id: ?project=<id>."})
    project = api_projects(request).filter(pk=int(raw)).first()
    if project is None:
        raise NotFound("No such project.")
    return project


_PROJECT = OpenApiParameter("project", int, required=True, description="Project id.")


class ConfigView(APIView):
    permission_classes = (IsAuthenticated, ApiKeyAccess)
    renderer_classes = (JSONRenderer, YAMLRenderer)
    parser_classes = (JSONParser, YAMLParser)

    @extend_schema(parameters=[_PROJECT], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        try:
            return Response(export_document(_project(request)))
        except ConfigError as exc:
            raise ValidationError({exc.path or "document": [exc.message]}) from None

    @extend_schema(
        parameters=[
            _PROJECT,
            OpenApiParameter("dry_run", bool, description="Diff only."),
            OpenApiParameter("prune", bool, description="Delete unlisted items."),
        ],
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request: Request) -> Response:
        project = _project(request)
        if not isinstance(request.data, dict):
            raise ValidationError({"message": "The document must be an object."})
        try:
            result = import_document(
                request.data,
                project=project,
                user=signed_in_user(request),
                environ=None,
                dry_run=_flag(request, "dry_run"),
                prune=_flag(request, "prune"),
            )
        except ConfigError as exc:
            raise ValidationError({exc.path or "document": [exc.message]}) from None
        return Response(
            {
                "applied": result.applied,
                "changes": [change.as_dict() for change in result.changes],
            },
            status=status.HTTP_200_OK,
        )
