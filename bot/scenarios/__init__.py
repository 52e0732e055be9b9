"""Incident scenarios, format version 1 (``shared/scenarios/FORMAT.md``)."""

from bot.scenarios.loader import ScenarioError, load_scenario, load_scenario_text, validate_file
from bot.scenarios.model import Scenario

__all__ = ["Scenario", "ScenarioError", "load_scenario", "load_scenario_text", "validate_file"]
