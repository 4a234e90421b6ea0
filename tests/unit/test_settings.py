"""Settings a customs office relies on without configuring anything."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from yunque.settings import Settings


def test_the_default_moment_of_service_is_actual_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YUNQUE_SERVICE_RULE", raising=False)
    assert Settings().service_rule == "first"  # mail accepted or portal opened, whichever comes first (Meas 40)


@pytest.mark.parametrize("rule", ["issue", "mail", "portal", "first"])
def test_an_office_may_choose_its_rule(monkeypatch: pytest.MonkeyPatch, rule: str) -> None:
    monkeypatch.setenv("YUNQUE_SERVICE_RULE", rule)
    assert Settings().service_rule == rule


def test_an_unknown_rule_is_refused_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUNQUE_SERVICE_RULE", "printed")
    with pytest.raises(ValidationError, match="service_rule"):
        Settings()
