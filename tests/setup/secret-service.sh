# shellcheck shell=bash
# A real Secret Service for the keyring tests (tests/it/secret_service.rs): a private D-Bus
# session bus (dbus-run-session) with gnome-keyring-daemon's secrets component, its login
# keyring created unlocked under $APP_SERVER_TEST_DEPS (never the real home). Sourced by
# tests/run.sh: appends the session to `wrap` and exports APP_SERVER_SECRET_SERVICE=1 inside it,
# which the tests require. Also installs keyutils (`keyctl`) and libsecret-tools (`secret-tool`),
# which the tests use to play the other writer and the reboot.

secret_service_setup() {
  local missing=()
  command -v dbus-run-session >/dev/null || missing+=(dbus-daemon)
  command -v dbus-send >/dev/null || missing+=(dbus-bin)
  command -v gnome-keyring-daemon >/dev/null || missing+=(gnome-keyring)
  command -v secret-tool >/dev/null || missing+=(libsecret-tools)
  command -v keyctl >/dev/null || missing+=(keyutils)
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
  fi

  local dir="$APP_SERVER_TEST_DEPS/secret-service"
  rm -rf "$dir"
  mkdir -p "$dir"
  chmod 700 "$dir"

  # Runs inside the private bus: starts and unlocks the keyring, waits (bounded) until it owns
  # org.freedesktop.secrets, runs the command in a new session keyring, then stops the daemon.
  cat >"$dir/session.sh" <<'INNER'
#!/usr/bin/env bash
set -euo pipefail
dir="$(dirname "$0")"
mkdir -p "$dir/home/.local/share" "$dir/home/.cache" "$dir/run"
chmod 700 "$dir/run"
# The daemon keeps its keyrings and sockets in the test directory, not in the real home.
printf 'app-server-tests' | HOME="$dir/home" XDG_DATA_HOME="$dir/home/.local/share" \
  XDG_CACHE_HOME="$dir/home/.cache" XDG_RUNTIME_DIR="$dir/run" \
  timeout 20 gnome-keyring-daemon --unlock --components=secrets >/dev/null
owner_pid() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets 2>/dev/null \
    | awk '/uint32/ {print $2}'
}
pid=""
for _ in $(seq 100); do
  pid="$(owner_pid)"
  [ -n "$pid" ] && break
  sleep 0.1
done
if [ -z "$pid" ]; then
  echo "secret-service.sh: gnome-keyring-daemon did not take org.freedesktop.secrets" >&2
  exit 1
fi
export APP_SERVER_SECRET_SERVICE=1
status=0
# A fresh session keyring shared by every test process (the keyutils side of the tests), not the
# user's.
keyctl session - "$@" || status=$?
kill "$pid" 2>/dev/null || true
exit "$status"
INNER
  chmod +x "$dir/session.sh"
  wrap+=(dbus-run-session -- "$dir/session.sh")
}
secret_service_setup
