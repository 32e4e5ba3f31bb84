"""The agenda: goals' follow-ups fired on time, once, through the first permitted channel.

A turn decides which goals it triggered or met (the brain); the turn service stores the
ScheduledActions; the :class:`Scheduler` fires them (:mod:`.ladder` walks the channel ladder,
:mod:`.permission` decides whether a channel may be used now; :mod:`.outbound` sends) and
applies delivery receipts to the messages it sent (a failed one walks the rest of the ladder).
"""

from runtime.agenda.ladder import Walk, walk
from runtime.agenda.outbound import (
    DeliveryError,
    Outbound,
    RecordingOutbound,
    Sent,
    WebhookOutbound,
)
from runtime.agenda.permission import Permission, QuietHours, check
from runtime.agenda.scheduler import Scheduler

__all__ = [
    "DeliveryError",
    "Outbound",
    "Permission",
    "QuietHours",
    "RecordingOutbound",
    "Scheduler",
    "Sent",
    "Walk",
    "WebhookOutbound",
    "check",
    "walk",
]
