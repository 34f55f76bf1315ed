"""ENC-2: phivault refuses to serve PHI in clear text off loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from phivault.errors import InvalidInput
from phivault.transport import Listener, check_listener, is_loopback, uvicorn_options


@pytest.mark.parametrize("host", ["127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost"])
def test_loopback_may_serve_plain_http(host: str) -> None:
    assert is_loopback(host)
    check_listener(Listener(host, 8000))


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "vault.example.org", "::"])
def test_other_addresses_need_tls_or_a_proxy(host: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="refusing to serve PHI without TLS"):
        check_listener(Listener(host, 8000))
    check_listener(Listener(host, 8000, behind_tls_proxy=True))
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("x")
    check_listener(Listener(host, 8443, cert, key))


def test_half_a_tls_configuration_is_refused(tmp_path: Path) -> None:
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(InvalidInput, match="both"):
        check_listener(Listener("0.0.0.0", 8443, tls_cert=cert))
    with pytest.raises(InvalidInput, match="not a readable file"):
        check_listener(Listener("0.0.0.0", 8443, cert, tmp_path / "missing.pem"))


def test_uvicorn_options() -> None:
    plain = uvicorn_options(Listener("127.0.0.1", 8000))
    assert plain["access_log"] is False and "ssl_certfile" not in plain
    proxied = uvicorn_options(
        Listener("10.0.0.5", 8000, behind_tls_proxy=True, proxy_addresses="10.0.0.1")
    )
    assert proxied["proxy_headers"] is True and proxied["forwarded_allow_ips"] == "10.0.0.1"
    tls = uvicorn_options(Listener("0.0.0.0", 8443, Path("c"), Path("k")))
    assert tls["ssl_certfile"] == "c" and tls["ssl_keyfile"] == "k"


def _loaded(listener: Listener) -> object:
    """The ASGI app uvicorn would serve with these options (after its own middleware)."""
    import uvicorn

    async def app(scope: object, receive: object, send: object) -> None:  # pragma: no cover
        return None

    config = uvicorn.Config(app, **uvicorn_options(listener))  # type: ignore[arg-type]
    config.load()
    return config.loaded_app


def test_forwarded_headers_are_not_trusted_without_the_proxy_option(monkeypatch) -> None:
    """Uvicorn's default trusts X-Forwarded-For/-Proto from loopback (or FORWARDED_ALLOW_IPS):
    a local process could spoof the audited source and dodge the per-source throttle. Only
    --behind-tls-proxy turns them on, and then only from the named proxy."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")

    def proxied(app: object) -> bool:
        while app is not None:
            if isinstance(app, ProxyHeadersMiddleware):
                return True
            app = getattr(app, "app", None)
        return False

    assert not proxied(_loaded(Listener("127.0.0.1", 8000)))
    behind = Listener("10.0.0.5", 8000, behind_tls_proxy=True, proxy_addresses="10.0.0.1")
    assert proxied(_loaded(behind))
