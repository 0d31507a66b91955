"""JSON for the module's request and response envelopes.

The ``json`` package's decoder and encoder import ``re``, which alone
costs a quarter of a cold get's start-up. The C accelerator they wrap,
``_json``, needs none of it, so it is used directly when it behaves as
expected; otherwise (another Python implementation) ``json`` is used.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Optional, Tuple, Union


class _Context:
    """The settings json.JSONDecoder hands to the scanner."""

    def __init__(self) -> None:
        self.strict = True
        self.object_hook = None
        self.object_pairs_hook = None
        self.parse_float = float
        self.parse_int = int
        self.parse_constant = self._constant

    @staticmethod
    def _constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid here")


def _encoder(quote: Callable[[str], str]) -> Callable[[Any], str]:
    def encode(obj: Any) -> str:
        if isinstance(obj, str):
            return quote(obj)
        if isinstance(obj, dict):
            return "{" + ",".join(quote(k) + ":" + encode(v) for k, v in obj.items()) + "}"
        if isinstance(obj, (list, tuple)):
            return "[" + ",".join(encode(v) for v in obj) + "]"
        if obj is True:
            return "true"
        if obj is False:
            return "false"
        if obj is None:
            return "null"
        if isinstance(obj, int):
            return int.__repr__(obj)
        raise TypeError(f"cannot send a {type(obj).__name__} to the module")

    return encode


def _accelerated() -> Optional[Tuple[Callable[[Any], str], Callable[[str, int], Tuple[Any, int]]]]:
    try:
        from _json import encode_basestring_ascii, make_scanner

        encode = _encoder(encode_basestring_ascii)
        scan = make_scanner(_Context())  # type: ignore[arg-type]
        sample = {"a": [1, -2, "\u00e9\n\"", True, False, None], "b": {}}
        text = encode(sample)
        if scan(text, 0) == (sample, len(text)) and text == '{"a":[1,-2,"\\u00e9\\n\\"",true,false,null],"b":{}}':
            return encode, scan
    except Exception:
        pass
    return None


_fast = _accelerated()


def dumps(obj: Any) -> str:
    """Compact JSON with non-ASCII escaped, as ``json.dumps(obj,
    separators=(",", ":"))`` writes it."""
    if _fast is not None:
        return _fast[0](obj)
    import json

    return json.dumps(obj, separators=(",", ":"))


def loads(data: Union[bytes, bytearray]) -> Any:
    """Parses UTF-8 JSON; raises ValueError if it is not exactly one value."""
    if _fast is None:
        import json

        return json.loads(data)
    text = data.decode("utf-8")
    start = len(text) - len(text.lstrip(" \t\n\r"))
    try:
        obj, end = _fast[1](text, start)
    except StopIteration:
        raise ValueError("not JSON") from None
    if text[end:].strip(" \t\n\r"):
        raise ValueError("extra data after JSON")
    return obj
