"""QR links as capabilities (the TradeTrust approach): the QR code printed on a certificate carries
`<public URL>/portal/q/<token>#<key>`. The token is random (128 bits) and names a stored ciphertext; the key
(256 bits, AES-GCM) is in the URL fragment, which browsers never send to a server. At the link's making the
service encrypts the issuer's wrapped document under a fresh key, keeps only token → (nonce, ciphertext)
and hands the key out once, inside the link. Whoever holds the printed link can decrypt (in the browser, with
WebCrypto) and verify by presenting the document; whoever holds only the token or a hash gets nothing
readable. The issuer can revoke a link: its page then shows the document's status only.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from certnet import CertnetError
from certnet.api.models import QrLink
from certnet.issuer.outbox import ANCHORED, Document, utcnow

TOKEN_BYTES = 16
KEY_BYTES = 32
NONCE_BYTES = 12
#: what the portal's page tells WebCrypto: AES-GCM with a 128-bit tag, the token's ASCII bytes as associated data
ALGORITHM = "AES-256-GCM"


class LinkError(CertnetError, ValueError):
    """A link cannot be made for this document (not anchored yet)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def link_url(base_url: str, token: str, key: bytes) -> str:
    return f"{base_url.rstrip('/')}/portal/q/{token}#{b64url(key)}"


def encrypt(token: str, key: bytes, wrapped: dict[str, Any]) -> tuple[bytes, bytes]:
    """(nonce, ciphertext) of the wrapped document's JSON, bound to the token."""
    nonce = os.urandom(NONCE_BYTES)
    plaintext = json.dumps(wrapped, separators=(",", ":"), ensure_ascii=False).encode()
    return nonce, AESGCM(key).encrypt(nonce, plaintext, token.encode())


def decrypt(token: str, key: bytes, nonce: bytes, ciphertext: bytes) -> dict[str, Any]:
    """The document back (what the portal's page does in the browser; for tests and tools)."""
    return json.loads(AESGCM(key).decrypt(nonce, ciphertext, token.encode()))


def create_link(sessions: Any, document: Document, base_url: str) -> tuple[QrLink, str]:
    """A new link for an anchored outbox document: (its stored record, the full URL with the key — shown once)."""
    if document.state != ANCHORED or not document.wrapped or not document.target_hash:
        raise LinkError(
            f"document {document.id} is not anchored yet (state {document.state}): a QR link opens an "
            "issued certificate"
        )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    key = AESGCM.generate_key(bit_length=8 * KEY_BYTES)
    nonce, ciphertext = encrypt(token, key, document.wrapped)
    with sessions.begin() as s:
        link = QrLink(
            token=token,
            target_hash=document.target_hash,
            document_id=document.id,
            issuer=document.issuer,
            nonce=nonce,
            ciphertext=ciphertext,
        )
        s.add(link)
        s.flush()
        s.expunge(link)
    return link, link_url(base_url, token, key)


def find_link(sessions: Any, token: str) -> QrLink | None:
    if not token or len(token) > 64:
        return None
    with sessions() as s:
        return s.scalar(select(QrLink).where(QrLink.token == token))


def links_of(sessions: Any, document_id: int) -> list[QrLink]:
    with sessions() as s:
        return list(s.scalars(select(QrLink).where(QrLink.document_id == document_id).order_by(QrLink.id)))


def revoke_link(sessions: Any, document_id: int, link_id: int) -> QrLink | None:
    """Revoke one link of a document (idempotent); None when the document has no such link."""
    with sessions.begin() as s:
        link = s.get(QrLink, link_id)
        if link is None or link.document_id != document_id:
            return None
        if link.revoked_at is None:
            link.revoked_at = utcnow()
            link.ciphertext = b""  # nothing left to decrypt, even with the key
        s.flush()
        s.expunge(link)
    return link


def public_base(service: Any, request: Any) -> str:
    """The public base URL links are built from: the configured one (`--public-url`), else the address this process
    listens on — never the request's Host header, which the client chooses."""
    configured = getattr(service.settings, "public_base_url", None)
    if configured:
        return str(configured).rstrip("/")
    host, port = (request.scope.get("server") or ("127.0.0.1", 80))[:2]
    return f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"
