"""GSM-7 / UCS-2 detection and segment counts for known strings."""

from __future__ import annotations

import pytest

from runtime.channels import sms_encoding, sms_segments
from runtime.channels.sms import sms_units


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 0),
        ("a", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),  # 2 × 153
        ("a" * 307, 3),
        ("€" * 80, 1),  # 80 × 2 septets = 160
        ("€" + "a" * 159, 2),  # 161 septets
        ("a" * 70 + "😀", 2),  # UCS-2: 72 units, 67 + 5
    ],
)
def test_segments(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


def test_extension_characters_count_two_septets() -> None:
    assert sms_encoding("[€]{}^~|\\") == "gsm-7"
    assert sms_units("€", "gsm-7") == 2
    assert sms_units("[", "gsm-7") == 2
    assert sms_units("a€[", "gsm-7") == 5


def test_one_emoji_forces_ucs2() -> None:
    assert sms_encoding("a" * 100) == "gsm-7"
    assert sms_encoding("a" * 100 + "😀") == "ucs-2"
    assert sms_units("😀", "ucs-2") == 2  # a surrogate pair
    assert sms_segments("a" * 70) == 1
    assert sms_segments("😀" + "a" * 68) == 1  # 70 units
    assert sms_segments("😀" + "a" * 69) == 2  # 71 units


def test_ucs2_segments_of_67_never_split_a_surrogate_pair() -> None:
    # 66 units then an emoji (2 units) does not fit the first 67-unit segment: 3 segments,
    # not 2 as a plain count of 66 + 2 + 66 + 2 = 136 units / 67 would say.
    text = ("a" * 66 + "😀") * 2
    assert sms_units(text, "ucs-2") == 136
    assert sms_segments(text) == 3


def test_gsm_segments_never_split_an_escape_pair() -> None:
    text = "a" * 152 + "€" + "a" * 10  # 164 septets; the € would straddle septets 153 and 154
    assert sms_segments(text) == 2
    assert sms_segments("a" * 152 + "€" * 77) == 3  # 152 + 154: the 2nd segment holds 76 €


def test_non_gsm_latin_letters_are_ucs2() -> None:
    assert sms_encoding("Ça va") == "gsm-7"  # Ç is in the default alphabet
    assert sms_encoding("ça va") == "ucs-2"  # ç is not
    assert sms_encoding("\x1b") == "ucs-2"  # the escape septet is not a character


def test_units_refuse_a_character_gsm7_cannot_carry() -> None:
    with pytest.raises(ValueError, match="no GSM-7"):
        sms_units("😀", "gsm-7")
