#!/usr/bin/env bash
# Start a throwaway Redis on 127.0.0.1:6379 when none answers there (tests that need Redis use it).
set -u
port="${TRADECAST_TEST_REDIS_PORT:-6379}"
if command -v redis-cli >/dev/null 2>&1 && redis-cli -p "$port" ping >/dev/null 2>&1; then
  exit 0
fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "redis-server not found; installing it from Debian's packages" >&2
  (apt-get update -qq && apt-get install -y -qq redis-server) >/dev/null 2>&1 || {
    echo "could not install redis-server; Redis tests will be skipped" >&2; exit 0; }
fi
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
  --dir /tmp --logfile /tmp/tradecast-redis.log >/dev/null
for _ in $(seq 1 50); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && exit 0
  sleep 0.1
done
echo "redis-server did not answer on port $port; Redis tests will be skipped" >&2
exit 0
