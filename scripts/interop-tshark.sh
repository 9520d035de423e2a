#!/usr/bin/env bash
# Interop check with a real dissector: capture our RPC over HTTP v2 and MAPI/HTTP demo traffic on
# loopback and check that tshark (Debian package, Wireshark 4.0) decodes the HTTP, RTS and DCE/RPC
# PDUs without malformed-packet or error-level expert marks. How to repeat it by hand and what is
# (not) checked: docs/captures.md.
#
# Runs as root in CI (packet capture); installs tshark (and python3) with apt-get when missing.
# Everything stays on 127.0.0.1; every step is bounded by `timeout`.
# Environment: KEEP=1 keeps the work directory (capture, key log, logs) for inspection;
# OXMAPI_BIN=path uses an already built `oxmapi` binary instead of `cargo build -p oxmapi-cli`.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

say() { printf '%s\n' "$*" >&2; }
die() { say "interop-tshark: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# 0. tools
if ! command -v tshark >/dev/null || ! command -v dumpcap >/dev/null || ! command -v python3 >/dev/null; then
    [ "$(id -u)" = 0 ] || die "tshark/dumpcap/python3 missing and not root: apt-get install tshark python3"
    say "installing tshark (and python3) with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
    timeout 300 apt-get update -qq
    timeout 600 apt-get install -y -qq --no-install-recommends tshark python3 >/dev/null
fi
say "$(tshark --version 2>/dev/null | head -1)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/oxmapi-tshark.XXXXXX")
DUMPCAP_PID=
cleanup() {
    if [ -n "$DUMPCAP_PID" ] && kill -0 "$DUMPCAP_PID" 2>/dev/null; then
        kill -INT "$DUMPCAP_PID" 2>/dev/null || true
        wait "$DUMPCAP_PID" 2>/dev/null || true
    fi
    if [ "${KEEP:-0}" = 1 ]; then say "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
# 1. build, capture, run the demos
if [ -n "${OXMAPI_BIN:-}" ]; then
    BIN=$OXMAPI_BIN # an already built binary (skips the build)
else
    say "building oxmapi-cli"
    timeout 1200 cargo build -q -p oxmapi-cli || die "cargo build -p oxmapi-cli failed"
    BIN=$ROOT/target/debug/oxmapi
fi
[ -x "$BIN" ] || die "no $BIN after the build"

# Two free loopback ports (nothing answers a connect on them).
port_free() { ! timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
pick_port() {
    local p i
    for i in $(seq 1 50); do
        p=$((20000 + RANDOM % 30000))
        if [ "$p" != "${1:-}" ] && port_free "$p"; then echo "$p"; return 0; fi
    done
    return 1
}
RPCH_PORT=$(pick_port) || die "no free port"
MAPI_PORT=$(pick_port "$RPCH_PORT") || die "no free port"
KEYLOG=$WORK/keys.log
CAP=$WORK/cap.pcapng
: >"$KEYLOG"

say "capturing lo (tcp port $RPCH_PORT or tcp port $MAPI_PORT) into $CAP"
timeout 300 dumpcap -q -i lo -f "tcp port $RPCH_PORT or tcp port $MAPI_PORT" -w "$CAP" \
    2>"$WORK/dumpcap.log" &
DUMPCAP_PID=$!
for _ in $(seq 1 100); do
    grep -q "Capturing on" "$WORK/dumpcap.log" 2>/dev/null && break
    kill -0 "$DUMPCAP_PID" 2>/dev/null || { cat "$WORK/dumpcap.log" >&2; die "dumpcap did not start"; }
    sleep 0.1
done
grep -q "Capturing on" "$WORK/dumpcap.log" || die "dumpcap did not start within 10 s"

run_demo() { # transport port
    say "running: oxmapi demo --transport $1 --listen 127.0.0.1:$2"
    if ! SSLKEYLOGFILE=$KEYLOG timeout 120 "$BIN" demo --transport "$1" --listen "127.0.0.1:$2" \
        >"$WORK/demo-$1.out" 2>"$WORK/demo-$1.err"; then
        cat "$WORK/demo-$1.err" >&2
        die "oxmapi demo --transport $1 failed"
    fi
}
run_demo rpchttp "$RPCH_PORT"
run_demo mapihttp "$MAPI_PORT"
sleep 0.5
kill -INT "$DUMPCAP_PID"
wait "$DUMPCAP_PID" || true
DUMPCAP_PID=
[ -s "$CAP" ] || die "empty capture"
[ -s "$KEYLOG" ] || die "SSLKEYLOGFILE produced no keys (the key-log hook is missing?)"

# ---------------------------------------------------------------------------------------------
# 2. checks
PASS=0
FAIL=0
check() { # name condition-result(0/1) detail
    if [ "$2" = 0 ]; then PASS=$((PASS + 1)); say "  ok    $1 ($3)"; else FAIL=$((FAIL + 1)); say "  FAIL  $1 ($3)"; fi
}
ge() { [ "$1" -ge "$2" ] && echo 0 || echo 1; }
eq() { [ "$1" -eq "$2" ] && echo 0 || echo 1; }

TS=(tshark -n -r "$CAP" -o "tls.keylog_file:$KEYLOG"
    -d "tcp.port==$RPCH_PORT,tls" -d "tcp.port==$MAPI_PORT,tls"
    --enable-heuristic dcerpc_http)
ts() { timeout 120 "${TS[@]}" "$@" 2>/dev/null; }
count() { ts -Y "$1" -T fields -e frame.number | grep -c . || true; }

say ""
say "== pass 1: the capture as tshark dissects it (TLS decrypted with the key log)"
FRAMES=$(count "frame")
TLS_APP=$(count "tcp.port==$RPCH_PORT && tls.app_data")
HTTP_DEC=$(count "tcp.port==$RPCH_PORT && http")
check "TLS decrypted" "$(ge "$HTTP_DEC" 1)" "$FRAMES frames, $TLS_APP with rpch TLS application data, $HTTP_DEC decoded as HTTP"
IN_REQ=$(count "tcp.port==$RPCH_PORT && http.request.method == \"RPC_IN_DATA\"")
OUT_REQ=$(count "tcp.port==$RPCH_PORT && http.request.method == \"RPC_OUT_DATA\"")
check "HTTP RPC_IN_DATA requests decoded" "$(ge "$IN_REQ" 2)" "$IN_REQ"
check "HTTP RPC_OUT_DATA requests decoded" "$(ge "$OUT_REQ" 2)" "$OUT_REQ"
RPC_200=$(count "tcp.port==$RPCH_PORT && http.response.code == 200 && http.content_type == \"application/rpc\"")
check "HTTP 200 application/rpc (OUT channel) responses" "$(ge "$RPC_200" 2)" "$RPC_200"
# Wireshark 4.0 hands only the first body segment of RPC_IN_DATA / RPC_OUT_DATA to DCE/RPC (later
# segments are "Continuation" data): that is CONN/A1, CONN/B1 and CONN/A3 of each virtual connection.
NAT_RTS=$(ts -Y "tcp.port==$RPCH_PORT && dcerpc.pkt_type == 20" -T fields -e _ws.col.Info |
    grep -oE "CONN/[A-C][0-9](,CONN/[A-C][0-9])*" | sort | uniq -c | awk '{printf "%s%s x%s", s, $2, $1; s=", "}')
NAT_RTS_N=$(count "tcp.port==$RPCH_PORT && dcerpc.pkt_type == 20")
check "RTS PDUs decoded in the live capture" "$(ge "$NAT_RTS_N" 6)" "$NAT_RTS_N frames: $NAT_RTS"
MAPI_POST=$(ts -Y "tcp.port==$MAPI_PORT && http.request.method == \"POST\"" -T fields -e http.request.line |
    tr ',' '\n' | grep -ic "^x-requesttype:" || true)
MAPI_TYPES=$(ts -Y "tcp.port==$MAPI_PORT && http.request.method == \"POST\"" -T fields -e http.request.line |
    tr ',' '\n' | grep -i "^x-requesttype:" | sed 's/\\r\\n$//; s/^[^:]*: *//' | sort | uniq -c |
    awk '{printf "%s%s x%s", s, $2, $1; s=", "}')
check "MAPI/HTTP POST requests decoded" "$(ge "$MAPI_POST" 3)" "$MAPI_POST with X-RequestType: $MAPI_TYPES"
MAL1=$(count "_ws.malformed")
check "no malformed packets (whole capture)" "$(eq "$MAL1" 0)" "$MAL1"
ERR1=$(count "_ws.expert.severity == error && (http || dcerpc || tls)")
check "no error-level expert info in http/dcerpc/tls frames" "$(eq "$ERR1" 0)" "$ERR1"
if [ "$MAL1" != 0 ] || [ "$ERR1" != 0 ]; then
    ts -Y "_ws.malformed || _ws.expert.severity == error" -T fields -e frame.number -e frame.protocols \
        -e _ws.col.Info -e _ws.expert.message | head -20 >&2
fi

say ""
say "== pass 2: every DCE/RPC PDU of the virtual connections"
# Extract the decrypted HTTP bodies of the IN and OUT channels (tshark's own TLS + HTTP follow), join
# each virtual connection (matched by its VirtualConnectionCookie) into one TCP conversation
# (client -> server = IN channel, server -> client = OUT channel) and let tshark's DCE/RPC dissector
# decode that. Nothing is decoded here; the helper only splits on frag_length to keep causal order.
STREAMS=$(ts -Y "tcp.port==$RPCH_PORT && http.request.method matches \"^RPC_(IN|OUT)_DATA$\"" \
    -T fields -e tcp.stream | sort -un)
[ -n "$STREAMS" ] || die "no RPC/HTTP streams found"
for s in $STREAMS; do
    ts -q -z "follow,tls,raw,$s" >"$WORK/follow-$s.txt"
done
timeout 60 python3 - "$WORK" "$RPCH_PORT" $STREAMS >"$WORK/join.log" <<'PY'
import struct, sys, glob

work, port, streams = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def chunks(path):
    """(direction, bytes) in order; direction 0 = unindented lines, 1 = tab-indented."""
    out = []
    for line in open(path):
        line = line.rstrip("\n")
        if not line or line.startswith(("=", "Follow:", "Filter:", "Node ")):
            continue
        d = 1 if line.startswith("\t") else 0
        out.append((d, bytes.fromhex(line.strip())))
    return out

def http_messages(data):
    """[(start_line, headers, body)]; an RPC channel body runs to the end of the stream."""
    msgs, pos = [], 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            raise SystemExit(f"unterminated HTTP header at {pos}")
        head = data[pos:end].decode("latin-1").split("\r\n")
        hdrs = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
        length = int(hdrs.get("content-length", "0"))
        body_start = end + 4
        rpc = head[0].startswith(("RPC_IN_DATA", "RPC_OUT_DATA")) or hdrs.get("content-type") == "application/rpc"
        body = data[body_start:body_start + length]
        msgs.append((head[0], hdrs, body, rpc))
        pos = body_start + len(body)
    return msgs

def pdus(data):
    out, pos = [], 0
    while pos + 10 <= len(data):
        flen = struct.unpack_from("<H", data, pos + 8)[0]
        if flen < 16:
            break
        out.append(data[pos:pos + flen])
        pos += flen
    if pos < len(data):
        out.append(data[pos:])  # a truncated tail: tshark will say so
    return out

vcs = {}  # cookie -> {"in": (client_port, [pdus]), "out": ([a1 pdus], [server pdus])}
for s in streams:
    ch = chunks(f"{work}/follow-{s}.txt")
    dirs = {0: b"", 1: b""}
    for d, b in ch:
        dirs[d] += b
    cdir = 0 if dirs[0][:4] in (b"RPC_", b"POST", b"GET ") else 1
    client, server = http_messages(dirs[cdir]), http_messages(dirs[1 - cdir])
    kind = "in" if client[0][0].startswith("RPC_IN_DATA") else "out"
    cbody = b"".join(m[2] for m in client if m[3])
    sbody = b"".join(m[2] for m in server if m[3])
    cp = pdus(cbody)
    if not cp or len(cp[0]) < 48 or cp[0][2] != 20:
        raise SystemExit(f"stream {s}: {kind} channel does not start with an RTS PDU")
    cookie = cp[0][32:48]  # CONN/A1, CONN/B1: Version command, then VirtualConnectionCookie
    vc = vcs.setdefault(cookie, {})
    vc[kind] = (int(s), cp, pdus(sbody))
    print(f"stream {s}: {kind} channel, {len(cp)} client PDUs, {len(pdus(sbody))} server PDUs, vc {cookie.hex()}")

def ordered(c, sv):
    """Client PDUs before the server PDUs that answer them (same call_id, after the last fragment)."""
    out, i = [], 0
    while i < len(c) and len(c[i]) > 2 and c[i][2] == 20:
        out.append((0, c[i])); i += 1
    for p in sv:
        if len(p) >= 16 and p[2] != 20:
            cid = struct.unpack_from("<I", p, 12)[0]
            j = next((k for k in range(i, len(c)) if len(c[k]) >= 16 and c[k][2] != 20
                      and struct.unpack_from("<I", c[k], 12)[0] == cid and c[k][3] & 2), None)
            if j is not None:
                out.extend((0, q) for q in c[i:j + 1]); i = j + 1
        out.append((1, p))
    out.extend((0, q) for q in c[i:])
    return out

def csum(h):
    s = sum(struct.unpack(f"!{len(h) // 2}H", h))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

recs = []
def seg(sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 0, 0x4000, 64, 6, 0,
                     bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    recs.append(ip + tcp + payload)

nvc = 0
for cookie, vc in vcs.items():
    if "in" not in vc or "out" not in vc:
        raise SystemExit(f"vc {cookie.hex()}: IN or OUT channel missing")
    in_stream, in_c, in_s = vc["in"]
    out_stream, out_c, out_s = vc["out"]
    cport, sport = 40000 + in_stream, port
    # client -> server: CONN/A1 (OUT channel request body) then the IN channel; server -> client: OUT channel.
    seq = {0: 1000, 1: 5000}
    seg(cport, sport, seq[0] - 1, 0, 0x02)
    seg(sport, cport, seq[1] - 1, seq[0], 0x12)
    seg(cport, sport, seq[0], seq[1], 0x10)
    for d, p in ordered(out_c + in_c, out_s + in_s):
        for k in range(0, len(p), 16000):
            part = p[k:k + 16000]
            if d == 0:
                seg(cport, sport, seq[0], seq[1], 0x18, part)
            else:
                seg(sport, cport, seq[1], seq[0], 0x18, part)
            seq[d] += len(part)
    nvc += 1

with open(f"{work}/vc.pcap", "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 101))  # LINKTYPE_RAW
    for n, r in enumerate(recs):
        f.write(struct.pack("<IIII", n, 0, len(r), len(r)) + r)
print(f"{nvc} virtual connections, {len(recs)} segments")
PY
sed 's/^/  /' "$WORK/join.log" >&2

VC=(timeout 120 tshark -n -r "$WORK/vc.pcap" -d "tcp.port==$RPCH_PORT,dcerpc")
vc() { "${VC[@]}" "$@" 2>/dev/null; }
# One line per DCE/RPC PDU: stream, type, RTS flags, RTS commands, bound interface, Info.
vc -Y dcerpc -T fields -E occurrence=a -E aggregator=' ' \
    -e tcp.stream -e dcerpc.pkt_type -e dcerpc.cn_rts_flags -e dcerpc.cn_rts_command \
    -e dcerpc.cn_bind_to_uuid -e dcerpc.opnum -e _ws.col.Info >"$WORK/pdus.tsv"
[ -s "$WORK/pdus.tsv" ] || die "tshark decoded no DCE/RPC PDU in the joined streams"
if awk -F'\t' '$2 ~ / /' "$WORK/pdus.tsv" | grep -q .; then
    say "  note: some frames hold more than one PDU; they are counted once"
fi

EMSMDB=a4f1db00-ca47-1067-b31f-00dd010662da
NSPI=f5cc5a18-4264-101a-8c59-08002b2f8426
SUMMARY=$(awk -F'\t' -v em="$EMSMDB" -v ns="$NSPI" '
    { t[NR] = $2; s[NR] = $1; n = NR
      if ($2 == 11 && index($5, em)) iface[$1] = "EMSMDB"
      if ($2 == 11 && index($5, ns)) iface[$1] = "NSPI"
      if ($2 == 20) {
          # RTS flags and command types (tshark prints them in hex) against MS-RPCH 2.2.4.2 CONN/A1,
          # 2.2.4.3 CONN/A3, 2.2.4.5 CONN/B1, 2.2.4.9 CONN/C2: flags NONE and these commands in order.
          m = split($4, cs, " "); c = ""
          for (i = 1; i <= m; i++) { v = cs[i]; sub(/^0x0*/, "", v); c = c (i > 1 ? " " : "") (v == "" ? "0" : v) }
          f = $3; gsub(/0x0*/, "", f)
          if (f == "" && c == "6 3 3 0")         rts["CONN/A1"]++
          else if (f == "" && c == "6 3 3 4 5 c") rts["CONN/B1"]++
          else if (f == "" && c == "2")          rts["CONN/A3"]++
          else if (f == "" && c == "6 0 2")      rts["CONN/C2"]++
          else rts["other(flags " $3 " cmds " c ")"]++
      }
      if ($2 == 0) op[$1 " " $6]++ }
    END {
      split("0 request,2 response,11 bind,12 bind_ack,16 auth3,3 fault,13 bind_nak,20 rts", names, ",")
      for (i = 1; i <= n; i++) { k = (s[i] in iface ? iface[s[i]] : "?") " " t[i]; cnt[k]++ }
      for (k in cnt) print "pdu", k, cnt[k]
      for (k in rts) print "rts", k, rts[k]
      for (k in op) { split(k, a, " "); print "opnum", (a[1] in iface ? iface[a[1]] : "?"), a[2], op[k] }
    }' "$WORK/pdus.tsv" | sort)
say "  PDUs per interface (pdu IFACE PTYPE COUNT; 0 request, 2 response, 11 bind, 12 bind_ack, 16 auth3,"
say "  20 rts), RTS command sets, request opnums (opnum IFACE OPNUM COUNT):"
printf '%s\n' "$SUMMARY" | sed 's/^/    /' >&2
get() { printf '%s\n' "$SUMMARY" | awk -v a="$1" -v b="$2" -v c="${3:-}" \
    '$1 == a && $2 == b && (c == "" || $3 == c) { print $NF; f = 1 } END { if (!f) print 0 }' | head -1; }
for name in CONN/A1 CONN/B1 CONN/A3 CONN/C2; do
    n=$(get rts "$name")
    check "RTS $name (flags, command set per MS-RPCH)" "$(ge "$n" 2)" "$n"
done
for ifc in EMSMDB NSPI; do
    for pt in "11 bind" "12 bind_ack" "16 auth3" "0 request" "2 response"; do
        n=$(get pdu "$ifc" "${pt%% *}")
        check "$ifc ${pt#* }" "$(ge "$n" 1)" "$n"
    done
done
FAULTS=$(awk -F'\t' '$2 == 3 || $2 == 13' "$WORK/pdus.tsv" | grep -c . || true)
check "no fault / bind_nak PDUs" "$(eq "$FAULTS" 0)" "$FAULTS"
TSHARK_NAMES=$(cut -f7 "$WORK/pdus.tsv" | grep -oE "CONN/[A-C][0-9](,CONN/[A-C][0-9])*" | sort | uniq -c |
    awk '{printf "%s%s x%s", s, $2, $1; s=", "}')
say "  tshark's own RTS names: $TSHARK_NAMES"
MAL2=$(vc -Y "_ws.malformed" -T fields -e frame.number | grep -c . || true)
ERR2=$(vc -Y "_ws.expert.severity == error && dcerpc" -T fields -e frame.number | grep -c . || true)
check "no malformed DCE/RPC PDUs" "$(eq "$MAL2" 0)" "$MAL2"
check "no error-level expert info in DCE/RPC PDUs" "$(eq "$ERR2" 0)" "$ERR2"
if [ "$MAL2" != 0 ] || [ "$ERR2" != 0 ]; then
    vc -Y "_ws.malformed || _ws.expert.severity == error" -T fields -e frame.number -e tcp.stream \
        -e _ws.col.Info -e _ws.expert.message | head -20 >&2
fi

say ""
say "tshark: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
