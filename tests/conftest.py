"""Test setup shared by the whole suite.

Qt aborts the whole process when it has neither a display nor a platform plugin set,
so the suite runs offscreen unless the person running it has a display.
"""
import os

if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
