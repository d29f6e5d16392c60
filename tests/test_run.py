"""Opening a run: its parameters checked together, the sample kept out of real lakes, its tags, secrets."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from joshua.errors import ConfigError, SampleRefused
from joshua.run import open_run, run_tags
from joshua.settings import load_settings
from schemas.records import AssessmentParams, CollectionParams
from tests.lake_factory import write_lake

VALUES = {"nuclear_arsenal": 0.5, "regional_conflict": 0.6}


def test_a_typo_in_a_parameter_is_an_error_not_the_sample():
    with pytest.raises(ValidationError, match="snapshots"):
        AssessmentParams(snapshots="/tmp/x")
    with pytest.raises(ValidationError, match="extra"):
        CollectionParams(analyser="heuristic")


def test_live_and_snapshot_exclude_each_other():
    with pytest.raises(ValidationError, match="`live` and `snapshot` exclude each other"):
        AssessmentParams(live=True, snapshot="data/snapshots/sample")


def test_the_sample_is_refused_beside_real_assessments(data_dir):
    write_lake(data_dir / "lake", [(datetime(2026, 11, 1, tzinfo=UTC), 89, VALUES)])
    settings = load_settings(data_dir=data_dir)
    with pytest.raises(SampleRefused, match="holds 1 assessment.*--allow-sample") as refused:
        open_run(AssessmentParams(), settings)
    assert isinstance(refused.value, ConfigError)  # the CLI answers it with exit 2
    assert open_run(AssessmentParams(allow_sample=True), settings)[1].sample_data
    assert not open_run(AssessmentParams(live=True), settings)[1].sample_data


def test_the_sample_goes_into_an_empty_or_sample_lake(data_dir):
    assert open_run(AssessmentParams(), load_settings(data_dir=data_dir))[1].sample_data


def test_tags_say_where_the_data_came_from_and_which_analyzer(data_dir):
    settings = load_settings(data_dir=data_dir)
    assert run_tags(*open_run(AssessmentParams(analyzer="heuristic"), settings)) == [
        "snapshot",
        "sample",
        "analyzer:heuristic",
    ]
    assert run_tags(*open_run(AssessmentParams(live=True, analyzer="heuristic"), settings)) == ["live", "analyzer:heuristic"]
    assert run_tags(*open_run(AssessmentParams(live=True), settings, flow="nuclear-risk-collection")) == ["live"]


def test_secrets_from_blocks_fill_only_what_the_environment_left_unset(monkeypatch, data_dir):
    monkeypatch.setenv("NEWSAPI_KEY", "from-env")
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    monkeypatch.setenv("JOSHUA_SECRET_BLOCKS__NEWSAPI_KEY", "newsapi-block")
    monkeypatch.setenv("JOSHUA_SECRET_BLOCKS__X_BEARER_TOKEN", "x-block")
    monkeypatch.setenv("JOSHUA_SECRET_BLOCKS__SMTP_PASSWORD", "smtp-block")
    monkeypatch.setenv("JOSHUA_SECRET_BLOCKS__SLACK_WEBHOOK_URL", "slack-block")
    settings = load_settings(data_dir=data_dir)
    wanted = settings.missing_secret_blocks()
    assert wanted == {"x_bearer_token": "x-block", "slack_webhook_url": "slack-block", "smtp_password": "smtp-block"}
    filled = settings.with_secrets({"x_bearer_token": "xt", "slack_webhook_url": "http://127.0.0.1:9/h", "smtp_password": "pw"})
    assert filled.credential("X_BEARER_TOKEN") == "xt" and filled.credential("NEWSAPI_KEY") == "from-env"
    assert filled.notifications.slack_webhook_url.get_secret_value() == "http://127.0.0.1:9/h"
    assert filled.notifications.smtp_password.get_secret_value() == "pw" and "pw" not in repr(filled)
    assert settings.credential("X_BEARER_TOKEN") is None  # the original is left alone
