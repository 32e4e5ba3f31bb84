"""Markdown turned into plain text, one rule at a time."""

from __future__ import annotations

import pytest

from runtime.channels.plain import to_plain


@pytest.mark.parametrize(
    ("markdown", "plain"),
    [
        ("*a* **b** _c_ __d__ ***e***", "a b c d e"),
        ("[docs](https://x.example/a_b)", "docs (https://x.example/a_b)"),
        ("[https://x.example](https://x.example)", "https://x.example"),
        ("<https://x.example/ä>", "https://x.example/ä"),  # as written: no punycode, no %-escapes
        ("<ann@x.example>", "ann@x.example"),
        ("![a cat](cat.png)", "a cat (cat.png)"),
        ("# Title\n\nBody", "Title\n\nBody"),
        ("Title\n=====", "Title"),
        ("* a\n* b", "- a\n- b"),
        ("+ a\n\n+ b", "- a\n- b"),  # a loose list comes out tight
        ("1. a\n1. b", "1. a\n2. b"),
        ("3) a\n4) b", "3. a\n4. b"),
        ("- a\n  - b\n- c", "- a\n- b\n- c"),  # nesting comes out flat
        ("10. a\n    - b", "10. a\n- b"),
        ("- a\n  continued", "- a\ncontinued"),
        ("Use `a*b*c` now", "Use a*b*c now"),
        ("```python\nx = *1*\n```", "x = *1*"),
        ("    indented code", "indented code"),
        ("> quoted *text*", "quoted text"),
        ("a\n\n---\n\nb", "a\n\nb"),
        ("line one\nline two", "line one\nline two"),
        ("hard  \nbreak", "hard\nbreak"),
        ("\\*not emphasis\\*", "*not emphasis*"),
        ("a <b>raw</b> html", "a <b>raw</b> html"),
        ("Intro:\n\n- a\n- b\n\nOutro", "Intro:\n- a\n- b\n\nOutro"),
        ("- a\n-\n- b", "- a\n- b"),  # an empty item shows nothing
        ("-", "-"),  # unless the list has nothing else
        ("x\n\n1.", "x\n\n1."),
        ("", ""),
    ],
)
def test_to_plain(markdown: str, plain: str) -> None:
    assert to_plain(markdown) == plain


@pytest.mark.parametrize(
    "plain",
    [
        "Intro:\n- a\n- b\n\nOutro",
        "b\n- c",
        "-",
        "1.",
        "x\n\n-\n-",
        "3. a\n4. b",
        "see docs (https://x.example/a_b)",
    ],
)
def test_plain_output_parses_back_to_itself(plain: str) -> None:
    assert to_plain(plain) == plain
