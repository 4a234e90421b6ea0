"""Each AppTest starts with empty st.cache_data caches (they live in the process, across AppTests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st


@pytest.fixture(autouse=True)
def _empty_caches() -> Iterator[None]:
    st.cache_data.clear()
    yield
    st.cache_data.clear()
