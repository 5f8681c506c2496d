"""sd_notify without systemd-python: a real AF_UNIX datagram socket stands in for PID 1."""

from __future__ import annotations

import socket
import sys

from netdwg.guard import service


def test_notify_falls_back_to_the_notify_socket(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "systemd", None)  # as if systemd-python were not installed
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        assert service.notify("READY=1\nSTATUS=watching 2 sites")
        assert sock.recv(4096) == b"READY=1\nSTATUS=watching 2 sites"


def test_notify_outside_systemd_is_a_quiet_no(monkeypatch):
    monkeypatch.setitem(sys.modules, "systemd", None)
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert service.notify("READY=1") is False


def test_watchdog_interval_is_half_of_watchdogsec(monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert service.watchdog_interval() == 10.0
    monkeypatch.setenv("WATCHDOG_PID", "1")  # meant for another process
    assert service.watchdog_interval() is None
