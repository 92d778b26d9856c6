"""The release's clock: `release_tools.date` and SOURCE_DATE_EPOCH, and which one wins."""

from __future__ import annotations

import datetime

import pytest

from release_tools.clock import Clock
from release_tools.config import Settings
from release_tools.errors import ConfigurationError

UTC = datetime.timezone.utc
#: 2018-07-20 15:30:00 UTC.
EPOCH = "1532100600"


def test_without_either_the_clock_is_the_real_one():
    clock = Clock.from_config("", None)

    assert not clock.is_set and clock.note() is None
    assert clock.today() == datetime.date.today()
    assert abs(clock.now() - datetime.datetime.now(UTC)) < datetime.timedelta(seconds=5)


def test_source_date_epoch_sets_the_moment_in_utc():
    clock = Clock.from_config("", EPOCH)

    assert clock.now() == datetime.datetime(2018, 7, 20, 15, 30, tzinfo=UTC)
    assert clock.today() == datetime.date(2018, 7, 20)
    assert clock.note() == f"Dated 2018-07-20 15:30 UTC, as SOURCE_DATE_EPOCH={EPOCH} says (not the real time)"


def test_an_epoch_late_in_the_utc_day_is_that_utc_day():
    assert Clock.from_config("", "1532129400").today() == datetime.date(2018, 7, 20)  # 23:30 UTC


@pytest.mark.parametrize("setting", ["2018-07-25", datetime.date(2018, 7, 25)], ids=["text", "YAML date"])
def test_the_setting_sets_the_day_and_keeps_the_real_time_of_day(setting):
    clock = Clock.from_config(setting, None)
    real = datetime.datetime.now(UTC)

    assert clock.today() == datetime.date(2018, 7, 25)
    assert clock.now().date() == datetime.date(2018, 7, 25) and clock.now().tzinfo is not None
    assert abs(clock.now().replace(year=real.year, month=real.month, day=real.day) - real) < datetime.timedelta(seconds=5)
    assert clock.note() == "Dated 2018-07-25, as release_tools.date says (not today)"


def test_the_setting_wins_over_the_variable():
    clock = Clock.from_config("2018-07-25", EPOCH)

    assert clock.today() == datetime.date(2018, 7, 25) and clock.source == "release_tools.date"


@pytest.mark.parametrize("epoch", ["", "  "], ids=["empty", "blank"])
def test_an_empty_variable_counts_as_unset(epoch):
    assert not Clock.from_config("", epoch).is_set


@pytest.mark.parametrize(
    "setting",
    ["2018-7-25", "2018-02-30", "25.07.2018", "2018-07-25T10:00", datetime.datetime(2018, 7, 25, 10), "２０１８-07-25", "today"],
    ids=["short month", "no such day", "other order", "with a time", "YAML timestamp", "fullwidth digits", "a word"],
)
def test_a_malformed_setting_is_refused_naming_it(setting):
    with pytest.raises(ConfigurationError, match=r"^release_tools.date must be a date YYYY-MM-DD, e.g. 2018-07-22 \(got '"):
        Clock.from_config(setting, None)


@pytest.mark.parametrize(
    "epoch",
    ["yesterday", "1532100600.5", "-1", "1e9", "99999999999999999999", "١٥٣٢١٠٠٦٠٠", "1532100600\nforged line"],
    ids=["a word", "a fraction", "negative", "exponent", "out of range", "Arabic-Indic digits", "newline"],
)
def test_a_malformed_variable_is_refused_in_one_line_naming_it(epoch):
    with pytest.raises(ConfigurationError) as caught:
        Clock.from_config("", epoch)

    message = str(caught.value)
    assert message.startswith("SOURCE_DATE_EPOCH must be a whole number of seconds since 1970-01-01 UTC")
    assert "\n" not in message and len(message) < 200


def test_a_malformed_variable_is_not_looked_at_when_the_setting_is_given():
    assert Clock.from_config("2018-07-25", "garbage").today() == datetime.date(2018, 7, 25)


def test_settings_read_both_from_the_configuration_and_the_environment(tmp_path):
    tree = {"env_file": ""}

    from_variable = Settings.from_mapping(tree, {"SOURCE_DATE_EPOCH": EPOCH})
    from_setting = Settings.from_mapping({**tree, "date": "2018-07-25"}, {"SOURCE_DATE_EPOCH": EPOCH})

    assert from_variable.clock.today() == datetime.date(2018, 7, 20)
    assert from_setting.clock.today() == datetime.date(2018, 7, 25)
    with pytest.raises(ConfigurationError, match="^SOURCE_DATE_EPOCH must be"):
        Settings.from_mapping(tree, {"SOURCE_DATE_EPOCH": "now"})
