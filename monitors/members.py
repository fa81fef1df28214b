"""Joining and leaving projects: invitations, roles, removal.

Nobody becomes a member without accepting an invitation (or by creating the
project). Permission failures raise PermissionDenied (a 403); a rule that
protects the project (its last owner, the personal project's owner) raises
ValidationError with a message for the user.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from uptime.tokens import token_hash, token_new

from .models import Invitation, Membership, Project, Role
from .projects import project_require, role_can_manage
from .quotas import members_quota_check

log = logging.getLogger(__name__)


def _invitee_user(value: str) -> Any:
    """The account a username names. Never matched by email: addresses are
    not verified, so whoever signs up with one must not receive what was
    meant for its owner; an email invitation works by its emailed link."""
    return get_user_model().objects.filter(username__iexact=value).first()


def invitation_create(
    *, project: Project, created_by: Any, invitee: str, role: str
) -> tuple[Invitation, str]:
    """Invite a username or an email address; returns the invitation and the
    secret token for its link (shown once, never stored).

    Admins may invite with any role but owner; owners with any role.
    """
    actor_role = project_require(user=created_by, project=project, min_role=Role.ADMIN)
    if not role_can_manage(actor_role=actor_role, role=role):
        raise PermissionDenied("Only an owner can invite an owner.")
    invitee = invitee.strip()
    user = _invitee_user(invitee)
    if user is None and "@" not in invitee:
        raise ValidationError(
            {"invitee": "No account with this username; invite an email address."}
        )
    email = invitee if user is None else (user.email or "")
    if user is not None and project.memberships.filter(user=user).exists():
        raise ValidationError({"invitee": "Already a member of this project."})
    pending = invitations_pending(project=project).filter(
        Q(user=user) if user is not None else Q(email__iexact=email)
    )
    if pending.exists():
        raise ValidationError(
            {"invitee": "Already invited; revoke that invitation to send a new one."}
        )
    token = token_new()
    now = timezone.now()
    with transaction.atomic():
        # Locked: two invitations at once cannot both take the last place.
        Project.objects.select_for_update().filter(pk=project.pk).exists()
        members_quota_check(project=project, actor=created_by)
        invitation = Invitation.objects.create(
            project=project,
            user=user,
            email=email,
            role=role,
            token_hash=token_hash(token),
            created_by=created_by,
            created_at=now,
            expires_at=now + timedelta(days=settings.UPTIME_INVITE_MAX_AGE_DAYS),
        )
    return invitation, token


def invitation_send(*, invitation: Invitation, link: str) -> None:
    """Email the link to the invitee's address, when there is one."""
    address = invitation.email or (invitation.user.email if invitation.user else "")
    if not address:
        return
    inviter = invitation.created_by.get_username() if invitation.created_by else ""
    body = (
        f"{inviter} invited you to the project “{invitation.project.name}” "
        f"as {invitation.get_role_display().lower()}.\n\n"
        f"Accept (one use, until {invitation.expires_at:%Y-%m-%d %H:%M} UTC):\n"
        f"{link}\n\nIgnore this email to decline.\n"
    )
    try:
        send_mail(
            f"Invitation to {invitation.project.name}",
            body,
            None,
            [address],
        )
    except Exception:
        # The inviter still sees the link once and can pass it on.
        log.exception("invitation %s: the email could not be sent", invitation.pk)


def invitations_pending(*, project: Project) -> QuerySet[Invitation]:
    return Invitation.objects.pending().filter(project=project)


def invitations_pending_for(*, user: Any) -> QuerySet[Invitation]:
    """Open invitations addressed to the user's account (by username)."""
    return (
        Invitation.objects.pending()
        .filter(user=user)
        .exclude(project__memberships__user=user)
        .select_related("project", "created_by")
    )


def invitation_by_token(token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("project", "user")
        .filter(token_hash=token_hash(token))
        .first()
    )


