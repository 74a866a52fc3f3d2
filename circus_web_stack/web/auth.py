"""The console's authentication: salted password hashes, signed session cookies, CSRF tokens.

Rules: pure functions of their inputs and `now` (the caller reads files and clocks); every comparison
of a secret is constant-time; a cookie that fails any check (signature, expiry, shape) is simply no
session. The signing secret is per installation (a file made once with 0600), never in the code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from enum import StrEnum

# scrypt's cost: ~50 ms a check on this machine, 16 MiB of memory; stored with the hash so it can grow.
SCRYPT_N = 1 << 14
SCRYPT_R = 8
SCRYPT_P = 1
HASH_SCHEME = "scrypt"
SESSION_COOKIE = "circushttpd_session"
LOGIN_COOKIE = "circushttpd_login"  # carries the login form's CSRF token before there is a session
SESSION_TTL_S = 12 * 3600.0
LOGIN_TTL_S = 600.0


class Role(StrEnum):
    ADMIN = "admin"  # sees and acts
    VIEWER = "viewer"  # sees only (the read-only password)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, salt: bytes | None = None) -> str:
    """`scrypt:N:r:p:SALT:HASH` (base64url; no `$`, so it survives ini and env substitution)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return f"{HASH_SCHEME}:{SCRYPT_N}:{SCRYPT_R}:{SCRYPT_P}:{_b64(salt)}:{_b64(digest)}"


def check_hash_format(stored: str) -> None:
    """ValueError saying what a password hash should look like, if `stored` is not one."""
    parts = stored.split(":")
    if len(parts) != 6 or parts[0] != HASH_SCHEME or not all(p.isdigit() for p in parts[1:4]):
        raise ValueError(
            "not a password hash (expected scrypt:N:r:p:salt:hash, as `circushttpd --hash-password` prints)"
        )


def verify_password(password: str, stored: str) -> bool:
    try:
        check_hash_format(stored)
        _, n, r, p, salt, expected = stored.split(":")
        digest = hashlib.scrypt(
            password.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), maxmem=1 << 26
        )
        return hmac.compare_digest(digest, _unb64(expected))
    except ValueError:
        return False


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@dataclass(frozen=True)
class Session:
    user: str  # who, for the action log: the role's name, as there is one password per role
    role: Role
    csrf: str  # sent back with every state-changing request
    expires: float


def new_session(role: Role, now: float, ttl_s: float = SESSION_TTL_S) -> Session:
    return Session(role.value, role, secrets.token_urlsafe(24), now + ttl_s)


def _sign(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, body.encode("ascii"), hashlib.sha256).digest())


def seal(secret: bytes, data: dict) -> str:
    """`BODY.SIGNATURE`: the JSON `data`, base64url, signed with HMAC-SHA256."""
    body = _b64(json.dumps(data, separators=(",", ":")).encode("utf-8"))
    return f"{body}.{_sign(secret, body)}"


def unseal(secret: bytes, value: str, now: float) -> dict | None:
    """The data of a sealed value still within its `exp`, else None."""
    body, dot, signature = value.partition(".")
    if not dot or not hmac.compare_digest(signature.encode("ascii", "replace"), _sign(secret, body).encode()):
        return None
    try:
        data = json.loads(_unb64(body))
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("exp"), (int, float)) or data["exp"] <= now:
        return None
    return data


def session_cookie_value(secret: bytes, session: Session) -> str:
    return seal(
        secret, {"u": session.user, "r": session.role.value, "c": session.csrf, "exp": session.expires}
    )


def session_from_cookie(secret: bytes, value: str | None, now: float) -> Session | None:
    data = unseal(secret, value, now) if value else None
    if data is None or data.get("r") not in {r.value for r in Role}:
        return None
    if not isinstance(data.get("u"), str) or not isinstance(data.get("c"), str):
        return None
    return Session(data["u"], Role(data["r"]), data["c"], float(data["exp"]))


def cookie_header(name: str, value: str, *, max_age_s: float, secure: bool) -> str:
    """A Set-Cookie value: HttpOnly, SameSite=Strict, no Path (so it stays under the page's prefix,
    /circus/ behind a proxy), Secure when the page came over HTTPS."""
    text = f"{name}={value}; Max-Age={int(max_age_s)}; HttpOnly; SameSite=Strict"
    return text + "; Secure" if secure else text


def parse_cookies(header: str) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for part in header.split(";"):
        name, eq, value = part.strip().partition("=")
        if eq and name not in cookies:
            cookies[name] = value
    return cookies
