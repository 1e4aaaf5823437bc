"""The call console: a local page showing the phone network (emulator) and the app side by side.

Never deployed with the app (.funcignore); started by `make run` (tools/devstack.py).
"""
