"""Listening sockets as Linux reports them, through sock_diag netlink: no fd to hold, no privilege.

What the kernel keeps per TCP listener, read with one dump per listener per sample: the accept queue
(`queue`: connections waiting for accept(); `backlog`: its limit) and `dropped` (sk_drops: SYNs and
connections refused, e.g. on a full queue). Linux keeps NO count of connections accepted, so we count
them: a connection is one socket cookie (unique, never reused). Each sample's dump lists the accepted
sockets a process still holds (inode != 0: in-queue sockets have none yet), and the kernel's
SKNLGRP_INET*_TCP_DESTROY broadcast, filtered in the kernel to our ports by a classic BPF program,
names every socket that dies, so a connection opened and closed between two samples still counts.
`accepted` counts cookies first seen after circusd-stats started. Unix listeners: queue and backlog
only (no destroy broadcast exists for them).

The alternatives lost: select() on the listener (Circus) counts wake-ups, not connections; the
netns-wide PassiveOpens counter mixes in every other listener (nginx's own clients); inheriting the
listening fds (Circus's use_sockets) would keep a removed socket listening in circusd-stats.
"""

from __future__ import annotations

import ctypes
import errno
import ipaddress
import logging
import socket
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from circus_web_stack.protocol.stats import ListenerFigures

log = logging.getLogger("circus_web_stack.stats.sockets")

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
# Multicast groups of socket destruction (linux/sock_diag.h: SKNLGRP_INET_TCP_DESTROY = 1,
# SKNLGRP_INET6_TCP_DESTROY = 3); a bind() mask has bit (group - 1) set.
DESTROY_GROUPS = (1 << 0) | (1 << 2)

TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_FIN_WAIT2 = 1, 4, 5
TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_LISTEN, TCP_CLOSING = 8, 9, 10, 11
_OPEN_STATES = (TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_CLOSING)
DUMP_STATES = (1 << TCP_LISTEN) | sum(1 << s for s in _OPEN_STATES)
INET_DIAG_SKMEMINFO = 7
SK_MEMINFO_DROPS = 8
UDIAG_SHOW_NAME, UDIAG_SHOW_RQLEN = 0x01, 0x10
UNIX_DIAG_NAME, UNIX_DIAG_RQLEN = 0, 4

_NLMSGHDR = struct.Struct("=IHHII")
_INET_REQ = struct.Struct("=BBBBI")
_SOCKID = struct.Struct("!HH16s16s")
_SOCKID_TAIL = struct.Struct("=III")  # interface, cookie low, cookie high
_INET_MSG_HEAD = struct.Struct("=BBBB")
_INET_MSG_TAIL = struct.Struct("=IIIII")  # expires, rqueue, wqueue, uid, inode
_INET_MSG_LEN = 72
_UNIX_REQ = struct.Struct("=BBHIIIII")
_UNIX_MSG = struct.Struct("=BBBBIII")
_RTATTR = struct.Struct("=HH")
_SO_ATTACH_FILTER = 26
_SO_RCVBUFFORCE = 33
_RCVBUF = 4 << 20


# ---------------------------------------------------------------------------------------------------
# Pure: what a listener is, the netlink messages and the counting.


@dataclass(frozen=True)
class Listener:
    """One of the daemon's listening sockets, from a `listsockets` entry."""

    fd: int
    address: str
    name: str | None = None
    family: int = socket.AF_INET
    host: bytes = b""  # packed address; all zeros is the wildcard
    port: int = 0
    path: str | None = None

    @classmethod
    def from_info(cls, info: dict) -> Listener:
        """From `listsockets`: {fd, name, host, port} or {fd, name, path}."""
        if info.get("path"):
            path = str(info["path"])
            return cls(int(info["fd"]), path, info.get("name"), socket.AF_UNIX, path=path)
        try:
            host = ipaddress.ip_address(str(info["host"]).strip("[]"))
        except ValueError:  # a name (Circus reports the configured host): match any local address
            host = ipaddress.ip_address("0.0.0.0")
        family = socket.AF_INET6 if host.version == 6 else socket.AF_INET
        text = f"[{host}]" if host.version == 6 else str(host)
        port = int(info["port"])
        return cls(int(info["fd"]), f"{text}:{port}", info.get("name"), family, host.packed, port)

    @property
    def is_tcp(self) -> bool:
        return self.family != socket.AF_UNIX

    def owns(self, family: int, sport: int, src: bytes) -> bool:
        """Whether a socket of `family` with local port and address is one this listener accepted."""
        if not self.is_tcp or sport != self.port or family != self.family:
            return False
        return not any(self.host) or src[: len(self.host)] == self.host


