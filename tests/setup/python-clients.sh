# Sourced by tests/run.sh: a virtualenv with the published Python clients of the Codex
# app-server that the interop suites drive (pinned in tests/interop/requirements*.txt).
# Exports APP_SERVER_PY_CLIENTS, the virtualenv's python.
py_clients_setup() {
  local venv="$APP_SERVER_TEST_DEPS/py-clients"
  local reqs=(tests/interop/requirements*.txt)
  [ -e "${reqs[0]}" ] || return 0
  local stamp
  stamp=$(cat "${reqs[@]}" | sha256sum | cut -c1-16)
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp" ]; then
    command -v python3 >/dev/null || apt_install python3
    rm -rf "$venv"
    if ! python3 -m venv "$venv" 2>/dev/null; then
      apt_install python3-venv
      python3 -m venv "$venv"
    fi
    local args=()
    for r in "${reqs[@]}"; do args+=(-r "$r"); done
    # Every pin is exact; --ignore-requires-python lets codex-app-server-sdk (declared >=3.12,
    # runs on 3.11) install on the Debian Python of CI.
    timeout 600 "$venv/bin/pip" install -q --disable-pip-version-check --ignore-requires-python \
      "${args[@]}" >&2
    echo "$stamp" >"$venv/.stamp"
  fi
  export APP_SERVER_PY_CLIENTS="$venv/bin/python"
}
py_clients_setup
