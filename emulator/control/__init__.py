"""The control API under /emulator (loopback only): script the network, inject faults, read logs,
reset. routes.py is its HTTP side; operations.py and legs.py what it does (no HTTP)."""
