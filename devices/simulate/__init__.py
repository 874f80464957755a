"""Simulated field devices: handheld scanners, drying-room sensors and cold-chain loggers."""

from devices.simulate.runner import (
    SimulationPlan,
    SimulationReport,
    device_dir,
    load_credentials,
    prepare_devices,
    run_simulation,
)
from devices.simulate.scenarios import SCENARIOS, Scenario

__all__ = [
    "SCENARIOS",
    "Scenario",
    "SimulationPlan",
    "SimulationReport",
    "device_dir",
    "load_credentials",
    "prepare_devices",
    "run_simulation",
]
