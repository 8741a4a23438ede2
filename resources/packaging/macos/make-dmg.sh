#!/usr/bin/env bash
# macOS disk image for azassist (UNTESTED: only Linux is built and run here).
#
# On a Mac, from the repository root:
#   .venv/bin/python resources/packaging/build.py --skip-tar --skip-deb   # dist/azassist.app
#   bash resources/packaging/macos/make-dmg.sh [signing identity]
# Output: dist/azassist-<version>-macos-<arch>.dmg (drag azassist.app onto Applications).
#
# Without an identity the app is signed ad hoc (runs on this Mac; Gatekeeper warns elsewhere).
# With a "Developer ID Application: ..." identity it is signed with the hardened runtime and
# the microphone entitlement; notarise the .dmg afterwards with
#   xcrun notarytool submit dist/azassist-*.dmg --keychain-profile <profile> --wait
#   xcrun stapler staple dist/azassist-*.dmg
set -euo pipefail
cd "$(dirname "$0")/../../.."
app=dist/azassist.app
[ -d "$app" ] || { echo "missing $app: run resources/packaging/build.py first" >&2; exit 1; }
version=$(/usr/libexec/PlistBuddy -c 'Print :CFBundleShortVersionString' "$app/Contents/Info.plist")
identity=${1:--}
entitlements=resources/packaging/macos/entitlements.plist

if [ "$identity" = "-" ]; then
  codesign --force --deep --sign - "$app"
else
  codesign --force --deep --options runtime --timestamp --entitlements "$entitlements" --sign "$identity" "$app"
fi
codesign --verify --deep --strict "$app"

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
cp -R "$app" "$staging/"
ln -s /Applications "$staging/Applications"
dmg="dist/azassist-${version}-macos-$(uname -m).dmg"
hdiutil create -volname "azassist ${version}" -srcfolder "$staging" -ov -format UDZO "$dmg"
[ "$identity" = "-" ] || codesign --sign "$identity" --timestamp "$dmg"
echo "built $dmg"
