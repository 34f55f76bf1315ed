"""Serving over the network (ENC-2): TLS, or an explicit statement that a TLS proxy is in
front. phivault refuses to listen on a non-loopback address in plain HTTP otherwise."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from phivault.errors import InvalidInput


@dataclass(frozen=True)
class Listener:
    host: str
    port: int
    tls_cert: Path | None = None
    tls_key: Path | None = None
    behind_tls_proxy: bool = False
    proxy_addresses: str = "127.0.0.1"

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_listener(listener: Listener) -> None:
    """Refuse configurations that would carry PHI in clear text over a network."""
    if (listener.tls_cert is None) != (listener.tls_key is None):
        raise InvalidInput("give both --tls-cert and --tls-key, or neither")
    for path in (listener.tls_cert, listener.tls_key):
        if path is not None and not path.is_file():
            raise InvalidInput(f"{path} is not a readable file")
    if not listener.tls and not listener.behind_tls_proxy and not is_loopback(listener.host):
        raise InvalidInput(
            f"refusing to serve PHI without TLS on {listener.host}: give --tls-cert and "
            "--tls-key, or --behind-tls-proxy if a TLS-terminating proxy forwards to this address"
        )


def uvicorn_options(listener: Listener) -> dict[str, object]:
    options: dict[str, object] = {
        "host": listener.host,
        "port": listener.port,
        "log_level": "warning",
        "access_log": False,  # access logs would record URLs; PHI never goes in URLs, but IDs do
        "server_header": False,
    }
    if listener.tls:
        options |= {"ssl_certfile": str(listener.tls_cert), "ssl_keyfile": str(listener.tls_key)}
    if listener.behind_tls_proxy:
        # Trust X-Forwarded-Proto/For only from the proxy, so the scheme (for HSTS and Secure
        # cookies) and the client address (for throttling) are the real ones.
        options |= {"proxy_headers": True, "forwarded_allow_ips": listener.proxy_addresses}
    else:
        # Uvicorn trusts X-Forwarded-* from loopback by default: any local process (or a
        # forwarded port) could then spoof the audited source and dodge the per-source
        # throttle. Without the operator's --behind-tls-proxy, no forwarded header counts.
        options |= {"proxy_headers": False, "forwarded_allow_ips": ""}
    return options
