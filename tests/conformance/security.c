/* Security descriptors, SIDs and ACLs: SDDL to Windows' self-relative layout and back, the
 * absolute-descriptor functions, ACL building, and CreateNamedPipe with a descriptor. The
 * conformance broker runs as this user, so only same-uid opens are tried here (a DACL that
 * denies this user shows the descriptor reached the broker); cross-uid enforcement is tested
 * in the integration suite. */
#include "harness.h"

#include <aclapi.h> /* GetSecurityInfo / SetSecurityInfo, as Windows code includes them */

#include <stdlib.h>
#include <unistd.h>

/* A string result compared with what Windows gives. */
#define CHECK_TEXT(actual, expected) check_text_((actual), (expected), #actual, __LINE__)
static void check_text_(const char* actual, const char* expected, const char* expr, int line) {
    int ok = actual && strcmp(actual, expected) == 0;
    if (!ok) note("line %d: %s is \"%s\", expected \"%s\"", line, expr, actual ? actual : "(null)", expected);
    check_true_(ok, expr, __FILE__, line, 0);
}

/* SDDL -> self-relative descriptor (REQUIRE-d), its size in *size. */
static PSECURITY_DESCRIPTOR from_sddl(const char* sddl, ULONG* size) {
    PSECURITY_DESCRIPTOR sd = NULL;
    REQUIRE_OK(ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, size));
    REQUIRE(sd != NULL);
    return sd;
}

/* Descriptor -> SDDL of the parts in `info`; checks the text and the returned length. */
static void check_sddl_of(PSECURITY_DESCRIPTOR sd, SECURITY_INFORMATION info, const char* expected, int line) {
    LPSTR text = NULL;
    ULONG len = 0;
    BOOL ok = ConvertSecurityDescriptorToStringSecurityDescriptorA(sd, SDDL_REVISION_1, info, &text, &len);
    check_ok_(ok, GetLastError(), "ConvertSecurityDescriptorToStringSecurityDescriptorA", __FILE__, line, 0);
    if (!ok) return;
    check_text_(text, expected, "SDDL text", line);
    check_eq_(len, strlen(expected) + 1, "length", "strlen + 1 (the NUL counts)", __FILE__, line, 0);
    CHECK_EQ(LocalFree(text), NULL);
}

static const SECURITY_INFORMATION all_info =
    OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;

static void round_trip(const char* in, const char* out, int line) {
    PSECURITY_DESCRIPTOR sd = NULL;
    ULONG size = 0;
    BOOL ok = ConvertStringSecurityDescriptorToSecurityDescriptorA(in, SDDL_REVISION_1, &sd, &size);
    check_ok_(ok, GetLastError(), in, __FILE__, line, 0);
    if (!ok) return;
    check_true_(IsValidSecurityDescriptor(sd), "IsValidSecurityDescriptor", __FILE__, line, 0);
    check_eq_(GetSecurityDescriptorLength(sd), size, "GetSecurityDescriptorLength", "size", __FILE__, line, 0);
    check_sddl_of(sd, all_info, out, line);
    LocalFree(sd);
}

/* ---- SDDL <-> binary ----------------------------------------------------------------------- */

