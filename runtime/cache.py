"""The local cache of the last good snapshot per tenant, for booting while the source is down."""

from __future__ import annotations

from pathlib import Path

from runtime.fsutil import write_atomic
from runtime.layout import Pointer


class LocalCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, tenant: str, env: str) -> Path:
        return self.root / tenant / env

    def save(self, pointer: Pointer, raw: bytes) -> None:
        d = self._dir(pointer.tenant, pointer.env)
        d.mkdir(parents=True, exist_ok=True)
        write_atomic(d / "snapshot.json", raw)
        write_atomic(d / "pointer.json", pointer.to_json())

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
