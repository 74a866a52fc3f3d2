"""Trusted proxies: who may set X-Forwarded-*, and what REMOTE_ADDR and the scheme become."""

from __future__ import annotations

import pytest

from chaussette_compat.http.proxies import DEFAULT_TRUSTED, TrustedProxies, apply_forwarded, client_address


def test_default_trusts_loopback_and_unix_only():
    trusted = TrustedProxies.parse(DEFAULT_TRUSTED)
    assert trusted.trusts("127.0.0.1") and trusted.trusts("::1") and trusted.trusts("")
    assert trusted.trusts("::ffff:127.0.0.1")
    assert not trusted.trusts("10.0.0.1") and not trusted.trusts("127.0.0.2")


def test_networks_star_and_empty():
    assert TrustedProxies.parse("10.0.0.0/8, 192.168.1.7").trusts("10.20.30.40")
    assert TrustedProxies.parse("*").trusts("203.0.113.9")
    nobody = TrustedProxies.parse("")
    assert not nobody.trusts("127.0.0.1") and not nobody.trusts("")
    assert not TrustedProxies.parse("10.0.0.0/8").trusts("not-an-ip")


def test_bad_entry_is_named():
    with pytest.raises(ValueError, match=r"'nginx.local' is not an IP address"):
        TrustedProxies.parse("127.0.0.1,nginx.local")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("198.51.100.1, 203.0.113.7", "203.0.113.7"),
        ("203.0.113.7:5678", "203.0.113.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("unknown", None),
        ("", None),
    ],
)
def test_client_address_is_the_rightmost_entry(value, expected):
    assert client_address(value) == expected


def test_apply_forwarded_from_trusted_peer():
    environ = {
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "HTTP_X_FORWARDED_FOR": "1.1.1.1, 203.0.113.7",
        "HTTP_X_FORWARDED_PROTO": "HTTPS",
    }
    apply_forwarded(environ, trusted=True)
    assert environ["REMOTE_ADDR"] == "203.0.113.7" and environ["wsgi.url_scheme"] == "https"


def test_apply_forwarded_ignores_garbage_from_trusted_peer():
    environ = {
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "HTTP_X_FORWARDED_FOR": "garbage",
        "HTTP_X_FORWARDED_PROTO": "gopher",
    }
    apply_forwarded(environ, trusted=True)
    assert environ["REMOTE_ADDR"] == "127.0.0.1" and environ["wsgi.url_scheme"] == "http"


def test_apply_forwarded_strips_headers_from_untrusted_peer():
    environ = {
        "REMOTE_ADDR": "198.51.100.2",
        "wsgi.url_scheme": "http",
        "HTTP_X_FORWARDED_FOR": "1.1.1.1",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_HOST": "h",
    }
    apply_forwarded(environ, trusted=False)
    assert environ == {"REMOTE_ADDR": "198.51.100.2", "wsgi.url_scheme": "http", "HTTP_HOST": "h"}
