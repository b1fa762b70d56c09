from __future__ import annotations

import subprocess
import sys

from retinavlm.cli import COMMANDS, main


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_help_explains_each_command():
    out = subprocess.run(
        [sys.executable, "-m", "retinavlm.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for name, (short, _) in COMMANDS.items():
        assert name in out
        assert short.split()[0] in out


def test_every_registered_command_has_fast_help():
    """`retinavlm X --help` must not pay for torch/transformers imports: commands import lazily."""
    code = (
        "import sys, contextlib, io\n"
        "from retinavlm.cli import COMMANDS, main\n"
        "for name in COMMANDS:\n"
        "    out = io.StringIO()\n"
        "    with contextlib.redirect_stdout(out):\n"
        "        try:\n"
        "            main([name, '--help'])\n"
        "        except SystemExit as exc:\n"
        "            assert exc.code == 0, name\n"
        "    assert f'retinavlm {name}' in out.getvalue(), name\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'datasets', 'accelerate') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"--help imported heavy modules: {result.stdout.strip()}"
