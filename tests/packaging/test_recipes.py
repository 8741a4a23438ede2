"""The parts of the Windows/macOS recipes that can be checked on Linux without building."""

from __future__ import annotations

import sys
import tomllib
import types
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "resources" / "packaging"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_windows_version_resource_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    """build.spec fills the template on Windows; PyInstaller evals it into a VSVersionInfo."""
    # pefile and win32api only write resources into an .exe (Windows); parsing needs neither.
    import PyInstaller.compat

    module_name = "PyInstaller.utils.win32.versioninfo"
    if "pefile" not in sys.modules:
        monkeypatch.setitem(sys.modules, "pefile", types.ModuleType("pefile"))
    monkeypatch.setattr(PyInstaller.compat, "win32api", None, raising=False)
    try:
        from PyInstaller.utils.win32 import versioninfo

        numbers = tuple(int(part) for part in [*VERSION.split("."), "0", "0", "0"][:4])
        text = (
            (PACKAGING / "windows" / "version-info.txt.in")
            .read_text()
            .replace("@VERSION_TUPLE@", repr(numbers))
            .replace("@VERSION@", VERSION)
        )
        info = eval(
            text, vars(versioninfo)
        )  # what load_version_info_from_text_file does
    finally:
        sys.modules.pop(
            module_name, None
        )  # imported with stand-ins: not for other tests
    assert isinstance(info, versioninfo.VSVersionInfo)
    assert info.ffi.fileVersionMS >> 16 == numbers[0]
    assert info.ffi.fileVersionLS >> 16 == numbers[2]
    assert f"StringStruct('ProductVersion', '{VERSION}')" in str(info)


def test_app_icon_renders_for_every_installer(tmp_path: Path) -> None:
    sys.path.insert(0, str(PACKAGING))
    try:
        import icons
    finally:
        sys.path.remove(str(PACKAGING))
    pngs = icons.render_icons(ROOT / "resources/icons/azassist.svg", tmp_path)
    assert sorted(pngs) == sorted(icons.LINUX_ICON_SIZES)
    large = Image.open(pngs[256])
    assert (
        large.size == (256, 256) and large.getextrema()[3][1] == 255  # type: ignore[misc]
    )  # opaque pixels drawn
    ico, icns = icons.write_windows_and_mac_icons(pngs, tmp_path)
    assert Image.open(ico).format == "ICO" and Image.open(icns).format == "ICNS"
