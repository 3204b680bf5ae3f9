#!/usr/bin/env bash
# Installs, once per machine, the Debian packages some tests need:
#   chromium        headless browser for the platform's public page test (tests/testkit browser.rs)
#   fonts-noto-cjk  Chinese glyphs, so screenshots show text rather than boxes
#   prometheus      promtool, to check the /metrics exposition format
# Idempotent and quiet when everything is present; needs root (apt-get) only when something is missing.
set -euo pipefail

PACKAGES=(chromium fonts-noto-cjk prometheus)
missing=()
for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing ${missing[*]} (once per machine)..." >&2
if [[ $(id -u) -ne 0 ]]; then
    echo "error: ${missing[*]} missing and not running as root; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Quiet unless it fails: the packages' own output is kept in a log and shown on an error.
log="$(mktemp)"
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "error: could not install ${missing[*]}" >&2
    exit 1
fi
rm -f "$log"
echo "installed ${missing[*]}" >&2
