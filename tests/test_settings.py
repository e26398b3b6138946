"""Settings precedence (TOML < environment < flags) and bad values named clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from omni_mcp.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("OMNI_MCP_"):
            monkeypatch.delenv(key)


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "omni.toml"
    path.write_text(text)
    return path


def test_defaults_bind_loopback_on_the_documented_port() -> None:
    settings = load_settings()
    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 37373
    assert settings.binds_loopback
    assert settings.database.resolved_url().startswith("sqlite:///")
    assert settings.database.resolved_url().endswith("omni-mcp.db")


def test_environment_overrides_file_and_flags_override_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_toml(tmp_path, '[server]\nport = 1111\nhost = "0.0.0.0"\n[gateway]\ntool_timeout = 5\n')
    assert load_settings(path).server.port == 1111
    monkeypatch.setenv("OMNI_MCP_SERVER__PORT", "2222")
    from_env = load_settings(path)
    assert from_env.server.port == 2222
    assert from_env.server.host == "0.0.0.0"  # untouched keys keep the file's value
    assert from_env.gateway.tool_timeout == 5
    flagged = load_settings(path, server={"port": 3333, "host": None})
    assert flagged.server.port == 3333
    assert flagged.server.host == "0.0.0.0"  # a flag that was not given masks nothing


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "OMNI_MCP_CONFIG", str(write_toml(tmp_path, "[logging]\njson = true\nlevel = 'DEBUG'\n"))
    )
    settings = load_settings()
    assert settings.logging.json_logs is True
    assert settings.logging.level == "DEBUG"


def test_lists_from_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNI_MCP_GATEWAY__ALLOWED_ORIGINS", '["https://admin.example.com"]')
    assert load_settings().gateway.allowed_origins == ["https://admin.example.com"]


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            "[server]\nport = 70000\n",
            "setting 'server.port' (env OMNI_MCP_SERVER__PORT): Input should be less than",
        ),
        ("[server]\nport = 'high'\n", "setting 'server.port'"),
        (
            "[server]\nprot = 1\n",
            "setting 'server.prot' (env OMNI_MCP_SERVER__PROT): Extra inputs are not permitted",
        ),
        ("[gateway]\ntool_timeout = -1\n", "setting 'gateway.tool_timeout'"),
        ("[logging]\nlevel = 'LOUD'\n", "setting 'logging.level'"),
        ("[nonsense]\nx = 1\n", "setting 'nonsense'"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(tmp_path: Path, toml: str, expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(write_toml(tmp_path, toml))
    assert expected in str(caught.value)


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNI_MCP_SERVER__PORT", "abc")
    with pytest.raises(
        SettingsError, match=r"OMNI_MCP_SERVER__PORT\): Input should be a valid integer.*'abc'"
    ):
        load_settings()


def test_bad_flag_value_is_reported_like_any_other() -> None:
    with pytest.raises(SettingsError, match="setting 'server.port'"):
        load_settings(server={"port": -5})


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "absent.toml")
    with pytest.raises(SettingsError, match="is not valid TOML"):
        load_settings(write_toml(tmp_path, "[server\nport=1"))


def test_example_config_documents_every_key() -> None:
    import tomllib

    from omni_mcp.settings import Settings

    example = Path(__file__).parent.parent / "config.example.toml"
    parsed = tomllib.loads(example.read_text())
    for section, model in Settings.model_fields.items():
        assert model.annotation is not None
        fields = model.annotation.model_fields  # type: ignore[union-attr]
        documented = example.read_text()
        for name, field in fields.items():
            key = field.alias or name
            assert f"{key} =" in documented, f"config.example.toml lacks [{section}] {key}"
    # Everything left uncommented must also be valid.
    Settings.model_validate(parsed)
