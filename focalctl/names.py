"""Names that become paths or keys: tenants, environments, lock ids.

A tenant or environment name is a directory of the file target
(``tenants/<tenant>/<env>/current.json``), part of a Redis key (``prefix:tenant:env:...``) and a
key in the store, so it is checked once, with the rule of ``metadata.name``, both where the CLI
reads it and where the library builds a path or a key: ``../x``, ``a:b``, ``""`` never get there.
"""

from __future__ import annotations

import re
import uuid

from runtime.spec import NAME_PATTERN

__all__ = ["NAME_PATTERN", "InvalidName", "check_lock_id", "check_name"]

_NAME = re.compile(NAME_PATTERN)


class InvalidName(ValueError):
    """A tenant, environment or lock id that may not become a path or a key."""


def check_name(what: str, value: str) -> str:
    """``value`` if it is a valid ``what`` (tenant, environment) name, else InvalidName."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidName(
            f"invalid {what} name {value!r}: use 1 to 63 characters, lowercase letters, digits "
            f"and '-', starting with a letter (the rule of metadata.name, {NAME_PATTERN})"
        )
    return value


def check_lock_id(value: str) -> str:
    """``value`` if it is a lock id as apply makes them (a UUID), else InvalidName."""
    try:
        if str(uuid.UUID(value)) == value.lower():
            return value.lower()
    except (ValueError, AttributeError, TypeError):
        pass
    raise InvalidName(
        f"invalid lock id {value!r}: a lock id is a UUID such as "
        "0f8fad5b-d9cb-469f-a165-70867728950e, as apply's error message names it"
    )
