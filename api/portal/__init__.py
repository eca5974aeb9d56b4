"""The web portal, served by the API process under /portal: verify a document (file, paste or QR link),
a certificate page (the Form D as on paper, a QR code, the history timeline, a print layout), the issuer
page (batches, documents, revocation) and the auditor page (search and NDJSON export)."""

from certnet.api.portal.routes import router

__all__ = ["router"]
