"""NOTIFY_SOCKET address parsing and the file wrapper's sendfile span (no sockets opened)."""

from __future__ import annotations

import io
from pathlib import Path

from chaussette_compat.backends.file_wrapper import FileWrapper
from chaussette_compat.notify import notify_address, sd_notify


def test_notify_address_forms():
    assert notify_address("/run/circus/notify.sock") == "/run/circus/notify.sock"
    assert notify_address("@circus-web") == b"\0circus-web"
    assert notify_address("") is None
    assert notify_address("relative/path") is None


def test_sd_notify_without_notify_socket_sends_nothing():
    assert sd_notify("READY=1", environ={}) is False


def test_file_wrapper_span_from_the_current_position(tmp_path: Path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"0123456789")
    with open(path, "rb") as handle:
        handle.seek(4)
        wrapper = FileWrapper(handle)
        fd, offset, count = wrapper.sendfile_span()
        assert (fd, offset, count) == (handle.fileno(), 4, 6)


def test_file_wrapper_without_a_real_file_iterates_and_closes():
    buffer = io.BytesIO(b"abcdefgh")
    wrapper = FileWrapper(buffer, block_size=3)
    assert wrapper.sendfile_span() is None
    assert list(wrapper) == [b"abc", b"def", b"gh"]
    wrapper.close()
    assert buffer.closed
