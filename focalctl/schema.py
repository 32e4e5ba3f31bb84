"""JSON Schemas for editors: one per kind, generated from the same models validate uses.

Each file describes a whole document (apiVersion, kind, metadata, spec) so that an editor with
the yaml-language-server modeline completes and checks every field as it is typed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from focalctl.bundle.models import Metadata
from runtime.spec import KIND_SPECS, KINDS

KIND_BY_NAME = {k.name: k for k in KINDS}

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def file_name(kind: str) -> str:
    return KIND_BY_NAME[kind].schema_file


def document_schema(kind: str) -> dict[str, Any]:
    spec = KIND_SPECS[kind].model_json_schema(by_alias=True, mode="validation")
    meta = Metadata.model_json_schema(by_alias=True, mode="validation")
    defs: dict[str, Any] = {**meta.pop("$defs", {}), **spec.pop("$defs", {})}
    if kind != "Tenant":
        meta["required"] = sorted({*meta.get("required", []), "tenant"})
    meta["title"] = "Metadata"
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"https://schemas.focal.dev/v1/{file_name(kind)}",
        "title": f"Focal {kind}",
        "description": f"A focal/v1 {kind} document.",
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "focal/v1", "description": "Always focal/v1."},
            "kind": {"const": kind},
            "metadata": meta,
            "spec": spec,
        },
        **({"$defs": defs} if defs else {}),
    }


def render_all() -> dict[str, str]:
    """File name → canonical text of every schema (sorted keys, 2-space indent, newline)."""
    return {
        file_name(k): json.dumps(document_schema(k), indent=2, sort_keys=True) + "\n"
        for k in KIND_SPECS
    }


def write(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_all().items():
        path = out / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def stale(out: Path) -> list[str]:
    """Schema files under ``out`` that are missing or differ from what the models generate."""
    return [
        name
        for name, text in render_all().items()
        if not (out / name).exists() or (out / name).read_text(encoding="utf-8") != text
    ]