TEST(sddl_to_self_relative_layout_byte_for_byte) {
    ULONG size = 0;
    PSECURITY_DESCRIPTOR sd = from_sddl("O:S-1-22-1-1000D:(A;;FA;;;WD)", &size);
    static const BYTE expected[] = {
        /* SECURITY_DESCRIPTOR_RELATIVE: revision 1, Sbz1, SE_SELF_RELATIVE|SE_DACL_PRESENT */
        0x01, 0x00, 0x04, 0x80,
        0x30, 0x00, 0x00, 0x00, /* Owner at 48 */
        0x00, 0x00, 0x00, 0x00, /* Group: none */
        0x00, 0x00, 0x00, 0x00, /* Sacl: none */
        0x14, 0x00, 0x00, 0x00, /* Dacl at 20 */
        /* ACL: revision 2, Sbz1, AclSize 28, AceCount 1, Sbz2 */
        0x02, 0x00, 0x1C, 0x00, 0x01, 0x00, 0x00, 0x00,
        /* ACE: ACCESS_ALLOWED_ACE_TYPE, no flags, AceSize 20, Mask 0x1F01FF, SID S-1-1-0 */
        0x00, 0x00, 0x14, 0x00, 0xFF, 0x01, 0x1F, 0x00,
        0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
        /* Owner S-1-22-1-1000: authority big-endian, sub-authorities little-endian */
        0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x16, 0x01, 0x00, 0x00, 0x00, 0xE8, 0x03, 0x00, 0x00,
    };
    CHECK_EQ(size, sizeof expected);
    CHECK_EQ(GetSecurityDescriptorLength(sd), sizeof expected);
    if (size == sizeof expected) CHECK_MEM(sd, expected, sizeof expected);

    /* The same through the structures. */
    SECURITY_DESCRIPTOR_RELATIVE* r = (SECURITY_DESCRIPTOR_RELATIVE*)sd;
    CHECK_EQ(sizeof(SECURITY_DESCRIPTOR_RELATIVE), 20);
    CHECK_EQ(r->Revision, SECURITY_DESCRIPTOR_REVISION);
    CHECK_EQ(r->Control, SE_SELF_RELATIVE | SE_DACL_PRESENT);
    ACL* acl = (ACL*)((BYTE*)sd + r->Dacl);
    CHECK_EQ(acl->AclRevision, ACL_REVISION);
    CHECK_EQ(acl->AclSize, 28);
    CHECK_EQ(acl->AceCount, 1);
    ACCESS_ALLOWED_ACE* ace = NULL;
    REQUIRE_OK(GetAce(acl, 0, (LPVOID*)&ace));
    CHECK_EQ(ace->Header.AceType, ACCESS_ALLOWED_ACE_TYPE);
    CHECK_EQ(ace->Header.AceSize, 20);
    CHECK_EQ(ace->Mask, FILE_ALL_ACCESS);
    CHECK_EQ(GetLengthSid(&ace->SidStart), 12);

    BOOL present = FALSE, defaulted = TRUE;
    PACL dacl = NULL;
    CHECK_OK(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
    CHECK_EQ(present, TRUE);
    CHECK_EQ(dacl, acl);
    CHECK_EQ(defaulted, FALSE);
    PSID owner = NULL;
    CHECK_OK(GetSecurityDescriptorOwner(sd, &owner, &defaulted));
    CHECK_EQ(owner, (BYTE*)sd + 48);
    PSID group = (PSID)1;
    CHECK_OK(GetSecurityDescriptorGroup(sd, &group, &defaulted));
    CHECK_EQ(group, NULL);
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    DWORD revision = 0;
    CHECK_OK(GetSecurityDescriptorControl(sd, &control, &revision));
    CHECK_EQ(control, SE_SELF_RELATIVE | SE_DACL_PRESENT);
    CHECK_EQ(revision, 1);
    CHECK_EQ(LocalFree(sd), NULL);
}

TEST(null_dacl_empty_dacl_and_no_dacl) {
    ULONG size = 0;
    /* NULL DACL: present, offset 0. */
    PSECURITY_DESCRIPTOR sd = from_sddl("D:NO_ACCESS_CONTROL", &size);
    SECURITY_DESCRIPTOR_RELATIVE* r = (SECURITY_DESCRIPTOR_RELATIVE*)sd;
    CHECK_EQ(size, 20);
    CHECK_EQ(r->Control, SE_SELF_RELATIVE | SE_DACL_PRESENT);
    CHECK_EQ(r->Dacl, 0);
    BOOL present = FALSE, defaulted = TRUE;
    PACL dacl = (PACL)1;
    CHECK_OK(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
    CHECK_EQ(present, TRUE);
    CHECK_EQ(dacl, NULL);
    check_sddl_of(sd, DACL_SECURITY_INFORMATION, "D:NO_ACCESS_CONTROL", __LINE__);
    LocalFree(sd);

    /* Empty DACL: present, an ACL with no ACE. */
    sd = from_sddl("D:", &size);
    r = (SECURITY_DESCRIPTOR_RELATIVE*)sd;
    CHECK_EQ(size, 28);
    CHECK_EQ(r->Control, SE_SELF_RELATIVE | SE_DACL_PRESENT);
    CHECK_EQ(r->Dacl, 20);
    CHECK_EQ(((ACL*)((BYTE*)sd + 20))->AceCount, 0);
    CHECK_EQ(((ACL*)((BYTE*)sd + 20))->AclSize, 8);
    check_sddl_of(sd, all_info, "D:", __LINE__);
    LocalFree(sd);

    /* No D: part: no SE_DACL_PRESENT. */
    sd = from_sddl("O:BA", &size);
    r = (SECURITY_DESCRIPTOR_RELATIVE*)sd;
    CHECK_EQ(r->Control, SE_SELF_RELATIVE);
    CHECK_EQ(r->Dacl, 0);
    CHECK_EQ(r->Owner, 20);
    CHECK_EQ(size, 20 + 16);
    present = TRUE;
    CHECK_OK(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
    CHECK_EQ(present, FALSE);
    LocalFree(sd);

    /* An empty string is an empty descriptor; the size out-parameter is optional. */
    PSECURITY_DESCRIPTOR empty = NULL;
    REQUIRE_OK(ConvertStringSecurityDescriptorToSecurityDescriptorA("", SDDL_REVISION_1, &empty, NULL));
    CHECK_EQ(((SECURITY_DESCRIPTOR_RELATIVE*)empty)->Control, SE_SELF_RELATIVE);
    CHECK_EQ(GetSecurityDescriptorLength(empty), 20);
    check_sddl_of(empty, all_info, "", __LINE__);
    LocalFree(empty);
}

TEST(sddl_round_trips) {
    round_trip("D:(A;;GA;;;WD)", "D:(A;;GA;;;WD)", __LINE__);
    round_trip("O:BAG:SYD:(A;;FA;;;SY)(A;;FA;;;BA)(D;;FW;;;AN)", "O:BAG:SYD:(A;;FA;;;SY)(A;;FA;;;BA)(D;;FW;;;AN)",
               __LINE__);
    round_trip("O:S-1-22-1-1000G:S-1-22-2-100D:P(A;OICI;GRGW;;;S-1-22-1-1000)(A;;FR;;;WD)",
               "O:S-1-22-1-1000G:S-1-22-2-100D:P(A;OICI;GRGW;;;S-1-22-1-1000)(A;;FR;;;WD)", __LINE__);
    round_trip("D:PAI(A;;0x1;;;AU)", "D:PAI(A;;CC;;;AU)", __LINE__);
    round_trip(" D: (A;;GA;;;S-1-1-0) \n", "D:(A;;GA;;;WD)", __LINE__); /* whitespace; aliases */
    round_trip("D:(A;;GA;;;S-1-5-21-1-2-3-500)", "D:(A;;GA;;;S-1-5-21-1-2-3-500)", __LINE__); /* any SID */
    round_trip("D:NO_ACCESS_CONTROL", "D:NO_ACCESS_CONTROL", __LINE__);
}

TEST(security_information_selects_the_parts) {
    PSECURITY_DESCRIPTOR sd = from_sddl("O:BAG:SYD:P(A;;GA;;;WD)", NULL);
    check_sddl_of(sd, OWNER_SECURITY_INFORMATION, "O:BA", __LINE__);
    check_sddl_of(sd, GROUP_SECURITY_INFORMATION, "G:SY", __LINE__);
    check_sddl_of(sd, DACL_SECURITY_INFORMATION, "D:P(A;;GA;;;WD)", __LINE__);
    check_sddl_of(sd, OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION, "O:BAG:SY", __LINE__);
    check_sddl_of(sd, 0, "", __LINE__);
    /* The length out-parameter is optional. */
    LPSTR text = NULL;
    CHECK_OK(ConvertSecurityDescriptorToStringSecurityDescriptorA(sd, SDDL_REVISION_1, all_info, &text, NULL));
    CHECK_TEXT(text, "O:BAG:SYD:P(A;;GA;;;WD)");
    LocalFree(text);
    LocalFree(sd);
}

TEST(sddl_errors) {
    PSECURITY_DESCRIPTOR sd = (PSECURITY_DESCRIPTOR)1;
    ULONG size = 77;
    CHECK_FAILS(ConvertStringSecurityDescriptorToSecurityDescriptorA(NULL, SDDL_REVISION_1, &sd, &size),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:", SDDL_REVISION_1, NULL, &size),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:", 2, &sd, &size), ERROR_UNKNOWN_REVISION);
    CHECK_FAILS(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:", 0, &sd, &size), ERROR_UNKNOWN_REVISION);
    static const char* const bad[] = {
        "D:(A;;GA;;;WD",        /* unterminated ACE */
        "D:(X;;GA;;;WD)",       /* unknown ACE type */
        "D:(A;;GA;;;XX)",       /* unknown alias */
        "D:(A;;GA;;;wd)",       /* aliases are upper case */
        "D:(A;;ZZ;;;WD)",       /* unknown right */
        "O:BAO:SY",             /* owner twice */
        "Q:BA",                 /* no such component */
        "O:S-1-",               /* truncated SID */
        "D:NO_ACCESS_CONTROL(A;;GA;;;WD)",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        note("SDDL %s", bad[i]);
        CHECK_FAILS(ConvertStringSecurityDescriptorToSecurityDescriptorA(bad[i], SDDL_REVISION_1, &sd, &size),
                    ERROR_INVALID_PARAMETER);
    }
    CHECK_EQ(sd, (PSECURITY_DESCRIPTOR)1); /* untouched on failure */
    CHECK_EQ(size, 77);

    /* The other direction. */
    LPSTR text = NULL;
    PSECURITY_DESCRIPTOR good = from_sddl("D:(A;;GA;;;WD)", NULL);
    CHECK_FAILS(ConvertSecurityDescriptorToStringSecurityDescriptorA(NULL, SDDL_REVISION_1, all_info, &text, NULL),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(ConvertSecurityDescriptorToStringSecurityDescriptorA(good, SDDL_REVISION_1, all_info, NULL, NULL),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(ConvertSecurityDescriptorToStringSecurityDescriptorA(good, 2, all_info, &text, NULL),
                ERROR_UNKNOWN_REVISION);
    ((BYTE*)good)[0] = 2; /* descriptor revision */
    CHECK_FAILS(ConvertSecurityDescriptorToStringSecurityDescriptorA(good, SDDL_REVISION_1, all_info, &text, NULL),
                ERROR_UNKNOWN_REVISION);
    CHECK_EQ(IsValidSecurityDescriptor(good), FALSE);
    ((BYTE*)good)[0] = 1;
    ((BYTE*)good)[20] = 9; /* ACL revision */
    CHECK_FAILS(ConvertSecurityDescriptorToStringSecurityDescriptorA(good, SDDL_REVISION_1, all_info, &text, NULL),
                ERROR_INVALID_ACL);
    CHECK_EQ(IsValidSecurityDescriptor(good), FALSE);
    CHECK_EQ(text, NULL);
    LocalFree(good);
}

/* ---- SIDs ---------------------------------------------------------------------------------- */

static void check_sid_text(const char* in, const char* out, DWORD length, int line) {
    PSID sid = NULL;
    BOOL ok = ConvertStringSidToSidA(in, &sid);
    check_ok_(ok, GetLastError(), in, __FILE__, line, 0);
    if (!ok) return;
    check_true_(IsValidSid(sid), "IsValidSid", __FILE__, line, 0);
    check_eq_(GetLengthSid(sid), length, "GetLengthSid", "length", __FILE__, line, 0);
    LPSTR text = NULL;
    ok = ConvertSidToStringSidA(sid, &text);
    check_ok_(ok, GetLastError(), "ConvertSidToStringSidA", __FILE__, line, 0);
    if (ok) check_text_(text, out, in, line);
    LocalFree(text);
    LocalFree(sid);
}

TEST(sid_conversions) {
    check_sid_text("S-1-22-1-1000", "S-1-22-1-1000", 16, __LINE__);
    check_sid_text("WD", "S-1-1-0", 12, __LINE__);
    check_sid_text("BA", "S-1-5-32-544", 16, __LINE__);
    check_sid_text("SY", "S-1-5-18", 12, __LINE__);
    check_sid_text("S-1-5-21-1004336348-1177238915-682003330-512", "S-1-5-21-1004336348-1177238915-682003330-512",
                   28, __LINE__);
    check_sid_text("S-1-0x123456789abc-7", "S-1-0x123456789ABC-7", 12, __LINE__);

    PSID sid = NULL;
    REQUIRE_OK(ConvertStringSidToSidA("S-1-22-1-1000", &sid));
    static const BYTE expected[] = {0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x16,
                                    0x01, 0x00, 0x00, 0x00, 0xE8, 0x03, 0x00, 0x00};
    CHECK_MEM(sid, expected, sizeof expected);
    SID* s = (SID*)sid;
    CHECK_EQ(s->Revision, SID_REVISION);
    CHECK_EQ(s->SubAuthorityCount, 2);
    CHECK_EQ(s->IdentifierAuthority.Value[5], 22);
    CHECK_EQ(s->SubAuthority[1], 1000);

    /* EqualSid, CopySid */
    PSID same = NULL, other = NULL;
    REQUIRE_OK(ConvertStringSidToSidA("S-1-22-1-1000", &same));
    REQUIRE_OK(ConvertStringSidToSidA("S-1-22-1-1001", &other));
    CHECK_EQ(EqualSid(sid, same), TRUE);
    CHECK_RET_ERR(EqualSid(sid, other), FALSE, ERROR_SUCCESS);
    BYTE buf[SECURITY_MAX_SID_SIZE];
    CHECK_FAILS(CopySid(15, buf, sid), ERROR_INSUFFICIENT_BUFFER);
    CHECK_OK(CopySid(sizeof buf, buf, sid));
    CHECK_EQ(EqualSid(buf, sid), TRUE);
    LocalFree(same);
    LocalFree(other);

    /* Errors. */
    PSID out = (PSID)1;
    static const char* const bad[] = {"", "S-1", "S-1-", "S-2-5-18", "S-1-5-x", "wd", "XX", "S-1-5-18-",
                                      "S-1-1-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16" /* 16 subs */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        note("SID %s", bad[i]);
        CHECK_FAILS(ConvertStringSidToSidA(bad[i], &out), ERROR_INVALID_SID);
    }
    CHECK_EQ(out, (PSID)1);
    CHECK_FAILS(ConvertStringSidToSidA(NULL, &out), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(ConvertStringSidToSidA("WD", NULL), ERROR_INVALID_PARAMETER);
    LPSTR text = NULL;
    CHECK_FAILS(ConvertSidToStringSidA(sid, NULL), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(ConvertSidToStringSidA(NULL, &text), ERROR_INVALID_PARAMETER);
    ((BYTE*)sid)[0] = 2; /* revision */
    CHECK_EQ(IsValidSid(sid), FALSE);
    CHECK_FAILS(ConvertSidToStringSidA(sid, &text), ERROR_INVALID_SID);
    ((BYTE*)sid)[0] = 1;
    ((BYTE*)sid)[1] = 16; /* too many sub-authorities */
    CHECK_EQ(IsValidSid(sid), FALSE);
    CHECK_FAILS(ConvertSidToStringSidA(sid, &text), ERROR_INVALID_SID);
    LocalFree(sid);
}

/* ---- absolute descriptors and ACLs ------------------------------------------------------------ */

TEST(initialize_and_set_dacl) {
    SECURITY_DESCRIPTOR sd;
    memset(&sd, 0xAB, sizeof sd);
    CHECK_EQ(SECURITY_DESCRIPTOR_MIN_LENGTH, sizeof(SECURITY_DESCRIPTOR));
    CHECK_EQ(offsetof(SECURITY_DESCRIPTOR, Owner), sizeof(void*));
    CHECK_FAILS(InitializeSecurityDescriptor(&sd, 2), ERROR_UNKNOWN_REVISION);
    REQUIRE_OK(InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION));
    CHECK_EQ(sd.Revision, 1);
    CHECK_EQ(sd.Sbz1, 0);
    CHECK_EQ(sd.Control, 0);
    CHECK_EQ(sd.Owner, NULL);
    CHECK_EQ(sd.Group, NULL);
    CHECK_EQ(sd.Sacl, NULL);
    CHECK_EQ(sd.Dacl, NULL);
    CHECK_EQ(IsValidSecurityDescriptor(&sd), TRUE);
    CHECK_EQ(GetSecurityDescriptorLength(&sd), SECURITY_DESCRIPTOR_MIN_LENGTH);
    check_sddl_of(&sd, all_info, "", __LINE__);

    BOOL present = TRUE, defaulted = TRUE;
    PACL dacl = (PACL)1;
    CHECK_OK(GetSecurityDescriptorDacl(&sd, &present, &dacl, &defaulted));
    CHECK_EQ(present, FALSE);

    /* The NULL-DACL idiom: everyone gets everything. */
    CHECK_OK(SetSecurityDescriptorDacl(&sd, TRUE, NULL, FALSE));
    CHECK_EQ(sd.Control, SE_DACL_PRESENT);
    CHECK_EQ(sd.Dacl, NULL);
    CHECK_EQ(IsValidSecurityDescriptor(&sd), TRUE);
    CHECK_OK(GetSecurityDescriptorDacl(&sd, &present, &dacl, &defaulted));
    CHECK_EQ(present, TRUE);
    CHECK_EQ(dacl, NULL);
    CHECK_EQ(defaulted, FALSE);
    check_sddl_of(&sd, all_info, "D:NO_ACCESS_CONTROL", __LINE__);
    CHECK_OK(SetSecurityDescriptorDacl(&sd, TRUE, NULL, TRUE));
    CHECK_EQ(sd.Control, SE_DACL_PRESENT | SE_DACL_DEFAULTED);
    CHECK_OK(SetSecurityDescriptorDacl(&sd, FALSE, NULL, FALSE));
    CHECK_EQ(sd.Control, 0);

    /* Owner and group are pointers to the caller's SIDs. */
    PSID owner = NULL, group = NULL;
    REQUIRE_OK(ConvertStringSidToSidA("S-1-22-1-1000", &owner));
    REQUIRE_OK(ConvertStringSidToSidA("S-1-22-2-1000", &group));
    CHECK_OK(SetSecurityDescriptorOwner(&sd, owner, FALSE));
    CHECK_OK(SetSecurityDescriptorGroup(&sd, group, TRUE));
    CHECK_EQ(sd.Owner, owner);
    CHECK_EQ(sd.Control, SE_GROUP_DEFAULTED);
    PSID got = NULL;
    CHECK_OK(GetSecurityDescriptorOwner(&sd, &got, &defaulted));
    CHECK_EQ(got, owner);
    CHECK_EQ(defaulted, FALSE);
    CHECK_OK(GetSecurityDescriptorGroup(&sd, &got, &defaulted));
    CHECK_EQ(got, group);
    CHECK_EQ(defaulted, TRUE);
    CHECK_EQ(GetSecurityDescriptorLength(&sd), SECURITY_DESCRIPTOR_MIN_LENGTH + 16 + 16);
    check_sddl_of(&sd, all_info, "O:S-1-22-1-1000G:S-1-22-2-1000", __LINE__);

    /* A broken owner makes the descriptor invalid. */
    ((BYTE*)owner)[0] = 5;
    CHECK_EQ(IsValidSecurityDescriptor(&sd), FALSE);
    LPSTR text = NULL;
    CHECK_FAILS(ConvertSecurityDescriptorToStringSecurityDescriptorA(&sd, SDDL_REVISION_1, all_info, &text, NULL),
                ERROR_INVALID_SID);
    LocalFree(owner);
    LocalFree(group);

    /* A wrong revision; a self-relative descriptor cannot be changed in place. */
    sd.Revision = 2;
    CHECK_FAILS(SetSecurityDescriptorDacl(&sd, TRUE, NULL, FALSE), ERROR_UNKNOWN_REVISION);
    CHECK_EQ(IsValidSecurityDescriptor(&sd), FALSE);
    PSECURITY_DESCRIPTOR rel = from_sddl("D:(A;;GA;;;WD)", NULL);
    CHECK_FAILS(SetSecurityDescriptorDacl(rel, TRUE, NULL, FALSE), ERROR_INVALID_SECURITY_DESCR);
    CHECK_FAILS(SetSecurityDescriptorOwner(rel, NULL, FALSE), ERROR_INVALID_SECURITY_DESCR);
    LocalFree(rel);
}

TEST(build_a_dacl_with_acl_functions) {
    DWORD aclbuf[64];
    PACL acl = (PACL)aclbuf;
    CHECK_FAILS(InitializeAcl(acl, 4, ACL_REVISION), ERROR_INSUFFICIENT_BUFFER);
    CHECK_FAILS(InitializeAcl(acl, sizeof aclbuf, 9), ERROR_INVALID_PARAMETER);
    REQUIRE_OK(InitializeAcl(acl, 8 + 20 + 24 + 3, ACL_REVISION)); /* room for exactly two ACEs */
    CHECK_EQ(acl->AclRevision, ACL_REVISION);
    CHECK_EQ(acl->AclSize, 52); /* whole DWORDs */
    CHECK_EQ(acl->AceCount, 0);
    CHECK_EQ(IsValidAcl(acl), TRUE);

    PSID me = NULL, everyone = NULL;
    REQUIRE_OK(ConvertStringSidToSidA("S-1-22-1-1000", &me));
    REQUIRE_OK(ConvertStringSidToSidA("WD", &everyone));
    CHECK_OK(AddAccessDeniedAce(acl, ACL_REVISION, FILE_GENERIC_WRITE, everyone));
    CHECK_OK(AddAccessAllowedAce(acl, ACL_REVISION, FILE_ALL_ACCESS, me));
    CHECK_EQ(acl->AceCount, 2);
    CHECK_FAILS(AddAccessAllowedAce(acl, ACL_REVISION, FILE_ALL_ACCESS, everyone), ERROR_ALLOTTED_SPACE_EXCEEDED);
    CHECK_EQ(acl->AceCount, 2);
    CHECK_FAILS(AddAccessAllowedAce(acl, 7, FILE_ALL_ACCESS, everyone), ERROR_REVISION_MISMATCH);
    BYTE bad_sid[8] = {3, 0};
    CHECK_FAILS(AddAccessAllowedAce(acl, ACL_REVISION, FILE_ALL_ACCESS, bad_sid), ERROR_INVALID_SID);
    ACCESS_DENIED_ACE* first = NULL;
    REQUIRE_OK(GetAce(acl, 0, (LPVOID*)&first));
    CHECK_EQ(first->Header.AceType, ACCESS_DENIED_ACE_TYPE);
    CHECK_EQ(first->Header.AceSize, 20);
    CHECK_EQ(first->Mask, FILE_GENERIC_WRITE);
    CHECK_EQ(EqualSid(&first->SidStart, everyone), TRUE);
    LPVOID none = NULL;
    CHECK_FAILS(GetAce(acl, 2, &none), ERROR_INVALID_PARAMETER);

    SECURITY_DESCRIPTOR sd;
    REQUIRE_OK(InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION));
    CHECK_OK(SetSecurityDescriptorDacl(&sd, TRUE, acl, FALSE));
    CHECK_EQ(IsValidSecurityDescriptor(&sd), TRUE);
    CHECK_EQ(GetSecurityDescriptorLength(&sd), SECURITY_DESCRIPTOR_MIN_LENGTH + 52);
    check_sddl_of(&sd, all_info, "D:(D;;FW;;;WD)(A;;FA;;;S-1-22-1-1000)", __LINE__);

    /* Inheritance flags with the Ex forms. */
    REQUIRE_OK(InitializeAcl(acl, sizeof aclbuf, ACL_REVISION));
    CHECK_OK(AddAccessAllowedAceEx(acl, ACL_REVISION, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE, GENERIC_READ, me));
    CHECK_FAILS(AddAccessAllowedAceEx(acl, ACL_REVISION, 0x40, GENERIC_READ, me), ERROR_INVALID_FLAGS);
    check_sddl_of(&sd, DACL_SECURITY_INFORMATION, "D:(A;OICI;GR;;;S-1-22-1-1000)", __LINE__);

    /* A corrupt ACL. */
    acl->AclSize = 12; /* the ACE no longer fits */
    CHECK_EQ(IsValidAcl(acl), FALSE);
    CHECK_EQ(IsValidSecurityDescriptor(&sd), FALSE);
    LocalFree(me);
    LocalFree(everyone);
}

/* ---- CreateNamedPipe with a descriptor --------------------------------------------------------- */

/* Creates a pipe with `sa`, opens it as this user with `access`, and returns CreateFile's error
 * (0 when the open worked and the pair connected). */
static DWORD open_with(const char* tag, SECURITY_ATTRIBUTES* sa, DWORD access) {
    char name[128];
    pipe_name(name, tag);
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, sa);
    REQUIRE_HANDLE(s);
    HANDLE c = CreateFileA(name, access, 0, NULL, OPEN_EXISTING, 0, NULL);
    DWORD err = c == INVALID_HANDLE_VALUE ? GetLastError() : 0;
    if (!err) {
        BOOL r = ConnectNamedPipe(s, NULL);
        CHECK(r == FALSE && GetLastError() == ERROR_PIPE_CONNECTED);
        write_all(c, "sd", 2);
        char buf[2];
        read_exact(s, buf, 2);
        CHECK_MEM(buf, "sd", 2);
        CloseHandle(c);
    }
    CloseHandle(s);
    return err;
}

TEST(create_named_pipe_with_null_dacl) {
    SECURITY_DESCRIPTOR sd;
    REQUIRE_OK(InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION));
    REQUIRE_OK(SetSecurityDescriptorDacl(&sd, TRUE, NULL, FALSE));
    SECURITY_ATTRIBUTES sa = {sizeof sa, &sd, FALSE};
    CHECK_EQ(open_with("nulldacl", &sa, GENERIC_READ | GENERIC_WRITE), 0);
    /* An initialised descriptor with nothing in it: the default descriptor. */
    REQUIRE_OK(SetSecurityDescriptorDacl(&sd, FALSE, NULL, FALSE));
    CHECK_EQ(open_with("emptysd", &sa, GENERIC_READ | GENERIC_WRITE), 0);
    /* Owner only: Windows gives the creator's default DACL, so the creator can open it. */
    char text[64];
    snprintf(text, sizeof text, "S-1-22-1-%u", (unsigned)getuid());
    PSID me = NULL;
    REQUIRE_OK(ConvertStringSidToSidA(text, &me));
    REQUIRE_OK(SetSecurityDescriptorOwner(&sd, me, FALSE));
    CHECK_EQ(open_with("owneronly", &sa, GENERIC_READ | GENERIC_WRITE), 0);
    LocalFree(me);
}

TEST(create_named_pipe_with_sddl_descriptor) {
    char sddl[128];
    snprintf(sddl, sizeof sddl, "D:(A;;GA;;;S-1-22-1-%u)", (unsigned)getuid());
    PSECURITY_DESCRIPTOR sd = from_sddl(sddl, NULL);
    SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
    CHECK_EQ(open_with("sddl", &sa, GENERIC_READ | GENERIC_WRITE), 0);
    LocalFree(sd);

    /* The broker applies it: read-only for this user refuses a write open. */
    snprintf(sddl, sizeof sddl, "D:(A;;GR;;;S-1-22-1-%u)", (unsigned)getuid());
    sd = from_sddl(sddl, NULL);
    sa.lpSecurityDescriptor = sd;
    CHECK_EQ(open_with("readonly", &sa, GENERIC_READ | GENERIC_WRITE), ERROR_ACCESS_DENIED);
    LocalFree(sd);

    /* An empty DACL grants nothing, to anyone. */
    sd = from_sddl("D:", NULL);
    sa.lpSecurityDescriptor = sd;
    CHECK_EQ(open_with("emptydacl", &sa, GENERIC_READ), ERROR_ACCESS_DENIED);
    LocalFree(sd);

    /* Built with the ACL functions in an absolute descriptor. */
    DWORD aclbuf[32];
    PACL acl = (PACL)aclbuf;
    PSID everyone = NULL;
    REQUIRE_OK(ConvertStringSidToSidA("WD", &everyone));
    REQUIRE_OK(InitializeAcl(acl, sizeof aclbuf, ACL_REVISION));
    REQUIRE_OK(AddAccessAllowedAce(acl, ACL_REVISION, GENERIC_READ | GENERIC_WRITE, everyone));
    SECURITY_DESCRIPTOR abs;
    REQUIRE_OK(InitializeSecurityDescriptor(&abs, SECURITY_DESCRIPTOR_REVISION));
    REQUIRE_OK(SetSecurityDescriptorDacl(&abs, TRUE, acl, FALSE));
    sa.lpSecurityDescriptor = &abs;
    CHECK_EQ(open_with("absacl", &sa, GENERIC_READ | GENERIC_WRITE), 0);
    LocalFree(everyone);
}

TEST(create_named_pipe_with_invalid_descriptor) {
    char name[128];
    pipe_name(name, "badsd");
    SECURITY_DESCRIPTOR sd;
    REQUIRE_OK(InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION));
    SECURITY_ATTRIBUTES sa = {sizeof sa, &sd, FALSE};

    sd.Revision = 0;
    CHECK_RET_ERR(CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, 0, 1, 4096, 4096, 0, &sa), INVALID_HANDLE_VALUE,
                  ERROR_UNKNOWN_REVISION);
    sd.Revision = SECURITY_DESCRIPTOR_REVISION;

    BYTE bad_sid[8] = {7, 0};
    sd.Owner = bad_sid;
    CHECK_RET_ERR(CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, 0, 1, 4096, 4096, 0, &sa), INVALID_HANDLE_VALUE,
                  ERROR_INVALID_SECURITY_DESCR);
    sd.Owner = NULL;

    ACL acl = {ACL_REVISION, 0, 4 /* smaller than its header */, 0, 0};
    sd.Control = SE_DACL_PRESENT;
    sd.Dacl = &acl;
    CHECK_RET_ERR(CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, 0, 1, 4096, 4096, 0, &sa), INVALID_HANDLE_VALUE,
                  ERROR_INVALID_SECURITY_DESCR);

    /* A self-relative descriptor whose offset points into its header. */
    BYTE rel[20] = {1, 0, 0, 0x80, 4, 0, 0, 0};
    sa.lpSecurityDescriptor = rel;
    CHECK_RET_ERR(CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, 0, 1, 4096, 4096, 0, &sa), INVALID_HANDLE_VALUE,
                  ERROR_INVALID_SECURITY_DESCR);
    /* Nothing was created: the name is free. */
    CHECK_RET_ERR(WaitNamedPipeA(name, 0), FALSE, ERROR_FILE_NOT_FOUND);
}

