"""``tocsin rotation …`` and ``tocsin shift note`` as processes against a running rotation:
every time they print is in the rotation's zone and says which (Chicago here)."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_rotations import Desk, desk  # noqa: F401  # the running rotation

pytestmark = pytest.mark.e2e

# ``2026-11-23 10:00 CST``: a time in the rotation's zone, with the zone's name.
LOCAL = r"\d{4}-\d\d-\d\d \d\d:\d\d C[SD]T"


class TestRotationTimes:
    async def test_show_override_shifts_and_note(self, desk: Desk) -> None:  # noqa: F811
        """The next handoff (10:00 Chicago), the holders' ends, an override's span, each
        shift and the noted shift's end all come in Chicago time with the zone's name."""
        override = await desk.cli(
            "rotation", "override", desk.rotation, "--layer", "eoc", "--person", "bob",
            "--start", "2027-03-01T09:00:00-06:00", "--end", "2027-03-02T09:00:00-06:00",
            "--as", "alice",
        )  # fmt: skip
        assert override.returncode == 0, override.stderr
        assert re.search(
            r"bob holds eoc 2027-03-01 09:00 CST to 2027-03-02 09:00 CST", override.stdout
        ), override.stdout

        shown = await desk.cli("rotation", "show", desk.rotation)
        assert shown.returncode == 0, shown.stderr
        assert re.search(r"^next handoff \S+ 10:00 C[SD]T$", shown.stdout, re.M), shown.stdout
        assert re.search(rf"^  eoc +\w+ until {LOCAL}$", shown.stdout, re.M), shown.stdout
        assert "holds eoc 2027-03-01 09:00 CST to 2027-03-02 09:00 CST" in shown.stdout

        shifts = await desk.cli(
            "rotation", "shifts", desk.rotation,
            "--from", "2027-03-08T00:00:00-06:00", "--to", "2027-03-22T00:00:00-05:00",
        )  # fmt: skip
        assert shifts.returncode == 0, shifts.stderr
        lines = shifts.stdout.splitlines()
        assert lines
        assert all(re.search(rf"{LOCAL} to {LOCAL}", line) for line in lines), lines
        assert any("2027-03-15 10:00 CDT" in line for line in lines), "after the DST change"

        noted = await desk.cli("shift", "note", desk.rotation, "all quiet", "--as", "alice")
        assert noted.returncode == 0, noted.stderr
        assert re.fullmatch(r"noted on the \S+ shift ending \S+ 10:00 C[SD]T\n", noted.stdout)
