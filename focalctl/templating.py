"""Parsing tenant-authored templates and ``when`` expressions, only in jinja2's sandbox.

Nothing here renders: validate parses every template and expression, lists the variables it
reads, and refuses access to private or internal attributes (``__class__``, ``mro``...), which is
how sandbox escapes start. The runtime renders with its own sandbox (``runtime.templating``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.parser import Parser
from jinja2.sandbox import SandboxedEnvironment

WHEN_VARS = frozenset({"intent", "slots", "profile", "channel", "turn", "now"})
TEMPLATE_VARS = frozenset({"tenant", "agent", "profile", "slots", "channel", "now", "offerings"})
#: A step's texts and its tool bindings' args are rendered in a turn: they also see the
#: message (``turn.text``, ``turn.id``) and its ``intent``.
TURN_TEMPLATE_VARS = TEMPLATE_VARS | {"turn", "intent"}
ARGS_TEMPLATE_VARS = TURN_TEMPLATE_VARS | {"args"}
#: The variables of each kind of text: templates (goal messages, profiles' greetings,
#: settings), a step's templates, templates that see a tool's args, and ``when`` conditions.
CONTEXT_VARS = {
    "template": TEMPLATE_VARS,
    "turn": TURN_TEMPLATE_VARS,
    "args": ARGS_TEMPLATE_VARS,
    "expression": WHEN_VARS,
}
_UNSAFE_ATTRS = frozenset(
    {
        "mro",
        "format",
        "format_map",
        "func_globals",
        "f_globals",
        "f_locals",
        "gi_frame",
        "gi_code",
        "cr_frame",
        "cr_code",
        "ag_frame",
        "ag_code",
    }
)

_MARKUP = re.compile(r"\{[{%#]")
_IMPLICIT = frozenset({"loop", "self", "super", "caller", "varargs", "kwargs"})
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@dataclass(frozen=True, slots=True)
class TemplateIssue:
    kind: str  # "syntax" | "unsafe" | "unknown"
    message: str
    name: str = ""
    line: int = 1


@dataclass(frozen=True, slots=True)
class NameRef:
    """``var.attr`` (or ``var['attr']``) read by a template: what invariant 9 resolves."""

    var: str
    attr: str
    text: str  # how it is spelt in the source, for the caret (best effort)


@dataclass(slots=True)
class Parsed:
    """What a template or expression reads. Shared between callers (memoised): read it,
    never change it."""

    variables: set[str] = field(default_factory=set)
    issues: list[TemplateIssue] = field(default_factory=list)
    refs: list[NameRef] = field(default_factory=list)


def environment() -> SandboxedEnvironment:
    return _ENV


def parse_template(source: str, allowed: frozenset[str]) -> Parsed:
    return _analyse(source, allowed, expression=False)


def parse_expression(source: str, allowed: frozenset[str] = WHEN_VARS) -> Parsed:
    return _analyse(source, allowed, expression=True)


@lru_cache(maxsize=65_536)
def _analyse(source: str, allowed: frozenset[str], *, expression: bool) -> Parsed:
    if not expression and not _MARKUP.search(source):
        return Parsed()  # plain text: nothing jinja would interpret
    try:
        return _analysed(source, allowed, expression=expression)
    except RecursionError:
        # jinja's parser recurses ~15 frames per bracket ([[[[...]]]]) and its tree walks once
        # per level (a-a-a-...-a is a chain of subtractions): too deep to be a real template.
        return Parsed(issues=[TemplateIssue("syntax", "expression nested too deeply")])
    except ValueError:  # jinja's lexer: int() of a literal past Python's 4,300-digit limit
        return Parsed(issues=[TemplateIssue("syntax", "number literal too long")])


def _analysed(source: str, allowed: frozenset[str], *, expression: bool) -> Parsed:
    out = Parsed()
    try:
        tree = _parse_expression(source) if expression else _ENV.parse(source)
    except TemplateSyntaxError as exc:
        message = exc.message or "invalid syntax"
        if message == "chunk after expression":
            message = "unexpected text after the expression"
            if re.search(r"(^|[^=!<>])=($|[^=])", source):
                message += " ('=' is not a comparison; use '==')"
        out.issues.append(TemplateIssue("syntax", message, line=exc.lineno or 1))
        return out
    for attr, line in _attribute_accesses(tree):
        if attr.startswith("_") or attr in _UNSAFE_ATTRS:
            out.issues.append(TemplateIssue("unsafe", f"access to '{attr}'", name=attr, line=line))
    out.variables = _free_names(tree)
    for name in sorted(out.variables - allowed - _ENV.globals.keys()):
        out.issues.append(TemplateIssue("unknown", f"unknown variable '{name}'", name=name))
    out.refs = _name_refs(tree, source, out.variables)
    return out


def _name_refs(tree: nodes.Node, source: str, free: set[str]) -> list[NameRef]:
    """Every ``var.attr`` / ``var['attr']`` whose ``var`` is a free name, in source order."""
    found: dict[tuple[str, str], NameRef] = {}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, nodes.Getattr | nodes.Getitem)
        base = node.node
        if not isinstance(base, nodes.Name) or base.name not in free:
            continue
        attr = node.attr if isinstance(node, nodes.Getattr) else _const(node.arg)
        if attr is None:
            continue
        key = (base.name, attr)
        if key not in found:
            spelt = [f"{base.name}.{attr}", f"{base.name}['{attr}']", f'{base.name}["{attr}"]']
            text = next((t for t in spelt if t in source), base.name)
            found[key] = NameRef(base.name, attr, text)
    return sorted(found.values(), key=lambda r: (source.find(r.text), r.var, r.attr))


def _parse_expression(source: str) -> nodes.Node:
    """Parse one expression exactly as ``compile_expression`` does, without generating code."""
    parser = Parser(_ENV, source, state="variable")
    expr = parser.parse_expression()
    if not parser.stream.eos:
        raise TemplateSyntaxError(
            "chunk after expression", parser.stream.current.lineno, None, None
        )
    return nodes.Template([nodes.Output([expr])])  # find_all searches below the root only


def _free_names(tree: nodes.Node) -> set[str]:
    """Names the template reads but never defines (``set``, ``for`` targets, macro params)."""
    loads: set[str] = set()
    defined: set[str] = set(_IMPLICIT)
    for name in tree.find_all(nodes.Name):
        (loads if name.ctx == "load" else defined).add(name.name)
    defined.update(m.name for m in tree.find_all(nodes.Macro))
    return loads - defined


def _attribute_accesses(tree: nodes.Node) -> list[tuple[str, int]]:
    """Every attribute name read: ``x.a``, ``x['a']`` and ``x|attr('a')``."""
    found: list[tuple[str, int]] = [(n.attr, n.lineno) for n in tree.find_all(nodes.Getattr)]
    for item in tree.find_all(nodes.Getitem):
        name = _const(item.arg)
        if name is not None:
            found.append((name, item.lineno))
    for flt in tree.find_all(nodes.Filter):
        if flt.name == "attr" and flt.args:
            name = _const(flt.args[0])
            if name is not None:
                found.append((name, flt.lineno))
    return found


def _const(node: nodes.Node) -> str | None:
    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else None