@dataclass(frozen=True, slots=True)
class InetSock:
    family: int
    state: int
    timer: int
    sport: int
    src: bytes
    cookie: int
    rqueue: int
    wqueue: int
    inode: int
    drops: int | None = None


@dataclass(frozen=True, slots=True)
class UnixSock:
    state: int
    inode: int
    name: str | None
    rqueue: int | None
    wqueue: int | None


def netlink_message(msg_type: int, flags: int, seq: int, body: bytes) -> bytes:
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), msg_type, flags, seq, 0) + body


def inet_dump_request(family: int, sport: int, seq: int, *, states: int = DUMP_STATES) -> bytes:
    """Dump the TCP sockets of `family` with local port `sport` (the kernel filters on it), with
    their memory info (for the drop counter)."""
    body = (
        _INET_REQ.pack(family, socket.IPPROTO_TCP, 1 << (INET_DIAG_SKMEMINFO - 1), 0, states)
        + _SOCKID.pack(sport, 0, b"", b"")
        + _SOCKID_TAIL.pack(0, 0xFFFFFFFF, 0xFFFFFFFF)
    )
    return netlink_message(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, body)


def unix_listeners_request(seq: int) -> bytes:
    body = _UNIX_REQ.pack(socket.AF_UNIX, 0, 0, 1 << TCP_LISTEN, 0, UDIAG_SHOW_NAME | UDIAG_SHOW_RQLEN, 0, 0)
    return netlink_message(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, body)


