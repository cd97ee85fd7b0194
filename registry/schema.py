"""The registry's tables (SQLAlchemy 2). Migrations in registry/migrations create exactly these.

Versions are immutable: nothing updates a model_version or version_file row after it is inserted. Aliases
move, and every move appends an alias_event in the same transaction. `model.latest_version` is the counter
that hands out version numbers: publishing increments it with a row lock, so two publishers never get the
same number, on SQLite or on PostgreSQL.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Integer, MetaData, String,
                        Text, TypeDecorator, UniqueConstraint, event)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
VERSION_STATUSES = ("ready",)
RUN_STATUSES = ("succeeded", "failed")
VERDICTS = ("reproduced", "not_reproduced", "inconclusive")


def one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL text of a CHECK that column holds one of values."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware in UTC (SQLite keeps no zone; PostgreSQL answers
    in the session's time zone, which is the server's or the database's setting, not necessarily UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the registry stores timezone-aware UTC times")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Blob(Base):
    __tablename__ = "blob"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)


class Model(Base):
    __tablename__ = "model"
    __table_args__ = (UniqueConstraint("namespace", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    task: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    license: Mapped[str] = mapped_column(String(128), default="")
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list[ModelVersion]] = relationship(back_populates="model", order_by="ModelVersion.version")

    @property
    def full_name(self) -> str:
        return f"{self.namespace}/{self.name}"


class ModelVersion(Base):
    __tablename__ = "model_version"
    __table_args__ = (UniqueConstraint("model_id", "version"),
                      CheckConstraint(one_of("status", VERSION_STATUSES), name="status"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    manifest_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    config_json: Mapped[str] = mapped_column(Text)
    card_md: Mapped[Optional[str]] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="ready")
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    model: Mapped[Model] = relationship(back_populates="versions")
    files: Mapped[list[VersionFile]] = relationship(order_by="VersionFile.path")


class VersionFile(Base):
    __tablename__ = "version_file"
    version_id: Mapped[int] = mapped_column(ForeignKey("model_version.id"), primary_key=True)
    path: Mapped[str] = mapped_column(String(512), primary_key=True)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"), index=True)

    blob: Mapped[Blob] = relationship()


class Alias(Base):
    __tablename__ = "alias"
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_version.id"))

    version: Mapped[ModelVersion] = relationship()


class AliasEvent(Base):
    """Append-only: one row per move of an alias, written in the transaction that moves it."""

    __tablename__ = "alias_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id"), index=True)
    alias: Mapped[str] = mapped_column(String(64))
    from_version_id: Mapped[Optional[int]] = mapped_column(ForeignKey("model_version.id"))
    to_version_id: Mapped[int] = mapped_column(ForeignKey("model_version.id"))
    actor: Mapped[str] = mapped_column(String(128), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    from_version: Mapped[Optional[ModelVersion]] = relationship(foreign_keys=[from_version_id])
    to_version: Mapped[ModelVersion] = relationship(foreign_keys=[to_version_id])


class Paper(Base):
    __tablename__ = "paper"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    arxiv_id: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text, default="")


class Benchmark(Base):
    """A metric on a dataset split, identified by (task, dataset, split, metric); dataset_sha256 pins the data."""

    __tablename__ = "benchmark"
    __table_args__ = (UniqueConstraint("task", "dataset", "split", "metric"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(String(64))
    dataset: Mapped[str] = mapped_column(String(128))
    dataset_sha256: Mapped[str] = mapped_column(String(64), default="")
    split: Mapped[str] = mapped_column(String(64), default="")
    metric: Mapped[str] = mapped_column(String(64))
    higher_is_better: Mapped[bool] = mapped_column(Boolean)


class Claim(Base):
    """A number someone states for a model on a benchmark: a paper's table, or a reference run on our data."""

    __tablename__ = "claim"
    __table_args__ = (UniqueConstraint("model_id", "benchmark_id", "source"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[Optional[int]] = mapped_column(ForeignKey("paper.id"))
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("benchmark.id"), index=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id"), index=True)
    value: Mapped[float] = mapped_column(Float)
    location: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(256))
    runnable: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str] = mapped_column(Text, default="")

    paper: Mapped[Optional[Paper]] = relationship()
    benchmark: Mapped[Benchmark] = relationship()
    model: Mapped[Model] = relationship()


class EvalRun(Base):
    __tablename__ = "eval_run"
    __table_args__ = (CheckConstraint(one_of("status", RUN_STATUSES), name="status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_version.id"), index=True)
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("benchmark.id"), index=True)
    value: Mapped[Optional[float]] = mapped_column(Float)
    eval_code_ref: Mapped[str] = mapped_column(Text, default="")
    data_sha256: Mapped[str] = mapped_column(String(64), default="")
    preprocess_json: Mapped[str] = mapped_column(Text, default="{}")
    env_json: Mapped[str] = mapped_column(Text, default="{}")
    seed: Mapped[Optional[int]] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    log: Mapped[str] = mapped_column(Text, default="")

    version: Mapped[ModelVersion] = relationship()
    benchmark: Mapped[Benchmark] = relationship()


class Reproduction(Base):
    """A verdict: |measured - claimed| <= abs_tol + rel_tol * |claimed| for one claim and one eval run."""

    __tablename__ = "reproduction"
    __table_args__ = (CheckConstraint(one_of("verdict", VERDICTS), name="verdict"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"), index=True)
    eval_run_id: Mapped[int] = mapped_column(ForeignKey("eval_run.id"), index=True)
    abs_tol: Mapped[float] = mapped_column(Float)
    rel_tol: Mapped[float] = mapped_column(Float)
    delta: Mapped[Optional[float]] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    claim: Mapped[Claim] = relationship()
    eval_run: Mapped[EvalRun] = relationship()


class ApiToken(Base):
    """A bearer token of `zoohub serve`: only its sha256 is kept; revoked tokens stay, for the record."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)


def _refuse_change(mapper, connection, target) -> None:
    raise ValueError(f"{target.__tablename__} rows are immutable once written: publish a new version (or promote, "
                     f"which appends an event) instead of changing this one")


for _immutable in (ModelVersion, VersionFile, AliasEvent):
    event.listen(_immutable, "before_update", _refuse_change)
    event.listen(_immutable, "before_delete", _refuse_change)