/* ---- the W functions, without UNICODE ------------------------------------------------------------ */

TEST(wide_functions) {
    WCHAR in[128], expected[128];
    PSECURITY_DESCRIPTOR sd = NULL;
    ULONG size = 0;
    REQUIRE_OK(ConvertStringSecurityDescriptorToSecurityDescriptorW(widen("O:BAD:(A;;GA;;;WD)", in), SDDL_REVISION_1,
                                                                    &sd, &size));
    CHECK_EQ(size, GetSecurityDescriptorLength(sd));
    LPWSTR text = NULL;
    ULONG len = 0;
    REQUIRE_OK(ConvertSecurityDescriptorToStringSecurityDescriptorW(sd, SDDL_REVISION_1, all_info, &text, &len));
    widen("O:BAD:(A;;GA;;;WD)", expected);
    CHECK_EQ(lstrcmpW(text, expected), 0);
    CHECK_EQ(len, (ULONG)lstrlenW(expected) + 1);
    LocalFree(text);
    LocalFree(sd);
    CHECK_FAILS(ConvertStringSecurityDescriptorToSecurityDescriptorW(widen("D:(", in), SDDL_REVISION_1, &sd, NULL),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(ConvertStringSecurityDescriptorToSecurityDescriptorW(widen("D:", in), 3, &sd, NULL),
                ERROR_UNKNOWN_REVISION);

    PSID sid = NULL;
    REQUIRE_OK(ConvertStringSidToSidW(widen("WD", in), &sid));
    LPWSTR sid_text = NULL;
    REQUIRE_OK(ConvertSidToStringSidW(sid, &sid_text));
    CHECK_EQ(lstrcmpW(sid_text, widen("S-1-1-0", expected)), 0);
    LocalFree(sid_text);
    LocalFree(sid);
    CHECK_FAILS(ConvertStringSidToSidW(widen("S-1-x", in), &sid), ERROR_INVALID_SID);

    /* CreateNamedPipeW with a descriptor. */
    char name[128];
    pipe_name(name, "wide");
    WCHAR wname[128];
    REQUIRE_OK(ConvertStringSecurityDescriptorToSecurityDescriptorW(widen("D:(A;;GRGW;;;WD)", in), SDDL_REVISION_1,
                                                                    &sd, NULL));
    SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
    HANDLE s = CreateNamedPipeW(widen(name, wname), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, &sa);
    REQUIRE_HANDLE(s);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CloseHandle(c);
    CloseHandle(s);
    LocalFree(sd);
}

/* ---- GetSecurityInfo / SetSecurityInfo on pipe handles ------------------------------------------- */

/* A Win32 error code that the call RETURNS (these functions leave the last error alone). */
#define CHECK_WIN32(call, expected) check_win32_((DWORD)(call), (DWORD)(expected), #call, __LINE__)
static void check_win32_(DWORD actual, DWORD expected, const char* expr, int line) {
    int ok = actual == expected;
    if (!ok)
        note("line %d: %s returned %lu %s, expected %lu %s", line, expr, (unsigned long)actual, error_name(actual),
             (unsigned long)expected, error_name(expected));
    check_true_(ok, expr, __FILE__, line, 0);
}

static unsigned my_uid(void) { return (unsigned)geteuid(); }

/* A server instance of a pipe that allows any number of instances, created with the descriptor
 * of `sddl` (NULL: no SECURITY_ATTRIBUTES, the default descriptor); REQUIRE-d valid. */
static HANDLE server_with(const char* name, DWORD open_mode, const char* sddl) {
    PSECURITY_DESCRIPTOR sd = sddl ? from_sddl(sddl, NULL) : NULL;
    SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
    HANDLE h = CreateNamedPipeA(name, open_mode, PIPE_TYPE_BYTE, PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0,
                                sd ? &sa : NULL);
    DWORD err = GetLastError();
    if (sd) LocalFree(sd);
    SetLastError(err);
    REQUIRE_HANDLE(h);
    return h;
}

/* GetSecurityInfo(h, SE_KERNEL_OBJECT, parts) must succeed; its descriptor as SDDL must be
 * `expected` (only the parts asked for are in it). */
static void check_security_of(HANDLE h, SECURITY_INFORMATION parts, const char* expected, int line) {
    PSECURITY_DESCRIPTOR sd = NULL;
    DWORD r = GetSecurityInfo(h, SE_KERNEL_OBJECT, parts, NULL, NULL, NULL, NULL, &sd);
    check_win32_(r, ERROR_SUCCESS, "GetSecurityInfo(h, SE_KERNEL_OBJECT, parts, ..., &sd)", line);
    if (r != ERROR_SUCCESS) return;
    check_true_(sd != NULL, "sd != NULL", __FILE__, line, 0);
    if (!sd) return;
    check_sddl_of(sd, all_info, expected, line);
    check_eq_(U64(LocalFree(sd)), 0, "LocalFree(sd)", "NULL", __FILE__, line, 0);
}

/* The DACL of an SDDL text, in a descriptor the caller frees (*holder). */
static PACL dacl_of(const char* sddl, PSECURITY_DESCRIPTOR* holder) {
    *holder = from_sddl(sddl, NULL);
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = NULL;
    REQUIRE_OK(GetSecurityDescriptorDacl(*holder, &present, &dacl, &defaulted));
    REQUIRE(present);
    return dacl;
}

/* A SID of an SDDL SID text, LocalAlloc'd. */
static PSID sid_of(const char* text) {
    PSID sid = NULL;
    REQUIRE_OK(ConvertStringSidToSidA(text, &sid));
    return sid;
}

static int points_into(const void* p, PSECURITY_DESCRIPTOR sd) {
    const BYTE* b = (const BYTE*)p;
    const BYTE* start = (const BYTE*)sd;
    return b >= start + sizeof(SECURITY_DESCRIPTOR_RELATIVE) && b < start + GetSecurityDescriptorLength(sd);
}

TEST(get_security_info_of_a_server_handle) {
    char name[128], me[64], sddl[256];
    pipe_name(name, "getsec");
    snprintf(me, sizeof me, "S-1-22-1-%u", my_uid());
    snprintf(sddl, sizeof sddl, "O:%sG:S-1-22-2-%uD:P(A;;FA;;;%s)(A;;FR;;;WD)", me, (unsigned)getegid(), me);
    HANDLE h = server_with(name, PIPE_ACCESS_DUPLEX, sddl);

    PSID owner = (PSID)1, group = (PSID)1;
    PACL dacl = (PACL)1;
    PSECURITY_DESCRIPTOR sd = NULL;
    SetLastError(0xDEADBEEFu);
    CHECK_WIN32(GetSecurityInfo(h, SE_KERNEL_OBJECT, all_info, &owner, &group, &dacl, NULL, &sd), ERROR_SUCCESS);
    CHECK_EQ(GetLastError(), 0xDEADBEEFu); /* the error is returned, not set */
    REQUIRE(sd != NULL);
    CHECK_EQ(IsValidSecurityDescriptor(sd), TRUE);
    CHECK(((SECURITY_DESCRIPTOR_RELATIVE*)sd)->Control & SE_SELF_RELATIVE);
    check_sddl_of(sd, all_info, sddl, __LINE__); /* what the pipe was created with */
    /* The out-pointers point into the descriptor, at its parts. */
    CHECK(points_into(owner, sd));
    CHECK(points_into(group, sd));
    CHECK(points_into(dacl, sd));
    PSID in_sd = NULL;
    BOOL present = FALSE, defaulted = TRUE;
    CHECK_OK(GetSecurityDescriptorOwner(sd, &in_sd, &defaulted));
    CHECK_EQ(owner, in_sd);
    CHECK_OK(GetSecurityDescriptorGroup(sd, &in_sd, &defaulted));
    CHECK_EQ(group, in_sd);
    PACL dacl_in_sd = NULL;
    CHECK_OK(GetSecurityDescriptorDacl(sd, &present, &dacl_in_sd, &defaulted));
    CHECK_EQ(present, TRUE);
    CHECK_EQ(dacl, dacl_in_sd);
    if (owner != (PSID)1 && owner) {
        LPSTR text = NULL;
        CHECK_OK(ConvertSidToStringSidA(owner, &text));
        CHECK_TEXT(text, me);
        LocalFree(text);
    }
    if (dacl != (PACL)1 && dacl) {
        CHECK_EQ(IsValidAcl(dacl), TRUE);
        CHECK_EQ(dacl->AceCount, 2);
    }
    CHECK_EQ(LocalFree(sd), NULL);

    /* SE_FILE_OBJECT names the same object. */
    sd = NULL;
    CHECK_WIN32(GetSecurityInfo(h, SE_FILE_OBJECT, all_info, NULL, NULL, NULL, NULL, &sd), ERROR_SUCCESS);
    if (sd) {
        check_sddl_of(sd, all_info, sddl, __LINE__);
        CHECK_EQ(LocalFree(sd), NULL);
    }

    /* Only the parts asked for. An out-pointer of a part not asked for comes back NULL, as Wine
     * does (Microsoft: "valid only if you set the flag"); never a stale or dangling pointer. */
    char dacl_text[256];
    snprintf(dacl_text, sizeof dacl_text, "D:P(A;;FA;;;%s)(A;;FR;;;WD)", me);
    owner = (PSID)1;
    group = (PSID)1;
    dacl = (PACL)1;
    sd = NULL;
    CHECK_WIN32(GetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, &owner, &group, &dacl, NULL, &sd),
                ERROR_SUCCESS);
    REQUIRE(sd != NULL);
    check_sddl_of(sd, all_info, dacl_text, __LINE__);
    CHECK(points_into(dacl, sd));
    CHECK_EQ(owner, NULL);
    CHECK_EQ(group, NULL);
    in_sd = (PSID)1;
    CHECK_OK(GetSecurityDescriptorOwner(sd, &in_sd, &defaulted));
    CHECK_EQ(in_sd, NULL);
    CHECK_EQ(LocalFree(sd), NULL);

    char og_text[256];
    snprintf(og_text, sizeof og_text, "O:%sG:S-1-22-2-%u", me, (unsigned)getegid());
    check_security_of(h, OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION, og_text, __LINE__);
    check_security_of(h, 0, "", __LINE__);
    CHECK_OK(CloseHandle(h));

    /* A pipe created without a descriptor is owned by its creator. */
    pipe_name(name, "getsec-default");
    h = server_with(name, PIPE_ACCESS_INBOUND, NULL);
    owner = NULL;
    group = (PSID)1;
    dacl = (PACL)1;
    sd = NULL;
    CHECK_WIN32(GetSecurityInfo(h, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, &owner, &group, &dacl, NULL, &sd),
                ERROR_SUCCESS);
    CHECK_EQ(group, NULL);
    CHECK_EQ(dacl, NULL);
    if (owner) {
        LPSTR text = NULL;
        CHECK_OK(ConvertSidToStringSidA(owner, &text));
        CHECK_TEXT(text, me);
        LocalFree(text);
    }
    CHECK(owner != NULL);
    if (sd) CHECK_EQ(LocalFree(sd), NULL);
    CHECK_OK(CloseHandle(h));
}

