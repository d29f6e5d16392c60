import pytest

from joshua.errors import ConfigError
from joshua.settings import load_settings
from schemas.records import Category


def test_defaults_come_from_joshua_toml():
    settings = load_settings()
    assert settings.collect.min_sources == 3
    assert settings.risk.weights[Category.REGIONAL_CONFLICT] == 0.20
    assert abs(sum(settings.risk.weights.values()) - 1.0) < 1e-9


def test_environment_overrides_file_and_arguments_override_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("JOSHUA_COLLECT__MIN_SOURCES", "5")
    monkeypatch.setenv("JOSHUA_DATA_DIR", str(tmp_path / "env"))
    settings = load_settings()
    assert settings.collect.min_sources == 5 and settings.data_dir == tmp_path / "env"
    assert load_settings(data_dir=tmp_path / "arg").data_dir == tmp_path / "arg"


def test_api_key_is_read_from_the_environment_and_never_shown(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-secret")
    settings = load_settings()
    assert settings.anthropic_api_key.get_secret_value() == "sk-ant-test-secret"
    assert "sk-ant-test-secret" not in repr(settings) and "sk-ant-test-secret" not in settings.model_dump_json()


def test_weights_must_sum_to_one(monkeypatch, tmp_path):
    config = tmp_path / "joshua.toml"
    config.write_text("[risk.weights]\neconomic = 0.5\nregional_conflict = 0.2\n")
    monkeypatch.setenv("JOSHUA_CONFIG", str(config))
    with pytest.raises(ConfigError, match="weights must sum to 1.0"):
        load_settings()


def test_bands_must_increase(monkeypatch, tmp_path):
    config = tmp_path / "joshua.toml"
    config.write_text("[risk.bands]\ncritical = 300\nsevere = 200\n")
    monkeypatch.setenv("JOSHUA_CONFIG", str(config))
    with pytest.raises(ConfigError, match="strictly increasing"):
        load_settings()


def test_missing_config_file(monkeypatch, tmp_path):
    monkeypatch.setenv("JOSHUA_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="not a file"):
        load_settings()


def test_unknown_setting_is_rejected(monkeypatch, tmp_path):
    config = tmp_path / "joshua.toml"
    config.write_text("colect = 3\n")
    monkeypatch.setenv("JOSHUA_CONFIG", str(config))
    with pytest.raises(ConfigError, match="colect"):
        load_settings()
