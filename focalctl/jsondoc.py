"""The JSON documents focalctl prints, all with one ``format_version``.

Library functions return a document's body; the command's view stamps the version and writes
it (``focalctl plan --format json``, ``validate``, ``history``, ``report``…). A consumer
checks one number for every command. It moves to 2.0 when a field is removed or changes
meaning, and to the next minor when fields are added.

1.1: plans diff lists element by element (``action``, keyed paths, ``attributes``); the
other documents are as in 1.0. Plan *files* (``plan -out``) are a separate format with
their own version, because ``apply`` reads them back.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import IO, Any

FORMAT_VERSION = "1.1"


def document(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` as a printed document: ``format_version`` first."""
    return {"format_version": FORMAT_VERSION, **body}


def write(body: Mapping[str, Any], out: IO[str] | None = None) -> None:
    """Print ``body`` as one versioned JSON document (UTF-8, indented, newline-terminated)."""
    stream = out if out is not None else sys.stdout
    stream.write(json.dumps(document(body), indent=2, ensure_ascii=False) + "\n")
