#!/usr/bin/env bash
# `make bench-postgres`: the chat scenarios of `make bench` with PostgreSQL
# as the store, first on one instance, then on two instances behind nginx
# with Redis between them (docs/deploy.md's layout, on loopback).
#
# Everything runs from Debian's packages in a temporary folder on free
# ports and is stopped and removed at the end: a throwaway PostgreSQL
# cluster (durable: fsync and synchronous_commit on, as in production), a
# Redis without persistence, nginx with docs/nginx/minicom.conf. The
# server's settings for load runs are bench/limits.env, as `make bench`'s.
#
# The CPU per acknowledged message is read from /proc, for the Minicom
# instances together (behind nginx, /metrics answers for one instance at a
# time) and for PostgreSQL's processes; Redis and nginx are left out. Results:
# bench/postgres/*.json and the table at the end.
set -euo pipefail

BIN=${BIN:-target/release/minicom}
LOAD=${LOAD:-target/release/minicom-load}
OUT=bench/postgres
ADMIN_EMAIL=bench@minicom.test
ADMIN_PASSWORD=bench-password-not-secret
PG=$( (ls -d /usr/lib/postgresql/*/bin 2>/dev/null || true) | sort -V | tail -1)

for program in "$BIN" "$LOAD" "${PG:+$PG/initdb}" /usr/bin/redis-server /usr/sbin/nginx; do
    [ -n "$program" ] && [ -x "$program" ] || { echo "missing $program: run make bench-postgres (it builds and installs what is missing)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/minicom-bench-pg.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$OUT" "$WORK/pg"
PIDS=()

# PostgreSQL refuses to run as root: its programs run as the package's user.
as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        chown -R postgres: "$WORK/pg"
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$WORK/nginx/nginx.pid" ] && kill "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null || true
    as_postgres "$PG/pg_ctl" -D "$WORK/pg/data" stop -m fast >/dev/null 2>&1 || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ready() { # URL [PID]
    for _ in $(seq 1 300); do
        if curl -fs "$1/readyz" >/dev/null 2>&1; then return 0; fi
        if [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; then break; fi
        sleep 0.2
    done
    echo "no answer from $1/readyz (the server exited, or 60 s passed)" >&2
    cat "$WORK"/server-*.log >&2 || true
    exit 1
}

echo "==> A throwaway PostgreSQL cluster, Redis and nginx in $WORK"
PG_PORT=$(free_port)
as_postgres "$PG/initdb" -D "$WORK/pg/data" -A trust -U postgres -E UTF8 --locale=C >/dev/null
as_postgres "$PG/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w start \
    -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c max_connections=200" >/dev/null
as_postgres "$PG/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres minicom
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no >"$WORK/redis.log" 2>&1 &
PIDS+=($!)

start_instance() { # NAME PORT
    (
        set -a
        # shellcheck source=limits.env
        . bench/limits.env
        set +a
        MINICOM_ADDR=127.0.0.1:$2 \
        DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/minicom \
        MINICOM_REDIS_URL=redis://127.0.0.1:$REDIS_PORT \
        MINICOM_ADMIN_EMAIL=$ADMIN_EMAIL MINICOM_ADMIN_PASSWORD=$ADMIN_PASSWORD \
        MINICOM_ASSISTANT=off \
        exec "$BIN" >/dev/null 2>"$WORK/server-$1.log"
    ) &
    PIDS+=($!)
    wait_ready "http://127.0.0.1:$2" "${PIDS[-1]}"
}

# utime + stime of the processes, in clock ticks (one that ended meanwhile
# counts nothing).
cpu_ticks() {
    local total=0 ticks
    for pid in "$@"; do
        ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
        total=$((total + ticks))
    done
    echo "$total"
}

# PostgreSQL's processes: the postmaster and its children (the backends
# serving the instances' connections, the writer, the WAL writer, …).
postgres_pids() {
    local postmaster
    postmaster=$(head -1 "$WORK/pg/data/postmaster.pid")
    echo "$postmaster" $(ps --ppid "$postmaster" -o pid=)
}

# The scenarios of `make bench` (src/bin/minicom_load/bench.rs), by name.
run() { # LAYOUT ADDR SCENARIO-NAME minicom-load-arguments...
    local layout=$1 addr=$2 name=$3
    shift 3
    local before after pg_before pg_after
    before=$(cpu_ticks "${INSTANCES[@]}")
    # Backends that start during the run count whole (all their time is in
    # it); the instances' pools keep theirs, so few end during it.
    # shellcheck disable=SC2046
    pg_before=$(cpu_ticks $(postgres_pids))
    "$LOAD" "$@" --server "$addr" --admin-email "$ADMIN_EMAIL" --admin-password "$ADMIN_PASSWORD" \
        --json "$OUT/$layout-$name.json" >"$WORK/run.txt"
    after=$(cpu_ticks "${INSTANCES[@]}")
    # shellcheck disable=SC2046
    pg_after=$(cpu_ticks $(postgres_pids))
    python3 - "$OUT/$layout-$name.json" "$layout" "$name" "$((after - before))" \
        "$((pg_after - pg_before))" "$(getconf CLK_TCK)" <<'PY'
import json, sys
path, layout, name, ticks, pg_ticks, hz = sys.argv[1:]
r = json.load(open(path))
# Every message sent, acknowledged or not, cost the servers something;
# acknowledged is what a sender counts.
acked = r["acked"] or 1
cpu_us = int(ticks) / int(hz) * 1e6 / acked
pg_us = int(pg_ticks) / int(hz) * 1e6 / acked
r["instances_cpu_us_per_message"] = cpu_us
r["postgres_cpu_us_per_message"] = pg_us
json.dump(r, open(path, "w"), indent=2)
errors = ", ".join(f"{k} {v}" for k, v in r["errors"].items()) or "-"
print(f"{layout:<10} {name:<9} {r['acked_per_s']:>9.0f} {r['delivered_per_s']:>11.0f} "
      f"{r['latency']['p50_ms']:>8.2f} {r['latency']['p99_ms']:>8.2f} {cpu_us:>8.0f} {pg_us:>8.0f}  {errors}")
PY
}

scenarios() { # LAYOUT ADDR
    run "$1" "$2" chat-max chat --pairs 50 --agents 2 --window 8 --duration 15
    run "$1" "$2" chat-1 chat --pairs 50 --agents 2 --window 1 --duration 15
    run "$1" "$2" chat-100 chat --pairs 50 --agents 2 --rate 100 --duration 15
    run "$1" "$2" chat-5k chat --pairs 100 --agents 4 --rate 5000 --duration 15
    run "$1" "$2" fanout inbox --pairs 200 --agents 100 --rate 1000 --duration 10
    run "$1" "$2" mix mix --connections 2000 --pairs 50 --agents 2 --rate 2000 --duration 12
}

printf '\n%-10s %-9s %9s %11s %8s %8s %8s %8s  %s\n' layout scenario acked/s delivered/s \
    "p50 ms" "p99 ms" "Minicom" "Postgres" "errors (CPU: µs per acknowledged message)"

A_PORT=$(free_port)
start_instance a "$A_PORT"
INSTANCES=("${PIDS[-1]}")
scenarios one "127.0.0.1:$A_PORT"

B_PORT=$(free_port)
start_instance b "$B_PORT"
INSTANCES+=("${PIDS[-1]}")
NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx"
sed -e "s/10.0.0.11:3000/127.0.0.1:$A_PORT/" -e "s/10.0.0.12:3000/127.0.0.1:$B_PORT/" \
    -e "s/listen 80;/listen 127.0.0.1:$NGINX_PORT;/" docs/nginx/minicom.conf >"$WORK/nginx/minicom.conf"
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 16384;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    include $WORK/nginx/minicom.conf;
}
EOF
/usr/sbin/nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
wait_ready "http://127.0.0.1:$NGINX_PORT"
scenarios two+nginx "127.0.0.1:$NGINX_PORT"

echo
echo "wrote $OUT/*.json"
