#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages given as arguments when any is missing.
# As root it uses apt-get; with sudo, sudo apt-get; otherwise it prints the command and fails.
#
#   PYTHON=python3 bash .ci/system-deps.sh [--libpython] PACKAGE...
#
# PYTHON (default python3) is the interpreter the venvs are built from: on Debian's own
# Python, `-m venv` needs python3.X-venv, and with --libpython (what PyInstaller needs for
# `make package` and the packaging tests) its shared library, libpython3.X, which Debian
# ships apart from the interpreter.
set -euo pipefail
want_libpython=0
if [ "${1:-}" = "--libpython" ]; then
  want_libpython=1
  shift
fi
py=${PYTHON:-python3}
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

# What the interpreter says of itself: version, real path, shared library name and folders.
if info=$("$py" -c 'import os, sys, sysconfig as s
v = s.get_config_var
print("%d.%d" % sys.version_info[:2], os.path.realpath(sys.executable),
      v("INSTSONAME") or "-", v("LIBDIR") or "-", v("MULTIARCH") or "-")' 2>/dev/null); then
  read -r version executable soname libdir multiarch <<<"$info"
else
  echo "azassist needs Python 3.11 or newer as '$py' (sudo apt install python3 python3-venv)" >&2
  exit 1
fi
# A Debian (or Ubuntu) package owns the interpreter: its parts are installable packages.
debian_python=0
if command -v dpkg-query >/dev/null && dpkg-query -S "$executable" >/dev/null 2>&1; then
  debian_python=1
fi

# python -m venv needs ensurepip, a separate package on Debian's own Python.
if ! "$py" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  if [ $debian_python -eq 1 ]; then
    missing+=("python$version-venv")
  else
    echo "$py ($executable) cannot create virtual environments (no ensurepip/venv module)." >&2
    exit 1
  fi
fi

if [ $want_libpython -eq 1 ] && [ "$soname" != "-" ]; then
  found=0
  for dir in "$libdir" "$libdir/$multiarch"; do
    [ -e "$dir/$soname" ] && found=1
  done
  if [ $found -eq 0 ] && PATH="$PATH:/sbin:/usr/sbin" ldconfig -p 2>/dev/null | grep -qF "$soname"; then
    found=1
  fi
  if [ $found -eq 0 ]; then
    if [ $debian_python -eq 1 ]; then
      missing+=("libpython$version")
    else
      echo "warning: $executable has no shared library ($soname): PyInstaller (make package," >&2
      echo "         the packaging tests) needs one; build this Python with --enable-shared." >&2
    fi
  fi
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
