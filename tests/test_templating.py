"""The sandbox parser for templates and `when` expressions."""

from __future__ import annotations

import pytest

from focalctl.templating import (
    ARGS_TEMPLATE_VARS,
    TEMPLATE_VARS,
    WHEN_VARS,
    parse_expression,
    parse_template,
)


def kinds(parsed: object) -> list[tuple[str, str]]:
    return [(i.kind, i.name) for i in parsed.issues]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("intent == 'refund' and slots.order_id", []),
        ("foo", [("unknown", "foo")]),
        ("slots.x.__class__", [("unsafe", "__class__")]),
        ("slots['__globals__']", [("unsafe", "__globals__")]),
        ("slots|attr('__class__')", [("unsafe", "__class__")]),
        ("tenant.displayName", [("unknown", "tenant")]),  # templates see tenant, `when` does not
    ],
)
def test_expression_variables_and_attributes(source: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(parse_expression(source, WHEN_VARS)) == expected


def test_expression_syntax_error_explains_assignment() -> None:
    issues = parse_expression("intent = 'refund'").issues
    assert [i.kind for i in issues] == ["syntax"] and "use '=='" in issues[0].message


def test_template_scoping_and_plain_text() -> None:
    assert parse_template("just text", TEMPLATE_VARS).issues == []
    src = "{% set n = 1 %}{% for i in slots.items %}{{ i }}{{ loop.index }}{% endfor %}{{ n }}"
    assert parse_template(src, TEMPLATE_VARS).issues == []
    assert kinds(parse_template("{{ args.id }}", TEMPLATE_VARS)) == [("unknown", "args")]
    assert parse_template("{{ args.id }}", ARGS_TEMPLATE_VARS).issues == []
    assert [i.kind for i in parse_template("Hi {{ name", TEMPLATE_VARS).issues] == ["syntax"]


@pytest.mark.parametrize(
    "deep", ["[" * 200 + "1" + "]" * 200, "(" * 500 + "1" + ")" * 500, "a" + "-eyJ" * 2_500]
)
def test_deeply_nested_brackets_are_a_syntax_issue_not_a_recursion_error(deep: str) -> None:
    """Found by the fuzz test: jinja's parser recurses per bracket and its tree walks per level
    (RecursionError: an internal error, exit 70)."""
    for parsed in (parse_expression(deep), parse_template("{{ " + deep + " }}", TEMPLATE_VARS)):
        assert [(i.kind, i.message) for i in parsed.issues] == [
            ("syntax", "expression nested too deeply")
        ]


def test_a_number_too_long_for_int_is_a_syntax_issue() -> None:
    """Found by the fuzz test: jinja's lexer calls int() on 5,000 digits (ValueError, exit 70)."""
    parsed = parse_template("{{ " + "9" * 5_000 + " }}", TEMPLATE_VARS)
    assert [(i.kind, i.message) for i in parsed.issues] == [("syntax", "number literal too long")]
