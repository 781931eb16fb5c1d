// fuzz/make_samba_npa_seeds.cpp - writes seeds of fuzz_samba_npa with the real encoder: requests
// at level 8 (Samba 4.20 and later; Debian 12's smbd sends only level 7, whose seed was captured
// from it) with and without a session, an unauthenticated one, and the level-8 reply.
//
//   build-fuzz/bin/fuzz_samba_npa_seeds fuzz/corpus/samba_npa
#include "protocol/samba_npa.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

using namespace npipe;
using namespace npipe::protocol::samba;

namespace {

void write(const std::string& path, const std::vector<std::byte>& data) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!f) {
        std::perror(path.c_str());
        std::exit(1);
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    request r;
    r.level = level_samba_4_20;
    r.remote_client = {"WS7", "192.0.2.7", 50000};
    r.local_server = {"fileserver", "192.0.2.1", 445};
    write(dir + "/gen-level8-no-session", encode_request(r));
    session s;
    s.token_sids = std::vector<sid>{sid(5, {21, 1, 2, 3, 1104}), sid::user(1104), sid::group(1104),
                                    sid::everyone(), sid::network(), sid::authenticated_users()};
    s.privilege_mask = 0x400;
    s.unix_ids = unix_token{1104, 1104, {1104, 27, 100}};
    s.account_name = "carol";
    s.domain_name = "NPIPETEST";
    s.unix_name = "carol";
    s.authenticated = true;
    s.session_key = std::vector<std::byte>(16, std::byte{0x5a});
    r.session_info = s;
    write(dir + "/gen-level8-user", encode_request(r));
    r.session_info->authenticated = false;
    r.session_info->token_sids.reset();
    write(dir + "/gen-level8-guest-no-token", encode_request(r));
    reply rep;
    rep.level = level_samba_4_20;
    rep.type = file_type::message_mode;
    rep.device_state = 0x05ff;
    rep.allocation_size = 4096;
    write(dir + "/gen-level8-reply-message-mode", encode_reply(rep));
    return 0;
}
