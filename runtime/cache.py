"""The local cache of the last good snapshot per tenant, for booting while the source is down."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from runtime.layout import Pointer


class LocalCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, tenant: str, env: str) -> Path:
        return self.root / tenant / env

    def save(self, pointer: Pointer, raw: bytes) -> None:
        d = self._dir(pointer.tenant, pointer.env)
        d.mkdir(parents=True, exist_ok=True)
        _atomic(d / "snapshot.json", raw)
        _atomic(d / "pointer.json", pointer.to_json())

    def entries(self, env: str) -> list[tuple[Pointer, bytes]]:
        out: list[tuple[Pointer, bytes]] = []
        if not self.root.is_dir():
            return out
        for tenant_dir in sorted(self.root.iterdir()):
            d = tenant_dir / env
            try:
                pointer = Pointer.from_json((d / "pointer.json").read_bytes())
                out.append((pointer, (d / "snapshot.json").read_bytes()))
            except (OSError, ValueError):
                continue
        return out


def _atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
