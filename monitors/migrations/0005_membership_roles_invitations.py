"""Roles and consent for project membership.

The plain many-to-many table ``monitors_project_members`` becomes the
Membership model in place (no copy, no data loss) and gains a role: each
project's owner becomes ``owner``, everyone else ``member``. Each user's
oldest owned project becomes their personal project, the one their monitors
go to when they name none.
"""

from __future__ import annotations

from typing import Any

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def roles_from_owner(apps: Any, schema_editor: Any) -> None:
    Membership = apps.get_model("monitors", "Membership")
    Project = apps.get_model("monitors", "Project")
    db = schema_editor.connection.alias
    for project_id, owner_id in Project.objects.using(db).values_list(
        "pk", "owner_id"
    ):
        Membership.objects.using(db).filter(
            project_id=project_id, user_id=owner_id
        ).update(role="owner")
        # An owner who was somehow not a member gets the row the rules expect.
        Membership.objects.using(db).get_or_create(
            project_id=project_id, user_id=owner_id, defaults={"role": "owner"}
        )


def personal_projects(apps: Any, schema_editor: Any) -> None:
    # The receiver made each user's project at signup, so their oldest owned
    # project is that one; this backfill is the only place id order decides.
    Project = apps.get_model("monitors", "Project")
    db = schema_editor.connection.alias
    seen: set[int] = set()
    for pk, owner_id in (
        Project.objects.using(db).order_by("owner_id", "pk").values_list(
            "pk", "owner_id"
        )
    ):
        if owner_id not in seen:
            seen.add(owner_id)
            Project.objects.using(db).filter(pk=pk).update(personal=True)


class Migration(migrations.Migration):
    dependencies = [
        ("monitors", "0004_monitor_kind_choices_from_registry"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Membership",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "project",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="memberships",
                                to="monitors.project",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="memberships",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "monitors_project_members",
                        "unique_together": {("project", "user")},
                    },
                ),
                migrations.AlterField(
                    model_name="project",
                    name="members",
                    field=models.ManyToManyField(
                        blank=True,
                        related_name="projects",
                        through="monitors.Membership",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="membership",
            name="role",
            field=models.CharField(
                choices=[
                    ("viewer", "Viewer"),
                    ("member", "Member"),
                    ("admin", "Admin"),
                    ("owner", "Owner"),
                ],
                default="member",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="membership",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunPython(roles_from_owner, migrations.RunPython.noop),
        migrations.AddField(
            model_name="project",
            name="personal",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(personal_projects, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="project",
            constraint=models.UniqueConstraint(
                condition=models.Q(("personal", True)),
                fields=("owner",),
                name="project_one_personal_per_owner",
            ),
        ),
        migrations.CreateModel(
            name="Invitation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("email", models.EmailField(blank=True, default="", max_length=254)),
                (
                    "role",
                    models.CharField(
                        choices=[
                            ("viewer", "Viewer"),
                            ("member", "Member"),
                            ("admin", "Admin"),
                            ("owner", "Owner"),
                        ],
                        default="member",
                        max_length=10,
                    ),
                ),
                (
                    "token_hash",
                    models.CharField(editable=False, max_length=64, unique=True),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now),
                ),
                ("expires_at", models.DateTimeField()),
                ("accepted_at", models.DateTimeField(blank=True, null=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "accepted_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="invitations",
                        to="monitors.project",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="invitations",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ("-created_at", "-id"),
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("email", ""), _negated=True),
                            ("user__isnull", False),
                            _connector="OR",
                        ),
                        name="invitation_has_an_invitee",
                    )
                ],
            },
        ),
    ]
