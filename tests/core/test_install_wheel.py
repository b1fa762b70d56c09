"""The package as users install it: `python -m build` (an sdist, then the wheel from it) on a copy of the
checkout, the wheel installed into a fresh venv, and the installed `retinavlm` run from another folder,
with the optional extras' modules blocked so that it runs as a base install would.

The fresh venv reads the test venv's libraries through a .pth line naming its site-packages (nothing is
downloaded; the wheel goes in with --no-deps). That line adds the folder without running its .pth files,
so the checkout's editable `retinavlm` is not importable there; the test checks it imports from the venv.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import site
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml
from packaging.requirements import Requirement

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("install_wheel")]

CHECKOUT = Path(__file__).resolve().parents[2]
DATA_FOLDERS = ("curricula", "eval", "ui")
DEV_EXTRAS = ("test", "notebooks")  # for working on the toolkit, not for using it


def run(command: list, cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def copy_source(destination: Path) -> Path:
    """The checkout's files as a clone would have them (tracked and new, not ignored): never build in the shared tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=CHECKOUT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (CHECKOUT / name).is_file():  # a tracked file deleted in the working tree is not part of it
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(CHECKOUT / name, destination / name)
    return destination


def user_extras_modules() -> list[str]:
    """Top-level modules that only the user-facing extras install (pyproject.toml), as far as this venv has them."""
    project = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["project"]

    def names(requirements) -> set[str]:
        return {Requirement(r).name.lower().replace("_", "-") for r in requirements}

    extras = project["optional-dependencies"]
    only_extras = names(r for name, reqs in extras.items() if name not in DEV_EXTRAS for r in reqs)
    only_extras -= names(project["dependencies"])
    return sorted(
        module for module, dists in importlib.metadata.packages_distributions().items() if names(dists) & only_extras
    )


def tiny_fast_preset(installed_curricula: Path, destination: Path) -> Path:
    """The installed demo.yaml with `fast` made tiny exactly as tests/demo/test_demo.py makes its `tiny` preset."""
    spec = importlib.util.spec_from_file_location("demo_presets", CHECKOUT / "tests" / "demo" / "test_demo.py")
    demo_tests = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo_tests)
    tiny = yaml.safe_load(demo_tests.tiny_presets(destination).read_text())["presets"]["tiny"]
    doc = yaml.safe_load((installed_curricula / "demo.yaml").read_text())
    doc["presets"]["fast"] = {**tiny, "curriculum": str(installed_curricula / "curriculum.yaml")}
    destination.write_text(yaml.safe_dump(doc))
    return destination


class Installed(NamedTuple):
    source: Path  # the copy of the checkout the wheel was built from
    wheel: Path
    venv: Path  # the fresh venv the wheel is installed into
    elsewhere: Path  # an empty folder to run commands from
    env: dict[str, str]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    tmp = tmp_path_factory.mktemp("wheel")
    source = copy_source(tmp / "source")
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "RETINAVLM_", "VIRTUAL_ENV"))
    }
    env |= {"HF_HUB_OFFLINE": "1", "NO_ALBUMENTATIONS_UPDATE": "1", "OMP_NUM_THREADS": "1"}
    built = run([sys.executable, "-m", "build", "--no-isolation", "--outdir", tmp / "dist", source], source, env)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("retinavlm-*.whl")

    venv = tmp / "venv"
    made = run([sys.executable, "-m", "venv", "--without-pip", venv], tmp, env)
    assert made.returncode == 0, made.stderr
    purelib = run(
        [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, env
    )
    site_packages = Path(purelib.stdout.strip())
    (site_packages / "test_venv_libraries.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    (site_packages / "base_install.pth").write_text(
        f"import sys; sys.modules.update(dict.fromkeys({user_extras_modules()!r}))\n"  # None: `import` fails
    )
    pip = [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--ignore-installed"]
    added = run([*pip, wheel], tmp, env)
    assert added.returncode == 0, added.stderr

    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return Installed(source, wheel, venv, elsewhere, env)


def test_the_wheel_carries_every_data_file(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    expected = {
        f"retinavlm/_data/{path.relative_to(installed.source).as_posix()}"
        for folder in DATA_FOLDERS
        for path in (installed.source / folder).rglob("*")
        if path.is_file()
    }
    assert expected and expected <= names, sorted(expected - names)


def installed_python(installed: Installed, code: str) -> str:
    """What `code` prints, run by the fresh venv's python from the other folder."""
    ran = run([installed.venv / "bin" / "python", "-c", code], installed.elsewhere, installed.env)
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.strip()


def installed_data_root(installed: Installed) -> Path:
    return Path(installed_python(installed, "import retinavlm.resources as r; print(r.project_root())"))


def test_the_installed_package_and_its_data_come_from_the_venv(installed):
    package = Path(installed_python(installed, "import retinavlm; print(retinavlm.__file__)"))
    data = installed_data_root(installed)
    assert package.is_relative_to(installed.venv) and data.is_relative_to(installed.venv), (package, data)
    assert all((data / folder).is_dir() for folder in DATA_FOLDERS)


def test_the_installed_command_helps_and_names_the_extra_a_base_install_lacks(installed):
    retinavlm = installed.venv / "bin" / "retinavlm"
    helped = run([retinavlm, "--help"], installed.elsewhere, installed.env)
    assert helped.returncode == 0 and "demo" in helped.stdout, helped.stderr

    (installed.elsewhere / "some_run").mkdir()
    viewer = run([retinavlm, "view", "some_run"], installed.elsewhere, installed.env)
    assert viewer.returncode == 2
    assert viewer.stderr.splitlines() == [
        "retinavlm view: the viewer needs the 'ui' extra (streamlit is not installed): pip install 'retinavlm[ui]'"
    ]


def test_the_installed_demo_trains_from_another_folder(installed):
    presets = tiny_fast_preset(installed_data_root(installed) / "curricula", installed.elsewhere / "tiny.yaml")
    command = [installed.venv / "bin" / "retinavlm", "demo", "--fast", "--config", presets]
    demo = run(command, installed.elsewhere, installed.env, timeout=600)
    assert demo.returncode == 0, demo.stderr[-3000:]
    run_dir = installed.elsewhere / "runs" / "demo-fast"
    assert (run_dir / "run.json").is_file() and (run_dir / "evaluation" / "results.json").is_file()
    assert list((run_dir / "curriculum").glob("stage*/tensorboard/events.*")), "no TensorBoard log in a base install"
    assert "next: retinavlm view" in demo.stdout
