from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from tests.faults import PgProxy


@pytest.fixture
def proxied_database() -> Iterator[PgProxy]:
    """This thread's connection to the test database goes through a proxy."""
    settings_dict = connection.settings_dict
    original = (settings_dict["HOST"], settings_dict["PORT"])
    proxy = PgProxy((original[0] or "127.0.0.1", int(original[1] or 5432)))
    connection.close()
    settings_dict["HOST"], settings_dict["PORT"] = "127.0.0.1", proxy.port
    yield proxy
    connection.close()
    settings_dict["HOST"], settings_dict["PORT"] = original
    proxy.close()
