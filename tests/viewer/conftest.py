import importlib.util
import shlex
import shutil

import pytest
from viewer_testing import build_demo_run

from retinavlm.resources import project_root

APP = project_root() / "ui" / "app.py"
HAS_STREAMLIT = importlib.util.find_spec("streamlit") is not None


def pytest_ignore_collect(collection_path, config):
    """Without streamlit (the `ui` extra) the viewer's tests cannot even import; say so instead of erroring."""
    if not HAS_STREAMLIT and collection_path.name.startswith("test_viewer_"):
        print(f"skipping {collection_path.name}: streamlit is not installed (pip install -e '.[ui]')")
        return True
    return None


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """A run folder shared by the read-only tests (never written to)."""
    return build_demo_run(tmp_path_factory.mktemp("viewer") / "run")


@pytest.fixture
def own_run(demo_run, tmp_path):
    """A private copy for tests that write into the run (reader-study database) or break it."""
    return shutil.copytree(demo_run, tmp_path / "run")


@pytest.fixture
def view_args(monkeypatch):
    """Point the app at a run folder the way the tests can: RETINAVLM_VIEW_ARGS (see retinavlm.viewer.config)."""

    def set_args(*args: str) -> None:
        monkeypatch.setenv("RETINAVLM_VIEW_ARGS", shlex.join(map(str, args)))

    monkeypatch.setenv("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    return set_args


@pytest.fixture(scope="session", autouse=True)
def _scan_streamlit_components_once():
    """Each new AppTest scans every installed distribution for Streamlit components (~2 s); the installed
    set cannot change during a test session, so the scan runs once."""
    from streamlit.components.v2 import manifest_scanner

    found = manifest_scanner.scan_component_manifests()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest_scanner, "scan_component_manifests", lambda max_workers=None: found)
        yield


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
    """An untrained tiny RetinaVLM saved as a checkpoint: enough to exercise loading, streaming and Grad-CAM."""
    from retinavlm.model.config import LLMConfig, RetinaVLMConfig
    from retinavlm.model.vlm import RetinaVLM

    config = RetinaVLMConfig(
        llm=LLMConfig(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=512,
        )
    )
    folder = tmp_path_factory.mktemp("checkpoint") / "tiny"
    RetinaVLM.from_config(config, device="cpu").save_pretrained(folder)
    return folder
