#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages given as arguments when any is missing.
# As root it uses apt-get; with sudo, sudo apt-get; otherwise it prints the command and fails.
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# python3 -m venv needs ensurepip, a separate package on Debian's own Python.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  missing+=("python3-venv")
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "azassist needs these system packages, and this is not a Debian/Ubuntu system: ${missing[*]}" >&2
  echo "Install the equivalents with your package manager, then run make again." >&2
  exit 1
fi
cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo=(sudo); else
  echo "azassist needs these system packages: ${missing[*]}" >&2
  echo "Run:  sudo apt-get update && sudo ${cmd[*]}" >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" "${cmd[@]}" -qq
