#include <gtest/gtest.h>

#include <csignal>

int main(int argc, char** argv) {
    // A test must see ERROR_NO_DATA, not die: the library never raises SIGPIPE, and this
    // default disposition proves it.
    std::signal(SIGPIPE, SIG_DFL);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
