"""HTTP requests to URLs users give us (webhooks, bank connections), safely.

A URL a user saves could point the server at its own network (SSRF): a cloud metadata
address, a database on localhost, a router's admin page. Every such request goes
through `request()`, which:

- accepts only http and https URLs with a host;
- resolves the host and refuses when any address it resolves to is not a public one
  (private, loopback, link-local, multicast, reserved, unspecified, shared CGNAT, or an
  IPv4-mapped/NAT64 form of those) — unless the caller's setting allows private
  addresses (WEBHOOKS_ALLOW_PRIVATE, SIMPLEFIN_ALLOW_PRIVATE: the tests, or a trusted
  on-premises deployment);
- connects to the address it checked, not to a second lookup (so a DNS answer that
  changes between the check and the connection — DNS rebinding — cannot slip through),
  while TLS still verifies the certificate for the host name;
- follows no redirects, ignores proxy environment variables, bounds time (connect and
  read timeouts) and the response body (`max_bytes`).

`check_url()` is the same check without a request, for validating a URL when it is
saved. The check is hand-rolled on `ipaddress` because no maintained library pins the
connection to the checked address for `requests`; the pinning uses the transport
adapter hook `requests` provides for it (`build_connection_pool_key_attributes`).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from core.exceptions import ApplicationError

DEFAULT_MAX_BYTES = 1024 * 1024
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class UnsafeURL(ApplicationError):
    """The URL is not one the server may call: bad form, unresolvable, or not public."""

    default_code = "unsafe_url"


class OutboundError(Exception):
    """The request was made but failed: timeout, connection refused, TLS, too large."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: str  # the checked IP the connection goes to


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return _is_public(mapped)
        if address in ipaddress.ip_network("64:ff9b::/96"):  # NAT64
            return _is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return False
    return address.is_global and not address.is_multicast


def check_url(url: str, *, allow_private: bool, field: str | None = None) -> Target:
    """Parse and resolve `url`; raise UnsafeURL (400, on `field`) unless the server may
    call it. Returns where to connect."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"This is not a valid URL: {exc}.", field=field) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("The URL must start with http:// or https:// and name a host.", field=field)
    host = parts.hostname
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeURL(f"The host {host!r} does not resolve.", field=field) from exc
    addresses = []
    for info in infos:
        text = info[4][0].split("%", 1)[0]  # drop an IPv6 zone
        addresses.append((text, ipaddress.ip_address(text)))
    if not addresses:
        raise UnsafeURL(f"The host {host!r} does not resolve.", field=field)
    if not allow_private:
        refused = [text for text, address in addresses if not _is_public(address)]
        if refused:
            raise UnsafeURL(
                f"The host {host!r} resolves to {refused[0]}, a private, loopback, link-local "
                "or otherwise non-public address; the server does not call those.",
                field=field,
            )
    return Target(scheme=parts.scheme, host=host, port=port, address=addresses[0][0])


class _PinnedAdapter(HTTPAdapter):
    """Connects to `target.address` while the URL, Host header, SNI and certificate
    check keep the host name."""

    def __init__(self, target: Target) -> None:
        self.target = target
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(
        self, request: Any, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host_params["host"] = self.target.address
        if self.target.scheme == "https":
            pool_kwargs["server_hostname"] = self.target.host
            pool_kwargs["assert_hostname"] = self.target.host
        return host_params, pool_kwargs


def request(
    method: str,
    url: str,
    *,
    allow_private: bool,
    timeout: float,
    max_bytes: int = DEFAULT_MAX_BYTES,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> requests.Response:
    """Make one request to a checked, pinned address (see the module docstring).

    Raises UnsafeURL before connecting, and OutboundError when the request fails or the
    body exceeds `max_bytes`. The returned response's `content` is already read.
    """
    target = check_url(url, allow_private=allow_private)
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if ":" not in target.host else f"[{target.host}]"
    if target.port != default_port:
        host_header = f"{host_header}:{target.port}"
    deadline = time.monotonic() + 2 * timeout  # connect + read, each bounded by `timeout`
    with requests.Session() as session:
        session.trust_env = False  # no proxies or netrc from the environment
        session.mount(f"{target.scheme}://", _PinnedAdapter(target))
        try:
            response = session.request(
                method,
                url,
                headers={**(headers or {}), "Host": host_header},
                timeout=timeout,
                allow_redirects=False,
                stream=True,
                **kwargs,
            )
            try:
                body = bytearray()
                for chunk in response.iter_content(chunk_size=65536):
                    body += chunk
                    if len(body) > max_bytes:
                        raise OutboundError(f"The response is larger than {max_bytes} bytes.")
                    if time.monotonic() > deadline:  # a server dripping bytes
                        raise OutboundError(f"No complete answer within {2 * timeout:g} seconds.")
                response._content = bytes(body)
            finally:
                response.close()
        except requests.Timeout as exc:
            raise OutboundError(f"No answer within {timeout:g} seconds.") from exc
        except requests.RequestException as exc:
            raise OutboundError(f"The request failed: {type(exc).__name__}.") from exc
    return response
