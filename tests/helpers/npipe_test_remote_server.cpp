// The server end of the Samba serve tests (tests/samba/test_serve.py): one exported message pipe,
// one SMB client, and what the server learns of that client sent back to it as one JSON message
// (the test reads it through impacket) and printed on stdout. Roles:
//   identity NAME SDDL   the C++ API: client_identity() (account, domain, computer, address,
//                        port, SIDs, uid, gid, groups, the impersonation level allowed)
//   win32 NAME SDDL      the Win32 API: GetNamedPipeClientComputerNameA/W (and with a short
//                        buffer), GetNamedPipeClientProcessId/SessionId, then
//                        ImpersonateNamedPipeClient: its error and the thread's effective uid,
//                        gid and groups while impersonating, and after RevertToSelf
//   close|disconnect|die NAME SDDL
//                        how a server's end reaches a remote client: a byte pipe; once a client
//                        is connected the server writes "last words" and prints "wrote", waits
//                        for a line on stdin (the client may write what the server never reads;
//                        a line "N" makes it wait until N such bytes have arrived, so that they
//                        are there when it ends), then CloseHandle ("closed") or DisconnectNamedPipe ("disconnected") and
//                        waits for the end of stdin; `die` waits for the SIGKILL instead
// Prints "ready" once the instance listens.
#include <npipe/named_pipe.hpp>
#include <npipe/win32.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sys/syscall.h>
#include <unistd.h>

namespace {

void ready() {
    std::puts("ready");
    std::fflush(stdout);
}

int usage() {
    std::fputs("usage: npipe_test_remote_server identity|win32|close|disconnect|die NAME SDDL\n", stderr);
    return 2;
}

int identity_role(const char* name, const char* sddl) {
    npipe::server_options o;
    o.type = npipe::pipe_type::message;
    o.read_mode = npipe::read_mode::message;
    o.remote = true;
    o.sddl = sddl;
    auto server = npipe::server_instance::create(std::string("\\\\.\\pipe\\") + name, o);
    ready();
    server.connect();
    std::vector<std::byte> buffer(65536);
    server.read(buffer);
    auto who = server.client_identity();
    nlohmann::json j;
    if (who) {
        const auto& sids = who->sids;
        j = {{"remote", who->remote},   {"pid", who->pid},           {"uid", who->uid},
             {"gid", who->gid},         {"groups", who->groups},     {"account", who->account},
             {"domain", who->domain},   {"computer", who->computer_name}, {"address", who->address},
             {"port", who->port},       {"sids", sids},              {"allowed", static_cast<int>(who->allowed)}};
    }
    std::string text = j.dump();
    std::puts(text.c_str());
    server.write(std::as_bytes(std::span(text)));
    server.flush();
    return 0;
}

/// The calling thread's effective ids, read from the kernel (the thread's own, not the process's).
nlohmann::json thread_ids() {
    std::vector<gid_t> groups(static_cast<std::size_t>(::syscall(SYS_getgroups, 0, nullptr)));
    auto n = ::syscall(SYS_getgroups, static_cast<int>(groups.size()), groups.data());
    groups.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    return {{"euid", ::syscall(SYS_geteuid)}, {"egid", ::syscall(SYS_getegid)}, {"groups", groups}};
}

nlohmann::json win32_facts(HANDLE pipe) {
    nlohmann::json j;
    char narrow[256] = "";
    j["computer_a"] = GetNamedPipeClientComputerNameA(pipe, narrow, sizeof narrow) ? nlohmann::json(narrow)
                                                                                   : nlohmann::json(GetLastError());
    WCHAR wide[256] = {0};
    if (GetNamedPipeClientComputerNameW(pipe, wide, sizeof wide)) {
        std::string back;
        for (const WCHAR* p = wide; *p; ++p) back += static_cast<char>(*p); // the names here are ASCII
        j["computer_w"] = back;
    } else {
        j["computer_w"] = GetLastError();
    }
    char tiny[2];
    j["short_buffer"] = GetNamedPipeClientComputerNameA(pipe, tiny, sizeof tiny) ? 0u : GetLastError();
    ULONG pid = 12345, session = 12345;
    j["client_pid"] = GetNamedPipeClientProcessId(pipe, &pid) ? nlohmann::json(pid) : nlohmann::json("error");
    j["client_session"] =
        GetNamedPipeClientSessionId(pipe, &session) ? nlohmann::json(session) : nlohmann::json("error");
    j["impersonate"] = ImpersonateNamedPipeClient(pipe) ? 0u : GetLastError();
    j["impersonating"] = thread_ids();
    RevertToSelf();
    j["reverted"] = thread_ids();
    return j;
}

int win32_role(const char* name, const char* sddl) {
    PSECURITY_DESCRIPTOR sd = nullptr;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, nullptr)) return 3;
    SECURITY_ATTRIBUTES sa{sizeof sa, sd, FALSE};
    std::string full = std::string("\\\\.\\pipe\\") + name;
    HANDLE pipe = CreateNamedPipeA(full.c_str(), PIPE_ACCESS_DUPLEX,
                                   PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | NPIPE_PIPE_EXPORT_REMOTE, 1, 65536,
                                   65536, 0, &sa);
    LocalFree(sd);
    if (pipe == INVALID_HANDLE_VALUE) return 4;
    ready();
    if (!ConnectNamedPipe(pipe, nullptr) && GetLastError() != ERROR_PIPE_CONNECTED) return 5;
    char buffer[65536];
    DWORD got = 0;
    if (!ReadFile(pipe, buffer, sizeof buffer, &got, nullptr)) return 6; // impersonation needs a read first
    std::string text = win32_facts(pipe).dump();
    std::puts(text.c_str());
    DWORD written = 0;
    WriteFile(pipe, text.data(), static_cast<DWORD>(text.size()), &written, nullptr);
    FlushFileBuffers(pipe);
    CloseHandle(pipe);
    return 0;
}

