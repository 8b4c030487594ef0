#!/usr/bin/env bash
# The test command (README, .ci/run): makes the real components the suites use available on
# loopback (each `tests/setup/*.sh` installs and starts one, bounded in time), then runs every
# test of the workspace. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Where the setup scripts keep what they install or start (virtualenvs, data directories, logs).
export APP_SERVER_TEST_DEPS="${APP_SERVER_TEST_DEPS:-$PWD/target/test-deps}"
mkdir -p "$APP_SERVER_TEST_DEPS"

# A setup script may append a command prefix here (e.g. a private D-Bus session) and register
# cleanup with `cleanup+=(...)`; both run around the one `cargo test` below.
wrap=()
cleanup=()
on_exit() { for c in "${cleanup[@]}"; do eval "$c" || true; done; }
trap on_exit EXIT

# apt_install PKG...: installs Debian packages when missing (root or sudo), bounded in time.
apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo -n"
  if [ -z "${APT_UPDATED:-}" ]; then
    timeout 300 $sudo apt-get update -qq >&2
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive timeout 600 $sudo apt-get install -y -qq --no-install-recommends "$@" >&2
}

for setup in tests/setup/*.sh; do
  [ -e "$setup" ] || continue
  # shellcheck source=/dev/null
  source "$setup"
done

"${wrap[@]}" cargo test --workspace "$@"
