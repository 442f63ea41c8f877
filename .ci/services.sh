#!/usr/bin/env bash
# Debian packages the crawler tests need (CI only, as root; called by .ci/run before `make test`):
# - postgresql: the tests start their own throwaway cluster (initdb as the postgres user, a free
#   port on 127.0.0.1), see tests/crawl_helpers/postgres.py;
# - python3.11-doc: the Python HTML documentation, served on 127.0.0.1 as a real site to crawl.
# Idempotent and fast when everything is already installed. Exports nothing.
set -euo pipefail
need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || [ -n "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null)" ] \
  || need+=(postgresql)
[ -f /usr/share/doc/python3.11/html/index.html ] || need+=(python3.11-doc)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # The package's own cluster is not needed; the tests start private ones.
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi
echo "services.sh: postgresql and python3.11-doc present"
# manyheads monitor: the dashboard test drives headless Chromium (tests/monitor).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends chromium chromium-driver
fi
echo "services.sh: chromium and chromium-driver present"
# redis-server: the distributed-crawl tests (tests/crawl_redis) start their own server on a free
# 127.0.0.1 port without persistence, see tests/crawl_helpers/redis.py. Idempotent.
if [ ! -x /usr/bin/redis-server ] && ! command -v redis-server >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # Only the binary is needed: the package's own service is not used by the tests.
  apt-get install -y -q --no-install-recommends redis-server
fi
echo "services.sh: redis-server present"
# train.compile (torch.compile with inductor) builds C++ kernels on the CPU: the test of that
# option (tests/unit/engine/test_speed_options.py) needs a C++ compiler.
if ! command -v g++ >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends g++
fi
echo "services.sh: g++ present"
