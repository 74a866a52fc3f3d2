"""The one "did you mean" helper."""

from __future__ import annotations

import pytest

from circus_web_stack.core.suggest import did_you_mean


@pytest.mark.parametrize(
    ("word", "candidates", "hint"),
    [
        ("staus", ["status", "stats", "start"], " (did you mean 'status'?)"),
        ("numprocess", ["numprocesses", "numwatchers"], " (did you mean 'numprocesses'?)"),
        ("wbe", ["web", "api.v2"], " (did you mean 'web'?)"),  # a swap: difflib's ratio is 0.67
        ("stauts", ["stats", "status"], " (did you mean 'status'?)"),  # a swap beats a better ratio
        ("WEB-admin", ["web-Admin"], " (did you mean 'web-Admin'?)"),  # case is ignored, kept in the answer
        ("nope", ["web", "api.v2"], ""),
        ("ab", ["ba", "cd"], " (did you mean 'ba'?)"),
        ("abc", ["cba"], ""),  # two letters apart, not neighbours
        ("x", [], ""),
    ],
)
def test_did_you_mean(word, candidates, hint):
    assert did_you_mean(word, candidates) == hint
