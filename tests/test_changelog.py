"""Changelog entries, the Markdown they compile to, and where it goes in CHANGELOG.md."""

from __future__ import annotations

import datetime
import re

import pytest

from release_tools import changelog
from release_tools.changelog import Entry, generate, insert, merge_request_id, parse_entries, parse_entry, release_date
from release_tools.errors import ChangelogEntryError
from release_tools.version import Version

TODAY = datetime.date(2018, 7, 17)


# -- entries ----------------------------------------------------------------------------


def test_a_complete_entry_is_parsed():
    text = "---\ntitle: Fix the thing\nmerge_request: 1234\nauthor: Joe Smith\ntype: Fixed\n"

    assert parse_entry("changelogs/unreleased/a.yml", text) == Entry(
        "changelogs/unreleased/a.yml", "Fix the thing", "fixed", 1234, "Joe Smith"
    )


@pytest.mark.parametrize(
    "value, expected",
    [
        (1234, 1234),
        ("1234", 1234),
        ("!1234", 1234),
        ("gitlab-org/gitlab-ce!1234", 1234),
        ("https://gitlab.com/gitlab-org/gitlab-ce/merge_requests/1234", 1234),
        ("https://gitlab.com/group2/project/merge_requests/5", 5),
        ("https://gitlab.com/group2/project/-/merge_requests/5/diffs", 5),
        (None, None),
        ("", None),
    ],
    ids=["int", "digits", "bang", "full-reference", "url", "url-with-digits-in-group", "url-with-suffix", "none", "empty"],
)
def test_merge_request_is_the_number_of_the_merge_request(value, expected):
    assert merge_request_id(value) == expected


@pytest.mark.parametrize("value", ["soon", "1234 and 5678", True, 0, [1]], ids=repr)
def test_a_merge_request_that_names_no_number_is_refused(value):
    with pytest.raises(ValueError, match="is not a merge request number"):
        merge_request_id(value)


def test_id_is_the_fallback_for_merge_request():
    assert parse_entry("a.yml", "title: T\nid: 77\n").merge_request == 77


@pytest.mark.parametrize(
    "text, reason",
    [
        ("title: [unclosed\n", "not valid YAML"),
        ("- a list\n", "expected keys such as title and type, found list"),
        ("", "expected keys such as title and type, found NoneType"),
        ("type: fixed\n", "it has no title"),
        ("title: '   '\n", "it has no title"),
        ("title: T\nmerge_request: soon\n", "merge_request 'soon' is not a merge request number or URL"),
        ("title: T\nmerge_request: !1234\n", "not valid YAML"),  # an unquoted !1234 is a YAML tag
    ],
    ids=["yaml-error", "list", "empty", "no-title", "blank-title", "bad-mr", "unquoted-bang"],
)
def test_an_invalid_entry_is_refused_with_its_reason(text, reason):
    with pytest.raises(ChangelogEntryError, match=f"^'x.yml': {re.escape(reason)}"):
        parse_entry("x.yml", text)


@pytest.mark.parametrize(
    "kind, expected", [("Security", "security"), ("typo", "other"), (None, "other"), (3, "other"), ("", "other")], ids=repr
)
def test_an_unknown_or_odd_type_files_the_entry_under_other(kind, expected):
    text = "title: T\n" + (f"type: {kind!r}\n" if kind is not None else "")
    assert parse_entry("x.yml", text).type == expected


def test_parse_entries_keeps_the_invalid_ones_with_their_reasons():
    entries, invalid = parse_entries([("a.yml", "title: A\n"), ("b.yml", "nope: [\n"), ("c.yml", "type: fixed\n")])

    assert [e.title for e in entries] == ["A"]
    assert [(i.path, i.reason.split(" (")[0]) for i in invalid] == [("b.yml", "not valid YAML"), ("c.yml", "it has no title")]


@pytest.mark.parametrize(
    "entry, line",
    [
        (Entry("a", "Fix the thing", merge_request=1234, author="Joe Smith"), "Fix the thing. !1234 (Joe Smith)"),
        (Entry("a", "Fix the thing.", merge_request=1234), "Fix the thing. !1234"),
        (Entry("a", "Fix the thing..."), "Fix the thing."),
    ],
    ids=["full", "single-dot", "no-id"],
)
def test_entry_line(entry, line):
    assert entry.line() == line


def test_title_and_author_are_one_line_and_a_blank_author_is_no_author():
    parsed = parse_entry("a.yml", "title: |\n  Fix the\n  thing\nauthor: '  '\n")

    assert (parsed.title, parsed.author, parsed.is_community) == ("Fix the thing", None, False)


# -- Markdown -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version, today, expected",
    [
        ("11.1.0", datetime.date(2018, 7, 17), datetime.date(2018, 7, 22)),
        ("11.1.0", datetime.date(2018, 7, 22), datetime.date(2018, 7, 22)),
        ("11.1.0", datetime.date(2018, 7, 24), datetime.date(2018, 7, 24)),
        ("11.1.0-ee", datetime.date(2018, 7, 1), datetime.date(2018, 7, 22)),
        ("11.1.3", datetime.date(2018, 7, 17), datetime.date(2018, 7, 17)),
    ],
    ids=["monthly-ahead", "monthly-on-the-day", "monthly-late", "monthly-ee", "patch"],
)
def test_release_date_is_the_22nd_for_monthly_releases_unless_tagged_late(version, today, expected):
    assert release_date(Version.parse(version), today) == expected


