"""Password hashes, sealed cookies, cookie parsing: pure, no server."""

from __future__ import annotations

import pytest

from circus_web_stack.web import auth
from circus_web_stack.web.auth import Role

SECRET = b"k" * 32


def test_a_hash_verifies_its_password_only():
    stored = auth.hash_password("correct horse")
    assert auth.verify_password("correct horse", stored)
    assert not auth.verify_password("correct hors", stored)
    assert "$" not in stored and stored.startswith("scrypt:")


def test_the_same_password_hashes_differently_each_time():
    assert auth.hash_password("pw") != auth.hash_password("pw")


@pytest.mark.parametrize("bad", ["", "plain-password", "scrypt:x:8:1:a:b", "md5:1:2:3:a:b"])
def test_malformed_hashes_are_named_and_never_verify(bad):
    with pytest.raises(ValueError, match="circushttpd --hash-password"):
        auth.check_hash_format(bad)
    assert not auth.verify_password("anything", bad)


def test_a_session_survives_its_cookie_until_it_expires():
    session = auth.new_session(Role.VIEWER, now=1000.0, ttl_s=60)
    value = auth.session_cookie_value(SECRET, session)
    assert auth.session_from_cookie(SECRET, value, now=1059.0) == session
    assert auth.session_from_cookie(SECRET, value, now=1060.0) is None


def test_a_tampered_or_foreign_cookie_is_no_session():
    value = auth.session_cookie_value(SECRET, auth.new_session(Role.VIEWER, now=0.0))
    body, _, signature = value.partition(".")
    flipped = body[:-1] + ("A" if body[-1] != "A" else "B") + "." + signature
    forged = auth.seal(b"other secret" * 3, {"u": "admin", "r": "admin", "c": "x", "exp": 1e12})
    for candidate in (forged, body + ".AAAA", body, "", "garbage.garbage", flipped):
        assert auth.session_from_cookie(SECRET, candidate, now=1.0) is None


def test_cookie_header_is_httponly_samesite_and_secure_over_https():
    header = auth.cookie_header("n", "v", max_age_s=10, secure=True)
    assert header == "n=v; Max-Age=10; HttpOnly; SameSite=Strict; Secure"
    assert "Secure" not in auth.cookie_header("n", "v", max_age_s=10, secure=False)


def test_parse_cookies_keeps_the_first_of_a_name():
    assert auth.parse_cookies("a=1; b=2=3; a=9; junk") == {"a": "1", "b": "2=3"}
