"""The register page reads goods from a CSV file whose header is in the codes or in the page's own
headings, Chinese or English; a missing column is named in the reader's words."""

from __future__ import annotations

import io

import pytest

from ui import parts

ROWS = "Handbags,CHANEL,12,pcs,36000.00\n"


@pytest.mark.parametrize("header", ["description,brand,quantity,unit,value", "品名,品牌,数量,单位,价值（元）",
                                    " Description , Brand,Quantity,Unit,Value (RMB)"])
def test_goods_are_read_whatever_the_language_of_the_header(header: str) -> None:
    from ui.i18n import t

    if "Description" in header:  # the English headings as the page shows them
        header = ",".join(f" {t(k, 'en')} " for k in parts.LINE_COLUMNS.values())
    seed = parts.lines_from_csv(io.StringIO(header + "\n" + ROWS))
    assert list(seed.columns) == ["description", "brand", "quantity", "unit", "value"]
    assert seed.iloc[0].to_dict() == {"description": "Handbags", "brand": "CHANEL", "quantity": 12, "unit": "pcs",
                                      "value": "36000.00"}


def test_a_missing_column_is_named_in_words() -> None:
    with pytest.raises(ValueError) as e:
        parts.lines_from_csv(io.StringIO("品名,品牌,数量\n" + "包,CHANEL,1\n"))
    assert "单位" in str(e.value) or "unit" in str(e.value).lower()
    assert "value_rmb" not in str(e.value)
