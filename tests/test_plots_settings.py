"""plots.json: round trip, damaged files, wrong types, the folder override."""

from __future__ import annotations

import json

import pytest

from mnist_tui.tui import plot_settings
from mnist_tui.tui.plot_settings import PlotSettings, load_settings, save_settings, update_settings


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(plot_settings.ENV_DIR, str(tmp_path / "cfg"))
    return tmp_path / "cfg"


def test_round_trip_in_the_overridden_folder(config_dir):
    settings = PlotSettings(log_loss=False, error_view=False, smoothing=0.95, range_epochs=3, show_lr=False)
    assert save_settings(settings)
    assert plot_settings.settings_path() == config_dir / "plots.json"
    assert load_settings() == settings
    assert json.loads((config_dir / "plots.json").read_text())["format"] == 1
    assert not list(config_dir.glob(".*tmp"))  # written atomically: no temporary left


def test_missing_or_damaged_file_gives_defaults(config_dir):
    assert load_settings() == PlotSettings()
    config_dir.mkdir()
    (config_dir / "plots.json").write_text('{"log_loss": tru')
    assert load_settings() == PlotSettings()
    (config_dir / "plots.json").write_bytes(b"\xff\xfe\x00garbage")
    assert load_settings() == PlotSettings()
    (config_dir / "plots.json").write_text("[1, 2]")
    assert load_settings() == PlotSettings()


def test_wrong_fields_fall_back_one_by_one(config_dir):
    config_dir.mkdir()
    (config_dir / "plots.json").write_text(
        json.dumps({"log_loss": "yes", "smoothing": 7, "range_epochs": -2, "show_lr": False, "extra": 1})
    )
    settings = load_settings()
    assert settings.log_loss == PlotSettings.log_loss  # a string is not a bool
    assert settings.smoothing == 0.99  # clamped
    assert settings.range_epochs == PlotSettings.range_epochs
    assert settings.show_lr is False


def test_update_changes_only_the_given_fields():
    save_settings(PlotSettings(smoothing=0.6))
    update_settings(error_view=False)
    assert load_settings() == PlotSettings(smoothing=0.6, error_view=False)


def test_unwritable_folder_is_not_an_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(plot_settings.ENV_DIR, str(blocker / "sub"))
    assert save_settings(PlotSettings()) is False


def test_steps_for_keys():
    assert plot_settings.next_smoothing(0.9, 1) == 0.95 and plot_settings.next_smoothing(0.9, -1) == 0.8
    assert plot_settings.next_smoothing(0.99, 1) == 0.99 and plot_settings.next_smoothing(0.0, -1) == 0.0
    seen = [0]
    for _ in range(4):
        seen.append(plot_settings.next_range(seen[-1]))
    assert seen == [0, 10, 3, 1, 0]
