"""The desktop window: the only package that imports Qt.

Widgets render the engine's events and turn user actions into the engine's intents; no
conversation logic lives here. ``azassist.ui.app.run_gui`` is the entry point.
"""
