"""Fixtures for the prior tests; the fakes live in priors_fakes.py."""
from __future__ import annotations

import pytest

from priors_fakes import CountingSegmenter


@pytest.fixture
def counting_segmenter() -> CountingSegmenter:
    return CountingSegmenter()
