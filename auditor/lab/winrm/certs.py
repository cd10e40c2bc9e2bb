"""Certificates for the lab's HTTPS listeners, generated at start (EC P-256, milliseconds).

Why a private CA rather than a self-signed leaf: the auditor is meant to be run with
``ca_file`` pointing at the site's CA, so the lab mirrors that (clients trust ``lab-ca.pem``)
and ``server_cert_validation='ignore'`` (slow and unsafe, see docs/winrm.md pitfall 3) is never
needed. The ``untrusted_cert`` fault serves a leaf issued by a *different* CA that is never
written for clients, which is what a re-keyed or man-in-the-middle server looks like.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class ServerCertificate:
    """A leaf certificate and key on disk, plus what NTLM channel binding needs."""

    cert_file: Path
    key_file: Path
    cert_der: bytes

    def channel_binding_data(self) -> bytes:
        """``tls-server-end-point:`` + hash of the DER certificate (RFC 5929).

        The hash follows the certificate's signature hash, with MD5/SHA-1 mapped to SHA-256,
        exactly as requests_ntlm computes it on the client side.
        """
        cert = x509.load_der_x509_certificate(self.cert_der)
        algo = cert.signature_hash_algorithm
        if algo is None or algo.name in ("md5", "sha1"):
            algo = hashes.SHA256()
        digest = hashes.Hash(algo)
        digest.update(self.cert_der)
        return b"tls-server-end-point:" + digest.finalize()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "paragon-auditor lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(days=1))
        .not_valid_after(_now() + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _new_leaf(ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate
              ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(days=1))
        .not_valid_after(_now() + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _write_leaf(folder: Path, stem: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate,
                chain: x509.Certificate) -> ServerCertificate:
    cert_file = folder / f"{stem}.pem"
    key_file = folder / f"{stem}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM)
                          + chain.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    return ServerCertificate(cert_file=cert_file, key_file=key_file,
                             cert_der=cert.public_bytes(serialization.Encoding.DER))


class LabPKI:
    """A lab CA (written to ``<folder>/<ca_name>``) and the leaves the lab servers use.

    ``leaf`` is shared by all normal servers (they all listen on 127.0.0.1);
    ``untrusted_leaf()`` is issued by a second CA whose certificate is never written out.
    """

    def __init__(self, folder: Path, ca_name: str = "lab-ca.pem"):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._ca_key, self._ca_cert = _new_ca("paragon-auditor lab CA")
        self.ca_file = self.folder / ca_name
        self.ca_file.write_bytes(self._ca_cert.public_bytes(serialization.Encoding.PEM))
        key, cert = _new_leaf(self._ca_key, self._ca_cert)
        self.leaf = _write_leaf(self.folder, "lab-server", key, cert, self._ca_cert)
        self._untrusted: ServerCertificate | None = None

    def untrusted_leaf(self) -> ServerCertificate:
        if self._untrusted is None:
            rogue_key, rogue_cert = _new_ca("untrusted lab CA (not given to clients)")
            key, cert = _new_leaf(rogue_key, rogue_cert)
            self._untrusted = _write_leaf(self.folder, "lab-server-untrusted", key, cert, rogue_cert)
        return self._untrusted
