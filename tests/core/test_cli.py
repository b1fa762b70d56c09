from __future__ import annotations

import subprocess
import sys

import pytest

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


def block_module(monkeypatch, name: str) -> None:
    """`import name` fails as it does where the module is not installed (None in sys.modules halts the import)."""
    for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        monkeypatch.delitem(sys.modules, loaded)
    monkeypatch.setitem(sys.modules, name, None)


def test_a_base_install_viewer_names_the_ui_extra_in_one_line(tmp_path, monkeypatch, capsys):
    import retinavlm.commands.view as view

    block_module(monkeypatch, "streamlit")
    monkeypatch.setattr(view.os, "execve", lambda *a: pytest.fail("the viewer started without streamlit"))
    assert main(["view", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "retinavlm view: the viewer needs the 'ui' extra (streamlit is not installed): pip install 'retinavlm[ui]'\n"
    )


@pytest.mark.parametrize("missing", ["eyepy", "oct_converter"])
def test_a_base_install_refuses_a_vendor_volume_naming_the_vendor_extra(tmp_path, monkeypatch, missing):
    from retinavlm.data.io import read_scan
    from retinavlm.data.scan import ScanReadError

    block_module(monkeypatch, missing)
    volume = tmp_path / "scan.fda"
    volume.write_bytes(b"FOCT" + bytes(60))
    with pytest.raises(ScanReadError) as refused:
        read_scan(volume)
    assert str(refused.value) == (
        f"{volume}: reading Topcon FDA files needs the 'vendor' extra ({missing} is not installed): "
        "pip install 'retinavlm[vendor]'"
    )


def test_each_optional_module_belongs_to_the_extra_that_installs_it():
    """extras.EXTRA_OF names extras of pyproject.toml, each listing the distribution of that module."""
    import tomllib
    from pathlib import Path

    from packaging.requirements import Requirement

    from retinavlm.extras import EXTRA_OF

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    for module, extra in EXTRA_OF.items():
        distributions = {Requirement(r).name.lower().replace("-", "_") for r in extras.get(extra, ())}
        assert module in distributions, f"{module}: extra {extra!r} does not install it"


def test_only_registered_modules_can_be_required():
    from retinavlm.extras import require

    with pytest.raises(KeyError):
        require("json", "parsing")  # installed everywhere, and still not an optional dependency


# Modules that run only inside the Streamlit app (ui/), which `retinavlm view` starts after requiring the ui extra.
STREAMLIT_APP_MODULES = {"app_model.py", "app_session.py", "app_study.py", "charts.py"}
# Imports whose library needs one more distribution than the one that provides the module.
ALSO_NEEDS = {"torch.utils.tensorboard": "tensorboard"}


def third_party_imports(path) -> set[str]:
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names.add(node.module)
    return {n for n in names if n.partition(".")[0] not in sys.stdlib_module_names and not n.startswith("retinavlm")}


def test_the_package_imports_only_base_dependencies_outside_the_optional_paths():
    """A plain `pip install .` runs every command: any other library is reached through extras.require."""
    import importlib.metadata
    import tomllib
    from pathlib import Path

    from packaging.requirements import Requirement

    import retinavlm

    def normal(name: str) -> str:
        return name.lower().replace("_", "-")

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    base = {normal(Requirement(r).name) for r in pyproject["project"]["dependencies"]}
    providers = importlib.metadata.packages_distributions()
    package = Path(retinavlm.__file__).parent
    outside_base = []
    for path in package.rglob("*.py"):
        if path.parent.name == "viewer" and path.name in STREAMLIT_APP_MODULES:
            continue
        for name in third_party_imports(path):
            installed_by = {normal(d) for d in providers.get(name.partition(".")[0], ())}
            also_needs = ALSO_NEEDS.get(name)
            if not installed_by & base or (also_needs and also_needs not in base):
                outside_base.append(f"{path.relative_to(package)}: {name}")
    assert outside_base == []
