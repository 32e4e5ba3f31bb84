"""The runtime's snapshot validator: the spec models, re-derived as TypedDicts for a
validate-only pass (private to :mod:`runtime.snapshot`; use :func:`runtime.snapshot.load`).

The runtime keeps only a small :class:`~runtime.snapshot.SettingsIndex` of a snapshot, yet it
must validate the whole body against the spec models. Building some 30 model instances per
object just to drop them costs more than checking them, so :class:`Wire` derives a TypedDict
per model from the very same classes: the same keys (the alias, and the Python name too when
the model populates by name, in the model's order of preference), the same field types,
``Field`` constraints and ``Annotated`` metadata, the same ``extra`` policy, and the model's
field validators and model validators carried over. pydantic-core then validates into plain
dicts in one pass.

There is no second schema to maintain: whatever the derivation cannot carry over exactly (an
unknown config option, a wrap model validator, a validator that reads ``info``, a type it does
not know, ...) raises :class:`TypeError` when the validator is built, rather than validating
less. Two additions keep it fast, neither changing what is accepted: :data:`SHORTCUTS` let
pydantic-core's regex engine vouch for the common spelling of a value before a Python validator
is called, and *reducers* (see :class:`Wire`) replace each validated object by what the caller
keeps of it.

What wire dicts do *not* hold is defaults: a key absent from the input stays absent (the models
fill defaults without validating them, so this changes nothing about what is accepted); read
fields with :func:`field_reader`. :func:`dump_plan` turns a wire dict back into exactly what
``model_dump(mode="json", by_alias=True, exclude_none=True)`` gives for its model.

:func:`body_validator` applies all this to :class:`~runtime.snapshot.SnapshotV1`, with each
object reduced to its settings layers as soon as it is validated; :func:`index_of` assembles
the :class:`~runtime.snapshot.SettingsIndex` from them.
"""

from __future__ import annotations

import inspect
import math
import operator
import types
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Annotated, Any, Literal, NotRequired, Required, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    TypeAdapter,
    WrapSerializer,
    WrapValidator,
)
from typing_extensions import TypedDict

from runtime import durations, spec
from runtime.snapshot._model import (
    ChannelEntry,
    ObjectEntry,
    ScenarioLayers,
    SettingsIndex,
    SnapshotV1,
    TenantEntry,
    index_from_layers,
)
from runtime.spec import (
    AgentSpec,
    ChannelProfileSpec,
    GoalSpec,
    OfferingSpec,
    ScenarioSpec,
    Settings,
    StepSpec,
    TenantSpec,
    ToolEffectSpec,
    TurnSettings,
)

__all__ = [
    "SHORTCUTS",
    "Dump",
    "Reducer",
    "Wire",
    "body_validator",
    "dump_plan",
    "field_reader",
    "index_of",
    "wire_type",
]

_ANNOTATED: Any = Annotated
_UNION: Any = Union
_REQUIRED: Any = Required
_NOT_REQUIRED: Any = NotRequired
_TYPED_DICT: Any = TypedDict  # typing_extensions': pydantic needs it before Python 3.12

#: Model config keys the derivation understands; any other key is refused (TypeError).
#: ``defer_build`` only says when pydantic builds the model's own validator.
_CONFIG_KEYS = frozenset(
    {
        "extra",
        "frozen",
        "populate_by_name",
        "validate_by_name",
        "validate_by_alias",
        "title",
        "defer_build",
    }
)
_FIELD_VALIDATORS: dict[str, type[Any]] = {
    "after": AfterValidator,
    "before": BeforeValidator,
    "plain": PlainValidator,
    "wrap": WrapValidator,
}
_LEAVES = (str, int, float, bool, type(None))
_CONTAINERS = (list, dict, tuple, set, frozenset, Sequence, Mapping)

_LEFT_TO_RIGHT = Field(union_mode="left_to_right")
_AFTER_CHAIN = (AfterValidator, PlainSerializer, WrapSerializer)

