"""HTTPS for the emulator: a throwaway self-signed certificate for loopback, made on the spot.

The real API is HTTPS only; serving the emulator over TLS lets a test exercise what only HTTPS has
(certificate verification, a proxy's CONNECT tunnel). The certificate is its own CA, valid for
``127.0.0.1``, ``::1`` and ``localhost`` for two days; clients trust it through the connection's ``verify``
extra (the path of the certificate file). ``cryptography`` is imported only when a certificate is made.
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: File names inside the certificate folder.
CERT_FILE = "emulator-ca.pem"
KEY_FILE = "emulator-key.pem"
#: The certificate's common name (it also names the issuer: the certificate is its own CA).
COMMON_NAME = "hadoop-eco-emulator (throwaway, loopback only)"
VALIDITY_DAYS = 2


@dataclass(frozen=True)
class TlsFiles:
    """A certificate and its private key on disk, in a folder of their own.

    :param folder: the folder holding both files (removed by :meth:`remove` when it was made for them).
    :param cert_path: the PEM certificate; being self-signed, it is also the CA bundle clients trust.
    :param key_path: the PEM private key (mode 0600).
    :param owned: whether :meth:`remove` deletes ``folder``.
    """

    folder: Path
    cert_path: Path
    key_path: Path
    owned: bool = True

    def server_context(self) -> ssl.SSLContext:
        """A server-side TLS context serving this certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert_path), str(self.key_path))
        return context

    def remove(self) -> None:
        """Delete the files (and the folder when it was made for them); idempotent."""
        if self.owned:
            shutil.rmtree(self.folder, ignore_errors=True)
        else:
            for path in (self.cert_path, self.key_path):
                path.unlink(missing_ok=True)


def make_certificate(folder: str | Path | None = None) -> TlsFiles:
    """Write a new self-signed certificate for 127.0.0.1, ::1 and localhost, and its key.

    :param folder: where to write ``emulator-ca.pem`` and ``emulator-key.pem``; None makes a new private
        temporary folder, which :meth:`TlsFiles.remove` deletes.
    """
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    owned = folder is None
    where = Path(tempfile.mkdtemp(prefix="hadoop-eco-emulator-tls-")) if folder is None else Path(folder)
    where.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, COMMON_NAME)])
    now = datetime.datetime.now(datetime.UTC)
    san = x509.SubjectAlternativeName(
        [
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
            x509.DNSName("localhost"),
        ]
    )
    usage = x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=True, crl_sign=False, encipher_only=False, decipher_only=False,
    )  # fmt: skip
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALIDITY_DAYS))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        # What strict verifiers (Python 3.13's VERIFY_X509_STRICT, for one) ask of a CA that serves itself.
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = where / CERT_FILE, where / KEY_FILE
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    # The key is created 0600 before any byte is written: it is throwaway, but still a key.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    os.chmod(key_path, 0o600)
    return TlsFiles(folder=where, cert_path=cert_path, key_path=key_path, owned=owned)
