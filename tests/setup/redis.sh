# Sourced by tests/run.sh: the Redis server that the shared-store tests start, one per test, on
# a free loopback port with a temporary directory (the tests start and kill it themselves).
# Exports APP_SERVER_REDIS_SERVER, the path of the redis-server binary.
redis_setup() {
  if ! command -v redis-server >/dev/null; then
    apt_install redis-server
    # The package's own service (port 6379) is not used: stop it if the install started one.
    if command -v systemctl >/dev/null; then timeout 30 systemctl stop redis-server >/dev/null 2>&1 || true; fi
    if [ -x /etc/init.d/redis-server ]; then timeout 30 /etc/init.d/redis-server stop >/dev/null 2>&1 || true; fi
  fi
  APP_SERVER_REDIS_SERVER="$(command -v redis-server)"
  export APP_SERVER_REDIS_SERVER
}
redis_setup
