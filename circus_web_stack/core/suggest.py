"""The one "did you mean" helper for every mistyped name: config keys, sections, watchers, options,
commands and properties all suggest the same way.

Rule: pure; a suggestion is offered only when one candidate is close, never a guess among several.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest candidate, or '' when nothing is close.

    A swap of two neighbouring letters comes first (the commonest typo, which difflib's ratio ranks
    low: `wbe` for `web` scores 0.67, `stauts` is nearer `stats` than `status`); else the best
    difflib ratio of at least 0.75. Case is ignored."""
    by_lower = {candidate.lower(): candidate for candidate in candidates}
    lowered = word.lower()
    close = [c for c in by_lower if _one_swap_apart(lowered, c)][:1]
    if not close:
        close = difflib.get_close_matches(lowered, list(by_lower), n=1, cutoff=0.75)
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""


def _one_swap_apart(a: str, b: str) -> bool:
    if len(a) != len(b):
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
