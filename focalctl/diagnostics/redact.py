"""Token-shaped secrets: the one list of shapes, used by the FOC510 check to find them and by
:func:`focalctl.diagnostics.make` to mask them in every message and hint, so no output format
prints a secret that a diagnostic quotes (``secretRef: sk_live_...`` is an invalid name whose
message would quote it).
"""

from __future__ import annotations

import re

# Every pattern is linear on any input: a pattern whose unbounded run must be followed by
# something else (``://``, ``.``, ``@``) only starts where its run starts (a lookbehind for
# the run's own alphabet) and takes the run possessively (``++``), so each character is
# scanned a bounded number of times; the others succeed as soon as their run is long enough.
TOKEN_SHAPES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(sk|rk|pk)_(live|test)_[0-9A-Za-z]{10,}"), "a Stripe-style API key"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"), "an API secret key (sk-...)"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"), "a GitHub token"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (
        re.compile(r"hooks\.slack\.com/services/T[A-Za-z0-9]++/B[A-Za-z0-9]++/[A-Za-z0-9]{8,}"),
        "a Slack webhook URL",
    ),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), "a Google API key"),
    (re.compile(r"\bBearer\s++[A-Za-z0-9._~+/=-]{20,}"), "a bearer token"),
    (
        re.compile(
            r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}+\.[A-Za-z0-9_-]{10,}+\.[A-Za-z0-9_-]{5,}"
        ),
        "a JWT",
    ),
    (re.compile(r"-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----"), "a private key"),
    (
        re.compile(r"(?<![A-Za-z0-9+.-])[a-z][a-z0-9+.-]*+://[^/\s:@]++:[^/\s@]++@"),
        "a URL with a password",
    ),
    (
        re.compile(
            r"[?&](api_?key|apikey|key|token|access_token|secret|password)=[^&\s]{6,}",
            re.IGNORECASE,
        ),
        "a credential in a URL query",
    ),
]
# One pass over every string first (case-insensitive: a superset of the shapes); the
# per-shape patterns only run on a hit.
ANY_SHAPE = re.compile("|".join(f"(?:{p.pattern})" for p, _ in TOKEN_SHAPES), re.IGNORECASE)
# A text holds a shape only if it holds one of these (lower-cased): the cheap test first,
# since the shapes' combined pattern costs ~20 µs on a 100-character message.
_MARKERS = (
    "_live_",
    "_test_",
    "sk-",
    "gh",
    "xox",
    "hooks.slack.com",
    "akia",
    "aiza",
    "bearer",
    "eyj",
    "-----begin",
    "://",
    "=",
)


def maybe_secret(text: str) -> bool:
    """False when ``text`` certainly holds no token shape (a necessary condition only)."""
    low = text.lower()
    return any(marker in low for marker in _MARKERS)


def redact(text: str) -> str:
    """``text`` with every token-shaped secret in it masked (its first 4 characters kept)."""
    if not maybe_secret(text) or not ANY_SHAPE.search(text):
        return text
    return ANY_SHAPE.sub(_mask, text)


def _mask(match: re.Match[str]) -> str:
    found = match.group(0)
    return found[:4] + "*" * min(len(found) - 4, 12)
