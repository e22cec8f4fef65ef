# Sourced by scripts/test: make sure Debian's Chromium is there for the browser tests (Playwright
# drives /usr/bin/chromium; it never downloads a browser). On failure the browser tests skip, loudly.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo="sudo -n"
  echo "Installing Debian's chromium and chromium-driver for the browser tests..." >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 \
    || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; } \
    || echo "WARNING: could not install chromium; the browser tests will be skipped." >&2
fi
