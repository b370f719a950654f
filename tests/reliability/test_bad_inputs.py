"""Bad plugins, mixture specs, configs and data rows: each gives one clear error (type and message), and
the table of them in docs/troubleshooting.md is up to date (regenerate: see tests/reliability/bad_inputs.py)."""

from __future__ import annotations

import re

import pytest

from tests.reliability.bad_inputs import CASES, doc_table, render_table, run_case

_RESULTS: dict = {}


def _result(case):
    if case.id not in _RESULTS:
        _RESULTS[case.id] = run_case(case)
    return _RESULTS[case.id]


def test_cases_are_many_and_distinct():
    assert len(CASES) >= 25 and len({c.id for c in CASES}) == len(CASES)
    assert {c.area for c in CASES} == {"task plugin", "mixture plugin", "mixture spec", "config", "data row",
                                       "install", "command line"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_one_clear_error(case):
    exc = _result(case)
    assert type(exc) is case.error, f"{case.id}: {type(exc).__name__}: {exc}"
    assert re.search(case.match, str(exc), re.S), f"{case.id}: {exc}"
    assert "Traceback" not in str(exc) and len(str(exc)) < 2000
    if case.area in ("install", "command line"):  # what a user sees on the terminal: one line
        assert "\n" not in str(exc), f"{case.id}: {exc}"


def test_troubleshooting_table_matches_what_the_code_prints():
    table = render_table({c.id: _result(c) for c in CASES})
    assert doc_table() == table, ("docs/troubleshooting.md is out of date; regenerate it with "
                                  "`.venv/bin/python -m tests.reliability.bad_inputs --write`")