TEST(get_security_info_errors) {
    char name[128];
    pipe_name(name, "getsec-errors");
    HANDLE h = server_with(name, PIPE_ACCESS_DUPLEX, NULL);
    PSID owner = (PSID)1;
    PACL dacl = (PACL)1, sacl = (PACL)1;
    PSECURITY_DESCRIPTOR sd = (PSECURITY_DESCRIPTOR)1;

    /* npipe: the parts point into the descriptor, so it must be asked for too (as Microsoft
     * documents it; native Windows returns the parts anyway and leaks the descriptor). */
    SetLastError(0xDEADBEEFu);
    CHECK_WIN32(GetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, NULL),
                ERROR_INVALID_PARAMETER);
    CHECK_EQ(GetLastError(), 0xDEADBEEFu);
    /* A part asked for with nowhere to put it (Windows: ERROR_INVALID_PARAMETER); no part, no pointer: fine. */
    CHECK_WIN32(GetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, NULL, NULL, NULL),
                ERROR_INVALID_PARAMETER);
    CHECK_WIN32(GetSecurityInfo(h, SE_KERNEL_OBJECT, 0, NULL, NULL, NULL, NULL, NULL), ERROR_SUCCESS);
    CHECK_WIN32(GetSecurityInfo(h, SE_REGISTRY_KEY, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd),
                ERROR_INVALID_PARAMETER);
    CHECK_WIN32(GetSecurityInfo(h, SE_UNKNOWN_OBJECT_TYPE, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd),
                ERROR_INVALID_PARAMETER);
    /* Nobody holds SeSecurityPrivilege. */
    CHECK_WIN32(GetSecurityInfo(h, SE_KERNEL_OBJECT, SACL_SECURITY_INFORMATION, NULL, NULL, NULL, &sacl, &sd),
                ERROR_PRIVILEGE_NOT_HELD);
    CHECK_WIN32(GetSecurityInfo(h, SE_KERNEL_OBJECT, all_info | SACL_SECURITY_INFORMATION, &owner, NULL, &dacl,
                                &sacl, &sd),
                ERROR_PRIVILEGE_NOT_HELD);
    CHECK_WIN32(GetSecurityInfo((HANDLE)(uintptr_t)0x1234, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL,
                                &dacl, NULL, &sd),
                ERROR_INVALID_HANDLE);
    CHECK_WIN32(GetSecurityInfo(BOGUS_HANDLE, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL,
                                &sd),
                ERROR_INVALID_HANDLE);
    /* npipe: only named-pipe handles carry a descriptor. */
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(ev);
    CHECK_WIN32(GetSecurityInfo(ev, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd),
                ERROR_NOT_SUPPORTED);
    CHECK_WIN32(GetSecurityInfo(NULL, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd),
                ERROR_INVALID_HANDLE);
    HANDLE rd = NULL, wr = NULL;
    REQUIRE_OK(CreatePipe(&rd, &wr, NULL, 0));
    CHECK_WIN32(GetSecurityInfo(rd, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd),
                ERROR_NOT_SUPPORTED);
    CHECK_WIN32(SetSecurityInfo(wr, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, NULL, NULL),
                ERROR_NOT_SUPPORTED);
    CHECK_OK(CloseHandle(rd));
    CHECK_OK(CloseHandle(wr));
    /* Nothing was stored by a failing call. */
    CHECK_EQ(owner, (PSID)1);
    CHECK_EQ(dacl, (PACL)1);
    CHECK_EQ(sacl, (PACL)1);
    CHECK_EQ(sd, (PSECURITY_DESCRIPTOR)1);

    /* The same for SetSecurityInfo. */
    PSECURITY_DESCRIPTOR holder = NULL;
    PACL everyone = dacl_of("D:(A;;FA;;;WD)", &holder);
    CHECK_WIN32(SetSecurityInfo(h, SE_REGISTRY_KEY, DACL_SECURITY_INFORMATION, NULL, NULL, everyone, NULL),
                ERROR_INVALID_PARAMETER);
    CHECK_WIN32(SetSecurityInfo((HANDLE)(uintptr_t)0x1234, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL,
                                everyone, NULL),
                ERROR_INVALID_HANDLE);
    CHECK_WIN32(SetSecurityInfo(ev, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, everyone, NULL),
                ERROR_NOT_SUPPORTED);
    LocalFree(holder);
    CHECK_OK(CloseHandle(ev));
    CHECK_OK(CloseHandle(h));
}

