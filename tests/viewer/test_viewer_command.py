import argparse

import pytest

from retinavlm.cli import main
from retinavlm.commands import view
from retinavlm.viewer import config


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    view.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_streamlit_is_started_on_localhost_headless_without_telemetry(tmp_path):
    command = view.streamlit_command(
        parse(str(tmp_path), "--data-root", "/data/a", "--data-root", "/data/b", "--port", "9123")
    )
    flags = dict(zip(command[5::2], command[6::2]))
    assert command[1:4] == ["-m", "streamlit", "run"] and command[4].endswith("ui/app.py")
    assert flags["--server.address"] == "127.0.0.1" and flags["--server.headless"] == "true"
    assert flags["--browser.gatherUsageStats"] == "false" and flags["--server.port"] == "9123"
    app_args = command[command.index("--") + 1 :]
    settings = config.parse(app_args)
    assert settings.run_dir == tmp_path.resolve()
    assert [str(p) for p in settings.data_roots] == ["/data/a", "/data/b"]
    assert settings.study.name == "example_study.yaml"


def test_view_refuses_a_missing_run_folder(tmp_path, capsys):
    assert main(["view", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nowhere'}: run folder not found"


def test_view_is_registered_in_the_cli(capsys):
    with pytest.raises(SystemExit) as info:
        main(["view", "--help"])
    assert info.value.code == 0
    assert "--data-root" in capsys.readouterr().out


def test_the_knowledge_base_options_reach_the_app(tmp_path):
    command = view.streamlit_command(parse(str(tmp_path), "--knowledge", str(tmp_path / "kb"), "--force-knowledge"))
    settings = config.parse(command[command.index("--") + 1 :])
    assert settings.knowledge == (tmp_path / "kb").resolve() and settings.force_knowledge
    default = config.parse([str(tmp_path)])
    assert default.knowledge is None and not default.force_knowledge
