"""TLS for the MLLP listener: the server context, certificate fingerprints and the plaintext guard.

A device is identified by the SHA-256 fingerprint of its client certificate (lowercase hex of the DER
bytes, no colons), the same value ``openssl x509 -fingerprint -sha256`` prints without its colons.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import ssl
from pathlib import Path

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


class ListenerConfigError(ValueError):
    """The listener's options cannot be used as given (the message says which and why)."""


def server_context(cert: Path, key: Path, client_ca: Path | None = None) -> ssl.SSLContext:
    """TLS 1.2+ server context; with ``client_ca`` a client certificate signed by it is required."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(cert), str(key))
        if client_ca is not None:
            ctx.load_verify_locations(cafile=str(client_ca))
    except (OSError, ssl.SSLError) as exc:
        raise ListenerConfigError(f"cannot load TLS certificate, key or client CA ({type(exc).__name__})") from None
    ctx.verify_mode = ssl.CERT_REQUIRED if client_ca is not None else ssl.CERT_NONE
    return ctx


def fingerprint_der(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def normalise_fingerprint(value: str) -> str:
    """``AB:CD:…`` or ``abcd…`` (SHA-256, 64 hex digits) → lowercase hex without separators."""
    fp = value.strip().lower().replace(":", "").replace(" ", "")
    if fp.startswith("sha256:"):
        fp = fp[len("sha256:"):]
    if not _HEX64.match(fp):
        raise ValueError("not a SHA-256 certificate fingerprint (64 hex digits)")
    return fp


def certificate_identity(cert_pem_or_fingerprint: str | bytes) -> tuple[str, str]:
    """(fingerprint, subject) of a PEM certificate, or (fingerprint, '') of a fingerprint given as text."""
    text = cert_pem_or_fingerprint.decode() if isinstance(cert_pem_or_fingerprint, bytes) \
        else cert_pem_or_fingerprint
    if "-----BEGIN CERTIFICATE-----" not in text:
        return normalise_fingerprint(text), ""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = x509.load_pem_x509_certificate(text.encode())
    return fingerprint_der(cert.public_bytes(Encoding.DER)), cert.subject.rfc4514_string()


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(host: str, tls: bool, allow_plaintext: bool) -> None:
    """Plaintext MLLP carries health data in clear: only on loopback unless explicitly allowed."""
    if not tls and not allow_plaintext and not is_loopback(host):
        raise ListenerConfigError(
            f"refusing to listen without TLS on non-loopback address {host!r}: give --tls-cert and "
            "--tls-key, or --allow-plaintext if the network path is protected otherwise")
