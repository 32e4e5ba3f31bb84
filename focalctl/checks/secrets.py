"""FOC510: secrets are never inlined; credentials are referenced by name (``secretRef``).

The scan runs over each raw document (:func:`scan`, a document-local check run as files are
loaded), so it also covers documents that failed schema validation: a literal ``auth: {token: ...}`` is both an unknown key
(FOC201) and an inlined secret (FOC510). Within the ``spec`` of every document it reports:

- any literal under a ToolEffect's ``gateway.auth`` other than ``secretRef``;
- a literal value under a credential-like key (password, secret, token, apiKey, api_key,
  authorization, ...), e.g. in binding ``args`` or offering ``attributes``;
- a string shaped like a well-known token: ``sk_live_``/``sk_test_``, ``sk-``, ``ghp_``,
  ``xoxb-``/``xoxa-``/``xoxp-``, ``AKIA`` + 16, ``Bearer <long>``, a JWT ``eyJ...``, a PEM
  private key, a URL with a password or a credential in its query;
- in ToolEffect, Tenant, Agent and ChannelProfile specs only: a long (32+ characters)
  high-entropy string of a hex or base64 alphabet.

Jinja template parts (``{{ ... }}``, ``{% ... %}``) are not secrets and are ignored.

Bad::

    gateway: {type: http, endpoint: "https://x.zendesk.com", auth: {token: sk_live_51H8...}}

Good::

    gateway: {type: http, endpoint: "https://x.zendesk.com", auth: {secretRef: ZENDESK_TOKEN}}
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from focalctl.bundle.loader import Document
from focalctl.bundle.positions import pointer
from focalctl.diagnostics import Diagnostic, make

# Key names compared lower-cased with '_' and '-' removed: apiKey, api_key and API-KEY all match.
_CREDENTIAL_KEYS = {
    "password",
    "passwd",
    "pwd",
    "secret",
    "clientsecret",
    "secretkey",
    "secretaccesskey",
    "token",
    "accesstoken",
    "authtoken",
    "refreshtoken",
    "apitoken",
    "apikey",
    "accesskey",
    "privatekey",
    "authorization",
    "bearer",
}
_TOKEN_SHAPES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(sk|rk|pk)_(live|test)_[0-9A-Za-z]{10,}"), "a Stripe-style API key"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"), "an API secret key (sk-...)"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"), "a GitHub token"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]{20,}"), "a bearer token"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{5,}"), "a JWT"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"), "a URL with a password"),
    (
        re.compile(
            r"[?&](api_?key|apikey|token|access_token|secret|password)=[^&\s]{6,}", re.IGNORECASE
        ),
        "a credential in a URL query",
    ),
]
# One pass over every string first (case-insensitive: a superset of the shapes); the
# per-shape patterns only run on a hit.
_ANY_SHAPE = re.compile("|".join(f"(?:{p.pattern})" for p, _ in _TOKEN_SHAPES), re.IGNORECASE)
_TEMPLATE_PART = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_ENTROPY_KINDS = {"ToolEffect", "Tenant", "Agent", "ChannelProfile"}
_HEX = re.compile(r"^[0-9a-fA-F]{32,}$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]{32,}={0,2}$")
# Free text and references: never random, often long.
_PROSE_KEYS = {
    "description",
    "displayName",
    "say",
    "prompt",
    "message",
    "persona",
    "systemPrompt",
    "greeting",
    "signature",
    "endpoint",
}


def scan(doc: Document) -> Iterator[Diagnostic]:
    data = doc.data if isinstance(doc.data, dict) else {}
    if "spec" in data:
        yield from _scan(doc, data["spec"], ("spec",), "spec")


def _scan(doc: Document, value: Any, path: tuple[str | int, ...], key: str) -> Iterator[Diagnostic]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _scan(doc, v, (*path, str(k)), str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _scan(doc, v, (*path, i), key)
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        why = secret_reason(doc.kind, path, key, str(value))
        if why:
            yield make(
                "FOC510",
                file=doc.file,
                document=doc.index,
                pointer=pointer(list(path)),
                where=".".join(str(p) for p in path),
                why=why,
            )


def secret_reason(kind: str | None, path: tuple[str | int, ...], key: str, text: str) -> str | None:
    """Why the scalar ``text`` at ``path`` (from ``spec``; ``key`` is the nearest mapping key
    above it) in a ``kind`` document looks like a secret, or None."""
    plain = _TEMPLATE_PART.sub(" ", text).strip() if "{" in text else text.strip()
    if not plain:
        return None
    if kind == "ToolEffect" and path[1:3] == ("gateway", "auth") and key != "secretRef":
        return "a literal credential in gateway.auth; only secretRef is allowed there"
    if key != "secretRef" and plain == text.strip() and _is_credential_key(key):
        return f"a literal value under '{key}'"
    if _ANY_SHAPE.search(plain):
        for pattern, what in _TOKEN_SHAPES:
            if pattern.search(plain):
                return what
    if len(plain) >= 32 and kind in _ENTROPY_KINDS and key not in _PROSE_KEYS:
        return "a long random-looking string" if _random_looking(plain) else None
    return None


def _is_credential_key(key: str) -> bool:
    return key.lower().replace("_", "").replace("-", "") in _CREDENTIAL_KEYS


def _random_looking(text: str) -> bool:
    """32+ characters of a hex or base64 alphabet with the entropy of random data."""
    has_digit = any(c.isdigit() for c in text)
    if _HEX.match(text):
        return has_digit and any(c.isalpha() for c in text) and _entropy(text) >= 3.0
    if _BASE64.match(text):
        mixed = any(c.isupper() for c in text) and any(c.islower() for c in text)
        unseparated = not any(c in "-_" for c in text)  # hyphenated names are not random
        return has_digit and (mixed or unseparated) and _entropy(text) >= 4.0
    return False


def _entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())
