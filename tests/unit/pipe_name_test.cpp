#include <npipe/pipe_name.hpp>

#include <gtest/gtest.h>

using namespace npipe;

namespace {

std::optional<pipe_name> parse(std::string_view s) {
    std::error_code ec;
    auto r = parse_pipe_name(s, ec);
    EXPECT_EQ(r.has_value(), !ec);
    return r;
}

} // namespace

TEST(PipeName, PrefixAndNameAreCaseInsensitive) {
    auto a = parse("\\\\.\\PiPe\\MyPipe");
    auto b = parse("\\\\.\\pipe\\mypipe");
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->key, b->key);
    EXPECT_EQ(a->name, "MyPipe");
    EXPECT_TRUE(a->is_local());
    EXPECT_EQ(a->full(), "\\\\.\\pipe\\MyPipe");
}

TEST(PipeName, UnicodeCaseFoldingAndSpecialCharacters) {
    auto a = parse("\\\\.\\pipe\\stra\xC3\x9F" "e-\xC3\xA9t\xC3\xA9"); // straße-été
    auto b = parse("\\\\.\\pipe\\STRA\xC3\x9F" "E-\xC3\x89T\xC3\x89");
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->key, b->key);
    ASSERT_TRUE(parse("\\\\.\\pipe\\<>*?|\"/:"));
    auto trailing = parse("\\\\.\\pipe\\x\\");
    auto plain = parse("\\\\.\\pipe\\x");
    ASSERT_TRUE(trailing && plain);
    EXPECT_NE(trailing->key, plain->key) << "a trailing backslash is significant";
}

TEST(PipeName, RemoteNames) {
    auto r = parse("\\\\server\\pipe\\spoolss");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->is_local());
    EXPECT_EQ(r->server, "server");
}

TEST(PipeName, Refusals) {
    for (std::string bad : {std::string(""), std::string("x"), std::string("\\\\.\\pipe\\"), std::string("\\\\.\\pipe"),
                            std::string("\\\\\\pipe\\x"), std::string("\\\\HOST/pipe/x"), std::string("X\\pipe\\spoolss"),
                            std::string("//./pipe/x"), std::string("\\\\.\\pipe\\a\0b", 11),
                            std::string("\\\\.\\pipe\\\xC0\x80"),          // overlong NUL
                            std::string("\\\\.\\pipe\\\xE0\x80\xAF"),      // overlong '/'
                            std::string("\\\\.\\pipe\\\xED\xA0\x80"),      // a surrogate
                            std::string("\\\\.\\pipe\\\xF4\x90\x80\x80"),  // above U+10FFFF
                            std::string("\\\\.\\pipe\\\x80"), std::string("\\\\.\\pipe\\ab\xE2\x82")}) {
        std::error_code ec;
        EXPECT_FALSE(parse_pipe_name(bad, ec)) << bad;
        EXPECT_EQ(ec, win32_error::invalid_name) << bad;
    }
}

TEST(PipeName, LengthLimitCountsUtf16Units) {
    EXPECT_TRUE(parse("\\\\.\\pipe\\" + std::string(256, 'a')));
    std::error_code ec;
    EXPECT_FALSE(parse_pipe_name("\\\\.\\pipe\\" + std::string(257, 'a'), ec));
    std::string emoji = "\xF0\x9F\x98\x80"; // U+1F600: two UTF-16 units
    std::string name;
    for (int i = 0; i < 128; ++i) name += emoji;
    EXPECT_TRUE(parse("\\\\.\\pipe\\" + name));
    EXPECT_FALSE(parse_pipe_name("\\\\.\\pipe\\" + name + "a", ec));
}

TEST(PipeName, ExpandShortNames) {
    EXPECT_EQ(expand_pipe_name("x"), "\\\\.\\pipe\\x");
    EXPECT_EQ(expand_pipe_name("\\\\.\\pipe\\y"), "\\\\.\\pipe\\y");
    // `//HOST/NAME`: the rest after HOST's '/' is NAME, slashes and all
    EXPECT_EQ(expand_pipe_name("//server/x"), "\\\\server\\pipe\\x");
    EXPECT_EQ(expand_pipe_name("//127.0.0.1/a/b"), "\\\\127.0.0.1\\pipe\\a/b");
    EXPECT_EQ(expand_pipe_name("//./x"), "\\\\.\\pipe\\x");
    // no NAME: kept as it is, and then no pipe name at all
    EXPECT_EQ(expand_pipe_name("//server"), "//server");
    std::error_code ec;
    EXPECT_FALSE(parse_pipe_name(expand_pipe_name("//server"), ec));
    EXPECT_EQ(ec, win32_error::invalid_name);
    EXPECT_FALSE(parse_pipe_name(expand_pipe_name("//server/"), ec));
    EXPECT_EQ(ec, win32_error::invalid_name);
}
