"""The Version and OmnibusVersion values: the original's contract, and its fixed flaws."""

from __future__ import annotations

import itertools
import random

import pytest

from release_tools.errors import InvalidVersionError
from release_tools.version import OmnibusVersion, Version

V = Version.parse


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1.2.3", "1.2.3"),
        ("2.2.3-rc1", "2.2.3-rc1"),
        ("1.2.0-rc1-ee", "1.2.0-rc1-ee"),
        ("1.2", "1.2.0"),
        ("1.2-rc3", "1.2.0-rc3"),
        ("1.2-rc3-ee", "1.2.0-rc3-ee"),
        ("11.10.12", "11.10.12"),
        (" 11.1.0\n", "11.1.0"),
    ],
    ids=lambda value: repr(value),
)
def test_parse_normalises_valid_versions(text, expected):
    assert str(V(text)) == expected


def test_minor_only_ee_version_keeps_its_edition():
    # The original normalised `X.Y-ee` to `X.Y.0`, dropping -ee.
    assert str(V("1.2-ee")) == "1.2.0-ee"
    assert V("1.2-ee").ee


@pytest.mark.parametrize(
    "text",
    ["2.2.3.rc1", "1.2.3.4", "wow", "v1.2.3", "", "1", "1.2.3-rc", "1.2-rc", "1.2.3-ee-rc1", "01.2.3", "1.2.3 4"],
    ids=repr,
)
def test_parse_rejects_invalid_versions(text):
    with pytest.raises(InvalidVersionError, match=r"^Version number must be in the following format: X\.Y\.Z-rc1 or X\.Y\.Z"):
        V(text)


def test_bare_rc_suffix_is_rejected_with_a_hint():
    # The original read `1.2.3-rc` as rc0, a release that never exists.
    with pytest.raises(InvalidVersionError, match="the RC needs a number"):
        V("1.2.3-rc")


@pytest.mark.parametrize("text", ["1.2.3-rc0", "1.2.3-rc01", "1.2-rc0-ee"], ids=repr)
def test_rc_numbers_start_at_1_without_leading_zeros(text):
    # Omnibus versions (`1.2.3+rc1.ce.0`) never have an rc0 or rc01, so a Version that did
    # would name a package that cannot exist: `rc01` would also tag v1.2.3-rc1 unasked.
    with pytest.raises(InvalidVersionError, match=r"the RC number is 1 or more, without leading zeros"):
        V(text)


@pytest.mark.parametrize("text", ["1.2.3-rc1", "1.2.3-rc10", "1.2.0-rc2-ee"])
def test_every_version_has_an_omnibus_form_that_parses_back(text):
    for ee in (False, True):
        omnibus = V(text).to_omnibus(ee=ee)
        assert OmnibusVersion.parse(omnibus.tag) == omnibus


@pytest.mark.parametrize(
    "text, ee, rc, monthly, patch, release",
    [
        ("1.2.0", False, False, True, False, True),
        ("1.2.0-ee", True, False, True, False, False),
        ("1.2.3", False, False, False, True, True),
        ("1.2.3-ee", True, False, False, True, False),
        ("1.2.0-rc1", False, True, False, False, False),
        ("1.2.3-rc2-ee", True, True, False, True, False),
    ],
)
def test_predicates(text, ee, rc, monthly, patch, release):
    version = V(text)
    assert (version.ee, version.is_rc, version.is_monthly, version.is_patch, version.is_release) == (
        ee,
        rc,
        monthly,
        patch,
        release,
    )


@pytest.mark.parametrize(
    "method, text, expected",
    [
        ("to_ce", "1.2.3-rc1-ee", "1.2.3-rc1"),
        ("to_ee", "1.2.3-rc1", "1.2.3-rc1-ee"),
        ("to_ee", "1.2.3-ee", "1.2.3-ee"),
        ("to_patch", "1.23.4-rc1-ee", "1.23.4"),
        ("next_minor", "1.2.3-ee", "1.3.0"),
        ("next_patch", "1.2.3", "1.2.4"),
        ("next_patch", "1.2.3-ee", "1.2.4-ee"),
        ("next_patch", "1.2.3-rc1", "1.2.4"),
        ("previous_patch", "1.2.3", "1.2.2"),
        ("previous_patch", "1.2.3-ee", "1.2.2-ee"),
        ("previous_patch", "1.2.3-rc1", "1.2.2"),
    ],
)
def test_derived_versions(method, text, expected):
    assert str(getattr(V(text), method)()) == expected


def test_previous_patch_of_a_monthly_release_is_none():
    assert V("1.2.0").previous_patch() is None


def test_to_rc_keeps_the_edition():
    assert str(V("8.3.0").to_rc(3)) == "8.3.0-rc3"
    assert str(V("8.3.0-ee").to_rc(3)) == "8.3.0-rc3-ee"
    assert str(V("8.3.0").to_rc()) == "8.3.0-rc1"


@pytest.mark.parametrize(
    "text, ce_branch, ee_branch",
    [("1.23.4", "1-23-stable", "1-23-stable-ee"), ("1.23.4-ee", "1-23-stable-ee", "1-23-stable-ee")],
)
def test_stable_branches(text, ce_branch, ee_branch):
    assert V(text).stable_branch() == ce_branch
    assert V(text).stable_branch(ee=True) == ee_branch


