"""Dashboard pages for projects: settings, members, roles and invitations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from uptime.auth import signed_in_user
from uptime.pages import SESSION_PROJECT, page_projects, render_page

from .. import members as member_services
from ..models import Invitation, Membership, Role
from ..projects import project_require, projects_for, role_can_manage
from ..services import project_create as project_create_service
from .forms import InviteForm, NewProjectForm, ProjectForm, RoleForm


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@login_required
@require_POST
def project_switch(request: HttpRequest) -> HttpResponse:
    try:
        wanted = int(request.POST.get("project", ""))
    except ValueError:
        raise Http404 from None
    project = get_object_or_404(projects_for(user=request.user), pk=wanted)
    request.session[SESSION_PROJECT] = project.pk
    nxt = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        nxt = reverse("dashboard:overview")
    return redirect(nxt)


@login_required
@require_POST
def project_create(request: HttpRequest) -> HttpResponse:
    form = NewProjectForm(request.POST, prefix="new")
    if not form.is_valid():
        messages.error(request, "A project needs a name.")
        return redirect("dashboard:project")
    project = project_create_service(
        owner=signed_in_user(request), name=form.cleaned_data["name"]
    )
    request.session[SESSION_PROJECT] = project.pk
    messages.success(request, f"Project “{project.name}” created.")
    return redirect("dashboard:overview")


def _settings_page(
    request: HttpRequest,
    *,
    form: ProjectForm | None = None,
    invite_form: InviteForm | None = None,
    new_link: str = "",
    status: int = 200,
) -> HttpResponse:
    projects = page_projects(request)
    project = projects[1]
    role = project.role
    memberships = list(
        project.memberships.select_related("user").order_by("user__username")
    )
    for m in memberships:
        m.manageable = m.user_id != request.user.pk and role_can_manage(
            actor_role=role, role=m.role
        )
    context: dict[str, Any] = {
        "form": form or ProjectForm(instance=project),
        "invite_form": invite_form or InviteForm(actor_role=role),
        "role_choices": [
            (v, label)
            for v, label in Role.choices
            if role_can_manage(actor_role=role, role=v)
        ],
        "memberships": memberships,
        "my_role": role,
        "can_leave": not (project.personal and project.owner_id == request.user.pk),
        "invitations": list(
            member_services.invitations_pending(project=project).select_related("user")
        ),
        "new_link": new_link,
        "new_project_form": NewProjectForm(prefix="new"),
        "status_url": request.build_absolute_uri(
            reverse("dashboard:status_page", args=[project.slug])
        ),
    }
    return render_page(
        request, "dashboard/project_settings.html", context, projects, status=status
    )


@login_required
def project_settings(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _settings_page(request)
    project = page_projects(request)[1]
    project_require(user=request.user, project=project, min_role=Role.ADMIN)
    form = ProjectForm(request.POST, instance=project)
    if form.is_valid():
        form.save()
        messages.success(request, "Project saved.")
        return redirect("dashboard:project")
    return _settings_page(request, form=form, status=400)


@never_cache  # the page shows the invitation link once
@login_required
@require_POST
def invitation_create(request: HttpRequest) -> HttpResponse:
    project = page_projects(request)[1]
    role = project_require(user=request.user, project=project, min_role=Role.ADMIN)
    form = InviteForm(request.POST, actor_role=role)
    if not form.is_valid():
        return _settings_page(request, invite_form=form, status=400)
    try:
        invitation, token = member_services.invitation_create(
            project=project,
            created_by=request.user,
            invitee=form.cleaned_data["invitee"],
            role=form.cleaned_data["role"],
        )
    except ValidationError as exc:
        for message in exc.messages:
            form.add_error("invitee", message)
        return _settings_page(request, invite_form=form, status=400)
    link = request.build_absolute_uri(reverse("dashboard:invite", args=[token]))
    member_services.invitation_send(invitation=invitation, link=link)
    # Rendered, not redirected: the link is a secret shown this once.
    return _settings_page(request, new_link=link)


def _project_invitation(request: HttpRequest, pk: int) -> Invitation:
    return get_object_or_404(
        Invitation, pk=pk, project__in=projects_for(user=request.user)
    )


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = _project_invitation(request, pk)
    member_services.invitation_revoke(invitation=invitation, actor=request.user)
    messages.success(request, f"Invitation of {invitation.invitee} revoked.")
    return redirect("dashboard:project")


def _attempt(request: HttpRequest, action: Callable[..., Any], **kwargs: Any) -> bool:
    """Run a membership service; a rule it refuses with (the last owner,
    the personal project) becomes a message on the page, and False."""
    try:
        action(**kwargs)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
        return False
    return True


def _project_membership(request: HttpRequest, pk: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("project", "user"),
        pk=pk,
        project__in=projects_for(user=request.user),
    )


@login_required
@require_POST
def membership_role(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _project_membership(request, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role.")
        return redirect("dashboard:project")
    if not _attempt(
        request,
        member_services.membership_set_role,
        membership=membership,
        actor=request.user,
        role=form.cleaned_data["role"],
    ):
        return redirect("dashboard:project")
    messages.success(
        request,
        f"{membership.user.get_username()} is now "
        f"{Role(form.cleaned_data['role']).label.lower()}.",
    )
    return redirect("dashboard:project")


@login_required
@require_POST
def membership_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _project_membership(request, pk)
    if not _attempt(
        request,
        member_services.membership_remove,
        membership=membership,
        actor=request.user,
    ):
        return redirect("dashboard:project")
    messages.success(
        request, f"{membership.user.get_username()} removed from the project."
    )
    return redirect("dashboard:project")


@login_required
@require_POST
def project_leave(request: HttpRequest) -> HttpResponse:
    project = page_projects(request)[1]
    membership = get_object_or_404(Membership, project=project, user=request.user)
    if not _attempt(request, member_services.membership_leave, membership=membership):
        return redirect("dashboard:project")
    request.session.pop(SESSION_PROJECT, None)
    messages.success(request, f"You left “{project.name}”.")
    return redirect("dashboard:overview")


@login_required
def project_delete(request: HttpRequest) -> HttpResponse:
    projects = page_projects(request)
    project = projects[1]
    project_require(user=request.user, project=project, min_role=Role.OWNER)
    if request.method == "POST":
        if not _attempt(
            request, member_services.project_delete, project=project, actor=request.user
        ):
            return redirect("dashboard:project")
        request.session.pop(SESSION_PROJECT, None)
        messages.success(request, f"Project “{project.name}” deleted.")
        return redirect("dashboard:overview")
    return render_page(
        request, "dashboard/project_delete.html", {"project": project}, projects
    )


# --- the invitee's side ---------------------------------------------------------------


@login_required
def invitation_list(request: HttpRequest) -> HttpResponse:
    invitations = list(member_services.invitations_pending_for(user=request.user))
    return render_page(
        request, "dashboard/invitations.html", {"invitations": invitations}
    )


def _joined(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    request.session[SESSION_PROJECT] = invitation.project_id
    messages.success(request, f"You joined “{invitation.project.name}”.")
    return redirect("dashboard:overview")


@login_required
@require_POST
def invitation_respond(request: HttpRequest, pk: int, answer: str) -> HttpResponse:
    """Accept or decline one of the user's pending invitations."""
    invitation = get_object_or_404(
        member_services.invitations_pending_for(user=request.user), pk=pk
    )
    if answer == "decline":
        member_services.invitation_revoke(invitation=invitation, actor=request.user)
        messages.success(
            request, f"Invitation to “{invitation.project.name}” declined."
        )
        return redirect("dashboard:invitations")
    try:
        member_services.invitation_accept(invitation=invitation, user=request.user)
    except ValidationError as exc:  # used or revoked a moment ago
        messages.error(request, _error_text(exc))
        return redirect("dashboard:invitations")
    return _joined(request, invitation)


@login_required
def invite_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: shows the invitation, joins on POST, works once."""
    invitation = member_services.invitation_by_token(token)
    if invitation is None or not invitation.is_pending():
        return render_page(request, "dashboard/invite_invalid.html", {}, status=404)
    if invitation.user_id is not None and invitation.user_id != request.user.pk:
        return render_page(
            request,
            "dashboard/invite_invalid.html",
            {"wrong_account": True},
            status=403,
        )
    is_member = invitation.project.memberships.filter(
        user=signed_in_user(request)
    ).exists()
    if request.method == "POST" and not is_member:
        try:
            member_services.invitation_accept(invitation=invitation, user=request.user)
        except ValidationError:
            return render_page(request, "dashboard/invite_invalid.html", {}, status=404)
        return _joined(request, invitation)
    return render_page(
        request,
        "dashboard/invite.html",
        {
            "invitation": invitation,
            "project": invitation.project,
            "is_member": is_member,
        },
    )
