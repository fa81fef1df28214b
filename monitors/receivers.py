from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_migrate, post_save
from django.dispatch import receiver

from .services import project_create_default, regions_sync


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def give_new_user_a_project(
    sender: Any, instance: Any, created: bool, **kwargs: Any
) -> None:
    # Every path that creates a user (signup, createsuperuser, create_user)
    # saves it, so this one hook covers them all.
    if created and not kwargs.get("raw"):
        project_create_default(user=instance)


@receiver(post_migrate)
def sync_regions_after_migrate(sender: Any, **kwargs: Any) -> None:
    if getattr(sender, "name", "") == "monitors":
        regions_sync(using=kwargs.get("using", "default"))
