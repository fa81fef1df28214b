from __future__ import annotations

import json
import math

from uptime.sanitize import MAX_DEPTH, clean_json, clean_text


def test_it_shows_nul_and_invalid_utf8_as_escapes() -> None:
    assert clean_text(b"a\x00b\xffc") == "a\\x00b\\xffc"
    assert clean_text("a\x00b") == "a\\x00b"


def test_it_escapes_lone_surrogates_so_postgres_accepts_them() -> None:
    raw = b"ok\xfe".decode("utf-8", errors="surrogateescape")
    assert clean_text(raw) == "ok\\xfe"
    assert clean_text("x\ud800y") == "x\\ud800y"
    clean_text("x\ud800y").encode("utf-8")  # valid UTF-8 now


def test_it_bounds_length() -> None:
    assert clean_text("x" * 50, limit=10) == "x" * 9 + "…"


def test_json_is_made_storable_keys_values_depth_and_floats() -> None:
    deep: list[object] = []
    node = deep
    for _ in range(50):
        child: list[object] = []
        node.append(child)
        node = child
    value = {
        "k\x00": ["v\x00", b"\xff", math.nan, 1.5, True, None, 3],
        "deep": deep,
    }
    cleaned = clean_json(value)
    text = json.dumps(cleaned, allow_nan=False)
    assert "\\u0000" not in text
    assert cleaned["k\\x00"] == ["v\\x00", "\\xff", "nan", 1.5, True, None, 3]
    depth, node_out = 0, cleaned["deep"]
    while isinstance(node_out, list) and node_out:
        depth, node_out = depth + 1, node_out[0]
    assert depth < MAX_DEPTH
