"""Webhooks' rules: which URLs Storyline may call, and how a delivery is signed."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from urllib.parse import urlsplit

from storyline_domain.errors import ValidationError

SCHEMES = ("http", "https")
MAX_URL_LENGTH = 2000
SIGNATURE_PREFIX = "sha256="

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def check_url(url: str) -> str:
    """The URL, stripped, if it is an absolute http(s) URL with a host; else a VALIDATION error."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(f"the URL may be at most {MAX_URL_LENGTH} characters", field="url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError as error:
        raise ValidationError(f"not a URL: {error}", field="url") from None
    if parts.scheme not in SCHEMES:
        raise ValidationError("the URL must start with http:// or https://", field="url")
    if not parts.hostname:
        raise ValidationError("the URL needs a host name", field="url")
    return url


def is_internal(address: IPAddress) -> bool:
    """Loopback, private, link-local, multicast, reserved or unspecified: never called unless allowed."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def signature(secret: str, body: bytes) -> str:
    """The value of X-Storyline-Signature: the hex HMAC-SHA256 of the raw body, keyed by the secret."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
