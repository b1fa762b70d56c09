import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retinavlm.viewer.paths import AllowedRoots, UnsafePathError


@pytest.fixture
def tree(tmp_path):
    run, data, outside = tmp_path / "run", tmp_path / "data", tmp_path / "outside"
    for folder in (run / "images", data / "scans", outside):
        folder.mkdir(parents=True)
    (run / "images" / "a.png").write_bytes(b"a")
    (data / "scans" / "b.png").write_bytes(b"b")
    (outside / "secret.txt").write_text("secret")
    return run, data, outside


def test_relative_paths_resolve_in_the_run_then_the_data_roots(tree):
    run, data, _ = tree
    roots = AllowedRoots([run, data])
    assert roots.resolve("images/a.png") == (run / "images" / "a.png").resolve()
    assert roots.resolve("scans/b.png") == (data / "scans" / "b.png").resolve()
    with pytest.raises(FileNotFoundError, match="no such file"):
        roots.resolve("images/missing.png")


@pytest.mark.parametrize("name", ["../outside/secret.txt", "images/../../outside/secret.txt", "/etc/passwd", ""])
def test_paths_leaving_the_roots_are_refused(tree, name):
    run, data, _ = tree
    with pytest.raises(UnsafePathError):
        AllowedRoots([run, data]).resolve(name)


def test_symlinks_pointing_out_of_the_roots_are_refused(tree):
    run, data, outside = tree
    os.symlink(outside / "secret.txt", run / "images" / "evil.png")
    os.symlink(data / "scans" / "b.png", run / "images" / "fine.png")
    roots = AllowedRoots([run, data])
    with pytest.raises(UnsafePathError, match="outside the run folder"):
        roots.resolve("images/evil.png")
    assert roots.resolve("images/fine.png") == (data / "scans" / "b.png").resolve()


def test_absolute_paths_inside_a_root_are_allowed(tree):
    run, _, _ = tree
    assert AllowedRoots([run]).resolve(str(run / "images" / "a.png")) == (run / "images" / "a.png").resolve()


@given(st.text(alphabet="./abcimages_-\\~%", max_size=40))
def test_whatever_the_name_a_resolved_path_is_inside_the_roots(tmp_path_factory, name):
    run = tmp_path_factory.getbasetemp() / "prop-run"
    (run / "images").mkdir(parents=True, exist_ok=True)
    roots = AllowedRoots([run])
    try:
        path = roots.resolve(name, must_exist=False)
    except UnsafePathError:
        return
    assert path.is_relative_to(run.resolve())
