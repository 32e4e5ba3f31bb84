"""Documents → typed objects: the envelope around the spec models of :mod:`runtime.spec`.

Each document is validated as ``apiVersion`` + ``kind`` + ``metadata`` + ``spec``; pydantic
errors become Diagnostics located at the exact key or value in the source file. The spec models
themselves are defined once, in the runtime, so the compiler and the runtime agree on them.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from focalctl.bundle.loader import Document
from focalctl.bundle.positions import locate, pointer
from focalctl.diagnostics import Diagnostic, make
from focalctl.diagnostics.paths import readable
from focalctl.diagnostics.suggest import did_you_mean
from runtime.spec import (
    BCP47_PATTERN,
    ENV_VAR_PATTERN,
    KIND_SPECS,
    MOVED_FIELDS,
    NAME_PATTERN,
    SLOT_PATTERN,
    STEP_ID_PATTERN,
)

DURATION_FIELDS = {"debounce", "after", "retryAfter", "expiresAfter", "timeout", "offset"}


class Metadata(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=NAME_PATTERN,
        description="The object's name, unique per (tenant, kind); other objects refer to it "
        "by this name.",
        examples=["refunds"],
    )
    tenant: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        description="The tenant the object belongs to; required on every kind but Tenant "
        "(whose name is the tenant). An object only sees objects of its own tenant.",
        examples=["acme"],
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Free-form string labels; an Agent's catalog selects Offerings by them.",
        examples=[{"team": "cx"}],
    )
    description: str | None = Field(
        default=None, description="What the object is for, for people reading the bundle."
    )


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    apiVersion: str
    kind: str
    metadata: Metadata
    spec: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BundleObject:
    """One validated object: where it came from and its typed spec."""

    kind: str
    name: str
    tenant: str
    metadata: Metadata
    spec: BaseModel
    doc: Document

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.tenant, self.kind, self.name)

    def where(self) -> str:
        return f"{self.doc.file}:{self.doc.line}"

    def diag(
        self,
        code: str,
        pointer: str,
        *,
        target: str = "value",
        hint: str | None = None,
        **params: Any,
    ) -> Diagnostic:
        """A diagnostic about this object at ``pointer``; ``run_checks`` locates it."""
        return self.doc.diag(code, pointer, target=target, hint=hint, **params)


def build_object(doc: Document) -> tuple[BundleObject | None, list[Diagnostic]]:
    """Validate one document's envelope and spec; return the object or located diagnostics.

    The envelope and the spec are validated independently so that one run reports every
    problem of the document, not just the first stage's.
    """
    data: dict[str, Any] = doc.data
    diags: list[Diagnostic] = []
    env: Envelope | None = None
    kind = doc.kind or str(data.get("kind"))
    spec_model = KIND_SPECS.get(kind)
    try:
        env = Envelope.model_validate(data)
    except ValidationError as exc:
        diags.extend(errors_to_diagnostics(exc, data, (), Envelope, spec_model))
    spec: BaseModel | None = None
    if spec_model is not None and isinstance(data.get("spec", {}), dict):
        try:
            spec = spec_model.model_validate(data.get("spec", {}))
        except ValidationError as exc:
            diags.extend(errors_to_diagnostics(exc, data.get("spec"), ("spec",), spec_model))
    if env is not None:
        meta = env.metadata
        if kind == "Tenant" and meta.tenant not in (None, meta.name):
            diags.append(
                make(
                    "FOC209",
                    pointer="/metadata/tenant",
                    message=f"a Tenant's metadata.tenant must be its own name '{meta.name}' or be omitted",
                )
            )
        elif kind != "Tenant" and meta.tenant is None:
            diags.append(
                make("FOC202", pointer="/metadata/tenant", field="tenant", where="metadata")
            )
    located = [locate(doc, d) for d in diags]
    if located or env is None:
        return None, located
    tenant = env.metadata.name if kind == "Tenant" else (env.metadata.tenant or "")
    return BundleObject(kind, env.metadata.name, tenant, env.metadata, spec or env, doc), []


def errors_to_diagnostics(
    exc: ValidationError,
    data: Any,
    prefix: tuple[str, ...],
    model: type[BaseModel],
    spec_model: type[BaseModel] | None = None,
) -> list[Diagnostic]:
    """Pydantic errors → unlocated Diagnostics (pointer into the document, no position yet).

    ``spec_model``: for the envelope, the model of its ``spec`` (the envelope itself takes any
    mapping there), so that a spec field dedented to the top level is recognised."""
    return [
        _diagnostic_of(err, data, prefix, model, spec_model)
        for err in exc.errors(include_url=False)
    ]


def _data_path(loc: tuple[int | str, ...], data: Any) -> tuple[list[str | int], Any, bool]:
    """Keep the loc parts that exist in the data (drop pydantic's union/validator tags)."""
    path: list[str | int] = []
    cur: Any = data
    found = True
    for part in loc:
        if isinstance(cur, dict) and isinstance(part, str) and part in cur:
            path.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            path.append(part)
            cur = cur[part]
        elif isinstance(cur, dict) and isinstance(part, str) and not _is_tag(part):
            path.append(part)
            found = False
            cur = None
    return path, cur, found


def _is_tag(part: str) -> bool:
    return "[" in part or part in {"str", "int", "float", "bool", "list", "dict", "none"}


def _type_at(model: type[BaseModel], path: list[str | int]) -> Any:
    """The (unwrapped) type reached from ``model`` by following ``path``; None off the model."""
    current: Any = model
    for part in path:
        current = _descend(current, part)
        if current is None:
            return None
    return _unwrap(current)


def _fields_of(model: type[BaseModel], path: list[str | int]) -> list[str]:
    """Allowed (alias) field names of the model reached by following ``path``."""
    current = _type_at(model, path)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _descend(tp: Any, part: str | int) -> Any:
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if not isinstance(part, str):
            return None
        for name, f in tp.model_fields.items():
            if part in (name, f.alias):
                return f.annotation
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (list, tuple) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            if len(args) == 1 or models:
                tp = models[0] if models else args[0]
                continue
        return tp


def _models_in(tp: Any) -> list[type[BaseModel]]:
    """The models a value annotated ``tp`` may be written as: ``tp`` itself, or the models of
    a union (``Checkpoint | None``); lists and dicts of models are not mappings of fields."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(tp) for m in _models_in(a)]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return []


def _dedented(
    model: type[BaseModel],
    parent: list[str | int],
    data: Any,
    spec_model: type[BaseModel] | None = None,
) -> list[tuple[str, list[str]]]:
    """For the mapping at ``parent``: each key written as ``x:`` (null or ``{}``) whose model
    has fields that stand beside it instead (``confirmation:`` then ``required: true``), with
    those fields, in the mapping's order. Empty when there is nothing of the kind."""
    mapping: Any = data
    for part in parent:
        if isinstance(mapping, dict) and isinstance(part, str):
            mapping = mapping.get(part)
        elif isinstance(mapping, list) and isinstance(part, int) and 0 <= part < len(mapping):
            mapping = mapping[part]
        else:
            return []
    owner = _type_at(model, parent)
    if not (isinstance(mapping, dict) and isinstance(owner, type) and issubclass(owner, BaseModel)):
        return []
    own = set(_fields_of(owner, []))
    found: list[tuple[str, list[str]]] = []
    for key, value in mapping.items():
        if value not in (None, {}) or not isinstance(key, str):
            continue
        annotation = spec_model if owner is Envelope and key == "spec" else None
        inner = {
            f for m in _models_in(annotation or _descend(owner, key)) for f in _fields_of(m, [])
        }
        fields = [k for k in mapping if isinstance(k, str) and k in inner and k not in own]
        if fields:
            found.append((key, fields))
    return found


def _indent_hint(
    field: str,
    model: type[BaseModel],
    parent: list[str | int],
    data: Any,
    spec_model: type[BaseModel] | None = None,
) -> str | None:
    """``did you mean to indent it under `x:`?`` when the unknown ``field`` is a field of the
    model of a sibling ``x`` written as ``x:`` (see :func:`_dedented`). The nearest such
    sibling written before ``field`` wins, else the nearest after it."""
    owners = [key for key, fields in _dedented(model, parent, data, spec_model) if field in fields]
    if not owners:
        return None
    mapping: Any = data
    for part in parent:
        mapping = mapping[part]
    keys = list(mapping)
    at = keys.index(field)
    before = [k for k in owners if keys.index(k) < at]
    return f"did you mean to indent it under `{(before[-1] if before else owners[0])}:`?"


def _fill_hint(
    model: type[BaseModel],
    rel: list[str | int],
    data: Any,
    spec_model: type[BaseModel] | None = None,
) -> str | None:
    """For ``x:`` left empty where a mapping is required: which of its fields stand beside it."""
    if not rel or not isinstance(rel[-1], str):
        return None
    for key, fields in _dedented(model, rel[:-1], data, spec_model):
        if key == rel[-1]:
            names = ", ".join(f"'{f}'" for f in fields)
            return f"did you mean to indent {names} under it?"
    return None


def _where(prefix: tuple[str, ...], rel: list[str | int], data: Any) -> str:
    """The path of ``rel`` (below ``prefix``, in ``data``) as a message shows it."""
    return readable(rel, data, prefix)


def _diagnostic_of(
    err: ErrorDetails,
    data: Any,
    prefix: tuple[str, ...],
    model: type[BaseModel],
    spec_model: type[BaseModel] | None = None,
) -> Diagnostic:
    rel, value, _found = _data_path(tuple(err["loc"]), data)
    full = [*prefix, *rel]
    ptr = pointer(full)
    where = _where(prefix, rel, data)
    etype = err["type"]
    ctx = err.get("ctx") or {}
    if etype == "extra_forbidden":
        field = str(rel[-1]) if rel else "?"
        allowed = _fields_of(model, rel[:-1])
        moved = MOVED_FIELDS.get(model.__name__, {}).get(field) if len(rel) == 1 else None
        hint = (
            _indent_hint(field, model, rel[:-1], data, spec_model)
            or moved
            or did_you_mean(field, allowed)
        )
        parent = _where(prefix, rel[:-1], data)
        return make(
            "FOC201",
            pointer=ptr,
            target="key",
            field=field,
            where=parent,
            allowed=", ".join(allowed) or "(none)",
            hint=hint or f"remove it; allowed fields: {', '.join(allowed) or '(none)'}",
        )
    if etype == "missing":
        field = str(rel[-1]) if rel else "?"
        return make("FOC202", pointer=ptr, field=field, where=_where(prefix, rel[:-1], data))
    if etype in ("literal_error", "enum"):
        expected = str(ctx.get("expected", ""))
        options = [
            o.strip().strip("'\"") for o in expected.replace(" or ", ",").split(",") if o.strip()
        ]
        hint = did_you_mean(str(value), options) if isinstance(value, str) else None
        return make(
            "FOC205",
            pointer=ptr,
            where=where,
            value=value,
            expected=expected,
            hint=hint or f"use one of: {expected}",
        )
    if etype == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        return make(
            "FOC206",
            pointer=ptr,
            where=where,
            value=value,
            message=f"does not match {pattern}",
            hint=_PATTERN_HINTS.get(pattern, f"write a value that matches {pattern}"),
        )
    if etype in {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "too_short",
        "too_long",
        "string_too_short",
        "string_too_long",
        "multiple_of",
    }:
        return make("FOC204", pointer=ptr, where=where, message=err["msg"], hint=None)
    if (
        etype.endswith("_type")
        or etype.endswith("_parsing")
        or etype in {"model_type", "model_attributes_type"}
    ):
        expected = (
            etype.removesuffix("_type")
            .removesuffix("_parsing")
            .replace("model_attributes", "mapping")
            .replace("model", "mapping")
        )
        expected = {
            "dict": "a mapping",
            "list": "a list",
            "string": "a string",
            "int": "an integer",
            "float": "a number",
            "bool": "true or false",
            "mapping": "a mapping",
            "decimal": "a number",
        }.get(expected, expected)
        got = _type_name(value)
        return make(
            "FOC203",
            pointer=ptr,
            where=where,
            expected=expected,
            got=got,
            hint=(value is None and _fill_hint(model, rel, data, spec_model))
            or f"write {where} as {expected}",
        )
    message = err["msg"].removeprefix("Value error, ")
    if rel and str(rel[-1]) in DURATION_FIELDS:
        return make("FOC207", pointer=ptr, where=where, message=message)
    return make("FOC208", pointer=ptr, where=where, message=message, hint=None)


# What each pattern of the spec asks for, in words (a pattern not listed is quoted as is).
_PATTERN_HINTS = {
    NAME_PATTERN: "use lowercase letters, digits and '-', starting with a letter, "
    "at most 63 characters",
    STEP_ID_PATTERN: "use lowercase letters, digits and '_', starting with a letter, "
    "at most 63 characters",
    SLOT_PATTERN: "use lowercase letters, digits and '_', starting with a letter, "
    "at most 63 characters",
    ENV_VAR_PATTERN: "use the name of an environment variable: uppercase letters, digits and "
    "'_', not starting with a digit (e.g. ZENDESK_TOKEN)",
    BCP47_PATTERN: "use a language tag such as 'en' or 'pt-BR'",
    r"^[A-Z]{3}$": "use a three-letter uppercase currency code such as 'EUR'",
}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
    }.get(type(value), type(value).__name__)
