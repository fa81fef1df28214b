"""Serializer pieces every API in the project shares."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import serializers
from rest_framework.fields import empty


@contextmanager
def service_errors() -> Iterator[None]:
    """A service's ValidationError as the API's 400, by field: the services
    hold the rules, and every API view answers them the same way."""
    try:
        yield
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict) from None


class OptionalBooleanField(serializers.BooleanField):
    """A boolean that keeps its default when a form-encoded body omits it.

    DRF reads a missing checkbox in form data as ``False``; an API client
    using ``curl -d`` leaves a field out to mean "the default", as JSON does.
    """

    default_empty_html = empty


class ModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose model booleans keep their defaults for form,
    multipart and JSON bodies alike."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.BooleanField: OptionalBooleanField,
    }
