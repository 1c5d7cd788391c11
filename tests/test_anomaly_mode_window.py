"""Anomaly mode is the engine's thread-wide switch: the window's Run > Detect anomalies turns it
on for the window's runs, and closing the window gives back the switch as it found it."""
import pytest

import engine
from engine.autograd.anomaly_mode import is_anomaly_check_nan_enabled


@pytest.fixture(autouse=True)
def anomaly_mode_as_before():
    before = (engine.autograd.is_anomaly_enabled(),
              is_anomaly_check_nan_enabled())
    yield
    engine.autograd.set_detect_anomaly(*before)


def test_closing_the_window_switches_anomaly_mode_back_off(window):
    engine.autograd.set_detect_anomaly(False)
    window.act_detect_anomaly.setChecked(True)
    assert engine.autograd.is_anomaly_enabled()          # on for the window's runs
    assert window.close()
    assert not engine.autograd.is_anomaly_enabled()


def test_closing_the_window_leaves_anomaly_mode_on_when_it_was_on_before(window):
    engine.autograd.set_detect_anomaly(True, check_nan=False)
    window.act_detect_anomaly.setChecked(True)
    window.act_detect_anomaly.setChecked(False)
    assert not engine.autograd.is_anomaly_enabled()
    assert window.close()
    assert engine.autograd.is_anomaly_enabled()
    assert not is_anomaly_check_nan_enabled()


def test_a_window_that_never_touched_anomaly_mode_leaves_it_alone(window):
    engine.autograd.set_detect_anomaly(True)
    assert window.close()
    assert engine.autograd.is_anomaly_enabled()
