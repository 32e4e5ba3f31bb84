"""Where a text is cut: paragraph, then sentence, then whitespace; inside a word only if it is
longer than the limit, and then between grapheme clusters."""

from __future__ import annotations

from runtime.channels.split import Cut, split, truncate


def one(char: str) -> int:
    return 1


def rejoin(cut: Cut) -> str:
    text = cut.parts[0]
    for gap, part in zip(cut.breaks, cut.parts[1:], strict=True):
        text += gap + part
    return text


def test_text_within_the_limit_is_one_part() -> None:
    assert split("short text", 20, one) == Cut(("short text",), ())
    assert split("", 20, one) == Cut((), ())


def test_paragraph_break_beats_a_later_sentence_end() -> None:
    text = "First paragraph here.\n\nSecond one. It goes on and on."
    cut = split(text, 40, one)
    assert cut.parts == ("First paragraph here.", "Second one. It goes on and on.")
    assert cut.breaks == ("\n\n",)


def test_sentence_end_beats_a_later_space() -> None:
    text = "One sentence here. Another sentence that is long"
    cut = split(text, 30, one)
    assert cut.parts[0] == "One sentence here."


def test_sentence_end_after_a_closing_quote() -> None:
    cut = split('He said "stop." Then the rest went on', 24, one)
    assert cut.parts[0] == 'He said "stop."'


def test_a_boundary_in_the_first_half_gives_way_to_a_later_one() -> None:
    text = "Hi.\n\nthen many words follow here without any"
    cut = split(text, 30, one)
    assert cut.parts[0] == "Hi.\n\nthen many words follow"  # not a 3-character part


def test_never_cuts_inside_a_word_or_url() -> None:
    url = "https://example.com/a/long/path"  # 31 characters
    cut = split(f"see {url} now", 31, one)
    assert cut.parts == ("see", url, "now")


def test_only_a_word_longer_than_the_limit_is_hard_split() -> None:
    url = "https://example.com/" + "x" * 30  # 50 characters
    cut = split(f"go {url} now", 20, one)
    assert cut.parts == ("go", url[:20], url[20:40], url[40:] + " now")
    assert cut.breaks == (" ", "", "")
    assert rejoin(cut) == f"go {url} now"


def test_hard_split_keeps_emoji_sequences_and_accents_whole() -> None:
    family = "👨‍👩‍👧‍👦"  # 7 code points, one grapheme
    accented = "e\u0301"  # e + combining acute
    word = (family + accented) * 4
    cut = split(word, 10, one)
    assert rejoin(cut) == word
    for part in cut.parts:
        assert len(part) <= 10
        assert part.startswith((family, accented))


def test_no_break_space_is_not_a_cut_point() -> None:
    cut = split("10\u00a0km away from here", 9, one)
    assert cut.parts[0] == "10\u00a0km"


def test_list_marker_stays_with_its_first_word() -> None:
    assert split("- first item is here", 12, one).parts[0] == "- first item"
    assert split("x\n- abcdefghijk", 12, one).parts == ("x", "- abcdefghij", "k")
    # a hard cut that would end a part on the marker's space drops the space instead
    cut = split("- " + "👨‍👩‍👧‍👦" * 2, 8, one)
    assert cut.parts == ("-", "👨‍👩‍👧‍👦", "👨‍👩‍👧‍👦") and cut.breaks == (" ", "")


def test_costs_are_per_character() -> None:
    cut = split("€€€ aaa", 6, lambda c: 2 if c == "€" else 1)
    assert cut.parts == ("€€€", "aaa")


def test_truncate_cuts_at_a_boundary_and_counts_the_ellipsis() -> None:
    cut = truncate("Hello there, how are you today?", 17, one, "…")
    assert cut == Cut(("Hello there, how…",), (), truncated=True)
    assert len(cut.parts[0]) == 17
    cut = truncate("Hello there, how are you today?", 16, one, "…")
    assert cut.parts == ("Hello there,…",)


def test_truncate_leaves_a_fitting_text_alone() -> None:
    assert truncate("Hello", 5, one, "…") == Cut(("Hello",), ())


def test_truncate_hard_splits_a_single_long_word() -> None:
    cut = truncate("x" * 20, 10, one, "...")
    assert cut.parts == ("x" * 7 + "...",)
