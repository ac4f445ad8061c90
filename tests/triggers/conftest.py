"""The trigger tests use the same simulator fixtures as the sensor tests."""

from tests.sensors.conftest import add_after_first_poll, fast_sim, wrong_secret_conn

__all__ = ["add_after_first_poll", "fast_sim", "wrong_secret_conn"]
