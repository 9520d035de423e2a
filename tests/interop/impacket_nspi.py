#!/usr/bin/env python3
"""Real-peer check of oxmapi-server's RPC over HTTP v2 endpoint with impacket (0.13.1).

impacket's own RPC/HTTP client (impacket.dcerpc.v5.rpch: RPC_IN_DATA/RPC_OUT_DATA with NTLM
HTTP auth, CONN/A1/B1, A3/C2, flow control) carries DCE/RPC with NTLM at
RPC_C_AUTHN_LEVEL_PKT_PRIVACY (sealed stubs) to the NSPI interface on "port" 6004. The script
binds, reads the hierarchy table and the GAL, and compares what it gets with the users the
driver script created. It also checks that another user's mailbox server is refused with an
`HTTP/1.0 503 RPC Error`. Exit status 0 only if every check passed.

Environment (set by scripts/interop-impacket.sh):
  OXMAPI_PORT        HTTPS port of `oxmapi serve` on 127.0.0.1
  OXMAPI_USER        alias to log on with; OXMAPI_PASSWORD its password
  OXMAPI_EXPECT      JSON list of {alias, display_name, smtp, dn, server} for every user
"""

import json
import os
import sys

from impacket.dcerpc.v5 import nspi, transport
from impacket.dcerpc.v5.rpcrt import RPC_C_AUTHN_LEVEL_PKT_PRIVACY, RPC_C_AUTHN_WINNT, DCERPCException

PR_DISPLAY_NAME_W = 0x3001001F
PR_EMAIL_ADDRESS_W = 0x3003001F
PR_SMTP_ADDRESS_W = 0x39FE001F
PR_ACCOUNT_W = 0x3A00001F
PR_ENTRYID = 0x0FFF0102
PR_CONTAINER_FLAGS = 0x36000003

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def connect(port, server, user, password):
    url = "https://127.0.0.1:%s/rpc/rpcproxy.dll?%s:6004" % (port, server)
    t = transport.DCERPCTransportFactory("ncacn_http:%s[6004]" % server)
    t.set_rpc_proxy_url(url)
    t.set_credentials(user, password, "OXMAPI")
    dce = t.get_dce_rpc()
    dce.set_credentials(user, password, "OXMAPI")
    dce.set_auth_type(RPC_C_AUTHN_WINNT)
    dce.set_auth_level(RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
    dce.connect()
    return dce


def main():
    port = os.environ["OXMAPI_PORT"]
    user = os.environ["OXMAPI_USER"]
    password = os.environ["OXMAPI_PASSWORD"]
    expect = json.loads(os.environ["OXMAPI_EXPECT"])
    me = next(u for u in expect if u["alias"] == user)

    dce = connect(port, me["server"], user, password)
    dce.bind(nspi.MSRPC_UUID_NSPI)
    print("bound NSPI over RPC/HTTP at PKT_PRIVACY as %s" % user)

    resp = nspi.hNspiBind(dce, nspi.STAT())
    handle = resp["contextHandle"]
    check(resp["ErrorCode"] == 0, "NspiBind returns success")

    resp = nspi.hNspiGetSpecialTable(dce, handle)
    rows = nspi.simplifyPropertyRowSet(resp["ppRows"])
    check(len(rows) == 1, "hierarchy table has one container (got %d)" % len(rows))
    check(rows and rows[0].get(PR_CONTAINER_FLAGS) == 9, "GAL container flags AB_RECIPIENTS|AB_UNMODIFIABLE")

    tags = [PR_DISPLAY_NAME_W, PR_SMTP_ADDRESS_W, PR_EMAIL_ADDRESS_W, PR_ACCOUNT_W, PR_ENTRYID]
    resp = nspi.hNspiQueryRows(dce, handle, Count=100, pPropTags=tags)
    check(resp["ErrorCode"] == 0, "NspiQueryRows returns success")
    rows = nspi.simplifyPropertyRowSet(resp["ppRows"])
    check(len(rows) == len(expect), "GAL has %d entries (got %d)" % (len(expect), len(rows)))
    by_name = {r.get(PR_DISPLAY_NAME_W): r for r in rows}
    for u in expect:
        r = by_name.get(u["display_name"])
        check(r is not None, "GAL lists %r" % u["display_name"])
        if r is None:
            continue
        check(r.get(PR_SMTP_ADDRESS_W) == u["smtp"], "%s SMTP %r" % (u["alias"], r.get(PR_SMTP_ADDRESS_W)))
        check(r.get(PR_EMAIL_ADDRESS_W) == u["dn"], "%s DN %r" % (u["alias"], r.get(PR_EMAIL_ADDRESS_W)))
        check(r.get(PR_ACCOUNT_W) == u["alias"], "%s account %r" % (u["alias"], r.get(PR_ACCOUNT_W)))
        entry = r.get(PR_ENTRYID)
        check(entry is not None and u["dn"] in str(entry.fields if hasattr(entry, "fields") else entry),
              "%s PermanentEntryID names the DN" % u["alias"])
    names = [r.get(PR_DISPLAY_NAME_W) for r in rows]
    check(names == sorted(names, key=lambda n: n.lower()), "GAL sorted by display name")
    check(resp["pStat"]["CurrentRec"] == 2, "STAT ends at MID_END_OF_TABLE")

    resp = nspi.hNspiDNToMId(dce, handle, [me["dn"], "/o=nobody"])
    mids = [m["Data"] for m in resp["ppOutMIds"]["aulPropTag"]]
    check(len(mids) == 2 and mids[0] != 0 and mids[1] == 0, "NspiDNToMId resolves own DN only (%r)" % mids)

    if mids and mids[0]:
        resp = nspi.hNspiGetProps(dce, handle, CurrentRec=mids[0], pPropTags=[PR_DISPLAY_NAME_W, PR_SMTP_ADDRESS_W])
        row = nspi.simplifyPropertyRow(resp["ppRows"])
        check(row.get(PR_DISPLAY_NAME_W) == me["display_name"], "NspiGetProps display name %r" % row.get(PR_DISPLAY_NAME_W))
        check(row.get(PR_SMTP_ADDRESS_W) == me["smtp"], "NspiGetProps SMTP %r" % row.get(PR_SMTP_ADDRESS_W))

    try:
        nspi.hNspiGetTemplateInfo(dce, handle)
        check(False, "unimplemented opnum faults")
    except DCERPCException as e:
        check("nca_s_op_rng_error" in str(e), "unimplemented opnum faults with nca_s_op_rng_error (%s)" % e)

    resp = nspi.hNspiUnbind(dce, handle)
    check(resp["ErrorCode"] == 1, "NspiUnbind returns UNBIND_SUCCESS")
    dce.disconnect()

    others = [u for u in expect if u["alias"] != user]
    if others:
        try:
            connect(port, others[0]["server"], user, password)
            check(False, "another user's mailbox server is refused")
        except DCERPCException as e:
            check("0x5" in str(e) or "RPC Error" in str(e), "another user's mailbox server is refused (%s)" % e)

    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all impacket NSPI checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
