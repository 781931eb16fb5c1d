/* Security descriptors, SIDs and ACLs: SDDL to Windows' self-relative layout and back, the
 * absolute-descriptor functions, ACL building, and CreateNamedPipe with a descriptor. The
 * conformance broker runs as this user, so only same-uid opens are tried here (a DACL that
 * denies this user shows the descriptor reached the broker); cross-uid enforcement is tested
 * in the integration suite. */
#include "harness.h"

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
    TABLE_END,
};
ROLE_TABLE{TABLE_END};