def iter_messages(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(type, seq, payload) of each netlink message in a datagram."""
    offset = 0
    while offset + _NLMSGHDR.size <= len(data):
        length, msg_type, _flags, seq, _pid = _NLMSGHDR.unpack_from(data, offset)
        if length < _NLMSGHDR.size:
            return
        yield msg_type, seq, data[offset + _NLMSGHDR.size : offset + length]
        offset += (length + 3) & ~3


def iter_attributes(data: bytes, offset: int) -> Iterator[tuple[int, bytes]]:
    while offset + _RTATTR.size <= len(data):
        length, attr_type = _RTATTR.unpack_from(data, offset)
        if length < _RTATTR.size:
            return
        yield attr_type, data[offset + _RTATTR.size : offset + length]
        offset += (length + 3) & ~3


def parse_inet_message(payload: bytes) -> InetSock:
    family, state, timer, _retrans = _INET_MSG_HEAD.unpack_from(payload, 0)
    sport, _dport, src, _dst = _SOCKID.unpack_from(payload, 4)
    _if, cookie_lo, cookie_hi = _SOCKID_TAIL.unpack_from(payload, 4 + _SOCKID.size)
    _expires, rqueue, wqueue, _uid, inode = _INET_MSG_TAIL.unpack_from(payload, 52)
    drops = None
    for attr_type, value in iter_attributes(payload, _INET_MSG_LEN):
        if attr_type == INET_DIAG_SKMEMINFO and len(value) >= 4 * (SK_MEMINFO_DROPS + 1):
            drops = struct.unpack_from("=I", value, 4 * SK_MEMINFO_DROPS)[0]
    return InetSock(
        family, state, timer, sport, src, cookie_hi << 32 | cookie_lo, rqueue, wqueue, inode, drops
    )


def parse_unix_message(payload: bytes) -> UnixSock:
    _family, _type, state, _pad, inode, _c0, _c1 = _UNIX_MSG.unpack_from(payload, 0)
    name = rqueue = wqueue = None
    for attr_type, value in iter_attributes(payload, _UNIX_MSG.size):
        if attr_type == UNIX_DIAG_NAME:
            name = value.rstrip(b"\0").decode("utf-8", "surrogateescape")
        elif attr_type == UNIX_DIAG_RQLEN and len(value) >= 8:
            rqueue, wqueue = struct.unpack_from("=II", value)
    return UnixSock(state, inode, name, rqueue, wqueue)


def port_filter(ports: Iterable[int]) -> list[tuple[int, int, int, int]]:
    """A classic BPF program (code, jt, jf, k) passing only destroy messages whose local port (the
    inet_diag_msg's sport, 20 bytes into the netlink message) is one of `ports`."""
    wanted = sorted(set(ports))
    count = len(wanted)
    program = [(0x28, 0, 0, 20)]  # ldh [20]
    for i, port in enumerate(wanted):
        program.append((0x15, count - i, 0, port))  # jeq #port -> accept
    program.append((0x06, 0, 0, 0))  # ret #0: drop
    program.append((0x06, 0, 0, 0xFFFFFFFF))  # ret: pass the whole message
    return program


class AcceptCounter:
    """Counts the connections one listener accepted, from dumps of the sockets processes hold and
    from destroy notices (pure: cookies in, numbers out).

    The first dump is the baseline: connections open before counting started are not counted. A
    cookie is counted once, when first seen in a dump or, if it lived and died between two dumps,
    in its destroy notice. Known cookies missing from MISSING_DUMPS dumps in a row are forgotten
    (their notice was lost), so memory follows the open connections."""

    MISSING_DUMPS = 3

    def __init__(self) -> None:
        self.accepted: int | None = None
        self.connections: int | None = None
        self._known: dict[int, int] = {}  # cookie -> dumps it has been missing from

    def observe_dump(self, cookies: set[int]) -> None:
        if self.accepted is None:
            self.accepted = 0
        else:
            self.accepted += sum(1 for c in cookies if c not in self._known)
        for cookie in list(self._known):
            if cookie in cookies:
                self._known[cookie] = 0
            else:
                self._known[cookie] += 1
                if self._known[cookie] >= self.MISSING_DUMPS:
                    del self._known[cookie]
        for cookie in cookies:
            self._known.setdefault(cookie, 0)
        self.connections = len(cookies)

    def observe_destroyed(self, cookie: int) -> None:
        if self.accepted is None:
            return  # before the baseline: it belongs to the past
        if self._known.pop(cookie, None) is None:
            self.accepted += 1


# ---------------------------------------------------------------------------------------------------
# The netlink sockets.


class ListenerProbe:
    """Reads the figures of a set of listeners. `fileno()` is the destroy-notice socket: poll it and
    call `drain()` when readable, so that a burst of short connections never overflows it."""

    def __init__(self, listeners: Iterable[Listener]) -> None:
        self.listeners = list(listeners)
        self._counters = {lst.fd: AcceptCounter() for lst in self.listeners if lst.is_tcp}
        self._last_accepted: dict[int, int | None] = {}
        self._seq = 0
        self.lost_notices = False
        self._dump = _netlink_socket()
        self._notices: socket.socket | None = None
        tcp_ports = [lst.port for lst in self.listeners if lst.is_tcp]
        if tcp_ports:
            self._notices = _open_destroy_notices(tcp_ports)

    def fileno(self) -> int | None:
        return self._notices.fileno() if self._notices is not None else None

    def close(self) -> None:
        self._dump.close()
        if self._notices is not None:
            self._notices.close()

    def drain(self) -> None:
        """Take every pending destroy notice. Never blocks."""
        if self._notices is None:
            return
        while True:
            try:
                data = self._notices.recv(1 << 16, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    if not self.lost_notices:
                        log.warning("socket destroy notices overflowed: `accepted` is now a lower bound")
                    self.lost_notices = True
                    continue
                raise
            for msg_type, _seq, payload in iter_messages(data):
                if msg_type == SOCK_DIAG_BY_FAMILY:
                    self._on_destroyed(parse_inet_message(payload))

    def _on_destroyed(self, sock: InetSock) -> None:
        if sock.state == TCP_LISTEN:
            return
        for lst in self.listeners:
            if lst.owns(sock.family, sock.sport, sock.src):
                self._counters[lst.fd].observe_destroyed(sock.cookie)
                return

    def figures(self) -> dict[int, ListenerFigures]:
        """The figures of every listener now, by fd."""
        self.drain()
        unix = self._unix_listeners() if any(not lst.is_tcp for lst in self.listeners) else {}
        result = {}
        for lst in self.listeners:
            result[lst.fd] = self._tcp_figures(lst) if lst.is_tcp else _unix_figures(unix.get(lst.path))
        self.drain()
        return result

    def _tcp_figures(self, lst: Listener) -> ListenerFigures:
        socks = [
            s
            for s in self._request(inet_dump_request(lst.family, lst.port, self._next_seq()))
            if lst.owns(s.family, s.sport, s.src)
        ]
        listening = [s for s in socks if s.state == TCP_LISTEN]
        # Held by a process: has an inode; TIME_WAIT remnants (timer 3) and orphans have none.
        held = {s.cookie for s in socks if s.state != TCP_LISTEN and s.inode != 0}
        counter = self._counters[lst.fd]
        counter.observe_dump(held)
        previous = self._last_accepted.get(lst.fd)
        self._last_accepted[lst.fd] = counter.accepted
        last = None if previous is None or counter.accepted is None else counter.accepted - previous
        drops = [s.drops for s in listening if s.drops is not None]
        return ListenerFigures(
            queue=sum(s.rqueue for s in listening) if listening else None,
            backlog=sum(s.wqueue for s in listening) if listening else None,
            dropped=sum(drops) if drops else None,
            connections=counter.connections,
            accepted=counter.accepted,
            accepted_last=last,
        )

    def _unix_listeners(self) -> dict[str, UnixSock]:
        found = {}
        for payload in self._payloads(unix_listeners_request(self._next_seq())):
            sock = parse_unix_message(payload)
            if sock.name:
                found[sock.name] = sock
        return found

    def _request(self, message: bytes) -> list[InetSock]:
        return [parse_inet_message(p) for p in self._payloads(message)]

    def _payloads(self, message: bytes) -> list[bytes]:
        seq = _NLMSGHDR.unpack_from(message, 0)[3]
        self._dump.send(message)
        payloads = []
        while True:
            data = self._dump.recv(1 << 16)
            for msg_type, msg_seq, payload in iter_messages(data):
                if msg_seq != seq:
                    continue
                if msg_type == NLMSG_DONE:
                    return payloads
                if msg_type == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", payload)[0]
                    if code == 0:
                        return payloads
                    raise OSError(code, f"sock_diag: {errno.errorcode.get(code, code)}")
                payloads.append(payload)

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        return self._seq


def _unix_figures(sock: UnixSock | None) -> ListenerFigures:
    if sock is None:
        return ListenerFigures()
    return ListenerFigures(queue=sock.rqueue, backlog=sock.wqueue)


def _netlink_socket() -> socket.socket:
    return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_SOCK_DIAG)


def _open_destroy_notices(ports: list[int]) -> socket.socket:
    sock = _netlink_socket()
    try:
        try:
            sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, _RCVBUF)
        except PermissionError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
        _attach_filter(sock, port_filter(ports))
        sock.bind((0, DESTROY_GROUPS))
    except BaseException:
        sock.close()
        raise
    return sock


def _attach_filter(sock: socket.socket, program: list[tuple[int, int, int, int]]) -> None:
    """SO_ATTACH_FILTER takes a struct sock_fprog {len; pointer to the instructions}; the kernel
    copies the instructions during the call, so the buffer need only live until it returns."""
    instructions = b"".join(struct.pack("=HBBI", *insn) for insn in program)
    buffer = ctypes.create_string_buffer(instructions, len(instructions))
    fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)
