"""Separate hosts for tests: Linux network namespaces on a bridge of the test's own, each with its own
IPv6 unique-local address (fd00::/8), no default route, so traffic cannot leave them.

Rules: names carry this process's pid (`cws-<pid>-<n>`, bridge `cwsb<pid>`), so runs never collide
and a run that died is cleaned up by the next (`remove_stale`, also after a pid was reused); several
networks of one process are numbered apart (`cwsb<pid>n<k>`); everything made is removed on close,
even after a failure; DAD is off so addresses work at once. Where namespaces cannot be made,
`netns_refusal()` says why, for the test to skip with that reason. iproute2 comes from the OS
packages when `ip` is missing.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from dataclasses import dataclass, field

import psutil

from circus_web_stack.testing.os_packages import ensure_installed

PREFIX = "cws-"
BRIDGE_PREFIX = "cwsb"
# What this process made and has not removed: a name of our pid that is not here was made by an
# earlier process that had the same pid (pids are reused) and died without cleaning up.
_MADE_HERE: set[str] = set()
_NETWORKS = itertools.count()


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise OSError(f"`ip {' '.join(args)}` failed: {done.stderr.strip()}")
    return done


def _sysctl(namespace: str | None, key: str, value: str) -> None:
    path = "/proc/sys/" + key.replace(".", "/")
    if namespace is None:
        with open(path, "w") as handle:
            handle.write(value)
    else:
        _ip("netns", "exec", namespace, "sh", "-c", f"echo {value} > {path}")


def netns_refusal() -> str | None:
    """Why network namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    found, why = ensure_installed(["iproute2"], lambda: shutil.which("ip"))
    if found is None:
        return why
    probe = f"{PREFIX}{os.getpid()}-probe"
    done = _ip("netns", "add", probe, check=False)
    if done.returncode != 0:
        return f"`ip netns add` refused: {done.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


def remove_stale() -> None:
    """Namespaces and bridges left by a test run whose process is gone."""
    listed = _ip("netns", "list", check=False).stdout.split()
    for name in listed:
        if name.startswith(PREFIX) and _stale(name, name[len(PREFIX) :].split("-")[0]):
            _ip("netns", "del", name, check=False)
    for line in _ip("-o", "link", "show", "type", "bridge", check=False).stdout.splitlines():
        name = line.split(":")[1].strip() if ":" in line else ""
        if name.startswith(BRIDGE_PREFIX) and _stale(name, name[len(BRIDGE_PREFIX) :].split("n")[0]):
            _ip("link", "del", name, check=False)


def _stale(name: str, pid: str) -> bool:
    if not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return name not in _MADE_HERE
    return not psutil.pid_exists(int(pid))


@dataclass(frozen=True)
class Host:
    """One namespace: its name, its address on the bridge, and how to run a program in it."""

    name: str
    address: str

    def argv(self) -> tuple[str, ...]:
        """The prefix that runs a program inside (ip netns exec execs it: the pid is the program's)."""
        return ("ip", "netns", "exec", self.name)

    def tcp(self, port: int) -> str:
        return f"tcp://[{self.address}]:{port}"


@dataclass
class Network:
    """`count` hosts on one bridge; the test's own side is `host_address` on the bridge `bridge`."""

    count: int
    hosts: list[Host] = field(default_factory=list)

    def __post_init__(self) -> None:
        pid = os.getpid()
        self.number = next(_NETWORKS)  # a session's fleet and a module's may be up at once
        self.bridge = f"{BRIDGE_PREFIX}{pid}n{self.number}"
        self.prefix = f"fd00:c1c5:{(pid * 16 + self.number) % 0xFFFF:x}::"
        self.host_address = f"{self.prefix}1"
        self._made: list[str] = []

    def open(self) -> Network:
        remove_stale()
        try:
            self._make_bridge()
            for n in range(1, self.count + 1):
                self.hosts.append(self._make_host(n))
        except BaseException:
            self.close()
            raise
        return self

    def _make_bridge(self) -> None:
        _ip("link", "add", "name", self.bridge, "type", "bridge", "mcast_snooping", "0")
        self._made.append("bridge")
        _MADE_HERE.add(self.bridge)
        _sysctl(None, f"net.ipv6.conf.{self.bridge}.accept_dad", "0")
        _ip("-6", "addr", "add", f"{self.host_address}/64", "dev", self.bridge, "nodad")
        _ip("link", "set", self.bridge, "up")

    def _make_host(self, n: int) -> Host:
        pid, k = os.getpid(), self.number
        name = f"{PREFIX}{pid}-{k}-{n}"
        outside, inside = f"cwv{pid}{k}x{n}", f"cwi{pid}{k}x{n}"  # at most 15 characters
        _ip("netns", "add", name)
        self._made.append(name)
        _MADE_HERE.add(name)
        for key in ("all", "default"):
            _sysctl(name, f"net.ipv6.conf.{key}.accept_dad", "0")
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _sysctl(None, f"net.ipv6.conf.{outside}.disable_ipv6", "1")  # a bridge port: no address of its own
        _ip("link", "set", inside, "netns", name)
        _ip("link", "set", outside, "master", self.bridge, "up")
        address = f"{self.prefix}{n + 1:x}"
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "link", "set", inside, "name", "eth0")
        _ip("-n", name, "-6", "addr", "add", f"{address}/64", "dev", "eth0", "nodad")
        _ip("-n", name, "link", "set", "eth0", "up")
        return Host(name, address)

    def close(self) -> None:
        """Remove every namespace (with its veth pair) and the bridge; what fails is tried anyway."""
        for made in reversed(self._made):
            if made == "bridge":
                _ip("link", "del", self.bridge, check=False)
                _MADE_HERE.discard(self.bridge)
            else:
                _ip("netns", "del", made, check=False)
                _MADE_HERE.discard(made)
        self._made.clear()

    def __enter__(self) -> Network:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
