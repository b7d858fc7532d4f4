"""Decoding API replies: orjson, with the standard library's json for what orjson refuses.

Report pages are most of the bytes a sync reads (1,000 rows a page), and decoding them with
`json` was the largest single item of the sync's CPU (bench/README.md, "Sync, fourth pass").
orjson reads the same documents about twice as fast and gives the same values (strings,
ints, correctly rounded floats, last duplicate key wins), except:
- integers beyond 64 bits, which orjson silently reads as floats (123456789012345678901234567890
  would lose digits): a body with a run of 19 or more digits that does not open a string is
  read by `json` (ids are 19-digit strings, spec §1.7, so report pages do not take this path);
- what orjson refuses and `json` accepts: NaN/Infinity, lone surrogates, a UTF-8 BOM,
  UTF-16/32 bodies, nesting deeper than 1,024: read by `json` after orjson's refusal.
So every body decodes exactly as json.loads decodes it.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Every digit as "0", so that runs of 19 digits can be counted by bytes.count (a regular
# expression scanning a 300 KB page took longer than json.loads itself).
_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_RUN = b"0" * 19


def _long_number(raw: bytes) -> bool:
    """Might the body hold an integer beyond 64 bits? True when some run of 19 or more digits
    is not at the start of a string (or a string starts with 38 or more digits): more runs
    than quoted runs. Runs inside strings may make it True; that only costs a slower decode."""
    digits = raw.translate(_ZEROS)
    runs = digits.count(_RUN)
    return runs > 0 and runs > digits.count(b'"' + _RUN)


def loads(raw: bytes) -> Any:
    """The body's JSON value, as json.loads gives it; ValueError when it is not JSON."""
    if _long_number(raw):
        return json.loads(raw)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)
