"""systemd socket activation: which fds are ours (LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES) and which
[socket:NAME] each one is."""

from __future__ import annotations

import pytest

from circus_web_stack.core.socket_activation import (
    ActivationError,
    PassedFd,
    WantedSocket,
    match_sockets,
    passed_fd_numbers,
)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, []),
        ({"LISTEN_PID": "42", "LISTEN_FDS": "2"}, [(3, "unknown"), (4, "unknown")]),
        ({"LISTEN_PID": "42", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "web:admin"}, [(3, "web"), (4, "admin")]),
        ({"LISTEN_PID": "41", "LISTEN_FDS": "1"}, []),  # meant for our parent: not ours
        ({"LISTEN_PID": "42", "LISTEN_FDS": "0"}, []),
    ],
)
def test_passed_fd_numbers(env, expected):
    assert passed_fd_numbers(env, 42) == expected


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"LISTEN_FDS": "1"}, "LISTEN_PID='' is not a pid"),
        ({"LISTEN_PID": "42", "LISTEN_FDS": "x"}, "LISTEN_FDS='x' is not a count of sockets"),
        (
            {"LISTEN_PID": "42", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "web"},
            "names 1 sockets but LISTEN_FDS=2",
        ),
    ],
)
def test_malformed_activation_is_refused(env, error):
    with pytest.raises(ActivationError, match=error.replace("(", r"\(")):
        passed_fd_numbers(env, 42)


WEB = WantedSocket("web", frozenset({"127.0.0.1:8000"}))
ADMIN = WantedSocket("admin", frozenset({"127.0.0.1:8001"}))
ANY_PORT = WantedSocket("anyport", frozenset())


@pytest.mark.parametrize(
    ("passed", "matched", "problems"),
    [
        ([PassedFd(3, "web", "0.0.0.0:80")], {"web": 3}, []),  # the name wins over the address
        ([PassedFd(3, "mysite.socket", "127.0.0.1:8001")], {"admin": 3}, []),  # by address
        ([PassedFd(3, "anyport", "127.0.0.1:39211")], {"anyport": 3}, []),  # port 0: by name only
        (
            [PassedFd(3, "mysite.socket", "127.0.0.1:9999")],
            {},
            [
                "fd 3 (mysite.socket, 127.0.0.1:9999) matches no [socket:NAME] by name or address; "
                "set FileDescriptorName= to a socket's name"
            ],
        ),
        (
            [PassedFd(3, "web", "127.0.0.1:8000"), PassedFd(4, "x", "127.0.0.1:8000")],
            {"web": 3},
            ["[socket:web] is passed twice (fds 3 and 4)"],
        ),
    ],
)
def test_match_sockets(passed, matched, problems):
    assert match_sockets([WEB, ADMIN, ANY_PORT], passed) == (matched, problems)


def test_an_address_two_sections_share_needs_a_name():
    twin = WantedSocket("twin", frozenset({"127.0.0.1:8000"}))
    _, problems = match_sockets([WEB, twin], [PassedFd(3, "unknown", "127.0.0.1:8000")])
    assert problems == [
        "fd 3 (unknown, 127.0.0.1:8000) fits [socket:web], [socket:twin]: name it with FileDescriptorName="
    ]
