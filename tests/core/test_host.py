"""The machine a result was measured on: the CPU by model name, with a fallback where /proc/cpuinfo is missing."""

from __future__ import annotations

import platform
from pathlib import Path

from retinavlm import host

CPUINFO = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9B14 96-Core Processor\nflags\t: fpu\n"


def test_cpu_model_reads_the_model_name(monkeypatch):
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: CPUINFO)
    assert host.cpu_model() == "AMD EPYC 9B14 96-Core Processor"


def test_cpu_model_falls_back_without_cpuinfo(monkeypatch):
    def unreadable(self, *args, **kwargs):
        raise FileNotFoundError(self)

    monkeypatch.setattr(Path, "read_text", unreadable)
    monkeypatch.setattr(platform, "processor", lambda: "")
    monkeypatch.setattr(platform, "machine", lambda: "arm64")
    assert host.cpu_model() == "arm64"


def test_cpu_model_without_a_model_line(monkeypatch):
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: "processor\t: 0\n")
    monkeypatch.setattr(platform, "processor", lambda: "i386")
    assert host.cpu_model() == "i386"


def test_machine_names_cpu_and_cores():
    info = host.machine()
    assert info["cpu"] and info["cpu"] != "unknown"
    assert info["logical_cpus"] >= 1 and info["torch_threads"] >= 1