TEST(set_security_info_dacl_needs_write_dac) {
    char name[128], me[64], deny_write[256];
    pipe_name(name, "setdacl");
    snprintf(me, sizeof me, "S-1-22-1-%u", my_uid());
    snprintf(deny_write, sizeof deny_write, "D:(D;;FW;;;%s)(A;;FA;;;%s)", me, me);
    PSECURITY_DESCRIPTOR holder = NULL;
    PACL dacl = dacl_of(deny_write, &holder);

    /* Without WRITE_DAC in dwOpenMode the server handle may not change the DACL. */
    HANDLE plain = server_with(name, PIPE_ACCESS_DUPLEX, NULL);
    SetLastError(0xDEADBEEFu);
    CHECK_WIN32(SetSecurityInfo(plain, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, dacl, NULL),
                ERROR_ACCESS_DENIED);
    CHECK_EQ(GetLastError(), 0xDEADBEEFu);
    CHECK_OK(CloseHandle(plain));

    /* With it: the DACL changes, and GetSecurityInfo shows the new one. */
    HANDLE h = server_with(name, PIPE_ACCESS_DUPLEX | WRITE_DAC, NULL);
    SetLastError(0xDEADBEEFu);
    CHECK_WIN32(SetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, dacl, NULL),
                ERROR_SUCCESS);
    CHECK_EQ(GetLastError(), 0xDEADBEEFu);
    check_security_of(h, DACL_SECURITY_INFORMATION, deny_write, __LINE__);
    /* Owner and group were not touched. */
    char owner_text[256];
    snprintf(owner_text, sizeof owner_text, "O:%s", me);
    check_security_of(h, OWNER_SECURITY_INFORMATION, owner_text, __LINE__);

    /* A client opened now is checked against the new DACL. FILE_GENERIC_WRITE holds SYNCHRONIZE
     * (and READ_CONTROL), which every CreateFile asks for, so this DACL refuses a read-only open
     * as well - as on Windows. */
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    DWORD err = GetLastError();
    CHECK_EQ(c, INVALID_HANDLE_VALUE);
    if (c == INVALID_HANDLE_VALUE) CHECK_EQ_ERR_(err, ERROR_ACCESS_DENIED);
    else CloseHandle(c);
    c = open_client(name, GENERIC_READ);
    err = GetLastError();
    CHECK_EQ(c, INVALID_HANDLE_VALUE);
    if (c == INVALID_HANDLE_VALUE) CHECK_EQ_ERR_(err, ERROR_ACCESS_DENIED);
    else CloseHandle(c);

    /* Denying FILE_WRITE_DATA alone (0x2, written back by its directory-service alias DC as
     * Windows does) refuses a write open and lets a read open through. */
    char deny_write_data[256], deny_write_data_text[256];
    snprintf(deny_write_data, sizeof deny_write_data, "D:(D;;0x2;;;%s)(A;;FA;;;%s)", me, me);
    snprintf(deny_write_data_text, sizeof deny_write_data_text, "D:(D;;DC;;;%s)(A;;FA;;;%s)", me, me);
    PSECURITY_DESCRIPTOR holder1 = NULL;
    PACL write_data_dacl = dacl_of(deny_write_data, &holder1);
    CHECK_WIN32(SetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, write_data_dacl, NULL),
                ERROR_SUCCESS);
    check_security_of(h, DACL_SECURITY_INFORMATION, deny_write_data_text, __LINE__);
    c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    err = GetLastError();
    CHECK_EQ(c, INVALID_HANDLE_VALUE);
    if (c == INVALID_HANDLE_VALUE) CHECK_EQ_ERR_(err, ERROR_ACCESS_DENIED);
    else CloseHandle(c);
    c = open_client(name, GENERIC_READ);
    REQUIRE_HANDLE(c);
    CHECK_OK(CloseHandle(c));
    LocalFree(holder1);

    /* The owner keeps READ_CONTROL and WRITE_DAC whatever the DACL says: it can change it back. */
    PSECURITY_DESCRIPTOR holder2 = NULL;
    char allow[256];
    snprintf(allow, sizeof allow, "D:(A;;FA;;;%s)", me);
    PACL allow_dacl = dacl_of(allow, &holder2);
    HANDLE h2 = server_with(name, PIPE_ACCESS_DUPLEX | WRITE_DAC, NULL); /* the first one is connected */
    CHECK_WIN32(SetSecurityInfo(h2, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, allow_dacl, NULL),
                ERROR_SUCCESS);
    check_security_of(h, DACL_SECURITY_INFORMATION, allow, __LINE__); /* one pipe, one descriptor */
    c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CHECK_OK(CloseHandle(c));
    /* Even a DACL that denies the owner everything. */
    PSECURITY_DESCRIPTOR holder3 = NULL;
    char deny_all[256];
    snprintf(deny_all, sizeof deny_all, "D:(D;;FA;;;%s)", me);
    PACL deny_dacl = dacl_of(deny_all, &holder3);
    CHECK_WIN32(SetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, deny_dacl, NULL),
                ERROR_SUCCESS);
    check_security_of(h, DACL_SECURITY_INFORMATION, deny_all, __LINE__);
    CHECK_WIN32(SetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, allow_dacl, NULL),
                ERROR_SUCCESS);
    check_security_of(h, DACL_SECURITY_INFORMATION, allow, __LINE__);

    LocalFree(holder);
    LocalFree(holder2);
    LocalFree(holder3);
    CHECK_OK(CloseHandle(h2));
    CHECK_OK(CloseHandle(h));
}

