"""The service's own tables: API keys (hashed), the customs inbox, notification subscriptions and deliveries,
the notices every process relays to its server-sent event listeners, and QR capability links."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

if TYPE_CHECKING:
    from sqlalchemy import Table

from certnet.issuer.outbox import utcnow

ROLES = ("issuer", "customs", "auditor", "admin")


class ApiBase(DeclarativeBase):
    if TYPE_CHECKING:
        __table__: ClassVar[Table]  # every model here maps a Table (SQLAlchemy types it as a FromClause)


class ApiKey(ApiBase):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown in listings; the key itself is never stored
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2))
    issuer_account: Mapped[str | None] = mapped_column(String(42))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ReceivedDocument(ApiBase):
    """A document an importing customs registered as received (verified on arrival, kept, watched)."""

    __tablename__ = "customs_inbox"
    __table_args__ = (
        UniqueConstraint("customs_country", "target_hash", name="uq_inbox_document"),
        Index("ix_inbox_reference", "customs_country", "issuing_country", "reference_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customs_country: Mapped[str] = mapped_column(String(2))
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    issuing_country: Mapped[str | None] = mapped_column(String(2))
    reference_number: Mapped[str | None] = mapped_column(String(128))
    target_hash: Mapped[str] = mapped_column(String(64), index=True)
    merkle_root: Mapped[str] = mapped_column(String(64), index=True)
    document: Mapped[dict] = mapped_column(JSON)
    nsw_reference: Mapped[str | None] = mapped_column(String(128))
    status_on_arrival: Mapped[str] = mapped_column(String(24))
    last_status: Mapped[str] = mapped_column(String(24))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    checked_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Subscription(ApiBase):
    """A customs system's webhook: told when a document it received or verified is revoked or superseded."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    country: Mapped[str] = mapped_column(String(2))
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Watch(ApiBase):
    """A document hash a customs country cares about (received or verified through the API)."""

    __tablename__ = "watches"
    __table_args__ = (UniqueConstraint("country", "hash", name="uq_watch"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    country: Mapped[str] = mapped_column(String(2))
    hash: Mapped[str] = mapped_column(String(64), index=True)  # targetHash
    root: Mapped[str] = mapped_column(String(64), index=True)
    store: Mapped[str] = mapped_column(String(42))  # the document store the document names (checksummed)
    reference_number: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Delivery(ApiBase):
    """One notification to one subscription: retried with backoff, then kept as a dead letter."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("subscription_id", "event_key", name="uq_delivery"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    event_key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12), index=True)  # PENDING, DELIVERED, DEAD
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ServiceState(ApiBase):
    """Small durable values of the service's workers (e.g. the notifier's last processed block)."""

    __tablename__ = "service_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class Notice(ApiBase):
    """A revocation or supersession notice for one customs country, written once by the notifier (the process
    with the background workers) and read by every process of the service, each from its own cursor on `id`,
    for its server-sent event listeners."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_key: Mapped[str] = mapped_column(String(200), unique=True)  # the chain event and the watch: once only
    country: Mapped[str] = mapped_column(String(2))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class QrLink(ApiBase):
    """A QR capability link printed on a certificate: `<public URL>/portal/q/<token>#<key>`. Only the token and
    the wrapped document encrypted under the key (AES-256-GCM, the token as associated data) are kept; the key
    lives in the link alone (a URL fragment never reaches the server)."""

    __tablename__ = "qr_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    target_hash: Mapped[str] = mapped_column(String(64), index=True)
    document_id: Mapped[int] = mapped_column(Integer, index=True)  # the issuer's outbox document
    issuer: Mapped[str] = mapped_column(String(42))
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
