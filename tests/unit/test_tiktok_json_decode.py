"""API replies decode with orjson exactly as with json, including what orjson refuses."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.tiktok.json_decode import loads

# Integers beyond 64 bits: orjson reads them as floats, losing digits.
BEYOND_64_BITS = [
    b'{"code": 0, "data": {"id": 123456789012345678901234567890}}',
    b'{"code": 0, "data": {"list": [1, -9223372036854775809]}}',
    b"18446744073709551616",
    b'["12345678901234567890123456789012345678901234567890", 123456789012345678901]',
    b'{"text": "order 12345678901234567890", "n": [\n 99999999999999999999999]}',
]


@pytest.mark.parametrize("raw", BEYOND_64_BITS)
def test_integers_beyond_64_bits_keep_every_digit(raw: bytes) -> None:
    """A 30-digit number is read as the integer it is, as json reads it (orjson alone would
    give a float with the last digits gone)."""
    assert repr(orjson.loads(raw)) != repr(json.loads(raw))
    assert repr(loads(raw)) == repr(json.loads(raw))
    assert "e+" not in repr(loads(raw))


def test_long_ids_in_strings_read_the_same() -> None:
    """Ids are 19-digit strings (spec §1.7): a report page of them reads as json reads it."""
    raw = b'{"code": 0, "data": {"list": [{"dimensions": {"ad_id": "7310000000000000001"}}]}}'
    assert loads(raw) == json.loads(raw)


# What json accepts and orjson refuses: each must still decode, to json's value.
REFUSED_BY_ORJSON = [
    b'{"code": 0, "data": {"ratio": NaN, "top": Infinity, "low": -Infinity}}',
    b'{"code": 0, "message": "\\ud800 lone surrogate"}',
    b'\xef\xbb\xbf{"code": 0, "data": {}}',  # a UTF-8 byte order mark
    '{"code": 0, "data": {"name": "Летняя"}}'.encode("utf-16"),
]


@pytest.mark.parametrize("raw", REFUSED_BY_ORJSON)
def test_what_orjson_refuses_decodes_as_json_does(raw: bytes) -> None:
    """A page with NaN, a lone surrogate, a BOM or UTF-16 still reads the same values
    (orjson alone would make them unreadable replies)."""
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(raw)
    got, want = loads(raw), json.loads(raw)
    assert repr(got) == repr(want)  # repr: NaN != NaN


def test_not_json_is_still_a_value_error() -> None:
    """A gateway's HTML page is refused as before (the transport retries it, spec §1.5)."""
    with pytest.raises(ValueError):
        loads(b"<html><body>504 Gateway Time-out</body></html>")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)


@given(json_values)
def test_any_document_reads_as_json_reads_it(value: object) -> None:
    """Any document (big ints, floats, unicode keys and values) decodes to json's value, with
    the same types (an int stays an int, a float a float)."""
    raw = json.dumps(value, ensure_ascii=False).encode()
    assert repr(loads(raw)) == repr(json.loads(raw))
