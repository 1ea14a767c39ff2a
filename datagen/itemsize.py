"""DynamoDB item size, by the service's sizing rules (shared/FIELD-NOTES.md).

Item size is the sum over attributes of the UTF-8 length of the name plus the size of the
value. Capacity is charged on it (1 WCU per 1 KB written, 1 RCU per 4 KB read strongly
consistent) and items may not exceed 400 KB.

>>> item_size({"conversationId": {"S": "abc"}, "n": {"N": "-12.50"}})
22
"""

from __future__ import annotations

import base64
from typing import Any

MAX_ITEM_BYTES = 400 * 1024


def item_size(item: dict[str, dict[str, Any]]) -> int:
    total = 0
    for name, value in item.items():
        total += _utf8_len(name) + value_size(value)
    return total


def _utf8_len(text: str) -> int:
    # isascii() is O(1) in CPython (a flag of the string): skip encoding the common case.
    return len(text) if text.isascii() else len(text.encode())


# Sizing every item is on the loading hot path (about a third of the loader's own CPU before
# these loops replaced generator expressions and the encoding of ASCII strings).
def value_size(value: dict[str, Any]) -> int:
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v) if v.isascii() else len(v.encode())
    if kind == "M":
        total = 3
        for k, e in v.items():
            total += 1 + _utf8_len(k) + value_size(e)
        return total
    if kind == "L":
        total = 3
        for e in v:
            total += 1 + value_size(e)
        return total
    if kind == "N":
        return number_size(v)
    if kind == "B":
        return len(_binary(v))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(_utf8_len(s) for s in v)
    if kind == "NS":
        return sum(number_size(n) for n in v)
    if kind == "BS":
        return sum(len(_binary(b)) for b in v)
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def number_size(text: str) -> int:
    """About 1 byte per 2 significant digits, plus 1 (plus 1 more when negative).

    >>> [number_size(n) for n in ("0", "7", "123", "1000", "-12.50", "0.001")]
    [2, 2, 3, 2, 4, 2]
    """
    negative = text.startswith("-")
    mantissa = text.lstrip("+-").lower().split("e")[0]
    digits = mantissa.replace(".", "").lstrip("0").rstrip("0") or "0"
    return (len(digits) + 1) // 2 + 1 + negative


def _binary(v: bytes | str) -> bytes:
    return v if isinstance(v, bytes | bytearray) else base64.b64decode(v)