def invitation_accept(*, invitation: Invitation, user: Any) -> Membership:
    """Join the project with the invitation's role; each invitation once.

    An invitation to an account can be accepted by that account only; one
    to an email address by whoever holds its link (it was sent there).
    """
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not locked.is_pending():
            raise ValidationError("This invitation was used, revoked or has expired.")
        if locked.user_id is not None and locked.user_id != user.pk:
            raise PermissionDenied("This invitation is for another account.")
        membership, _ = Membership.objects.get_or_create(
            project_id=locked.project_id, user=user, defaults={"role": locked.role}
        )
        locked.accepted_at = timezone.now()
        locked.accepted_by = user
        locked.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def invitation_revoke(*, invitation: Invitation, actor: Any) -> None:
    """Withdraw an invitation (admins), or decline one's own (the invitee)."""
    if invitation.user_id != actor.pk:
        project_require(user=actor, project=invitation.project_id, min_role=Role.ADMIN)
    invitations_revoke(invitations=Invitation.objects.filter(pk=invitation.pk))


def invitations_revoke(*, invitations: QuerySet[Invitation]) -> int:
    """Revoke those still open; the caller has checked who may."""
    return invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def _owners(project_id: int) -> QuerySet[Membership]:
    return Membership.objects.filter(project_id=project_id, role=Role.OWNER)


def _protect_owners(membership: Membership, *, new_role: str | None) -> None:
    """The rules that keep a project owned, checked with the rows locked."""
    project = membership.project
    if project.personal and membership.user_id == project.owner_id:
        raise ValidationError(
            "The personal project's owner stays its owner: it is where their "
            "monitors go by default."
        )
    if (
        membership.role == Role.OWNER
        and new_role != Role.OWNER
        and _owners(project.pk).count() <= 1
    ):
        raise ValidationError(
            "A project needs an owner: make someone else owner first."
        )


def _hand_over_ownership(membership: Membership) -> None:
    """Keep Project.owner pointing at a current owner after this one goes."""
    project = membership.project
    if project.owner_id != membership.user_id:
        return
    heir = _owners(project.pk).exclude(pk=membership.pk).order_by("created_at").first()
    if heir is not None:
        Project.objects.filter(pk=project.pk).update(owner_id=heir.user_id)


def _locked_membership(membership: Membership) -> Membership:
    # Lock every membership row of the project: two owners demoting each
    # other at once must not leave the project without one.
    list(
        Membership.objects.select_for_update().filter(project_id=membership.project_id)
    )
    return Membership.objects.select_related("project").get(pk=membership.pk)


def membership_leave(*, membership: Membership) -> None:
    """The member leaves the project (not its last owner)."""
    with transaction.atomic():
        locked = _locked_membership(membership)
        _protect_owners(locked, new_role=None)
        _hand_over_ownership(locked)
        locked.delete()


def membership_remove(*, membership: Membership, actor: Any) -> None:
    """Owners remove anyone; admins remove anyone but owners."""
    with transaction.atomic():
        locked = _locked_membership(membership)
        actor_role = project_require(
            user=actor, project=locked.project_id, min_role=Role.ADMIN
        )
        if not role_can_manage(actor_role=actor_role, role=locked.role):
            raise PermissionDenied("Only an owner can remove an owner.")
        _protect_owners(locked, new_role=None)
        _hand_over_ownership(locked)
        locked.delete()


def membership_set_role(*, membership: Membership, actor: Any, role: str) -> None:
    """Owners change any role; admins change roles below owner, to below owner."""
    if role not in Role.values:
        raise ValidationError({"role": "Not a role."})
    with transaction.atomic():
        locked = _locked_membership(membership)
        actor_role = project_require(
            user=actor, project=locked.project_id, min_role=Role.ADMIN
        )
        if not (
            role_can_manage(actor_role=actor_role, role=locked.role)
            and role_can_manage(actor_role=actor_role, role=role)
        ):
            raise PermissionDenied("Only an owner can grant or change the owner role.")
        if locked.role == role:
            return
        _protect_owners(locked, new_role=role)
        if locked.role == Role.OWNER:
            _hand_over_ownership(locked)
        locked.role = role
        locked.save(update_fields=["role"])


def project_delete(*, project: Project, actor: Any) -> None:
    """Owners delete a project with its monitors, history and channels.

    A personal project is not deleted: it would be made again at once.
    """
    project_require(user=actor, project=project, min_role=Role.OWNER)
    if not project_deletable(project):
        raise ValidationError("A personal project cannot be deleted.")
    project.delete()


def project_deletable(project: Project) -> bool:
    """A personal project goes only with its user: it is where their
    monitors land by default, and would be made again at once."""
    return not project.personal
