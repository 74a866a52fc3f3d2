"""sock_diag without sockets: listeners from `listsockets`, the request and reply layouts, the kernel
filter program (run by a small classic-BPF interpreter), and counting accepted connections by cookie."""

from __future__ import annotations

import socket
import struct

import pytest

from circus_web_stack.runtime.stats import sockdiag
from circus_web_stack.runtime.stats.sockdiag import AcceptCounter, Listener


def test_listeners_from_listsockets_entries():
    v4 = Listener.from_info({"fd": 6, "name": "web", "host": "127.0.0.1", "port": 8000})
    assert (v4.family, v4.host, v4.port, v4.address, v4.is_tcp) == (
        socket.AF_INET,
        bytes([127, 0, 0, 1]),
        8000,
        "127.0.0.1:8000",
        True,
    )
    v6 = Listener.from_info({"fd": 7, "host": "::1", "port": 80})
    assert (v6.family, v6.address) == (socket.AF_INET6, "[::1]:80")
    unix = Listener.from_info({"fd": 8, "name": "app", "path": "/run/app.sock"})
    assert (unix.family, unix.path, unix.address, unix.is_tcp) == (
        socket.AF_UNIX,
        "/run/app.sock",
        unix.path,
        False,
    )
    named = Listener.from_info({"fd": 9, "host": "localhost", "port": 81})  # Circus reports names
    assert named.owns(socket.AF_INET, 81, bytes(16))


def test_a_listener_owns_sockets_on_its_port_and_address():
    specific = Listener.from_info({"fd": 6, "host": "127.0.0.1", "port": 8000})
    here = bytes([127, 0, 0, 1]) + bytes(12)
    assert specific.owns(socket.AF_INET, 8000, here)
    assert not specific.owns(socket.AF_INET, 8001, here)
    assert not specific.owns(socket.AF_INET, 8000, bytes([10, 0, 0, 1]) + bytes(12))
    assert not specific.owns(socket.AF_INET6, 8000, here)
    wildcard = Listener.from_info({"fd": 6, "host": "0.0.0.0", "port": 8000})
    assert wildcard.owns(socket.AF_INET, 8000, bytes([10, 0, 0, 1]) + bytes(12))


def test_inet_dump_request_layout():
    message = sockdiag.inet_dump_request(socket.AF_INET, 8000, seq=7)
    length, msg_type, flags, seq, _pid = struct.unpack_from("=IHHII", message)
    assert (length, msg_type, seq) == (len(message), sockdiag.SOCK_DIAG_BY_FAMILY, 7)
    assert flags == sockdiag.NLM_F_REQUEST | sockdiag.NLM_F_DUMP
    family, protocol, ext, _pad, states = struct.unpack_from("=BBBBI", message, 16)
    assert (family, protocol) == (socket.AF_INET, socket.IPPROTO_TCP)
    assert ext == 1 << (sockdiag.INET_DIAG_SKMEMINFO - 1)
    assert states & (1 << sockdiag.TCP_LISTEN) and states & (1 << sockdiag.TCP_ESTABLISHED)
    assert not states & (1 << 6)  # TIME_WAIT remnants are not connections anyone holds
    assert struct.unpack_from("!H", message, 24)[0] == 8000  # the kernel filters on the local port


def inet_message(*, state, sport, cookie, inode=0, rqueue=0, wqueue=0, drops=None, family=socket.AF_INET):
    src = bytes([127, 0, 0, 1]) + bytes(12)
    body = struct.pack("=BBBB", family, state, 0, 0) + struct.pack("!HH16s16s", sport, 40000, src, bytes(16))
    body += struct.pack("=III", 0, cookie & 0xFFFFFFFF, cookie >> 32)
    body += struct.pack("=IIIII", 0, rqueue, wqueue, 0, inode)
    if drops is not None:
        meminfo = struct.pack("=9I", 0, 0, 0, 0, 0, 0, 0, 0, drops)
        body += struct.pack("=HH", 4 + len(meminfo), sockdiag.INET_DIAG_SKMEMINFO) + meminfo
    return sockdiag.netlink_message(sockdiag.SOCK_DIAG_BY_FAMILY, 2, 5, body)


def test_parse_inet_messages_from_one_datagram():
    data = inet_message(state=10, sport=8000, cookie=1, rqueue=3, wqueue=128, drops=7) + inet_message(
        state=1, sport=8000, cookie=(5 << 32) | 9, inode=4242
    )
    parsed = [sockdiag.parse_inet_message(p) for t, seq, p in sockdiag.iter_messages(data)]
    listening, accepted = parsed
    assert (listening.state, listening.rqueue, listening.wqueue, listening.drops) == (10, 3, 128, 7)
    assert (accepted.cookie, accepted.inode, accepted.sport, accepted.drops) == (
        (5 << 32) | 9,
        4242,
        8000,
        None,
    )
    assert accepted.src[:4] == bytes([127, 0, 0, 1])


def test_parse_unix_message():
    name = b"/run/app.sock"
    body = struct.pack("=BBBBIII", socket.AF_UNIX, socket.SOCK_STREAM, 10, 0, 99, 0, 0)
    body += struct.pack("=HH", 4 + len(name), sockdiag.UNIX_DIAG_NAME) + name + b"\0" * (-len(name) % 4)
    body += struct.pack("=HH", 12, sockdiag.UNIX_DIAG_RQLEN) + struct.pack("=II", 2, 64)
    sock = sockdiag.parse_unix_message(body)
    assert (sock.state, sock.inode, sock.name, sock.rqueue, sock.wqueue) == (10, 99, "/run/app.sock", 2, 64)


def run_classic_bpf(program, packet: bytes) -> int:
    """Just the instructions port_filter emits: ldh [k], jeq #k, ret #k."""
    accumulator, pc = 0, 0
    while True:
        code, jt, jf, k = program[pc]
        if code == 0x28:
            accumulator = struct.unpack_from("!H", packet, k)[0]
            pc += 1
        elif code == 0x15:
            pc += 1 + (jt if accumulator == k else jf)
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


@pytest.mark.parametrize("ports", [[8000], [8000, 9000, 443], list(range(1000, 1040))])
def test_the_kernel_filter_passes_only_our_ports(ports):
    program = sockdiag.port_filter(ports)
    for port in ports:
        assert run_classic_bpf(program, inet_message(state=7, sport=port, cookie=1)) == 0xFFFFFFFF
    for port in (1, 8001, 65535):
        assert run_classic_bpf(program, inet_message(state=7, sport=port, cookie=1)) == 0


def test_accepted_counts_each_connection_once():
    counter = AcceptCounter()
    counter.observe_destroyed(1)  # before the baseline: ignored
    counter.observe_dump({10, 11})  # open before counting began: the baseline
    assert (counter.accepted, counter.connections) == (0, 2)
    counter.observe_destroyed(10)  # a baseline connection closes: not counted
    counter.observe_destroyed(20)  # opened and closed between two dumps: counted from its notice
    counter.observe_dump({11, 30, 31})  # two new ones held open
    assert (counter.accepted, counter.connections) == (3, 3)
    counter.observe_destroyed(30)  # already counted from the dump
    counter.observe_dump({11, 31})
    assert counter.accepted == 3


def test_accepted_forgets_cookies_whose_notice_was_lost():
    counter = AcceptCounter()
    counter.observe_dump(set())
    counter.observe_dump({5})
    for _ in range(AcceptCounter.MISSING_DUMPS):
        counter.observe_dump(set())
    assert counter.accepted == 1 and not counter._known
