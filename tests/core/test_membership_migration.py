"""The plain members table becomes Membership in place, with roles."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("monitors", "0004_monitor_kind_choices_from_registry")]
AFTER = [("monitors", "0005_membership_roles_invitations")]


@pytest.fixture
def back_to_latest() -> Iterator[None]:
    """Whatever the test does to the schema, later tests get the latest one."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest")
def test_existing_members_keep_their_rows_and_the_owner_becomes_owner() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    User = old.get_model("auth", "User")
    Project = old.get_model("monitors", "Project")
    alice = User.objects.create(username="alice-m", email="a@example.com")
    bob = User.objects.create(username="bob-m", email="b@example.com")
    first = Project.objects.create(name="A", slug="a-m", owner=alice)
    second = Project.objects.create(name="A2", slug="a2-m", owner=alice)
    shared = Project.objects.create(name="B", slug="b-m", owner=bob)
    first.members.add(alice, bob)
    shared.members.add(bob, alice)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    Membership = new.get_model("monitors", "Membership")
    Project = new.get_model("monitors", "Project")
    rows = set(
        Membership.objects.values_list("project__slug", "user__username", "role")
    )
    assert rows == {
        ("a-m", "alice-m", "owner"),
        ("a-m", "bob-m", "member"),
        ("a2-m", "alice-m", "owner"),
        ("b-m", "bob-m", "owner"),
        ("b-m", "alice-m", "member"),
    }
    personal = set(Project.objects.filter(personal=True).values_list("pk", flat=True))
    assert personal == {first.pk, shared.pk}
    assert second.pk not in personal
