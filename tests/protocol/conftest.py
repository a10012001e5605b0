"""Fixtures for protocol tests."""

import pytest

from tagtrail_protocol import ObservationBatch
from tagtrail_testbed.samples import obs_dict


@pytest.fixture
def obs_batch() -> ObservationBatch:
    return ObservationBatch.model_validate(obs_dict())
