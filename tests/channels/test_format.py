"""format_reply against the built-in channel profiles, one rule at a time."""

from __future__ import annotations

import runtime.channels
from runtime.channels import Formatted, format_reply, normalise

from .profiles import profile


def test_public_names() -> None:
    assert sorted(runtime.channels.__all__) == [
        "Formatted",
        "SmsEncoding",
        "format_reply",
        "normalise",
        "sms_encoding",
        "sms_segments",
    ]


def test_markdown_kept_where_the_channel_shows_it() -> None:
    reply = format_reply("**Hi** [docs](https://x.example)", profile("whatsapp"))
    assert reply.parts == ("**Hi** [docs](https://x.example)",)
    assert reply.encoding is None and reply.segments is None


def test_markdown_made_plain_where_it_does_not() -> None:
    reply = format_reply(
        "# Order\n\n**Shipped**: see [tracking](https://t.example/1)", profile("api")
    )
    assert reply.parts == ("Order\n\nShipped: see tracking (https://t.example/1)",)


def test_no_limit_gives_one_part() -> None:
    reply = format_reply("word " * 5000, profile("api"))
    assert len(reply.parts) == 1 and not reply.truncated


def test_split_to_the_limit() -> None:
    reply = format_reply("One. Two three. Four five six.", profile("webchat", maxMessageLength=16))
    assert reply.parts == ("One. Two three.", "Four five six.")
    assert reply.breaks == (" ",)
    assert reply.text() == "One. Two three. Four five six."


def test_truncate_with_an_ellipsis_that_counts() -> None:
    reply = format_reply("One. Two three. Four five six.", profile("voice", maxMessageLength=16))
    assert reply.parts == ("One. Two three.…",)
    assert reply.truncated and len(reply.parts[0]) == 16


def test_sms_truncation_keeps_gsm7_with_three_dots() -> None:
    reply = format_reply("word " * 50, profile("sms", split="truncate"))
    assert reply.parts[0].endswith("word...")
    assert reply.encoding == "gsm-7" and reply.segments == 1
    assert len(reply.parts[0]) <= 160


def test_sms_truncation_of_ucs2_text_uses_the_ellipsis() -> None:
    reply = format_reply("hé 😀 " * 50, profile("sms", split="truncate"))
    assert reply.parts[0].endswith("…") and reply.encoding == "ucs-2"


def test_sms_split_in_septets() -> None:
    reply = format_reply("a" * 160, profile("sms"))
    assert (reply.parts, reply.encoding, reply.segments) == (("a" * 160,), "gsm-7", 1)
    reply = format_reply("a" * 161, profile("sms"))
    assert reply.parts == ("a" * 160, "a") and reply.segments == 2
    reply = format_reply("€" * 81, profile("sms"))  # 162 septets
    assert reply.parts == ("€" * 80, "€")


def test_sms_segments_of_one_long_part() -> None:
    reply = format_reply("a" * 161, profile("sms", maxMessageLength=1000))
    assert reply.parts == ("a" * 161,) and reply.segments == 2


def test_sms_one_emoji_makes_ucs2_units() -> None:
    text = "😀" + " a" * 40  # 2 + 80 UTF-16 units
    reply = format_reply(text, profile("sms", maxMessageLength=70))
    assert reply.encoding == "ucs-2"
    assert [len(p.encode("utf-16-le")) // 2 for p in reply.parts] == [70, 11]
    assert reply.segments == 2


def test_sms_segments_count_each_part_in_its_own_encoding() -> None:
    text = "a " * 60 + "😀"  # the first part has no emoji
    reply = format_reply(text, profile("sms", maxMessageLength=100))
    assert reply.encoding == "ucs-2" and len(reply.parts) == 2
    assert reply.segments == 2


def test_sms_gsm_part_of_a_ucs2_reply_fits_in_septets() -> None:
    reply = format_reply("€" * 100 + " 😀", profile("sms"))  # € is 1 UCS-2 unit, 2 septets
    assert reply.encoding == "ucs-2"
    assert reply.parts == ("€" * 80, "€" * 20 + " 😀")
    assert reply.segments == 2


def test_email_greeting_and_signature_as_text() -> None:
    email = profile("email", greeting="Hi {{ not a template }},", signature="-- \nAnn *at* Clinic")
    reply = format_reply("Your appointment is **confirmed**.", email)
    assert reply.parts == (
        "Hi {{ not a template }},\n\nYour appointment is **confirmed**.\n\n--\nAnn *at* Clinic",
    )


def test_greeting_only_for_email_a_signature_wherever_set() -> None:
    reply = format_reply("hello", profile("webchat", greeting="Dear customer"))
    assert reply.parts == ("hello",)
    reply = format_reply("hello", profile("sms", greeting="Dear customer", signature="- Acme"))
    assert reply.parts == ("hello\n\n- Acme",)


def test_native_buttons_are_returned_apart() -> None:
    reply = format_reply("Confirm?", profile("whatsapp"), buttons=["Yes", "No"])
    assert reply.parts == ("Confirm?",) and reply.buttons == ("Yes", "No")


def test_buttons_written_as_a_numbered_list_before_splitting() -> None:
    reply = format_reply("Confirm?", profile("sms"), buttons=["Yes", "No"])
    assert reply.parts == ("Confirm?\n\n1. Yes\n2. No",) and reply.buttons == ()
    reply = format_reply("Confirm the order?", profile("sms", maxMessageLength=18), buttons=["Yes"])
    assert reply.parts == ("Confirm the order?", "1. Yes") and reply.breaks == ("\n\n",)


def test_empty_text() -> None:
    assert format_reply("  \n ", profile("sms")) == Formatted((), encoding="gsm-7", segments=0)


def test_normalise() -> None:
    assert normalise("  a  \r\nb\r\rc\n\n\n\nd\t\n") == "a\nb\n\nc\n\nd"
    assert normalise("\u00a0a") == "\u00a0a"  # a no-break space is text
