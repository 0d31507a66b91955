"""JSON for the module's envelopes and host requests.

The ``json`` package imports ``re``, which alone costs a quarter of a cold
get. The C accelerator it wraps, ``_json``, needs none of it, so it is used
directly when it behaves as expected; otherwise ``json`` is.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Optional, Tuple


class _Context:
    """The settings json.JSONDecoder hands to the scanner."""

    strict, object_hook, object_pairs_hook, parse_float, parse_int = True, None, None, float, int

    @staticmethod
    def parse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid here")


def _accelerated() -> Optional[Tuple[Callable[[Any], str], Callable[[str, int], Tuple[Any, int]]]]:
    try:
        from _json import encode_basestring_ascii, make_encoder, make_scanner

        def refuse(obj: Any) -> Any:
            raise TypeError(f"cannot send a {type(obj).__name__} to the module")

        chunks = make_encoder(None, refuse, encode_basestring_ascii, None, ":", ",", False, False, False)
        encode, scan = (lambda obj: "".join(chunks(obj, 0))), make_scanner(_Context())  # type: ignore[arg-type]
        sample = {"a": [1, -2, "\u00e9\n\"", True, False, None], "b": {}}
        text = encode(sample)
        if scan(text, 0) == (sample, len(text)) and text == '{"a":[1,-2,"\\u00e9\\n\\"",true,false,null],"b":{}}':
            return encode, scan
    except Exception:
        pass
    return None


_fast = _accelerated()


def dumps(obj: Any) -> str:
    """Compact JSON, non-ASCII escaped."""
    if _fast is not None:
        return _fast[0](obj)
    import json

    return json.dumps(obj, separators=(",", ":"))


def loads(data: bytes | bytearray | memoryview) -> Any:
    """Parses UTF-8 JSON; raises ValueError unless it is exactly one value."""
    text = str(data, "utf-8")
    if _fast is None:
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip(" \t\n\r"))
    try:
        obj, end = _fast[1](text, start)
    except StopIteration:
        raise ValueError("not JSON") from None
    if text[end:].strip(" \t\n\r"):
        raise ValueError("extra data after JSON")
    return obj
