"""The test suite's own policy: what a missing prerequisite does locally and in CI."""

from __future__ import annotations

import pytest

from tests.conftest import REQUIRE_VARIABLE, require_module, skip_or_fail

MISSING = "labelmend_no_such_module"


def outcome(action):
    """(skip or fail exception type, message) that ``action`` raises, or None."""
    try:
        action()
    except (pytest.skip.Exception, pytest.fail.Exception) as raised:
        return type(raised), str(raised)
    return None


@pytest.mark.parametrize(("required", "expected"), [(None, "skip"), ("1", "fail")])
def test_a_missing_prerequisite_skips_locally_and_fails_in_ci(monkeypatch, required, expected):
    if required is None:
        monkeypatch.delenv(REQUIRE_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(REQUIRE_VARIABLE, required)
    kind = getattr(pytest, expected).Exception
    found = outcome(lambda: require_module(MISSING))
    assert found is not None
    assert found[0] is kind
    assert f"{MISSING} is not installed" in found[1]
    assert outcome(lambda: skip_or_fail("no data"))[0] is kind
    assert outcome(lambda: require_module("numpy")) is None
