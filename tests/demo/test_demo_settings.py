"""A demo run folder's settings name the curriculum files by content, not by where the checkout lies."""

import shutil

from retinavlm.demo import file_digests
from retinavlm.resources import curricula_dir

FILES = ("curriculum.yaml", "stage0_ssl.yaml", "stage1_introduction.yaml", "stage2_specialism.yaml")


def copies(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    for file in FILES:
        shutil.copy(curricula_dir() / file, folder / file)
    return [folder / file for file in FILES]


def test_the_same_files_in_another_checkout_give_the_same_settings(tmp_path):
    here, there = copies(tmp_path, "checkout"), copies(tmp_path, "worktree")
    assert file_digests(here) == file_digests(there)
    assert set(file_digests(here)) == set(FILES)
    there[2].write_text(there[2].read_text() + "\n# edited\n")
    assert file_digests(here) != file_digests(there)
