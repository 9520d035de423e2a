#!/usr/bin/env bash
# Interop against a real, independently written Exchange-protocol server: gromox 3.10, the test
# peer in ../shared/peers/gromox (AGPL-3.0; we run it, we copy none of its code).
#
# Starts the peer, then runs the oxmapi CLI against it over MAPI/HTTP and RPC/HTTP with HTTP Basic
# auth and the peer's certificate verified through its CA file. Every check prints `ok` or `FAIL`;
# the script ends with `gromox: N passed, M failed` and exits non-zero on any failure.
#
# Needs root (the peer's start.sh installs Debian packages and runs its own MariaDB) and python3.
# Talks only to loopback (127.0.0.1 / 127.0.0.2). Where gromox departs from the specs, the check
# says so with the section.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${OXMAPI_SHARED_DIR:-$ROOT/../shared}"
PEER="$SHARED/peers/gromox"
TRANSPORTS="${GROMOX_TRANSPORTS:-mapihttp rpchttp}"

if [ ! -f "$PEER/start.sh" ]; then
  echo "FAIL: the gromox peer is missing at $PEER (CI lays shared/ beside the clone; or set OXMAPI_SHARED_DIR)"
  echo "gromox: 0 passed, 1 failed"
  exit 1
fi
command -v python3 >/dev/null || { echo "FAIL: python3 is required"; echo "gromox: 0 passed, 1 failed"; exit 1; }

echo "== starting the gromox peer"
# A running peer is stopped first: gromox 3.10 never frees RPC/HTTP virtual connections and
# refuses new ones after about 400 (docs/interop.md), which a few runs in a row reach.
if [ -f "$PEER/stop.sh" ]; then bash "$PEER/stop.sh" >/dev/null 2>&1 || true; fi
bash "$PEER/start.sh" || { echo "FAIL: the gromox peer did not start"; echo "gromox: 0 passed, 1 failed"; exit 1; }
# shellcheck disable=SC1091
. /opt/gromox-peer/var/peer.env

if [ -n "${OXMAPI_BIN:-}" ]; then
  OX="$OXMAPI_BIN"
else
  echo "== building the oxmapi CLI"
  (cd "$ROOT" && cargo build -p oxmapi-cli --locked -q) || { echo "FAIL: cargo build"; echo "gromox: 0 passed, 1 failed"; exit 1; }
  OX="$ROOT/target/debug/oxmapi"
fi

