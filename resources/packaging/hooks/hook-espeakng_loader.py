"""PyInstaller hook for espeakng_loader: the espeak-ng library and its data, English only.

espeakng_loader finds both next to its own ``__init__`` (``Path(__file__).parent``), so they
are collected into ``espeakng_loader/`` of the bundle. The offline demo voice and the self-test
speak English only, so the 17 MB of other languages' pronunciation dictionaries stay out; the
phoneme tables, voices and language definitions (small) stay in so every voice name resolves.
"""

from pathlib import Path

from PyInstaller.utils.hooks import get_package_paths

KEPT_DICTIONARIES = {"en_dict"}

_, package_dir = get_package_paths("espeakng_loader")
package = Path(package_dir)

# get_library_path() opens "libespeak-ng.so" (.dylib / espeak-ng.dll): that name only, once.
binaries = [
    (str(path), "espeakng_loader")
    for path in package.iterdir()
    if path.name in {"libespeak-ng.so", "libespeak-ng.dylib", "espeak-ng.dll"}
]

datas = []
data_root = package / "espeak-ng-data"
for path in sorted(data_root.rglob("*")):
    if not path.is_file():
        continue
    if (
        path.name.endswith("_dict")
        and path.parent == data_root
        and path.name not in KEPT_DICTIONARIES
    ):
        continue
    destination = Path("espeakng_loader") / path.parent.relative_to(package)
    datas.append((str(path), str(destination)))