@pytest.mark.parametrize(
    "text, tag, ee_tag, previous, previous_ee",
    [
        ("1.2.3", "v1.2.3", "v1.2.3-ee", "v1.2.2", "v1.2.2-ee"),
        ("1.2.3-rc1", "v1.2.3-rc1", "v1.2.3-rc1-ee", None, None),
        ("1.2.3-ee", "v1.2.3-ee", "v1.2.3-ee", "v1.2.2-ee", "v1.2.2-ee"),
        ("1.2.0", "v1.2.0", "v1.2.0-ee", None, None),
    ],
)
def test_tags(text, tag, ee_tag, previous, previous_ee):
    version = V(text)
    assert version.tag() == tag
    assert version.tag(ee=True) == ee_tag
    assert version.previous_tag() == previous
    assert version.previous_tag(ee=True) == previous_ee


def test_milestone_name_is_major_dot_minor():
    assert V("8.3.2-rc1-ee").milestone_name == "8.3"
    assert V("8.3.2").to_minor == "8.3"


@pytest.mark.parametrize(
    "text, ee, omnibus, docker",
    [
        ("1.23.4-rc1", False, "1.23.4+rc1.ce.0", "1.23.4-rc1.ce.0"),
        ("1.23.0", True, "1.23.0+ee.0", "1.23.0-ee.0"),
        # The edition comes only from the argument, as in the original.
        ("1.23.0-ee", False, "1.23.0+ce.0", "1.23.0-ce.0"),
        ("11.1.0-rc2-ee", True, "11.1.0+rc2.ee.0", "11.1.0-rc2.ee.0"),
    ],
)
def test_omnibus_and_docker_forms(text, ee, omnibus, docker):
    assert str(V(text).to_omnibus(ee=ee)) == omnibus
    assert V(text).to_docker(ee=ee) == docker


# -- ordering -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "larger, smaller",
    [
        ("1.2.3", "1.2.3-rc2"),
        ("1.2.3-rc3", "1.2.3-rc1"),
        ("1.2.3-rc1", "1.2.2"),
        ("1.2.4-rc1", "1.2.3"),
        ("2.0.0", "1.99.99"),
        ("1.10.0", "1.9.0"),
    ],
)
def test_ordering_matches_the_original_contract(larger, smaller):
    assert V(larger) > V(smaller)
    assert V(smaller) < V(larger)


def test_ordering_ranks_rcs_of_different_patches_correctly():
    # The original gave `1.2.4-rc1 <=> 1.2.3-rc1` == 0 and `1.2.4-rc1 <=> 1.2.3-rc5` == -4.
    assert V("1.2.4-rc1") > V("1.2.3-rc1")
    assert V("1.2.4-rc1") > V("1.2.3-rc5")
    assert V("1.2.4-rc1") != V("1.2.3-rc1")


def test_ordering_is_a_total_order():
    texts = [f"{a}.{b}.{c}{rc}" for a, b, c, rc in itertools.product((1, 2), (0, 3), (0, 1, 4), ("", "-rc1", "-rc5"))]
    versions = [V(t) for t in texts]
    for a, b in itertools.product(versions, repeat=2):
        assert sum((a < b, a == b, a > b)) == 1, (a, b)
        for c in versions:
            if a < b and b < c:
                assert a < c
    shuffled = versions[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled) == sorted(versions)
    assert [str(v) for v in sorted(versions)][:3] == ["1.0.0-rc1", "1.0.0-rc5", "1.0.0"]


def test_equality_ignores_the_edition_and_hashing_agrees():
    assert V("1.2.3") == V("1.2.3-ee")
    assert hash(V("1.2.3")) == hash(V("1.2.3-ee"))
    assert len({V("1.2.3"), V("1.2.3-ee"), V("1.2.3-rc1")}) == 2


def test_comparison_with_a_string_is_not_silently_true():
    assert (V("1.2.3") == "1.2.3") is False
    with pytest.raises(TypeError):
        V("1.2.3") < "1.2.4"  # noqa: B015


# -- omnibus versions -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, tag, branch",
    [
        ("1.2.0+rc2.ee", "1.2.0+rc2.ee.0", "1-2-stable-ee"),
        ("11.1.0+rc4.ce.0", "11.1.0+rc4.ce.0", "11-1-stable"),
        ("11.1.3+ee.0", "11.1.3+ee.0", "11-1-stable-ee"),
        ("11.1+ce.0", "11.1.0+ce.0", "11-1-stable"),
    ],
)
def test_omnibus_version_parsing(text, tag, branch):
    omnibus = OmnibusVersion.parse(text)
    assert omnibus.tag == tag
    assert omnibus.stable_branch() == branch
    assert omnibus.docker == tag.replace("+", "-")


@pytest.mark.parametrize("text", ["wow.1", "1.2.3", "v1.2.3+ce.0", "1.2.3+xe.0"])
def test_omnibus_version_rejects_what_the_original_turned_into_zeros(text):
    with pytest.raises(InvalidVersionError, match="Omnibus version must be"):
        OmnibusVersion.parse(text)


def test_omnibus_round_trip_from_version():
    version = V("11.1.0-rc2-ee")
    assert OmnibusVersion.parse(str(version.to_omnibus(ee=True))) == version.to_omnibus(ee=True)
