"""The inner loop (`make test-fast`) deselects e2e tests; no other test may
start worker or beat processes behind its back."""

from __future__ import annotations

import pytest

from tests.e2e_support import celery_beat, celery_worker


def test_it_refuses_to_start_a_worker_in_a_test_not_marked_e2e() -> None:
    with (
        pytest.raises(RuntimeError, match=r"mark the test with pytest\.mark\.e2e"),
        celery_worker(["default"]),
    ):
        pass


def test_it_refuses_to_start_beat_in_a_test_not_marked_e2e() -> None:
    with (
        pytest.raises(RuntimeError, match=r"mark the test with pytest\.mark\.e2e"),
        celery_beat(),
    ):
        pass
