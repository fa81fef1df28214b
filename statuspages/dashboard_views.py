"""Managing a project's status pages in the dashboard: a list and one form.

The form shows every monitor of the project with a group name (empty: not
on the page), a display name and a position; groups appear in the order of
their first monitor. It works without JavaScript. The services write.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from monitors.models import Monitor, Project, Role
from monitors.projects import project_object, project_require
from uptime.auth import signed_in_user
from uptime.forms import DescribedErrorsMixin
from uptime.pages import page_projects, render_page

from . import services
from .models import StatusPage


class StatusPageForm(DescribedErrorsMixin, forms.ModelForm):
    logo_url = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        label="Logo URL",
        help_text="An https:// image URL, shown above the title.",
    )

    class Meta:
        model = StatusPage
        fields = (
            "title",
            "slug",
            "logo_url",
            "custom_domain",
            "public",
            "show_details",
        )
        labels = {
            "logo_url": "Logo URL",
            "custom_domain": "Custom domain",
            "public": "Public",
            "show_details": "Show URLs and incident causes",
        }
        help_texts = {
            "slug": "The page is at /status/<slug>/.",
            "logo_url": "An https:// image URL, shown above the title.",
            "custom_domain": "e.g. status.example.com: the page then also "
            "answers at https://status.example.com/ (see the README: DNS, "
            "the reverse proxy and ALLOWED_HOSTS).",
        }

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.monitors = list(
            Monitor.objects.filter(project=project).order_by("name", "id")
        )
        placed: dict[int, tuple[str, str, int]] = {}
        if self.instance.pk:
            position = 0
            for group in services.status_page_layout(self.instance):
                for entry in group["monitors"]:
                    position += 1
                    placed[entry["monitor"].pk] = (
                        group["name"],
                        entry["display_name"],
                        position,
                    )
        for m in self.monitors:
            group_name, shown, position = placed.get(m.pk, ("", "", 0))
            self.fields[f"group_{m.pk}"] = forms.CharField(
                required=False, max_length=100, initial=group_name, label="Group"
            )
            self.fields[f"name_{m.pk}"] = forms.CharField(
                required=False, max_length=200, initial=shown, label="Shown as"
            )
            self.fields[f"order_{m.pk}"] = forms.IntegerField(
                required=False, min_value=0, initial=position or None, label="Position"
            )

    def page_fields(self) -> list[Any]:
        return [self[name] for name in self.Meta.fields]

    def monitor_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "monitor": m,
                "group": self[f"group_{m.pk}"],
                "name": self[f"name_{m.pk}"],
                "order": self[f"order_{m.pk}"],
            }
            for m in self.monitors
        ]

    def layout(self) -> list[dict[str, Any]]:
        picked = []
        for m in self.monitors:
            group = (self.cleaned_data.get(f"group_{m.pk}") or "").strip()
            if group:
                order = self.cleaned_data.get(f"order_{m.pk}")
                picked.append((order if order is not None else 10**6, m.name, m, group))
        picked.sort(key=lambda p: (p[0], p[1], p[2].pk))
        groups: dict[str, list[dict[str, Any]]] = {}
        for _order, _name, m, group in picked:
            groups.setdefault(group, []).append(
                {
                    "monitor": m,
                    "display_name": self.cleaned_data.get(f"name_{m.pk}") or "",
                }
            )
        return [{"name": name, "monitors": items} for name, items in groups.items()]

    def _post_clean(self) -> None:
        # The services validate and write.
        pass


def _own_page(request: HttpRequest, pk: int) -> StatusPage:
    page, _ = project_object(
        user=signed_in_user(request),
        queryset=StatusPage.objects.select_related("project"),
        pk=pk,
        min_role=Role.ADMIN,
    )
    return page


@login_required
def page_list(request: HttpRequest) -> HttpResponse:
    projects = page_projects(request)
    pages = list(
        StatusPage.objects.filter(project=projects[1])
        .annotate(
            confirmed=Count(
                "subscribers", filter=Q(subscribers__confirmed_at__isnull=False)
            )
        )
        .order_by("title", "id")
    )
    return render_page(
        request, "statuspages/manage_list.html", {"pages": pages}, projects
    )


def _form_page(
    request: HttpRequest, form: StatusPageForm, page: StatusPage | None, projects: Any
) -> HttpResponse:
    return render_page(
        request,
        "statuspages/manage_form.html",
        {"form": form, "status_page": page},
        projects,
        status=400 if form.errors else 200,
    )


@login_required
def page_create(request: HttpRequest) -> HttpResponse:
    projects = page_projects(request)
    project = projects[1]
    user = signed_in_user(request)
    project_require(user=user, project=project, min_role=Role.ADMIN)
    form = StatusPageForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        try:
            page = services.status_page_create(
                user=user,
                project=project,
                fields=form.cleaned_data,
                layout=form.layout(),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Status page “{page.title}” created.")
            return redirect("statuspages:manage_list")
    return _form_page(request, form, None, projects)


@login_required
def page_edit(request: HttpRequest, pk: int) -> HttpResponse:
    page = _own_page(request, pk)
    form = StatusPageForm(
        request.POST or None,
        instance=StatusPage.objects.get(pk=page.pk),
        project=page.project,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.status_page_update(
                user=signed_in_user(request),
                page=page,
                fields=form.cleaned_data,
                layout=form.layout(),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Status page “{page.title}” saved.")
            return redirect("statuspages:manage_list")
    return _form_page(request, form, page, None)


@login_required
@require_POST
def page_delete(request: HttpRequest, pk: int) -> HttpResponse:
    page = _own_page(request, pk)
    services.status_page_delete(user=signed_in_user(request), page=page)
    messages.success(request, f"Status page “{page.title}” deleted.")
    return redirect("statuspages:manage_list")
