"""Channel formatting: a reply text made ready for a ChannelProfile, as a pure library.

:func:`format_reply` keeps markdown or turns it into plain text, writes buttons as a numbered
list where the channel has none, adds an email's greeting and signature, and splits or
truncates to the profile's ``maxMessageLength`` at paragraph, sentence or word boundaries,
never inside a word, a URL or a grapheme. For SMS it counts GSM-7 septets or UCS-2 units and
segments. No delivery, no state: the caller sends the parts.

"Joining gives the text back" means: :meth:`Formatted.text` (each part followed by the
whitespace dropped after it, ``Formatted.breaks``) equals the normalised reply exactly, the
one :func:`format_reply` returns as its single part when the profile has no length limit.
"""

from runtime.channels.format import Formatted, format_reply, normalise
from runtime.channels.sms import SmsEncoding, sms_encoding, sms_segments

__all__ = [
    "Formatted",
    "SmsEncoding",
    "format_reply",
    "normalise",
    "sms_encoding",
    "sms_segments",
]
