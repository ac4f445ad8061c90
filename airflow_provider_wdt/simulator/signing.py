"""The simulator's own qjb signer (protocol page section 4).

Deliberately independent of the provider's client code: the server must catch a signing bug in the client,
so it must not share the client's implementation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping


def split_appsecret(appsecret: str) -> tuple[str, str]:
    """Split ``secret:salt`` at the first colon."""
    secret, sep, salt = appsecret.partition(":")
    if not sep or not secret or not salt:
        raise ValueError("appsecret must look like 'secret:salt'")
    return secret, salt


def compute_sign(secret: str, params: Mapping[str, str], body: bytes | str) -> str:
    """Lowercase hex MD5 of ``secret + k1 + v1 + ... + secret`` over params plus the pseudo-param ``body``.

    ``sign`` itself is excluded. The body enters as its exact bytes, so a client that re-serialises the
    body after signing is caught.
    """
    body_bytes = body.encode("utf-8") if isinstance(body, str) else body
    values: dict[bytes, bytes] = {
        k.encode("utf-8"): v.encode("utf-8") for k, v in params.items() if k != "sign"
    }
    values[b"body"] = body_bytes
    secret_bytes = secret.encode("utf-8")
    parts = [secret_bytes]
    for key in sorted(values):  # byte order, as the platform sorts
        parts.append(key)
        parts.append(values[key])
    parts.append(secret_bytes)
    return hashlib.md5(b"".join(parts)).hexdigest()
