"""Qt-free core: settings, credentials, audio, engine and transcript store.

Nothing in this package imports Qt, so it runs (and is tested) without a window.
"""