def test_generate_groups_by_type_in_order_with_counts_and_sorts_by_merge_request():
    entries = [
        Entry("1", "Add B", "added", 20),
        Entry("2", "Fix C", "fixed", 30, "Ann"),
        Entry("3", "Fix A", "fixed", 10),
        Entry("4", "Fix no id", "fixed"),
        Entry("5", "Fix D", "fixed", 40, "Bob"),
        Entry("6", "Hole", "security", 50),
    ]

    assert generate(Version.parse("11.1.3"), entries, TODAY) == (
        "## 11.1.3 (2018-07-17)\n\n"
        "### Security (1 change)\n\n"
        "- Hole. !50\n\n"
        "### Fixed (4 changes, 2 of them are from the community)\n\n"
        "- Fix A. !10\n"
        "- Fix C. !30 (Ann)\n"
        "- Fix D. !40 (Bob)\n"
        "- Fix no id.\n\n"
        "### Added (1 change)\n\n"
        "- Add B. !20\n\n\n"
    )


def test_generate_counts_a_single_community_change_in_the_singular():
    text = generate(Version.parse("11.1.3"), [Entry("a", "X", "other", 1, "Joe")], TODAY)

    assert "### Other (1 change, 1 of them is from the community)\n" in text


def test_generate_without_entries_says_no_changes():
    assert generate(Version.parse("11.1.3-ee"), [], TODAY) == "## 11.1.3 (2018-07-17)\n\n- No changes.\n\n"


# -- insertion --------------------------------------------------------------------------

EXISTING = (
    "Please view this file on the master branch, on stable branches it's out of date.\n"
    "\n"
    "## 8.10.0 (2016-07-22)\n\n- Old ten.\n\n"
    "## 8.9.6 (2016-07-11)\n\n### Fixed (1 change)\n\n- Old nine six.\n\n\n"
    "## 8.9.5 (2016-07-05)\n\n- No changes.\n\n"
)


def section(version: str) -> str:
    return generate(Version.parse(version), [Entry("a", f"New in {version}", "fixed", 1)], TODAY)


@pytest.mark.parametrize("version", ["9.0.0", "8.11.0", "8.10.5"])
def test_a_newer_version_goes_above_the_first_header(version):
    updated = insert(EXISTING, Version.parse(version), section(version))

    first = EXISTING.index("## 8.10.0")
    assert updated == EXISTING[:first] + section(version) + EXISTING[first:]
    assert updated.splitlines()[2].startswith(f"## {version} (")


def test_a_patch_of_an_older_minor_goes_above_the_first_older_version():
    updated = insert(EXISTING, Version.parse("8.9.7"), section("8.9.7"))

    assert updated.index("## 8.10.0") < updated.index("## 8.9.7") < updated.index("## 8.9.6")
    assert "- Old ten.\n\n## 8.9.7 (2018-07-17)\n\n### Fixed (1 change)\n\n- New in 8.9.7. !1\n\n\n## 8.9.6" in updated


def test_an_ee_version_merges_under_the_header_of_its_ce_version():
    updated = insert(EXISTING, Version.parse("8.9.6-ee"), section("8.9.6-ee"))

    assert updated.count("## 8.9.6") == 1
    assert "## 8.9.6 (2016-07-11)\n\n### Fixed (1 change)\n\n- New in 8.9.6-ee. !1\n\n### Fixed (1 change)\n\n- Old nine six." in updated


def test_merging_no_entries_under_an_existing_header_changes_nothing():
    empty = generate(Version.parse("8.9.6"), [], TODAY)

    assert insert(EXISTING, Version.parse("8.9.6"), empty) == EXISTING


def test_merging_entries_replaces_a_lone_no_changes():
    updated = insert(EXISTING, Version.parse("8.9.5"), section("8.9.5"))

    assert updated.endswith("## 8.9.5 (2016-07-05)\n\n### Fixed (1 change)\n\n- New in 8.9.5. !1\n\n\n")
    assert "No changes" not in updated


def test_a_version_older_than_every_header_goes_at_the_end_instead_of_nowhere():
    updated = insert(EXISTING, Version.parse("8.8.0"), section("8.8.0"))

    assert updated == EXISTING + section("8.8.0")


def test_a_file_without_headers_gets_the_section_after_its_text():
    assert insert("# Changelog", Version.parse("1.0.0"), section("1.0.0")) == "# Changelog\n\n" + section("1.0.0")


def test_ee_compiles_its_own_file_then_the_ce_file():
    files = changelog.files_for(Version.parse("11.1.0-ee"))

    assert [(f.path, str(v)) for f, v in files] == [("CHANGELOG-EE.md", "11.1.0-ee"), ("CHANGELOG.md", "11.1.0")]
    assert files[0][0].folders == ("ee/changelogs/unreleased", "changelogs/unreleased-ee")
    assert [f.path for f, _ in changelog.files_for(Version.parse("11.1.0"))] == ["CHANGELOG.md"]
