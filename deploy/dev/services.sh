#!/usr/bin/env bash
# Make sure the services the test suite talks to are installed and running:
# PostgreSQL on 127.0.0.1:5432 (user postgres), the Mosquitto broker binary (tests start
# their own brokers on free ports) and Go with golang.org/x/mod for the interoperability
# test. Installs with apt-get when missing (needs root); idempotent.
set -euo pipefail

need_apt=()
command -v pg_ctlcluster >/dev/null 2>&1 || need_apt+=(postgresql)
command -v go >/dev/null 2>&1 || need_apt+=(golang-go)
{ command -v mosquitto || [ -x /usr/sbin/mosquitto ]; } >/dev/null 2>&1 || need_apt+=(mosquitto)
[ -d /usr/share/gocode/src/golang.org/x/mod/sumdb ] || need_apt+=(golang-golang-x-mod-dev)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] || need_apt+=(fonts-noto-cjk)
if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "installing: ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432; }
if ! pg_ready; then
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    if [ -z "$version" ]; then
        echo "PostgreSQL is installed but has no cluster" >&2
        exit 1
    fi
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
    pg_ready || { echo "PostgreSQL did not start" >&2; exit 1; }
fi
# A password lets the suite log in whether the server trusts local TCP or asks for one.
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null 2>&1; then
    runuser -u postgres -- psql -q -c "ALTER USER postgres PASSWORD 'postgres'" >/dev/null 2>&1 || true
fi