TEST(set_security_info_null_dacl) {
    char name[128];
    pipe_name(name, "nulldacl-set");
    HANDLE h = server_with(name, PIPE_ACCESS_DUPLEX | WRITE_DAC, "D:(A;;FR;;;WD)");
    /* Read-only for everyone, this user included (only the owner's implicit rights remain). */
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    DWORD err = GetLastError();
    CHECK_EQ(c, INVALID_HANDLE_VALUE);
    if (c == INVALID_HANDLE_VALUE) CHECK_EQ_ERR_(err, ERROR_ACCESS_DENIED);
    else CloseHandle(c);

    /* pDacl NULL with DACL_SECURITY_INFORMATION: a NULL DACL, everyone may do everything. */
    CHECK_WIN32(SetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, NULL, NULL),
                ERROR_SUCCESS);
    PACL dacl = (PACL)1;
    PSECURITY_DESCRIPTOR sd = NULL;
    CHECK_WIN32(GetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd),
                ERROR_SUCCESS);
    REQUIRE(sd != NULL);
    CHECK_EQ(dacl, NULL);
    BOOL present = FALSE, defaulted = TRUE;
    PACL in_sd = (PACL)1;
    CHECK_OK(GetSecurityDescriptorDacl(sd, &present, &in_sd, &defaulted));
    CHECK_EQ(present, TRUE);
    CHECK_EQ(in_sd, NULL);
    check_sddl_of(sd, all_info, "D:NO_ACCESS_CONTROL", __LINE__);
    CHECK_EQ(LocalFree(sd), NULL);

    c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CHECK_OK(CloseHandle(c));
    CHECK_OK(CloseHandle(h));
}

