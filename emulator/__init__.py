"""Local ACS Call Automation emulator (see the README, "The ACS emulator"). Imports nothing from the app."""

from emulator.app import EmulatorThread, build_app, serve, start_in_thread
from emulator.config import EmulatorConfig

__all__ = ["EmulatorConfig", "EmulatorThread", "build_app", "serve", "start_in_thread"]
