"""Mask credentials wherever a spec, URL or error text is shown or stored.

Two layers, because neither alone is enough:
- patterns: URL userinfo (`http://user:KEY@host`), credential query parameters (`?key=`, `api_key=`,
  `token=`...) and `Bearer`/`Basic` authorization values are masked in any text;
- known secrets: every key trustbench reads (from the environment, `key_env=`, URL userinfo) is registered
  with `register`, and its raw value and base64 forms (a server echoing an `Authorization: Basic` header
  answers with base64 of `user:key`) are masked wherever they appear, with or without a pattern around them.
"""

from __future__ import annotations

import base64
import re
import threading
from typing import Any
from urllib.parse import unquote, urlsplit

MASK = "***"
_MIN_SECRET = 4  # shorter "secrets" (e.g. a user name "a") would mask ordinary text

_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/\s?#]+)@")
_QUERY = re.compile(
    r"(?P<name>[?&;](?:api[_-]?key|key|token|access[_-]?token|auth|password|secret|sig|signature)=)(?P<value>[^&#\s\"']+)",
    re.IGNORECASE,
)
# HTTP's capitalised scheme names and a token-like value (a digit or symbol in it): "Basic knowledge" stays
_AUTH = re.compile(r"(?P<scheme>\b(?:Bearer|Basic|bearer)\s+)(?P<value>(?=[A-Za-z0-9._~+/=-]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,})")

_known: set[str] = set()
_lock = threading.Lock()


def _b64_forms(value: str) -> set[str]:
    raw = value.encode()
    std = base64.b64encode(raw).decode()
    forms = {std, std.rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("=")}
    return {f for f in forms if len(f) >= _MIN_SECRET}


def register(*values: str | None) -> None:
    """Remember secrets (keys, passwords, `user:password` pairs) so `mask` hides them and their base64 forms."""
    with _lock:
        for value in values:
            if value and len(value) >= _MIN_SECRET:
                _known.add(value)
                _known.update(_b64_forms(value))


def register_url(url: str | None) -> None:
    """Register the credentials a URL carries in its userinfo (password, and `user:password` as Basic sends it)."""
    if not url or "@" not in url:
        return
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:
        return
    user = unquote(user) if user else None
    password = unquote(password) if password else None
    if password:
        register(password, f"{user or ''}:{password}")
    elif user:  # `http://KEY@host`: the whole userinfo is the credential
        register(user, f"{user}:")


def register_in(text: str | None) -> None:
    """Register every URL credential found in a free-form string such as a model spec."""
    for m in _USERINFO.finditer(text or ""):
        register_url(m.group("scheme") + m.group("userinfo") + "@x")


def mask(text: Any) -> str:
    """`text` as a string with every credential replaced by *** (patterns first, then known secrets)."""
    s = str(text)
    s = _USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", s)
    s = _QUERY.sub(lambda m: f"{m.group('name')}{MASK}", s)
    s = _AUTH.sub(lambda m: f"{m.group('scheme')}{MASK}", s)
    with _lock:
        known = sorted(_known, key=len, reverse=True)  # longest first: a key inside `user:key` base64 stays covered
    for secret in known:
        if secret in s:
            s = s.replace(secret, MASK)
    return s


def mask_obj(obj: Any) -> Any:
    """A copy of a JSON-like object with every string (keys included) masked."""
    if isinstance(obj, str):
        return mask(obj)
    if isinstance(obj, dict):
        return {mask(k) if isinstance(k, str) else k: mask_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [mask_obj(v) for v in obj]
    return obj


def has_secret(text: str) -> bool:
    """Whether masking would change `text` (e.g. to refuse a folder name that carries a key)."""
    return mask(text) != text


__all__ = ["MASK", "has_secret", "mask", "mask_obj", "register", "register_in", "register_url"]
