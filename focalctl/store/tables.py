"""The store's tables (SQLModel). Changing them means adding a migration in migrations.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class SchemaVersion(SQLModel, table=True):
    __tablename__ = "focal_schema_version"
    id: int = Field(default=1, primary_key=True)
    version: int


class SnapshotRow(SQLModel, table=True):
    __tablename__ = "focal_snapshots"
    id: str = Field(primary_key=True, max_length=71)
    tenant: str = Field(index=True, max_length=63)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    compiler_version: str
    source_digest: str
    provenance: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime


class ReleaseRow(SQLModel, table=True):
    __tablename__ = "focal_releases"
    __table_args__ = (UniqueConstraint("tenant", "env", "version", name="uq_release_version"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(index=True, max_length=63)
    env: str = Field(max_length=63)
    version: int
    snapshot_id: str = Field(foreign_key="focal_snapshots.id", max_length=71)
    created_at: datetime
    author: str
    message: str = ""
    kind: str = Field(max_length=16)  # apply | rollback
    rollback_of: int | None = None
    # pending: stored, not yet confirmed published; published: live on the target.
    status: str = Field(default="published", max_length=16)
    # The bundle's git commit (short sha, "+dirty") and its author; None: not from a git work
    # tree, a rollback, or a release made before schema version 2.
    git_commit: str | None = Field(default=None, max_length=64)
    git_author: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class LockRow(SQLModel, table=True):
    __tablename__ = "focal_locks"
    tenant: str = Field(primary_key=True, max_length=63)
    env: str = Field(primary_key=True, max_length=63)
    lock_id: str = Field(index=True, max_length=36)
    holder: str
    acquired_at: datetime
    expires_at: datetime
