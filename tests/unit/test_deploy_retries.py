"""``yunque stack up`` deploys again when a busy Prefect server answers 503 (seen restarting a stack
after an outage, with a thousand runs overdue: the server on SQLite was marking them Late), and
reports any other failure at once."""

from __future__ import annotations

import subprocess
import sys

import pytest

from yunque import stack
from yunque.settings import Settings

BUSY = ("prefect.exceptions.PrefectHTTPStatusError: Server error '503 Service Unavailable' for url "
        "'http://127.0.0.1:4200/api/automations/owned-by/prefect.deployment.1'")
DEPLOYED = "Deployment 'case-process/case-process' successfully created\n"


def _automation(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """The Prefect CLI and the automations script, answering from queues the test fills."""
    seen: dict[str, list] = {"deploy": [], "automation": [], "deploy_calls": [], "automation_calls": []}

    def cli(settings: Settings, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        if args[0] == "work-pool":
            return subprocess.CompletedProcess(args, 0, "", "")
        seen["deploy_calls"].append(args)
        code, out, err = seen["deploy"].pop(0)
        return subprocess.CompletedProcess(args, code, out, err)

    def automation(settings: Settings) -> subprocess.Popen:
        seen["automation_calls"].append(1)
        return _automation(seen["automation"].pop(0))

    monkeypatch.setattr(stack, "prefect_cli", cli)
    monkeypatch.setattr(stack, "ensure_automations", automation)
    monkeypatch.setattr(stack, "DEPLOY_RETRY_S", 0.0)
    return seen


def test_a_503_is_met_with_another_deploy(server: dict[str, list]) -> None:
    server["deploy"] += [(1, "An exception occurred.", BUSY), (1, BUSY, ""), (0, DEPLOYED, "")]
    server["automation"] += ["pass"]
    names = stack.deploy(Settings())
    assert names == [DEPLOYED.strip()]
    assert len(server["deploy_calls"]) == 3


def test_the_automations_are_made_again_after_a_503(server: dict[str, list]) -> None:
    server["deploy"] += [(0, DEPLOYED, "")]
    server["automation"] += [f"import sys; sys.exit({BUSY!r})", "pass"]
    stack.deploy(Settings())
    assert len(server["automation_calls"]) == 2


def test_a_server_that_stays_busy_fails_after_the_last_attempt(server: dict[str, list]) -> None:
    server["deploy"] += [(1, "", BUSY)] * stack.DEPLOY_ATTEMPTS
    server["automation"] += ["import time; time.sleep(60)"]
    with pytest.raises(RuntimeError, match="prefect deploy failed .*503 Service Unavailable"):
        stack.deploy(Settings())
    assert len(server["deploy_calls"]) == stack.DEPLOY_ATTEMPTS


def test_a_mistake_in_the_deployments_fails_at_once(server: dict[str, list]) -> None:
    server["deploy"] += [(1, "", "ValueError: Work pool 'nowhere' does not exist"), (0, DEPLOYED, "")]
    server["automation"] += ["import time; time.sleep(60)"]
    with pytest.raises(RuntimeError, match="Work pool 'nowhere' does not exist"):
        stack.deploy(Settings())
    assert len(server["deploy_calls"]) == 1


def test_automations_that_cannot_be_made_fail_at_once(server: dict[str, list]) -> None:
    server["deploy"] += [(0, DEPLOYED, "")]
    server["automation"] += ["import sys; sys.exit('pydantic ValidationError: trigger')", "pass"]
    with pytest.raises(RuntimeError, match="creating the automations .* failed: pydantic ValidationError"):
        stack.deploy(Settings())
    assert len(server["automation_calls"]) == 1