TEST(set_security_info_owner_and_group) {
    char name[128], me[64], text[256];
    pipe_name(name, "setowner");
    snprintf(me, sizeof me, "S-1-22-1-%u", my_uid());
    PSID my_sid = sid_of(me);
    PSID other = sid_of("S-1-22-1-12345");
    PSID group = sid_of("S-1-22-2-4242");

    /* Without WRITE_OWNER in dwOpenMode: neither the owner nor the group (WRITE_DAC is not enough). */
    HANDLE plain = server_with(name, PIPE_ACCESS_DUPLEX | WRITE_DAC, NULL);
    CHECK_WIN32(SetSecurityInfo(plain, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, my_sid, NULL, NULL, NULL),
                ERROR_ACCESS_DENIED);
    CHECK_WIN32(SetSecurityInfo(plain, SE_KERNEL_OBJECT, GROUP_SECURITY_INFORMATION, NULL, group, NULL, NULL),
                ERROR_ACCESS_DENIED);
    CHECK_OK(CloseHandle(plain));

    HANDLE h = server_with(name, PIPE_ACCESS_DUPLEX | WRITE_OWNER, NULL);
    /* OWNER_SECURITY_INFORMATION needs an owner. */
    CHECK_WIN32(SetSecurityInfo(h, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, NULL, NULL, NULL, NULL),
                ERROR_INVALID_PARAMETER);
    CHECK_WIN32(SetSecurityInfo(h, SE_KERNEL_OBJECT, GROUP_SECURITY_INFORMATION, NULL, NULL, NULL, NULL),
                ERROR_INVALID_PARAMETER);
    /* WRITE_OWNER is not WRITE_DAC. */
    CHECK_WIN32(SetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, NULL, NULL),
                ERROR_ACCESS_DENIED);
    /* One may always make oneself the owner. */
    CHECK_WIN32(SetSecurityInfo(h, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, my_sid, NULL, NULL, NULL),
                ERROR_SUCCESS);
    snprintf(text, sizeof text, "O:%s", me);
    check_security_of(h, OWNER_SECURITY_INFORMATION, text, __LINE__);
    /* Any group. */
    CHECK_WIN32(SetSecurityInfo(h, SE_KERNEL_OBJECT, GROUP_SECURITY_INFORMATION, NULL, group, NULL, NULL),
                ERROR_SUCCESS);
    snprintf(text, sizeof text, "O:%sG:S-1-22-2-4242", me);
    check_security_of(h, OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION, text, __LINE__);

    /* Another owner: only with SeRestorePrivilege on Windows, that is only root here. */
    if (geteuid() == 0) {
        note("running as root: setting another owner (S-1-22-1-12345) must succeed");
        CHECK_WIN32(SetSecurityInfo(h, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, other, NULL, NULL, NULL),
                    ERROR_SUCCESS);
        check_security_of(h, OWNER_SECURITY_INFORMATION, "O:S-1-22-1-12345", __LINE__);
    } else {
        note("running as uid %u: setting another owner (S-1-22-1-12345) must fail with ERROR_INVALID_OWNER",
             my_uid());
        CHECK_WIN32(SetSecurityInfo(h, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, other, NULL, NULL, NULL),
                    ERROR_INVALID_OWNER);
        snprintf(text, sizeof text, "O:%s", me);
        check_security_of(h, OWNER_SECURITY_INFORMATION, text, __LINE__);
    }
    LocalFree(my_sid);
    LocalFree(other);
    LocalFree(group);
    CHECK_OK(CloseHandle(h));
}