WORK="$(mktemp -d /tmp/oxmapi-gromox.XXXXXX)"
DELIVER_PID=
cleanup() {
  [ -n "$DELIVER_PID" ] && kill "$DELIVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

export OXMAPI_PASSWORD="$GROMOX_PEER_PASSWORD"
CFG="$WORK/oxmapi.toml"
cat >"$CFG" <<EOF
# Our form of RPCHttpProxyMap for the peer: Basic auth (the only scheme gromox offers), its
# self-signed certificate verified through the CA file.
ignore_no_public_folders = true
[proxy_map."example.test"]
url = "$GROMOX_PEER_URL"
auth = "basic"
certificate = { ca_file = "$GROMOX_PEER_CA" }

[profiles.test]
server = "$GROMOX_PEER_USER1_PSN"
mailbox = "$GROMOX_PEER_USER1"
user = "$GROMOX_PEER_USER1"

[profiles.test-alias]
server = "$GROMOX_PEER_USER1_PSN"
mailbox = "test"
user = "$GROMOX_PEER_USER1"

[profiles.other]
server = "$GROMOX_PEER_USER2_PSN"
mailbox = "$GROMOX_PEER_USER2"
user = "$GROMOX_PEER_USER2"

[profiles.other-alias]
server = "$GROMOX_PEER_USER2_PSN"
mailbox = "other"
user = "$GROMOX_PEER_USER2"
EOF

# A bulk of messages in test's Inbox, once per peer data directory, so that listings page
# (gromox caps RopQueryRows at 127 rows on contents tables, MS-OXCTABL 3.2.5.5 allows it).
BULK_MARK=/opt/gromox-peer/var/lib/peer/oxmapi-bulk-400
if [ ! -e "$BULK_MARK" ]; then
  echo "== importing 400 generated messages into $GROMOX_PEER_USER1's Inbox"
  python3 "$SHARED/tools/gen_eml.py" "$WORK/bulk" 400 tiny 7 >/dev/null
  (export PATH=/opt/gromox-peer/sbin:$PATH LD_LIBRARY_PATH=/opt/gromox-peer/lib
   gromox-eml2mt "$WORK"/bulk/*.eml | gromox-import -u "$GROMOX_PEER_USER1" -B INBOX) >"$WORK/import.log" 2>&1 \
    && touch "$BULK_MARK" || { echo "bulk import failed:"; tail "$WORK/import.log"; }
fi

# The same proxy map with the certificate pinned by its SHA-256 (right and wrong pin).
PIN=$(openssl x509 -in "$GROMOX_PEER_CA" -noout -fingerprint -sha256 | sed 's/.*=//')
sed "s|certificate = { ca_file = .* }|certificate = { sha256 = \"$PIN\" }|" "$CFG" >"$WORK/pinned.toml"
sed "s|certificate = { ca_file = .* }|certificate = { sha256 = \"$(printf '%064d' 0)\" }|" "$CFG" >"$WORK/wrong-pin.toml"

RUN="$(date +%s)$$"
PASS=0
FAILS=0
FAILED=()
OUT="$WORK/out"

ok() { PASS=$((PASS + 1)); printf 'ok   %s\n' "$1"; }
bad() {
  FAILS=$((FAILS + 1)); FAILED+=("$1")
  printf 'FAIL %s: %s\n' "$1" "$2"
  [ -s "$OUT" ] && sed -e 's/^/       | /' "$OUT" | tail -n 12
}
# ox ARGS...: runs the CLI, output in $OUT; returns its exit code.
ox() { "$OX" "$@" --config "$CFG" >"$OUT" 2>&1; }
# check NAME ARGS...: the command must succeed.
check() { local n=$1; shift; if ox "$@"; then ok "$n"; else bad "$n" "exit $?"; fi; }
# has TEXT: the last output contains TEXT.
has() { grep -qF -- "$1" "$OUT"; }

# py: a small JSON-lines helper over $OUT (ls --json prints one object per line).
py() { python3 - "$OUT" "$@"; }

# count PROFILE FOLDER SUBJECT T: how many messages carry exactly SUBJECT (-1 on error).
count() {
  if ! "$OX" ls "$2" --subject "$3" --json --profile "$1" --transport "$4" --config "$CFG" >"$OUT" 2>&1; then
    echo -1; return
  fi
  py "$3" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{") and json.loads(line).get("subject") == sys.argv[2]:
        n += 1
print(n)
PY
}
# id_of PROFILE FOLDER SUBJECT T: the entry ID of the (first) message with exactly SUBJECT.
id_of() {
  "$OX" ls "$2" --subject "$3" --json --profile "$1" --transport "$4" --config "$CFG" >"$OUT" 2>&1 || return 1
  py "$3" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{") and json.loads(line).get("subject") == sys.argv[2]:
        print(json.loads(line)["id"]); break
PY
}
# arrives NAME PROFILE FOLDER SUBJECT T: exactly one copy arrives (waits up to 30 s, then
# checks again after the delivery agents have had time to deliver a duplicate).
arrives() {
  local n=$1 p=$2 f=$3 s=$4 t=$5 c=0 i
  for i in $(seq 1 60); do
    c=$(count "$p" "$f" "$s" "$t")
    [ "$c" != 0 ] && break
    sleep 0.5
  done
  [ "$c" = 1 ] && sleep 2 && c=$(count "$p" "$f" "$s" "$t")
  if [ "$c" = 1 ]; then ok "$n"; else bad "$n" "expected exactly one \"$s\" in $p's $f, found $c"; fi
}

head -c 30000 /dev/urandom >"$WORK/att.bin"
echo 'not-the-password' >"$WORK/wrong.pw"

# message_checks: show, save-attachments, mark, reply, forward, mkdir, cp, export, mv, rm,
# rmdir on the message $ID ("$S1") in test's Inbox, over transport $T (args in A).
message_checks() {
  if ox show "$ID" --profile test "${A[@]}" && has "$S1" && has "body of $S1" && has "att.bin"; then ok "$T show"; else bad "$T show" "subject, body or attachment missing"; fi
  rm -rf "$WORK/att-out"
  if ox save-attachments "$ID" "$WORK/att-out" --profile test "${A[@]}" && cmp -s "$WORK/att.bin" "$WORK/att-out/att.bin"; then ok "$T save-attachments (bytes equal)"; else bad "$T save-attachments" "missing or different"; fi
  if ox mark "$ID" --read --profile test "${A[@]}" && [ "$(ox ls Inbox --profile test "${A[@]}" --json --unread --subject "$S1"; grep -c '^{' "$OUT")" = 0 ]; then ok "$T mark --read"; else bad "$T mark --read" "still unread"; fi
  if ox mark "$ID" --unread --profile test "${A[@]}" && [ "$(ox ls Inbox --profile test "${A[@]}" --json --unread --subject "$S1"; grep -c '^{' "$OUT")" = 1 ]; then ok "$T mark --unread (ls --unread)"; else bad "$T mark --unread" "not unread"; fi

  if ox reply "$ID" --profile test "${A[@]}" --body "a reply"; then ok "$T reply"; arrives "$T reply arrives exactly once" test Inbox "RE: $S1" "$T"; else bad "$T reply" "exit $?"; fi
  if ox forward "$ID" --to "$GROMOX_PEER_USER2" --profile test "${A[@]}" --body "see below"; then
    ok "$T forward"
    arrives "$T forward arrives exactly once at other" other Inbox "FW: $S1" "$T"
    FID=$(id_of other Inbox "FW: $S1" "$T") || FID=
    if [ -n "$FID" ] && ox show "$FID" --profile other "${A[@]}" && has "att.bin"; then ok "$T forward carries the attachment"; else bad "$T forward carries the attachment" "att.bin missing"; fi
  else bad "$T forward" "exit $?"; fi

  DIR="oxmapi-$RUN-$T"
  if ox mkdir "Inbox/$DIR" --profile test "${A[@]}" && ox folders --profile test "${A[@]}" && has "$DIR"; then ok "$T mkdir"; else bad "$T mkdir" "folder not listed"; fi
  if ox cp "$ID" "Inbox/$DIR" --profile test "${A[@]}" && [ "$(count test "Inbox/$DIR" "$S1" "$T")" = 1 ] && [ "$(count test Inbox "$S1" "$T")" = 1 ]; then ok "$T cp"; else bad "$T cp" "copy not in both folders"; fi
  rm -rf "$WORK/eml"
  if ox export "Inbox/$DIR" --eml "$WORK/eml" --profile test "${A[@]}" && grep -qF "Subject: $S1" "$WORK"/eml/*.eml 2>/dev/null && grep -qF "att.bin" "$WORK"/eml/*.eml; then ok "$T export --eml"; else bad "$T export --eml" "no .eml with the subject and attachment"; fi
  if ox mv "$ID" "Inbox/$DIR" --profile test "${A[@]}" && [ "$(count test "Inbox/$DIR" "$S1" "$T")" = 2 ] && [ "$(count test Inbox "$S1" "$T")" = 0 ]; then ok "$T mv"; else bad "$T mv" "not moved"; fi
  CID=$(id_of test "Inbox/$DIR" "$S1" "$T") || CID=
  before=$(count test "Deleted Items" "$S1" "$T")
  if [ -n "$CID" ] && ox rm "$CID" --profile test "${A[@]}" && [ "$(count test "Inbox/$DIR" "$S1" "$T")" = 1 ] && [ "$(count test "Deleted Items" "$S1" "$T")" = $((before + 1)) ]; then ok "$T rm (to Deleted Items)"; else bad "$T rm" "not in Deleted Items"; fi
  CID=$(id_of test "Inbox/$DIR" "$S1" "$T") || CID=
  if [ -n "$CID" ] && ox rm "$CID" --hard --profile test "${A[@]}" && [ "$(count test "Inbox/$DIR" "$S1" "$T")" = 0 ] && [ "$(count test "Deleted Items" "$S1" "$T")" = $((before + 1)) ]; then ok "$T rm --hard"; else bad "$T rm --hard" "still there"; fi
  if ox rmdir "Inbox/$DIR" --profile test "${A[@]}" && ox folders --profile test "${A[@]}" && ! has "$DIR"; then ok "$T rmdir"; else bad "$T rmdir" "folder still listed"; fi

}

for T in $TRANSPORTS; do
  echo "== $T"
  A=(--transport "$T")

  # --- logon ----------------------------------------------------------------------------------
  if ox logon --profile test "${A[@]}" && has "$GROMOX_PEER_USER1_DN"; then ok "$T logon (SMTP address)"; else bad "$T logon (SMTP address)" "exit or DN missing"; fi
  if ox logon --profile test-alias "${A[@]}" && has "$GROMOX_PEER_USER1_DN"; then ok "$T logon (bare alias \"test\")"; else bad "$T logon (bare alias \"test\")" "not logged on as Test User"; fi
  if ox logon --profile other-alias "${A[@]}" && has "$GROMOX_PEER_USER2_DN"; then ok "$T logon (bare alias \"other\")"; else bad "$T logon (bare alias \"other\")" "not logged on as Other User"; fi
  if ox logon --profile-info "$GROMOX_PEER_USER1_PSN\\ntest" --user "$GROMOX_PEER_USER1" "${A[@]}" && has "$GROMOX_PEER_USER1_DN"; then
    ok "$T logon (dynamic profile \"<PSN>\\ntest\")"
  else bad "$T logon (dynamic profile \"<PSN>\\ntest\")" "failed"; fi
  if ox logon --profile test "${A[@]}" --password-file "$WORK/wrong.pw"; then bad "$T logon refused with a wrong password" "accepted"
  elif has "MAPI_E_LOGON_FAILED" && ! has "$GROMOX_PEER_PASSWORD"; then ok "$T logon refused with a wrong password"
  else bad "$T logon refused with a wrong password" "not MAPI_E_LOGON_FAILED"; fi

  if "$OX" logon --profile test "${A[@]}" --config "$WORK/pinned.toml" >"$OUT" 2>&1 && has "pinned-sha256"; then ok "$T logon with the certificate pinned (sha256)"; else bad "$T logon with the certificate pinned (sha256)" "refused"; fi
  if "$OX" logon --profile test "${A[@]}" --config "$WORK/wrong-pin.toml" >"$OUT" 2>&1; then bad "$T wrong pin refused" "accepted"
  elif has "$(printf '%064d' 0)" && has "certificate = { sha256 ="; then ok "$T wrong pin refused (both fingerprints shown)"
  else bad "$T wrong pin refused" "message lacks the fingerprints or the key"; fi

  # --- folders and listings -------------------------------------------------------------------
  if ox folders --profile test "${A[@]}" && has "Inbox (" && has "Sent Items (" && has "Deleted Items ("; then ok "$T folders"; else bad "$T folders" "missing folders"; fi
  if ox ls Inbox --profile test "${A[@]}" --json && has "Hello from gromox peer"; then
    n=$(py <<'PY'
import json, sys
ids = [json.loads(l)["id"] for l in open(sys.argv[1]) if l.startswith("{")]
print(len(ids) if len(ids) == len(set(ids)) else -1)
PY
)
    if [ "$n" -ge 400 ]; then ok "$T ls Inbox ($n messages, no duplicates)"; else bad "$T ls Inbox" "only $n rows (or duplicates)"; fi
  else bad "$T ls Inbox" "seed message missing"; fi
  for sort in received -received subject; do
    if ox ls Inbox --profile test "${A[@]}" --json --sort="$sort" && py "$sort" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
key = {"received": lambda r: r["received"], "-received": lambda r: r["received"],
       "subject": lambda r: (r.get("subject") or "").casefold()}[sys.argv[2]]
keys = [key(r) for r in rows]
want = sorted(keys, reverse=sys.argv[2] == "-received")
sys.exit(0 if keys == want and len(rows) >= 400 else 1)
PY
    then ok "$T ls Inbox --sort=$sort (order checked)"; else bad "$T ls Inbox --sort=$sort" "rows out of order"; fi
  done
  if ox ls Inbox --profile test "${A[@]}" --json --subject "Hello from gromox" && [ "$(grep -c '^{' "$OUT")" = 1 ]; then ok "$T ls --subject"; else bad "$T ls --subject" "expected 1 row"; fi
  if ox ls Inbox --profile test "${A[@]}" --json --limit 5 && [ "$(grep -c '^{' "$OUT")" = 5 ]; then ok "$T ls --limit 5"; else bad "$T ls --limit 5" "expected 5 rows"; fi
  # The day of the newest message (not today's date: a run that crosses midnight UTC, or a peer
  # that received nothing today, would find no rows).
  today=$(date -u +%Y-%m-%d)
  if ox ls Inbox --profile test "${A[@]}" --json --sort=-received --limit 1; then
    today=$(py <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print(rows[0]["received"][:10] if rows else "")
PY
)
  fi
  if ox ls Inbox --profile test "${A[@]}" --json --since "$today" && py "$today" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
sys.exit(0 if rows and all(r["received"][:10] >= sys.argv[2] for r in rows) else 1)
PY
  then ok "$T ls --since $today"; else bad "$T ls --since" "rows before $today or none"; fi

  # --- send, and what depends on a sent message ----------------------------------------------
  S1="oxmapi $RUN $T to self"
  if ox send --profile test "${A[@]}" --to "$GROMOX_PEER_USER1" --subject "$S1" --body "body of $S1" --attach "$WORK/att.bin"; then
    ok "$T send to self"
    arrives "$T send to self: arrives exactly once" test Inbox "$S1" "$T"
  else bad "$T send to self" "exit $?"; fi
  S2="oxmapi $RUN $T to other"
  if ox send --profile test "${A[@]}" --to "$GROMOX_PEER_USER2" --subject "$S2" --body "hello other"; then
    ok "$T send to other"
    arrives "$T send to other: arrives exactly once (other's own logon)" other Inbox "$S2" "$T"
    if [ "$(count test "Sent Items" "$S2" "$T")" = 1 ]; then ok "$T send: one copy in Sent Items"; else bad "$T send: one copy in Sent Items" "not exactly one"; fi
  else bad "$T send to other" "exit $?"; fi

  if ox ls Inbox --profile test "${A[@]}" --json --from "Test User" --subject "$S1" && [ "$(grep -c '^{' "$OUT")" = 1 ]; then ok "$T ls --from"; else bad "$T ls --from" "expected the message from Test User"; fi
  ID=$(id_of test Inbox "$S1" "$T") || ID=
  if [ -n "$ID" ]; then message_checks; else bad "$T message-level commands" "no message \"$S1\" to work on"; fi

  # --- address book ---------------------------------------------------------------------------
  if ox resolve "$GROMOX_PEER_USER2" --profile test "${A[@]}" && has "Other User"; then ok "$T resolve SMTP address"; else bad "$T resolve SMTP address" "not Other User"; fi
  if ox resolve "Other User" --profile test "${A[@]}" && has "$GROMOX_PEER_USER2"; then ok "$T resolve display name"; else bad "$T resolve display name" "not other@"; fi
  if ox resolve other --profile test "${A[@]}" && has "$GROMOX_PEER_USER2"; then ok "$T resolve bare alias"; else bad "$T resolve bare alias" "not other@"; fi
  if ox gal --profile test "${A[@]}" && has "Test User" && has "Other User"; then ok "$T gal"; else bad "$T gal" "users missing"; fi

  # --- a listing while mail keeps arriving (RopNotify in Execute responses) ------------------
  python3 - "$GROMOX_PEER_SMTP" "$GROMOX_PEER_USER1" "oxmapi $RUN $T live" >"$WORK/deliver.log" 2>&1 <<'PY' &
import smtplib, sys, time
from email.message import EmailMessage
host, port = sys.argv[1].rsplit(":", 1)
s = smtplib.SMTP(host, int(port), timeout=10)
deadline = time.monotonic() + 40
for i in range(150):
    if time.monotonic() > deadline:
        break
    m = EmailMessage()
    m["From"] = "bulk@example.org"; m["To"] = sys.argv[2]; m["Subject"] = f"{sys.argv[3]} {i}"
    m.set_content(f"delivery {i}\n")
    s.send_message(m)
    time.sleep(0.05)
s.quit()
PY
  DELIVER_PID=$!
  live_ok=1
  for i in 1 2 3; do
    if ! ox ls Inbox --profile test "${A[@]}" --json; then live_ok=0; bad "$T ls Inbox while mail arrives (run $i)" "exit"; break; fi
    n=$(py <<'PY'
import json, sys
ids = [json.loads(l)["id"] for l in open(sys.argv[1]) if l.startswith("{")]
print(len(ids) if len(ids) == len(set(ids)) else -1)
PY
)
    if [ "$n" -lt 400 ]; then live_ok=0; bad "$T ls Inbox while mail arrives (run $i)" "$n rows"; break; fi
    if ! ox folders --profile test "${A[@]}"; then live_ok=0; bad "$T folders while mail arrives (run $i)" "exit"; break; fi
  done
  [ $live_ok = 1 ] && ok "$T ls Inbox and folders while mail arrives (3 runs, complete, no duplicates)"
  wait "$DELIVER_PID"; DELIVER_PID=
done

echo
for f in "${FAILED[@]}"; do echo "failed: $f"; done
echo "gromox: $PASS passed, $FAILS failed"
[ "$FAILS" = 0 ]
