"""Reading an SSH private key's text with cryptography, for both the SSH client (which needs the
key) and the connection identity of the upload commands (which needs only its public half)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


def parse_private_key(text: str) -> PrivateKeyTypes:
    """An unencrypted key in OpenSSH or PEM format. Raises TypeError for an encrypted key (no
    password given), ValueError or cryptography's UnsupportedAlgorithm for anything else."""
    data = (text.replace("\r\n", "\n").strip() + "\n").encode()
    if b"-----BEGIN OPENSSH PRIVATE KEY-----" in data:
        return serialization.load_ssh_private_key(data, password=None)
    return serialization.load_pem_private_key(data, password=None)