#: Shortcuts for Python validators that run on many values of a snapshot. The key is a chain of
#: after validators (as they come first in a type's metadata), the value a regex checked by
#: pydantic-core (in Rust) whose every match the chain accepts and returns unchanged. A value
#: that matches skips the Python calls; any other value still goes through the chain, so what is
#: accepted, and what comes out, is exactly what the validators alone give. Each pattern is
#: proven to be such a subset in tests/runtime/test_wire.py.
SHORTCUTS: dict[tuple[Callable[..., Any], ...], str] = {
    # a duration in ASCII spelling: no surrounding space, digits 0-9
    (durations._check,): r"^(?:0|(?:[0-9]+(?:ms|s|m|h|d))+)$",
    # a debounce in range: 0, or 200ms to 3s in one unit (a finite set, tested exhaustively)
    (
        durations._check,
        spec._debounce_range,
    ): r"^(?:0|(?:[2-9][0-9]{2}|[12][0-9]{3}|3000)ms|[1-3]s)$",
    # an amount already in canonical form (what the compiler writes): no sign, no exponent, no
    # leading or trailing zero, and at most 27 digits, within Decimal's default precision of 28
    (spec._decimal_text,): r"^(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{0,11}[1-9])?$",
}

Reducer = Callable[[dict[str, Any]], Any]


class Wire:
    """Derives wire types from models.

    ``reducers`` maps a model to a function run on each validated dict of that model, after all
    of the model's validators; its result takes the dict's place in the output. A validator
    that reduces each object to what the caller keeps frees the rest as it goes, instead of
    building the whole body first (which at 10,000 objects no longer fits in the CPU caches).
    """

    def __init__(self, reducers: Mapping[type[BaseModel], Reducer] | None = None) -> None:
        self._reducers = dict(reducers or {})
        self._typed: dict[type[BaseModel], Any] = {}
        self.reduced: set[type[BaseModel]] = set()  # the reducers met so far

    def of(self, tp: Any) -> Any:
        """The wire form of annotation ``tp``: every model in it replaced by its TypedDict."""
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            typed = self._typed.get(tp)
            if typed is None:
                typed = self._typed[tp] = self._model(tp)
            reducer = self._reducers.get(tp)
            if reducer is None:
                return typed
            self.reduced.add(tp)
            return _ANNOTATED[(typed, AfterValidator(reducer))]
        origin = get_origin(tp)
        args = get_args(tp)
        if origin is Annotated:
            return self._annotated(args[0], args[1:])
        if origin is Union or origin is types.UnionType:
            return _UNION[tuple(self.of(a) for a in args)]
        if origin is Literal or tp is Any or tp in _LEAVES:
            return tp
        if origin in _CONTAINERS and args:
            return origin[tuple(a if a is Ellipsis else self.of(a) for a in args)]
        raise TypeError(f"wire: no wire form for {tp!r}; teach runtime/snapshot/_wire.py")

    def _model(self, model: type[BaseModel]) -> Any:
        _refuse_unsupported(model)
        config = model.model_config
        by_name = config.get("validate_by_name") or config.get("populate_by_name") or False
        decorators = model.__pydantic_decorators__
        fields: dict[str, Any] = {}
        for field_name, info in model.model_fields.items():
            if info.validation_alias is not None and info.validation_alias != info.alias:
                raise TypeError(f"wire: {model.__name__}.{field_name} has a validation_alias")
            if info.discriminator is not None or info.validate_default:
                raise TypeError(f"wire: {model.__name__}.{field_name}: discriminator/default")
            key = _wire_key(model, field_name)
            metadata: list[Any] = list(info.metadata)
            for dec in decorators.field_validators.values():
                if field_name in dec.info.fields or "*" in dec.info.fields:
                    mode = dec.info.mode
                    _refuse_info(dec.func, 2 if mode == "wrap" else 1, model, dec.cls_var_name)
                    metadata.append(_FIELD_VALIDATORS[mode](dec.func))
            annotated = self._annotated(info.annotation, metadata)
            if by_name and key != field_name:  # both spellings, alias first, like the model
                choices = Field(validation_alias=AliasChoices(key, field_name))
                annotated = _ANNOTATED[(annotated, choices)]
            fields[key] = _REQUIRED[annotated] if info.is_required() else _NOT_REQUIRED[annotated]
        typed = _TYPED_DICT(f"{model.__name__}Wire", fields)
        typed.__pydantic_config__ = ConfigDict(extra=config.get("extra"))
        typed.__module__ = __name__
        checks: list[Any] = []
        for check in decorators.model_validators.values():
            if check.info.mode == "before":
                _refuse_info(check.func, 1, model, check.cls_var_name)
                checks.append(BeforeValidator(check.func))
            elif check.info.mode == "after":
                checks.append(AfterValidator(_after(model, check.func, check.cls_var_name)))
            else:
                raise TypeError(f"wire: {model.__name__}.{check.cls_var_name} is not before/after")
        return _annotated(typed, checks)

    def _annotated(self, base: Any, metadata: Sequence[Any]) -> Any:
        """``Annotated[base, *metadata]`` in wire form, with the longest shortcut that applies."""
        base = self.of(base)
        chain: list[Callable[..., Any]] = []
        for item in metadata:
            if not isinstance(item, AfterValidator):
                break
            chain.append(item.func)
        # Only where nothing else but validators and serialisers follows the chain: a union
        # may take constraints differently from the plain type.
        rest_plain = all(isinstance(m, _AFTER_CHAIN) for m in metadata[len(chain) :])
        for length in range(len(chain), 0, -1):
            pattern = SHORTCUTS.get(tuple(chain[:length]))
            if pattern is not None and base in (str, Any) and rest_plain:
                fast = _ANNOTATED[(str, Field(pattern=pattern))]
                slow = _ANNOTATED[(base, *metadata[:length])]
                base = _ANNOTATED[(_UNION[(fast, slow)], _LEFT_TO_RIGHT)]
                metadata = metadata[length:]
                break
        return _annotated(base, metadata)


