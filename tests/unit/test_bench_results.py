"""The bench's results file: a suite that passes replaces its figures (stamped with the run that
measured them); a suite that fails leaves its figures from its last complete run standing."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

import bench.__main__ as bench_main


def _suite(monkeypatch: pytest.MonkeyPatch, name: str, figures: dict | Exception) -> None:
    def run(results: dict, quick: bool = False) -> None:
        if isinstance(figures, Exception):
            results["half_written"] = 1  # what a suite measured before failing must not be kept
            raise figures
        results.update(figures)

    monkeypatch.setitem(sys.modules, f"bench.{name}", types.SimpleNamespace(run=run))


def test_a_failed_suite_keeps_its_last_figures_and_a_passed_one_is_restamped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "results.json"
    monkeypatch.setattr(bench_main, "SUITES", [("fake_a", "a"), ("fake_b", "b")])
    monkeypatch.setattr(bench_main, "FIGURES", [("a_s", "a"), ("b_s", "b")])
    _suite(monkeypatch, "fake_a", {"a_s": 1.0, "a_old": 5})
    _suite(monkeypatch, "fake_b", {"b_s": 2.0})
    assert bench_main.main(["--out", str(out)]) == 0
    first = json.loads(out.read_text())
    assert first["meta"]["full_run"]["failed"] == {}

    monkeypatch.setattr(bench_main, "commit", lambda: "second")
    _suite(monkeypatch, "fake_a", {"a_s": 1.0})  # the same value again, and no longer a_old
    _suite(monkeypatch, "fake_b", RuntimeError("the stack did not start"))
    assert bench_main.main(["--out", str(out)]) == 1
    second = json.loads(out.read_text())
    figures = second["meta"]["figures"]
    assert second["a_s"] == 1.0 and figures["a_s"]["commit"] == "second"
    assert "a_old" not in second and "a_old" not in figures
    assert second["b_s"] == 2.0 and figures["b_s"] == first["meta"]["figures"]["b_s"]
    assert "half_written" not in second
    assert second["meta"]["failures"] == {"fake_b": "RuntimeError: the stack did not start"}
    assert second["meta"]["full_run"]["failed"] == second["meta"]["failures"]


def test_a_partial_run_does_not_claim_a_full_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "results.json"
    monkeypatch.setattr(bench_main, "SUITES", [("fake_a", "a"), ("fake_b", "b")])
    _suite(monkeypatch, "fake_a", {"a_s": 1.0})
    assert bench_main.main(["--out", str(out), "--only", "fake_a"]) == 0
    assert "full_run" not in json.loads(out.read_text())["meta"]


def test_the_cases_figures_are_the_median_of_their_rounds() -> None:
    from bench.process import median_round

    def r(cpm: float, epm: float, server_cpu: float) -> dict:
        return {"cases": 10, "cases_per_minute": cpm, "empty_runs_per_minute": epm,
                "cases_cpu_s": {"prefect server": server_cpu}}

    got = median_round([r(14.6, 15.0, 16.9), r(7.9, 18.25, 19.0), r(8.53, 17.95, 19.4)])
    assert got["cases_per_minute"] == 8.53 and got["cases_per_minute_rounds"] == [14.6, 7.9, 8.53]
    assert got["empty_runs_per_minute"] == 17.95
    assert got["cases_cpu_s"] == {"prefect server": 19.4}  # the median round's
    assert got["throughput_ratio"] == round(8.53 / 17.95, 3)
    assert median_round([r(12.0, 18.0, 1.0)])["cases_per_minute"] == 12.0
