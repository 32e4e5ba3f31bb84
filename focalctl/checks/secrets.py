"""Secrets are never inlined: credentials are referenced by name (``auth: {secretRef: NAME}``).

Scans the raw documents (so it also runs on documents that failed schema validation) for
literal values under credential-like keys, strings shaped like well-known tokens, URLs with
embedded credentials, and long high-entropy strings in tool, tenant and agent documents.

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

from focalctl.bundle import Bundle
from focalctl.bundle.loader import Document
from focalctl.bundle.positions import pointer
from focalctl.diagnostics import Diagnostic, make

_CREDENTIAL_KEY = re.compile(
    r"^(password|passwd|pwd|secret|client_?secret|token|access_?token|api_?key|apikey|"
    r"authorization|private_?key|access_?key|secret_?key|bearer)$",
    re.IGNORECASE,
)
_TOKEN_SHAPES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(sk|rk|pk)_(live|test)_[0-9A-Za-z]{10,}"), "a Stripe-style API key"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"), "an API secret key (sk-...)"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"), "a GitHub token"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]{20,}"), "a bearer token"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{5,}"), "a JWT"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@{}]+:[^/\s@{}]+@"), "a URL with a password"),
    (
        re.compile(r"[?&](api_?key|token|access_token|secret|password)=[^&{\s]{6,}", re.IGNORECASE),
        "a credential in a URL query",
    ),
]
_ENTROPY_KINDS = {"ToolEffect", "Tenant", "Agent", "ChannelProfile"}
_HIGH_ENTROPY = re.compile(r"^[A-Za-z0-9+/=_-]{32,}$")
_SAFE_KEYS = {
    "secretRef",
    "description",
    "say",
    "prompt",
    "message",
    "persona",
    "systemPrompt",
    "greeting",
    "signature",
}


def check(bundle: Bundle) -> Iterator[Diagnostic]:
    for source in bundle.files:
        for doc in source.documents:
            yield from _scan(doc, doc.data, [], None)


def _scan(
    doc: Document, value: Any, path: list[str | int], key: str | None
) -> Iterator[Diagnostic]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _scan(doc, v, [*path, k], str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _scan(doc, v, [*path, i], key)
    elif isinstance(value, str | int) and not isinstance(value, bool):
        why = _why(doc, str(value), key)
        if why:
            where = ".".join(str(p) for p in path)
            yield make(
                "FOC510",
                file=doc.file,
                document=doc.index,
                pointer=pointer(path),
                where=where,
                why=why,
            )


def _why(doc: Document, text: str, key: str | None) -> str | None:
    if not text:
        return None
    if key and key != "secretRef" and _CREDENTIAL_KEY.match(key) and "{{" not in text:
        return f"a literal value under '{key}'"
    for pattern, what in _TOKEN_SHAPES:
        if pattern.search(text):
            return what
    if (
        doc.kind in _ENTROPY_KINDS
        and key not in _SAFE_KEYS
        and _HIGH_ENTROPY.match(text)
        and _entropy(text) >= 4.0
    ):
        if any(c.isdigit() for c in text) and any(c.isalpha() for c in text):
            return "a long random-looking string"
    return None


def _entropy(text: str) -> float:
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())
