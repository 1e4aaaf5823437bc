"""What every part of the emulator may use: the error envelope, JSON responses, communication
identifiers, event timestamps, background tasks. Imports no other part."""
