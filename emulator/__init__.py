"""Local ACS emulator and Event Grid topic (docs/emulator.md); imports nothing of the app."""

from emulator.app import EmulatorThread, build_app, serve, start_in_thread
from emulator.config import EmulatorConfig

__all__ = ["EmulatorConfig", "EmulatorThread", "build_app", "serve", "start_in_thread"]
