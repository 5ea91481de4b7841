"""SMS consent keywords (CHANNELS.md Decision 6, part 1 §1.6): the whole body, trimmed and
case-folded."""

import pytest

from chorus.consents.keywords import Keyword, consent_keyword


@pytest.mark.parametrize(
    "text", ["STOP", "stop", "  Stop\n", "STOPALL", "unsubscribe", "Cancel", "END", "quit"]
)
def test_stop_keywords(text: str) -> None:
    assert consent_keyword(text) == Keyword.STOP


@pytest.mark.parametrize("text", ["START", " start ", "Unstop", "YES", "yes"])
def test_start_keywords(text: str) -> None:
    assert consent_keyword(text) == Keyword.START


@pytest.mark.parametrize(
    "text", ["", "stop it", "please stop", "STOP!", "S T O P", "yes please", "1", "ends"]
)
def test_other_text_is_not_a_keyword(text: str) -> None:
    assert consent_keyword(text) is None
