#include <npipe/error.hpp>

#include <cerrno>
#include <gtest/gtest.h>

using npipe::win32_error;

TEST(Errors, ValuesAreWindowsNumbers) {
    EXPECT_EQ(static_cast<int>(win32_error::file_not_found), 2);
    EXPECT_EQ(static_cast<int>(win32_error::access_denied), 5);
    EXPECT_EQ(static_cast<int>(win32_error::invalid_parameter), 87);
    EXPECT_EQ(static_cast<int>(win32_error::broken_pipe), 109);
    EXPECT_EQ(static_cast<int>(win32_error::sem_timeout), 121);
    EXPECT_EQ(static_cast<int>(win32_error::invalid_name), 123);
    EXPECT_EQ(static_cast<int>(win32_error::bad_pipe), 230);
    EXPECT_EQ(static_cast<int>(win32_error::pipe_busy), 231);
    EXPECT_EQ(static_cast<int>(win32_error::no_data), 232);
    EXPECT_EQ(static_cast<int>(win32_error::pipe_not_connected), 233);
    EXPECT_EQ(static_cast<int>(win32_error::more_data), 234);
    EXPECT_EQ(static_cast<int>(win32_error::pipe_connected), 535);
    EXPECT_EQ(static_cast<int>(win32_error::pipe_listening), 536);
    EXPECT_EQ(static_cast<int>(win32_error::io_pending), 997);
    EXPECT_EQ(static_cast<int>(win32_error::cannot_impersonate), 1368);
}

TEST(Errors, MessagesNameTheError) {
    std::error_code ec = win32_error::pipe_busy;
    EXPECT_EQ(std::string(ec.category().name()), "win32");
    EXPECT_EQ(ec.message(), "ERROR_PIPE_BUSY (231): all pipe instances are busy");
    EXPECT_EQ(npipe::win32_error_name(109), "ERROR_BROKEN_PIPE");
    EXPECT_EQ(npipe::win32_error_name(4242), "ERROR_4242");
}

TEST(Errors, PortableConditions) {
    EXPECT_EQ(std::error_code(win32_error::broken_pipe), std::errc::broken_pipe);
    EXPECT_EQ(std::error_code(win32_error::file_not_found), std::errc::no_such_file_or_directory);
    EXPECT_EQ(std::error_code(win32_error::access_denied), std::errc::permission_denied);
    EXPECT_EQ(std::error_code(win32_error::sem_timeout), std::errc::timed_out);
    EXPECT_EQ(std::error_code(win32_error::pipe_not_connected), std::errc::not_connected);
    EXPECT_NE(std::error_code(win32_error::more_data), std::errc::broken_pipe);
}

TEST(Errors, ErrnoTable) {
    using npipe::win32_error_from_errno;
    EXPECT_EQ(win32_error_from_errno(ENOENT), win32_error::file_not_found);
    EXPECT_EQ(win32_error_from_errno(EACCES), win32_error::access_denied);
    EXPECT_EQ(win32_error_from_errno(EPIPE), win32_error::no_data);
    EXPECT_EQ(win32_error_from_errno(ECONNRESET), win32_error::broken_pipe);
    EXPECT_EQ(win32_error_from_errno(EMFILE), win32_error::too_many_open_files);
    EXPECT_EQ(win32_error_from_errno(EINVAL), win32_error::invalid_parameter);
    EXPECT_EQ(win32_error_from_errno(ETIMEDOUT), win32_error::sem_timeout);
    EXPECT_EQ(win32_error_from_errno(12345), win32_error::gen_failure) << "no errno leaks out as a Win32 code";
}

// NTSTATUS from an SMB server (remote pipes) through the one table, as Windows' redirector maps them.
TEST(ErrorTable, NtstatusOfRemotePipes) {
    using npipe::win32_error_from_ntstatus;
    EXPECT_EQ(win32_error_from_ntstatus(0x00000000), win32_error::success);
    EXPECT_EQ(win32_error_from_ntstatus(0x80000005), win32_error::more_data);          // BUFFER_OVERFLOW
    EXPECT_EQ(win32_error_from_ntstatus(0xC000014B), win32_error::broken_pipe);        // PIPE_BROKEN: 109
    EXPECT_EQ(win32_error_from_ntstatus(0xC00000B0), win32_error::pipe_not_connected); // PIPE_DISCONNECTED: 233
    EXPECT_EQ(win32_error_from_ntstatus(0xC00000AC), win32_error::pipe_busy);          // PIPE_NOT_AVAILABLE: 231
    EXPECT_EQ(win32_error_from_ntstatus(0xC00000B5), win32_error::sem_timeout);        // IO_TIMEOUT: 121
    EXPECT_EQ(win32_error_from_ntstatus(0xC0000034), win32_error::file_not_found);     // OBJECT_NAME_NOT_FOUND: 2
    EXPECT_EQ(win32_error_from_ntstatus(0xC00000CC), win32_error::bad_net_name);       // BAD_NETWORK_NAME: 67
    EXPECT_EQ(win32_error_from_ntstatus(0xC000006D), win32_error::logon_failure);      // LOGON_FAILURE: 1326
    EXPECT_EQ(win32_error_from_ntstatus(0xC0000022), win32_error::access_denied);      // 5
    EXPECT_EQ(win32_error_from_ntstatus(0xC000019C), win32_error::not_supported);      // FS_DRIVER_REQUIRED
    EXPECT_EQ(win32_error_from_ntstatus(0xC0000001), win32_error::mr_mid_not_found);   // unknown: Windows' 317
    EXPECT_EQ(static_cast<int>(win32_error::bad_net_name), 67);
    EXPECT_EQ(static_cast<int>(win32_error::logon_failure), 1326);
    EXPECT_EQ(npipe::win32_error_name(1326), "ERROR_LOGON_FAILURE");
    EXPECT_EQ(npipe::win32_error_name(67), "ERROR_BAD_NET_NAME");
}
