"""The local stack: Azurite, the emulator, devhost and the console started together (devstack.py
for `make run`, stack.py for the tests), their keys on disk, the call lines `make run` prints and a
local OTLP receiver. Starts the emulator and devhost as processes; imports nothing of the app."""
