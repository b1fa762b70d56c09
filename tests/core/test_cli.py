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


def test_a_toolkit_error_is_one_line_without_a_traceback(tmp_path, capsys):
    """Any RetinaVLMError a command raises is printed once by the CLI as one line, exit status 2."""
    stage = tmp_path / "stage.yaml"
    stage.write_text("name: s\ntrain: {optimizer: {lr: abc}}\n")
    assert main(["train", str(stage)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {stage}: train.optimizer.lr: expected a number, got 'abc'\n"
    assert "Traceback" not in err


def test_every_toolkit_error_class_shares_the_one_base():
    import importlib
    import pkgutil

    import retinavlm
    from retinavlm.errors import RetinaVLMError

    for info in pkgutil.walk_packages(retinavlm.__path__, "retinavlm."):
        if info.name.startswith("retinavlm.commands") or "ui" in info.name:
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, type) and name.endswith("Error") and value.__module__ == info.name:
                assert issubclass(value, RetinaVLMError), f"{info.name}.{name}"
