"""Small trained inverters shared by the inverter tests (trained once per session)."""

import pytest
from inverter_helpers import AB2_M, PERIODS_S, train
from inverter_helpers import noisy as _noisy

from inversion import Inverter


@pytest.fixture(scope="session")
def ves_inverter() -> Inverter:
    return train("ves-schlumberger", 3, ab2_m=AB2_M)


@pytest.fixture(scope="session")
def mt_inverter() -> Inverter:
    return train("mt-1d", 3, periods_s=PERIODS_S)


@pytest.fixture(scope="session")
def noisy():
    """``noisy(inverter, models, seed, fm=None)`` → noisy data (n, n_data)."""
    return _noisy
