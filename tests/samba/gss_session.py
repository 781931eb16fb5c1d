#!/usr/bin/python3
"""An SMB2 session set up with a GSSAPI token exchange that nobody here wrote: MIT's SPNEGO
(python3-gssapi) over the mechanism named on the command line, impacket's SMB3 class as the
transport (NEGOTIATE, then SESSION_SETUP requests carrying GSSAPI's tokens). After the session,
a TREE_CONNECT to IPC$ signed (SMB 2.1, HMAC-SHA256) with the session key GSSAPI gives
(GSS_C_INQ_SSPI_SESSION_KEY) — first with a wrong key, then the right one.

Usage: gss_session.py PORT HOST ntlmssp|krb5 [USER]
  ntlmssp: credentials from the file NTLM_USER_FILE names (gss-ntlmssp: DOMAIN:USER:PASSWORD)
  krb5:    credentials from KRB5CCNAME (the ticket for cifs/HOST)
  USER given: explicit credentials instead, gss_acquire_cred_with_password for USER (a
           GSS_C_NT_USER_NAME: "user", "DOMAIN\\user" for NTLM, "user@REALM" for Kerberos)
           with the password read from stdin

Prints one fact a line (the test compares them):
  status 0x...                    the SESSION_SETUP failed with that NTSTATUS (and nothing else)
  gss error MAJOR                 GSSAPI refused to make the first token (and nothing else)
  rounds N                        SESSION_SETUP requests sent
  complete before last token B    whether GSSAPI was done before the server's final token
  mech OID                        the mechanism SPNEGO negotiated
  guest B                         SMB2_SESSION_FLAG_IS_GUEST or IS_NULL set
  gss key length N                what GSS_C_INQ_SSPI_SESSION_KEY returned
  wrong key 0x...                 the TREE_CONNECT signed with a zero key
  tree connected                  the TREE_CONNECT signed with GSSAPI's session key
"""

import sys

import gssapi
import gssapi.raw
from impacket import smb3structs as s3
from impacket.nt_errors import STATUS_MORE_PROCESSING_REQUIRED, STATUS_SUCCESS
from impacket.smb3 import SMB3, SessionError

MECHS = {"ntlmssp": "1.3.6.1.4.1.311.2.2.10", "krb5": "1.2.840.113554.1.2.2"}
SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
INQ_SSPI_SESSION_KEY = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2.5.5")


def session_setup(conn, token):
    pkt = s3.SMB2Packet()
    pkt["Command"] = s3.SMB2_SESSION_SETUP
    req = s3.SMB2SessionSetup()
    req["Flags"] = 0
    req["SecurityMode"] = s3.SMB2_NEGOTIATE_SIGNING_ENABLED
    req["SecurityBufferLength"] = len(token)
    req["Buffer"] = token
    pkt["Data"] = req
    ans = conn.recvSMB(conn.sendSMB(pkt))
    conn._Session["SessionID"] = ans["SessionID"]
    return ans


def main():
    port, host, mech = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    mechs = [gssapi.OID.from_int_seq(MECHS[mech])]
    if len(sys.argv) > 4:
        user = gssapi.Name(sys.argv[4], gssapi.NameType.user)
        password = sys.stdin.readline().rstrip("\n").encode()
        # For SPNEGO, the password credential is acquired for SPNEGO itself (which acquires one
        # for each mechanism it knows), then narrowed to the wanted one with gss_set_neg_mechs:
        # a credential acquired for the inner mechanism alone leaves SPNEGO with "no mechanisms
        # to negotiate".
        creds = gssapi.raw.acquire_cred_with_password(user, password, mechs=[SPNEGO], usage="initiate").creds
        gssapi.raw.set_neg_mechs(creds, mechs)
    else:
        creds = gssapi.Credentials(usage="initiate", mechs=mechs)
    target = gssapi.Name("cifs@" + host, gssapi.NameType.hostbased_service)
    ctx = gssapi.SecurityContext(name=target, creds=creds, mech=SPNEGO, usage="initiate",
                                 flags=gssapi.RequirementFlag.integrity | gssapi.RequirementFlag.mutual_authentication)
    conn = SMB3("127.0.0.1", "127.0.0.1", sess_port=port, preferredDialect=s3.SMB2_DIALECT_21)
    # The server's NEGOTIATE response carries SPNEGO's first token (the mechanisms it offers).
    try:
        token = ctx.step(conn._Connection["GSSNegotiateToken"])
    except gssapi.exceptions.GSSError as e:
        print("gss error", hex(e.maj_code))
        return
    rounds = 0
    while True:
        rounds += 1
        ans = session_setup(conn, token)
        if ans["Status"] not in (STATUS_SUCCESS, STATUS_MORE_PROCESSING_REQUIRED):
            print("status", hex(ans["Status"]))
            return
        resp = s3.SMB2SessionSetup_Response(ans["Data"])
        if ans["Status"] == STATUS_SUCCESS:
            print("rounds", rounds)
            print("complete before last token", ctx.complete)
            if not ctx.complete:
                ctx.step(resp["Buffer"])  # SPNEGO's mechListMIC: the context is done only now
            break
        token = ctx.step(resp["Buffer"])
    print("mech", ctx.mech.dotted_form)
    print("guest", bool(resp["SessionFlags"] & (s3.SMB2_SESSION_FLAG_IS_GUEST | s3.SMB2_SESSION_FLAG_IS_NULL)))
    # MS-SMB2 3.2.5.3.1: the first 16 bytes of GSSAPI's key, right-padded with zeros if shorter
    # (Kerberos gives the 32-byte AES-256 subkey, NTLMSSP 16 bytes).
    key = (gssapi.raw.inquire_sec_context_by_oid(ctx, INQ_SSPI_SESSION_KEY)[0] + bytes(16))[:16]
    print("gss key length", len(gssapi.raw.inquire_sec_context_by_oid(ctx, INQ_SSPI_SESSION_KEY)[0]))
    conn._Session["SigningActivated"] = True
    conn._Session["SessionKey"] = bytes(len(key))
    try:
        conn.connectTree("IPC$")
        print("wrong key tree connected")
    except SessionError as e:
        print("wrong key", hex(e.get_error_code()))
    conn._Session["SessionKey"] = key
    conn.connectTree("IPC$")
    print("tree connected")


if __name__ == "__main__":
    main()
