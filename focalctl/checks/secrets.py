"""FOC510: secrets are never inlined; credentials are referenced by name (``secretRef``).

The scan runs over each raw document (:func:`scan`, a document-local check run as files are
loaded), so it also covers documents that failed schema validation: a literal ``auth: {token: ...}`` is both an unknown key
(FOC201) and an inlined secret (FOC510). Within the ``spec`` of every document it reports:

- any literal under a ToolEffect's ``gateway.auth`` or a ChannelProfile's ``delivery.auth``
  other than ``secretRef``;
- a literal value under a credential-like key (password, secret, token, apiKey, api_key,
  authorization, ...), e.g. in binding ``args`` or offering ``attributes``;
- a string shaped like a well-known token: ``sk_live_``/``sk_test_``, ``sk-``, ``ghp_``,
  ``xoxb-``/``xoxa-``/``xoxp-``, ``AKIA`` + 16, ``Bearer <long>``, a JWT ``eyJ...``, a PEM
  private key, a Slack webhook URL, a Google API key (``AIza...``), a URL with a password or
  a credential in its query (``?key=``, ``?token=``, ...);
- in ToolEffect, Tenant, Agent and ChannelProfile specs only: a long (32+ characters)
  high-entropy string of a hex or base64 alphabet.

Jinja template parts (``{{ ... }}``, ``{% ... %}``) are not secrets and are ignored, except the
string literals in them: ``{{ 'sk_live_...' }}`` is a literal secret, and an expression that is
just a literal renders as its value (``?token={{ '' }}abcd1234...`` is a credential in a query).
Every scan is linear in the length of the string.

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
from focalctl.diagnostics.paths import readable
from focalctl.diagnostics.redact import ANY_SHAPE, TOKEN_SHAPES, maybe_secret

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
# A string literal inside a template expression (no escapes: Focal's templates need none).
_LITERAL = re.compile(r"'([^']*)'|\"([^\"]*)\"")
_TEMPLATE_CLOSE = {"{{": "}}", "{%": "%}", "{#": "#}"}
# where credentials are named: a tool's gateway and a channel profile's delivery endpoint
_AUTH_BLOCKS = {("ToolEffect", ("gateway", "auth")), ("ChannelProfile", ("delivery", "auth"))}
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
                where=readable(path, doc.data),
                why=why,
            )


def secret_reason(kind: str | None, path: tuple[str | int, ...], key: str, text: str) -> str | None:
    """Why the scalar ``text`` at ``path`` (from ``spec``; ``key`` is the nearest mapping key
    above it) in a ``kind`` document looks like a secret, or None."""
    literals: list[str] = []
    plain = _untemplated(text, literals).strip() if "{" in text else text.strip()
    if not plain and not literals:
        return None
    if (kind, path[1:3]) in _AUTH_BLOCKS and key != "secretRef":
        return f"a literal credential in {path[1]}.auth; only secretRef is allowed there"
    if key != "secretRef" and plain == text.strip() and _is_credential_key(key):
        return f"a literal value under '{key}'"
    for candidate in (plain, *literals):
        what = _shape(candidate)
        if what:
            return what
    if len(plain) >= 32 and kind in _ENTROPY_KINDS and key not in _PROSE_KEYS:
        return "a long random-looking string" if _random_looking(plain) else None
    return None


def _shape(text: str) -> str | None:
    if maybe_secret(text) and ANY_SHAPE.search(text):
        for pattern, what in TOKEN_SHAPES:
            if pattern.search(text):
                return what
    return None


def _untemplated(text: str, literals: list[str]) -> str:
    """``text`` with its Jinja parts (``{{ }}``, ``{% %}``, ``{# #}``) taken out, in one pass.

    An expression that is just a string literal (``{{ 'abc' }}``, ``{{ '' }}``) is replaced by
    its value, so that what it renders to is scanned as the text around it; any other part by a
    space. String literals inside other expressions are added to ``literals`` to be scanned on
    their own. An opener without its closer is left as text (then no later one of that kind
    can close either, so it is not looked for again).
    """
    out: list[str] = []
    pos = 0
    # The next position of each opener at or after ``pos`` (-1: none left), so that each
    # kind's occurrences are looked for once over the whole string.
    nxt = {opener: text.find(opener) for opener in _TEMPLATE_CLOSE}
    while True:
        for opener, i in nxt.items():
            if 0 <= i < pos:
                nxt[opener] = text.find(opener, pos)
        starts = [(i, opener) for opener, i in nxt.items() if i >= 0]
        if not starts:
            break
        start, opener = min(starts)
        end = text.find(_TEMPLATE_CLOSE[opener], start + 2)
        if end < 0:
            nxt[opener] = -1
            continue
        out.append(text[pos:start])
        inner = text[start + 2 : end]
        if opener != "{#":
            found = [
                m.group(1) if m.group(1) is not None else m.group(2)
                for m in _LITERAL.finditer(inner)
            ]
            whole = _LITERAL.fullmatch(inner.strip("-+ \t\n"))
            if opener == "{{" and whole is not None:
                out.append(found[0])
            else:
                out.append(" ")
                literals.extend(f for f in found if f)
        else:
            out.append(" ")
        pos = end + 2
    out.append(text[pos:])
    return "".join(out)


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
