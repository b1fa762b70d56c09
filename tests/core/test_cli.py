from __future__ import annotations

import subprocess
import sys

from retinavlm.cli import COMMANDS, main


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_help_explains_each_command():
    out = subprocess.run([sys.executable, "-m", "retinavlm.cli", "--help"], capture_output=True, text=True, check=True).stdout
    for name, (short, _) in COMMANDS.items():
        assert name in out
        assert short.split()[0] in out


def test_every_registered_command_has_a_module_with_help():
    for name in COMMANDS:
        result = subprocess.run([sys.executable, "-m", "retinavlm.cli", name, "--help"], capture_output=True, text=True)
        assert result.returncode == 0, f"{name}: {result.stderr}"
        assert f"retinavlm {name}" in result.stdout
