# Sourced by scripts/test: Debian's chromium + chromium-driver (the browser tests drive
# /usr/bin/chromium with Playwright; no browser is ever downloaded), qemu-user (a test runs the
# embedded pgvector on an emulated CPU without AVX-512) and nginx (tests/test_deployment.py runs
# deploy/'s topology behind it with its own configuration). Installed with apt-get, as root or through
# passwordless sudo. SKIP_SYSTEM_PACKAGES=1 skips this step (those tests then skip, with a warning).
missing=()
[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || missing+=(chromium chromium-driver)
command -v qemu-x86_64 >/dev/null || missing+=(qemu-user)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ "${#missing[@]}" -gt 0 ] && [ "${SKIP_SYSTEM_PACKAGES:-0}" != "1" ] && command -v apt-get >/dev/null; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo="sudo -n"
  printf '==> Installing Debian packages for the browser, CPU and deployment tests: %s (apt-get; SKIP_SYSTEM_PACKAGES=1 skips)\n' "${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
    || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; } \
    || printf 'WARNING: could not install %s; the tests that need them will be skipped.\n' "${missing[*]}" >&2
fi
