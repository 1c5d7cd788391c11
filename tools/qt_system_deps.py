"""Checks that the system libraries Qt needs are present; installs them when run as root.

Qt's wheels bundle Qt itself but load a few system libraries (EGL, fontconfig,
xkbcommon, and for a real window the xcb family). A missing one makes Qt abort the
process with a long message; this script turns that into one clear line, or, as root
on Debian/Ubuntu, installs what is missing.
"""
from __future__ import annotations

import ctypes.util
import os
import shutil
import subprocess
import sys

# soname stem -> Debian package that provides it
OFFSCREEN = {
    "EGL": "libegl1",
    "GL": "libgl1",
    "fontconfig": "libfontconfig1",
    "xkbcommon": "libxkbcommon0",
    "glib-2.0": "libglib2.0-0",
    "dbus-1": "libdbus-1-3",
}
WINDOW = {
    **OFFSCREEN,
    "xcb-cursor": "libxcb-cursor0",
    "xcb-icccm": "libxcb-icccm4",
    "xcb-keysyms": "libxcb-keysyms1",
    "xcb-image": "libxcb-image0",
    "xcb-render-util": "libxcb-render-util0",
    "xcb-xkb": "libxcb-xkb1",
    "xkbcommon-x11": "libxkbcommon-x11-0",
    "X11-xcb": "libx11-xcb1",
}


def missing(libs: dict[str, str]) -> list[str]:
    return sorted({pkg for lib, pkg in libs.items() if ctypes.util.find_library(lib) is None})


def main() -> int:
    target = sys.argv[sys.argv.index("--for") + 1] if "--for" in sys.argv else "offscreen"
    libs = WINDOW if target == "window" else OFFSCREEN
    absent = missing(libs)
    if absent and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"installing Qt system libraries: {' '.join(absent)}", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", *absent], check=False, env=env,
                       stdout=subprocess.DEVNULL)
        absent = missing(libs)
    if absent:
        print(f"Qt needs system libraries that are missing: {' '.join(absent)} "
              f"(install them, e.g. sudo apt-get install {' '.join(absent)})", file=sys.stderr)
        return 1
    if target == "window" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                                   or os.environ.get("QT_QPA_PLATFORM")):
        print("no display: set DISPLAY, or run under a virtual one: xvfb-run -a make run",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