def wire_type(tp: Any) -> Any:
    """The wire form of annotation ``tp``, without reducers."""
    return Wire().of(tp)


def _annotated(tp: Any, metadata: Sequence[Any]) -> Any:
    return _ANNOTATED[(tp, *metadata)] if metadata else tp


def _wire_key(model: type[BaseModel], field_name: str) -> str:
    """The key of a field in wire dicts: its alias, or its name when it has none."""
    if model.model_config.get("validate_by_alias") is False:
        raise TypeError(f"wire: {model.__name__} validates by name only")
    return model.model_fields[field_name].alias or field_name


def field_reader(model: type[BaseModel], field_name: str) -> Callable[[Mapping[str, Any]], Any]:
    """Read a field from a wire dict of ``model``: its value, or the model's default if absent
    (a shared default object: read it, never mutate it)."""
    key = _wire_key(model, field_name)
    info = model.model_fields[field_name]
    if info.is_required():
        return operator.itemgetter(key)
    default = info.get_default(call_default_factory=True)
    return operator.methodcaller("get", key, default)


def _refuse_unsupported(model: type[BaseModel]) -> None:
    unknown = set(model.model_config) - _CONFIG_KEYS
    if unknown:
        raise TypeError(f"wire: {model.__name__} sets model_config {sorted(unknown)}")
    decorators = model.__pydantic_decorators__
    if decorators.validators or decorators.root_validators:
        raise TypeError(f"wire: {model.__name__} uses v1-style validators")
    if model.__pydantic_post_init__ is not None:
        raise TypeError(f"wire: {model.__name__} defines model_post_init")
    own_schema = model.__dict__.get("__get_pydantic_core_schema__")
    if own_schema is not None:
        raise TypeError(f"wire: {model.__name__} customises its core schema")


