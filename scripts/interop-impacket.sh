#!/usr/bin/env bash
# Real-peer check: impacket's RPC over HTTP v2 client (pinned impacket==0.13.1) against
# `oxmapi serve` on loopback, NSPI at RPC_C_AUTHN_LEVEL_PKT_PRIVACY (tests/interop/impacket_nspi.py).
# Creates target/interop-venv, a temp data dir with two users, starts the server, runs the
# harness, stops the server. Exit status non-zero on any mismatch. Talks only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=target/interop-venv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import impacket, sys; sys.exit(impacket.version.BANNER.find("0.13.1") < 0)' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet 'impacket==0.13.1'
fi

if [ -z "${OXMAPI_BIN:-}" ]; then
  cargo build --quiet -p oxmapi-cli
  OXMAPI_BIN=target/debug/oxmapi
fi

DATA=$(mktemp -d)
LOG="$DATA/serve.log"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$DATA"
}
trap cleanup EXIT

export OXMAPI_PASSWORD='Passw0rd!'
add_user() { # alias display-name
  "$OXMAPI_BIN" server add-user --data "$DATA" --alias "$1" --display-name "$2" > "$DATA/$1.txt"
}
field() { # file label
  sed -n "s/^$2 *//p" "$1" | head -n1
}
add_user alice "Alice Example"
add_user bob "Bob Builder"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
RUST_LOG=${RUST_LOG:-info} "$OXMAPI_BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT" > "$LOG" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  grep -q 'listening on' "$LOG" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOG"; echo "server exited"; exit 1; }
  sleep 0.1
done

EXPECT=$(python3 - "$DATA" <<'PY'
import json, sys, re
users = []
for alias, name in (("alice", "Alice Example"), ("bob", "Bob Builder")):
    text = open("%s/%s.txt" % (sys.argv[1], alias)).read()
    get = lambda label: re.search(r"^%s\s+(.+)$" % label, text, re.M).group(1).strip()
    users.append({"alias": alias, "display_name": name, "smtp": get("SMTP"),
                  "dn": get("legacy DN"), "server": get("personalized server name")})
print(json.dumps(users))
PY
)

status=0
OXMAPI_PORT=$PORT OXMAPI_USER=alice OXMAPI_EXPECT=$EXPECT \
  timeout 120 "$VENV/bin/python" tests/interop/impacket_nspi.py || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log ---"; tail -n 50 "$LOG"
fi
exit "$status"