int ending_role(const char* how, const char* name, const char* sddl) {
    PSECURITY_DESCRIPTOR sd = nullptr;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, nullptr)) return 3;
    SECURITY_ATTRIBUTES sa{sizeof sa, sd, FALSE};
    std::string full = std::string("\\\\.\\pipe\\") + name;
    HANDLE pipe = CreateNamedPipeA(full.c_str(), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | NPIPE_PIPE_EXPORT_REMOTE, 1,
                                   65536, 65536, 0, &sa);
    LocalFree(sd);
    if (pipe == INVALID_HANDLE_VALUE) return 4;
    ready();
    if (!ConnectNamedPipe(pipe, nullptr) && GetLastError() != ERROR_PIPE_CONNECTED) return 5;
    DWORD written = 0;
    if (!WriteFile(pipe, "last words", 10, &written, nullptr)) return 6;
    std::puts("wrote");
    std::fflush(stdout);
    // The client's WRITE having completed did not always mean its bytes were here (once, under
    // load): wait until they are.
    char line[32] = {};
    if (!std::fgets(line, sizeof line, stdin)) return 8;
    DWORD expected = static_cast<DWORD>(std::strtoul(line, nullptr, 10)), avail = 0;
    for (int tries = 0; expected > 0 && tries < 10000; ++tries) {
        if (!PeekNamedPipe(pipe, nullptr, 0, nullptr, &avail, nullptr)) return 9;
        if (avail >= expected) break;
        Sleep(1);
    }
    if (avail < expected) return 10;
    if (std::strcmp(how, "die") == 0) {
        std::puts("arrived");
        std::fflush(stdout);
        for (;;) ::pause(); // the test kills the process
    }
    bool closed = std::strcmp(how, "close") == 0;
    if (closed ? !CloseHandle(pipe) : !DisconnectNamedPipe(pipe)) return 7;
    std::puts(closed ? "closed" : "disconnected");
    std::fflush(stdout);
    while (std::getchar() != EOF) {}
    if (!closed) CloseHandle(pipe);
    return 0;
}

} // namespace

int main(int argc, char** argv) try {
    if (argc != 4) return usage();
    if (std::strcmp(argv[1], "identity") == 0) return identity_role(argv[2], argv[3]);
    if (std::strcmp(argv[1], "win32") == 0) return win32_role(argv[2], argv[3]);
    for (const char* how : {"close", "disconnect", "die"})
        if (std::strcmp(argv[1], how) == 0) return ending_role(how, argv[2], argv[3]);
    return usage();
} catch (const std::exception& e) {
    std::fprintf(stderr, "npipe_test_remote_server: %s\n", e.what());
    return 1;
}