def _refuse_info(func: Callable[..., Any], positional: int, model: type, name: str) -> None:
    params = [
        p
        for p in inspect.signature(func).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(params) != positional:
        raise TypeError(f"wire: {model.__name__}.{name} takes ValidationInfo; not carried over")


def _after(model: type[BaseModel], func: Callable[..., Any], name: str) -> Callable[[Any], Any]:
    """An after model validator, run on an unvalidated instance built from the checked dict."""
    _refuse_info(func, 1, model, name)
    keys: list[tuple[str, str]] = []
    for field_name, info in model.model_fields.items():
        if _has_model(info.annotation):
            raise TypeError(f"wire: {model.__name__}.{name} would see a nested model as a dict")
        keys.append((field_name, _wire_key(model, field_name)))

    def check(value: dict[str, Any]) -> dict[str, Any]:
        instance = model.model_construct(**{f: value[k] for f, k in keys if k in value})
        if func(instance) is not instance:
            raise TypeError(f"wire: {model.__name__}.{name} returned another instance")
        return value

    return check


def _has_model(tp: Any) -> bool:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return True
    return any(_has_model(a) for a in get_args(tp))


# --- dumping ----------------------------------------------------------------------------------

#: wire dict (or None) -> model_dump(mode="json", by_alias=True, exclude_none=True) (or None)
Dump = Callable[[Mapping[str, Any] | None], dict[str, Any] | None]


def dump_plan(model: type[BaseModel]) -> Dump:
    """What ``model.model_dump(mode="json", by_alias=True, exclude_none=True)`` would give for
    the model validated from a wire dict, computed from the dict itself."""
    plan = _plan(model)

    def dump(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else plan(value)

    return dump


def _plan(model: type[BaseModel]) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    _refuse_unsupported(model)
    decorators = model.__pydantic_decorators__
    if decorators.field_serializers or decorators.model_serializers or decorators.computed_fields:
        raise TypeError(f"wire: {model.__name__} customises serialisation; no dump plan")
    steps: list[tuple[str, Any, Callable[[Any], Any]]] = []
    for field_name, info in model.model_fields.items():
        changed = info.exclude or getattr(info, "exclude_if", None) is not None
        if changed or info.serialization_alias not in (None, info.alias):
            raise TypeError(f"wire: {model.__name__}.{field_name} changes its dump")
        key = _wire_key(model, field_name)
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        steps.append((key, default, _leaf_plan(info.annotation, info.metadata, model)))

    def dump(value: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, default, convert in steps:
            item = value.get(key, default)
            if item is not None:
                out[key] = convert(item)
        return out

    return dump


def _leaf_plan(tp: Any, metadata: Sequence[Any], model: type) -> Callable[[Any], Any]:
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is Annotated:
        return _leaf_plan(args[0], [*metadata, *args[1:]], model)
    if any(not _plain_metadata(m) for m in metadata):
        raise TypeError(f"wire: {model.__name__} has a serialiser in a settings field")
    if origin is Union or origin is types.UnionType:
        real = [a for a in args if a is not type(None)]
        if len(real) == 1:
            return _leaf_plan(real[0], (), model)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _plan(tp)
    if tp is float:
        return _float
    if tp in (str, int, bool) or origin is Literal:
        return _same
    raise TypeError(f"wire: no dump plan for {tp!r} in {model.__name__}")


def _plain_metadata(item: Any) -> bool:
    """Constraints and validators change nothing about how a value dumps; serialisers do."""
    return not isinstance(item, PlainSerializer | WrapSerializer)


def _same(value: Any) -> Any:
    return value


def _float(value: float) -> float | None:
    return value if math.isfinite(value) else None  # ser_json_inf_nan="null"


# --- the snapshot body ------------------------------------------------------------------------

# What body_validator keeps, by field: the wire key (alias) and the model's default if absent.
_DEFAULTS = field_reader(SnapshotV1, "defaults")
_AGENTS = field_reader(SnapshotV1, "agents")
_CHANNELS = field_reader(SnapshotV1, "channels")
_SCENARIOS = field_reader(SnapshotV1, "scenarios")
_TENANT_SPEC = field_reader(TenantEntry, "spec")
_TENANT_DEFAULTS = field_reader(TenantSpec, "defaults")
_AGENT_SPEC = field_reader(ObjectEntry[AgentSpec], "spec")
_AGENT_SETTINGS = field_reader(AgentSpec, "settings")
_AGENT_CHANNELS = field_reader(AgentSpec, "channels")
_CHANNEL_SPEC = field_reader(ChannelEntry, "spec")
_CHANNEL_BUILTIN = field_reader(ChannelEntry, "builtin_turn")
_PROFILE_SETTINGS = field_reader(ChannelProfileSpec, "settings")
_SCENARIO_SPEC = field_reader(ObjectEntry[ScenarioSpec], "spec")
_SCENARIO_SETTINGS = field_reader(ScenarioSpec, "settings")
_SCENARIO_STEPS = field_reader(ScenarioSpec, "steps")
_STEP_ID = field_reader(StepSpec, "id")
_STEP_SETTINGS = field_reader(StepSpec, "settings")
_SETTINGS_JSON = dump_plan(Settings)
_TURN_JSON = dump_plan(TurnSettings)


def _agent_layer(entry: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    spec = _AGENT_SPEC(entry)
    channels = _AGENT_CHANNELS(spec)
    return _SETTINGS_JSON(_AGENT_SETTINGS(spec)), channels[0] if channels else None


def _channel_layers(entry: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    own = _SETTINGS_JSON(_PROFILE_SETTINGS(_CHANNEL_SPEC(entry)))
    return _TURN_JSON(_CHANNEL_BUILTIN(entry)) or {}, own


def _scenario_layers(entry: dict[str, Any]) -> ScenarioLayers:
    spec = _SCENARIO_SPEC(entry)
    steps = [
        (_STEP_ID(step), None if (layer := _STEP_SETTINGS(step)) is None else _SETTINGS_JSON(layer))
        for step in _SCENARIO_STEPS(spec)
    ]
    return _SETTINGS_JSON(_SCENARIO_SETTINGS(spec)), steps


def _nothing(entry: dict[str, Any]) -> None:
    return None  # validated in full; the runtime keeps none of it


#: Entries reduced, as soon as each is validated, to what SettingsIndex keeps of them.
_INDEX_REDUCERS: dict[type[BaseModel], Reducer] = {
    ObjectEntry[AgentSpec]: _agent_layer,
    ChannelEntry: _channel_layers,
    ObjectEntry[ScenarioSpec]: _scenario_layers,
    ObjectEntry[ToolEffectSpec]: _nothing,
    ObjectEntry[OfferingSpec]: _nothing,
    ObjectEntry[GoalSpec]: _nothing,
}


@cache
def body_validator() -> TypeAdapter[dict[str, Any]]:
    """The validator of snapshot bodies: the TypedDicts :class:`Wire` derives from
    :class:`SnapshotV1`, with the entries reduced to their settings layers for :func:`index_of`.
    Built on first use (a one-off ~15 ms the compiler never pays)."""
    wire = Wire(_INDEX_REDUCERS)
    adapter: TypeAdapter[dict[str, Any]] = TypeAdapter(wire.of(SnapshotV1))
    if wire.reduced != set(_INDEX_REDUCERS):  # a reducer for a type the snapshot lost
        raise TypeError(f"unused reducers: {set(_INDEX_REDUCERS) - wire.reduced}")
    return adapter


def index_of(body: Mapping[str, Any]) -> SettingsIndex:
    """The :class:`SettingsIndex` of a body validated by :func:`body_validator`."""
    return index_from_layers(
        defaults=_DEFAULTS(body),
        tenant=_SETTINGS_JSON(_TENANT_DEFAULTS(_TENANT_SPEC(body["tenant"]))),
        agents=dict(_AGENTS(body)),
        channels=dict(_CHANNELS(body)),
        scenarios=_SCENARIOS(body),
    )