TEST(security_info_of_client_handles) {
    char name[128], me[64], sddl[256];
    pipe_name(name, "clientsec");
    snprintf(me, sizeof me, "S-1-22-1-%u", my_uid());
    snprintf(sddl, sizeof sddl, "O:%sD:(A;;FA;;;%s)", me, me);
    HANDLE s1 = server_with(name, PIPE_ACCESS_DUPLEX, sddl);
    HANDLE s2 = server_with(name, PIPE_ACCESS_DUPLEX, NULL);
    HANDLE s3 = server_with(name, PIPE_ACCESS_DUPLEX, NULL);
    HANDLE s4 = server_with(name, PIPE_ACCESS_DUPLEX, NULL);
    char dacl_text[256];
    snprintf(dacl_text, sizeof dacl_text, "D:(A;;FA;;;%s)", me);

    /* FILE_GENERIC_READ and FILE_GENERIC_WRITE both include READ_CONTROL. */
    HANDLE rw = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(rw);
    check_security_of(rw, DACL_SECURITY_INFORMATION, dacl_text, __LINE__);
    HANDLE w = open_client(name, GENERIC_WRITE);
    REQUIRE_HANDLE(w);
    check_security_of(w, DACL_SECURITY_INFORMATION, dacl_text, __LINE__);
    /* FILE_WRITE_DATA alone does not. */
    HANDLE wd = open_client(name, FILE_WRITE_DATA);
    REQUIRE_HANDLE(wd);
    PSECURITY_DESCRIPTOR sd = (PSECURITY_DESCRIPTOR)1;
    CHECK_WIN32(GetSecurityInfo(wd, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, NULL, NULL, &sd),
                ERROR_ACCESS_DENIED);
    CHECK_EQ(sd, (PSECURITY_DESCRIPTOR)1);

    /* SetSecurityInfo needs WRITE_DAC in the client's desired access. */
    PSECURITY_DESCRIPTOR holder = NULL;
    char new_dacl[256];
    snprintf(new_dacl, sizeof new_dacl, "D:(A;;FA;;;%s)(A;;FR;;;WD)", me);
    PACL dacl = dacl_of(new_dacl, &holder);
    CHECK_WIN32(SetSecurityInfo(rw, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, dacl, NULL),
                ERROR_ACCESS_DENIED);
    check_security_of(s1, DACL_SECURITY_INFORMATION, dacl_text, __LINE__); /* unchanged */
    HANDLE wdac = open_client(name, GENERIC_READ | GENERIC_WRITE | WRITE_DAC);
    REQUIRE_HANDLE(wdac);
    CHECK_WIN32(SetSecurityInfo(wdac, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, dacl, NULL),
                ERROR_SUCCESS);
    check_security_of(s1, DACL_SECURITY_INFORMATION, new_dacl, __LINE__);
    check_security_of(rw, DACL_SECURITY_INFORMATION, new_dacl, __LINE__);
    /* WRITE_DAC is not WRITE_OWNER. */
    PSID my_sid = sid_of(me);
    CHECK_WIN32(SetSecurityInfo(wdac, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, my_sid, NULL, NULL, NULL),
                ERROR_ACCESS_DENIED);
    LocalFree(my_sid);
    LocalFree(holder);

    CHECK_OK(CloseHandle(wdac));
    CHECK_OK(CloseHandle(wd));
    CHECK_OK(CloseHandle(w));
    CHECK_OK(CloseHandle(rw));
    CHECK_OK(CloseHandle(s4));
    CHECK_OK(CloseHandle(s3));
    CHECK_OK(CloseHandle(s2));
    CHECK_OK(CloseHandle(s1));
}

TEST(security_info_of_a_client_after_the_pipe_is_gone) {
    char name[128];
    pipe_name(name, "gonesec");
    HANDLE s = server_with(name, PIPE_ACCESS_DUPLEX, NULL);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE | WRITE_DAC);
    REQUIRE_HANDLE(c);
    PSECURITY_DESCRIPTOR sd = NULL;
    CHECK_WIN32(GetSecurityInfo(c, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, NULL, NULL, &sd),
                ERROR_SUCCESS);
    if (sd) LocalFree(sd);

    /* npipe: with its last instance closed the broker no longer holds the pipe. */
    CHECK_OK(CloseHandle(s));
    sd = (PSECURITY_DESCRIPTOR)1;
    CHECK_WIN32(GetSecurityInfo(c, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, NULL, NULL, &sd),
                ERROR_PIPE_NOT_CONNECTED);
    CHECK_EQ(sd, (PSECURITY_DESCRIPTOR)1);
    CHECK_WIN32(SetSecurityInfo(c, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, NULL, NULL),
                ERROR_PIPE_NOT_CONNECTED);

    /* A new pipe of the same name is another pipe. */
    s = server_with(name, PIPE_ACCESS_DUPLEX, "D:(A;;FA;;;WD)");
    CHECK_WIN32(GetSecurityInfo(c, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, NULL, NULL, &sd),
                ERROR_PIPE_NOT_CONNECTED);
    CHECK_WIN32(SetSecurityInfo(c, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, NULL, NULL),
                ERROR_PIPE_NOT_CONNECTED);
    check_security_of(s, DACL_SECURITY_INFORMATION, "D:(A;;FA;;;WD)", __LINE__);
    CHECK_OK(CloseHandle(c));
    CHECK_OK(CloseHandle(s));
}

TEST_TABLE{
    TEST_ENTRY(sddl_to_self_relative_layout_byte_for_byte),
    TEST_ENTRY(null_dacl_empty_dacl_and_no_dacl),
    TEST_ENTRY(sddl_round_trips),
    TEST_ENTRY(security_information_selects_the_parts),
    TEST_ENTRY(sddl_errors),
    TEST_ENTRY(sid_conversions),
    TEST_ENTRY(initialize_and_set_dacl),
    TEST_ENTRY(build_a_dacl_with_acl_functions),
    TEST_ENTRY(create_named_pipe_with_null_dacl),
    TEST_ENTRY(create_named_pipe_with_sddl_descriptor),
    TEST_ENTRY(create_named_pipe_with_invalid_descriptor),
    TEST_ENTRY(wide_functions),
    TEST_ENTRY(get_security_info_of_a_server_handle),
    TEST_ENTRY(get_security_info_errors),
    TEST_ENTRY(set_security_info_dacl_needs_write_dac),
    TEST_ENTRY(set_security_info_null_dacl),
    TEST_ENTRY(set_security_info_owner_and_group),
    TEST_ENTRY(security_info_of_client_handles),
    TEST_ENTRY(security_info_of_a_client_after_the_pipe_is_gone),
    TABLE_END,
};
ROLE_TABLE{TABLE_END};
