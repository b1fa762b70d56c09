"""The build step pyproject.toml cannot declare: the wheel carries the repository's data folders.

curricula/, eval/ and ui/ stay at the top of the repository, where clinicians edit them and the docs name
them; a wheel gets a copy of each as retinavlm/_data/FOLDER, which retinavlm/resources.py reads first.
An editable install reads the checkout's folders in place. Everything else is configured in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA_FOLDERS = ("curricula", "eval", "ui")


class BuildPyWithDataFolders(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for folder in DATA_FOLDERS:
            target = Path(self.build_lib) / "retinavlm" / "_data" / folder
            shutil.rmtree(target, ignore_errors=True)  # a file deleted from the source leaves no stale copy
            shutil.copytree(folder, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithDataFolders})
