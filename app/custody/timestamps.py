"""RFC 3161 timestamps over checkpoint notes: pure functions, no database, no network.

- ``build_request``: a TimeStampReq for SHA-256 of the note, with a nonce and certReq;
- ``accept_response``: checks a TSA's answer to that request (granted, our nonce, our
  hash) and returns the stored parts: the DER TimeStampResp and the TSA's chain as PEM;
- ``verify``: the offline check used by ``archive audit``, the dashboard and the bag
  verifier (app/evidence/proofs_check.py): the token is for this note, its signature is
  intact, and its signer leads to a trusted root. Reasons are plain sentences.

The stored token is the whole TimeStampResp, so ``openssl ts -verify -data note.txt
-in checkpoint.tsr -CAfile chain.pem`` checks it by hand.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

OTHER_DATA = "token is for other data"
UNTRUSTED = "untrusted TSA"
BAD_SIGNATURE = "token signature invalid"
NOT_A_TOKEN = "not an RFC 3161 timestamp response"


class TsaAnswerError(Exception):
    """A TSA's answer that cannot be stored (garbage, refused, for another request)."""


@dataclass(frozen=True)
class Request:
    der: bytes
    nonce: int


@dataclass(frozen=True)
class Stamp:
    token: bytes  # DER TimeStampResp
    chain_pem: str
    gen_time: datetime


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str  # "" when ok
    gen_time: datetime | None = None


def digest(note: str | bytes) -> bytes:
    data = note.encode("utf-8") if isinstance(note, str) else note
    return hashlib.sha256(data).digest()


def build_request(note: str | bytes) -> Request:
    data = note.encode("utf-8") if isinstance(note, str) else note
    req = TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256)
    built = req.nonce(nonce=True).cert_request(cert_request=True).build()
    if built.nonce is None:  # pragma: no cover - the builder always sets one when asked
        raise RuntimeError("the timestamp request has no nonce")
    return Request(built.as_bytes(), built.nonce)


def _decode(data: bytes) -> TimeStampResponse:
    try:
        return decode_timestamp_response(data)
    except Exception as exc:  # noqa: BLE001 - the Rust decoder raises several kinds
        raise TsaAnswerError(f"{NOT_A_TOKEN} ({type(exc).__name__})") from None


def _certs(resp: TimeStampResponse) -> list[x509.Certificate]:
    return [x509.load_der_x509_certificate(c) for c in resp.signed_data.certificates]


def certs_pem(certs: list[x509.Certificate]) -> str:
    return "".join(c.public_bytes(Encoding.PEM).decode("ascii") for c in certs)


def load_pem(pem: str | bytes) -> list[x509.Certificate]:
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    if not data.strip():
        return []
    return list(x509.load_pem_x509_certificates(data))


def accept_response(data: bytes, request: Request, note: str | bytes) -> Stamp:
    """The parts to store, or TsaAnswerError saying why this answer is no use."""
    resp = _decode(data)
    if resp.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        text = "; ".join(resp.status_string) or f"status {resp.status}"
        raise TsaAnswerError(f"the TSA refused the request: {text}")
    info = resp.tst_info
    if info.nonce != request.nonce:
        raise TsaAnswerError("the answer is for another request (nonce differs)")
    if info.message_imprint.message != digest(note):
        raise TsaAnswerError(OTHER_DATA)
    certs = _certs(resp)
    if not certs:
        raise TsaAnswerError("the answer carries no TSA certificate (certReq was asked)")
    return Stamp(data, certs_pem(certs), info.gen_time)


def _library_check(resp: TimeStampResponse, note: bytes, roots: list[x509.Certificate]) -> str:
    """ "" if rfc3161-client accepts the token (signature, chain, EKU, imprint), else why not."""
    builder = VerifierBuilder()
    for root in roots:
        builder = builder.add_root_certificate(root)
    try:
        builder.build().verify_message(resp, note)
    except (VerificationError, ValueError) as exc:
        return str(exc) or type(exc).__name__
    return ""


def _leads_to(
    signer: x509.Certificate, pool: list[x509.Certificate], roots: list[x509.Certificate]
) -> bool:
    """Whether the signer's certificate chains (by signature, through ``pool``) to a root."""
    cert = signer
    for _ in range(8):
        for root in roots:
            if cert == root or _issued_by(cert, root):
                return True
        parent = next((c for c in pool if c != cert and _issued_by(cert, c)), None)
        if parent is None:
            return False
        cert = parent
    return False


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception:  # noqa: BLE001 - wrong name, wrong key or wrong signature
        return False
    return True


def verify(
    token: bytes, note: str | bytes, chain_pem: str | bytes, trusted_pem: str | bytes | None
) -> Verdict:
    """Offline check of a stored token over a note.

    ``chain_pem``: the TSA's certificates as stored or bagged; ``trusted_pem``: the roots
    to trust (ARCHIVE_TSA_CA_FILE). Without it the self-signed certificates of the chain
    are the roots (the token is then only as good as the chain it came with).
    """
    data = note.encode("utf-8") if isinstance(note, str) else note
    try:
        resp = _decode(token)
        gen_time = resp.tst_info.gen_time
        imprint = resp.tst_info.message_imprint.message
        pool = list(dict.fromkeys([*_certs(resp), *load_pem(chain_pem)]))
        signer_ids = [(si.issuer, si.serial_number) for si in resp.signed_data.signer_infos]
        signers = [c for c in pool if (c.issuer, c.serial_number) in signer_ids]
        own_roots = [c for c in pool if c.issuer == c.subject and _issued_by(c, c)]
    except Exception as exc:  # noqa: BLE001 - a damaged token fails to parse in parts
        return Verdict(False, f"{BAD_SIGNATURE}: the token cannot be read ({exc})"[:300])
    if imprint != digest(data):
        return Verdict(False, OTHER_DATA, gen_time)
    if trusted_pem is None:
        roots = own_roots
    else:
        try:
            roots = load_pem(trusted_pem)
        except ValueError:
            roots = []
        if not roots:
            return Verdict(False, f"{UNTRUSTED}: the trusted CA file holds no certificate")
    if not roots:
        return Verdict(False, f"{UNTRUSTED}: no root certificate to check it against", gen_time)
    if len(signers) != 1:
        return Verdict(False, f"{BAD_SIGNATURE}: no certificate of its signer", gen_time)
    if not _leads_to(signers[0], pool, roots):
        return Verdict(
            False, f"{UNTRUSTED}: its certificate does not lead to a trusted CA", gen_time
        )
    error = _library_check(resp, data, roots)
    if error:
        return Verdict(False, BAD_SIGNATURE, gen_time)
    return Verdict(True, "", gen_time)
