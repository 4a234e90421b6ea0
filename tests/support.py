"""Helpers shared by several test modules."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any


def shipment(declaration_no: str, found: datetime, *brands: str) -> dict[str, Any]:
    """A shipment of the demo consignor at Capital Airport Customs, one line of each brand."""
    return {"declaration_no": declaration_no, "direction": "export", "customs_office": "Capital Airport Customs",
            "consignor": {"name": "重庆云通商贸有限公司", "uscc": "91500000MA5U7X2K3B"},
            "found_at": found.isoformat(),
            "lines": [{"description": f"Goods marked {b}", "brand": b, "quantity": 3, "unit": "pcs", "value": "24000.00"}
                      for b in brands]}


def race(*calls: Callable[[], Any], timeout: float = 60) -> list[tuple[str, Any]]:
    """Run the calls in threads released together; each result is ("ok", value) or ("error", exception)."""
    gate = threading.Barrier(len(calls))
    results: list[tuple[str, Any] | None] = [None] * len(calls)

    def run(i: int, fn: Callable[[], Any]) -> None:
        gate.wait()
        try:
            results[i] = ("ok", fn())
        except Exception as e:  # noqa: BLE001  (the test inspects it)
            results[i] = ("error", e)

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a concurrent call hung"
    return results  # type: ignore[return-value]


@contextmanager
def moto_store(monkeypatch: Any) -> Iterator[Any]:
    """Yunque's S3Store against moto's in-process S3, with the evidence bucket created."""
    from moto import mock_aws

    from adapters.s3 import get_store, reset_store
    from yunque.settings import get_settings, reset_settings

    monkeypatch.setenv("YUNQUE_S3_ENDPOINT_URL", "https://s3.us-east-1.amazonaws.com")
    with mock_aws():
        reset_settings()
        reset_store()
        store = get_store()
        store.client.create_bucket(Bucket=get_settings().s3_bucket)
        yield store
    reset_store()


def confirm(case_number: str, *, now: datetime, actor: str = "ipr.li", not_matching: tuple[int, ...] = (),
            reason: str = "") -> dict[str, Any]:
    """An IPR officer confirms the seizure's lines against the recordations (the notices go out after it)."""
    from services.task_acts import confirm_seizure

    return confirm_seizure(case_number=case_number, actor=actor, not_matching=list(not_matching), reason=reason, now=now)


def open_confirmed(shipment: dict[str, Any], *, now: datetime, actor: str = "site.wang", confirmer: str = "ipr.li") -> Any:
    """Register a seizure and confirm all its lines at once, as the seed story does; the case as it then stands."""
    from services.cases import get_case, open_case

    case = open_case(shipment=shipment, actor=actor, now=now)
    confirm(case.number, now=now, actor=confirmer)
    return get_case(case_number=case.number, actor=actor)
