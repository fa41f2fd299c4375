"""The APIv4 signature: Gate's published vectors, and agreement with the official SDK's signer."""

from __future__ import annotations

import json
import types

import gate_api
import gate_api.api_client
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gui.core.signing import EMPTY_BODY_HASH, sign


def test_empty_body_hash_is_sha512_of_nothing() -> None:
    assert EMPTY_BODY_HASH.startswith("cf83e1357eefb8bd")
    assert EMPTY_BODY_HASH.endswith("a538327af927da3e")


def test_gate_vector_get_with_query() -> None:
    assert sign("secret", "GET", "/api/v4/futures/orders",
                "contract=BTC_USD&status=finished&limit=50", b"", "1541993715") == (
        "55f84ea195d6fe57ce62464daaa7c3c02fa9d1dde954e4c898289c9a2407a3d6"
        "fb3faf24deff16790d726b66ac9f74526668b13bd01029199cc4fcc522418b8a")


def test_gate_vector_post_with_body() -> None:
    body = '{"contract":"BTC_USD","type":"limit","size":100,"price":6800,"time_in_force":"gtc"}'
    assert sign("secret", "POST", "/api/v4/futures/orders", "", body, "1541993715") == (
        "eae42da914a590ddf727473aff25fc87d50b64783941061f47a3fdb92742541f"
        "c4c2c14017581b4199a1418d54471c269c03a38d788d802e2c306c37636389f0")


def test_method_case_does_not_matter_and_str_equals_bytes() -> None:
    a = sign("s", "post", "/api/v4/x", "", '{"a":1}', "1")
    assert a == sign("s", "POST", "/api/v4/x", "", b'{"a":1}', "1")


def _sdk_sign(secret: str, method: str, path: str, query: str, body: str | None,
              timestamp: float, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The SDK's own signer, with its clock pinned to ``timestamp``."""
    config = gate_api.Configuration(host="http://127.0.0.1:1/api/v4", key="k", secret=secret)
    client = gate_api.ApiClient(config)
    monkeypatch.setattr(gate_api.api_client, "time", types.SimpleNamespace(time=lambda: timestamp))
    return client.gen_sign(method, path, query or None, body)


_segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)
_query_value = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789-.", min_size=1, max_size=16)


@settings(max_examples=200, deadline=None)
@given(
    secret=st.text(min_size=1, max_size=80).filter(lambda s: "\x00" not in s),
    method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH"]),
    segments=st.lists(_segment, min_size=1, max_size=4),
    query=st.lists(st.tuples(_segment, _query_value), max_size=4),
    body=st.one_of(st.none(), st.dictionaries(_segment, st.one_of(
        st.integers(), st.text(max_size=20), st.booleans()), max_size=4)),
    timestamp=st.floats(min_value=1e9, max_value=4e9, allow_nan=False),
)
def test_agrees_with_the_official_sdk_signer(secret: str, method: str, segments: list[str],
                                             query: list[tuple[str, str]],
                                             body: dict[str, object] | None,
                                             timestamp: float) -> None:
    path = "/api/v4/" + "/".join(segments)
    query_string = "&".join(f"{k}={v}" for k, v in query)
    body_text = json.dumps(body) if body is not None else None
    with pytest.MonkeyPatch.context() as mp:
        headers = _sdk_sign(secret, method, path, query_string, body_text, timestamp, mp)
    ours = sign(secret, method, path, query_string, (body_text or "").encode(),
                headers["Timestamp"])
    assert ours == headers["SIGN"]
