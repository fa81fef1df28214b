"""Templates print data escaped: nothing is marked safe in a template."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
COMMENT = re.compile(r"\{#.*?#\}")


def test_no_template_marks_a_value_safe() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "templates").rglob("*"))
        if path.is_file()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "|safe" in COMMENT.sub("", line).replace(" ", "")
    ]
    assert offenders == []


@pytest.mark.django_db
def test_help_texts_are_escaped_but_djangos_own_markup_still_renders() -> None:
    page = Client().get("/accounts/signup/").content.decode()
    # The password rules are Django's own markup (already safe), not data.
    assert "<ul><li>" in page
