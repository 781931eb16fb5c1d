// What a pipe handle may do with the data, from the access mask CreateFile asked for.
#include "security/pipe_access.hpp"

#include <gtest/gtest.h>

using namespace npipe;
using namespace npipe::rights;
using npipe::detail::pipe_data_access_of;

namespace {

struct expected {
    std::uint32_t mask;
    bool read, write, write_attributes;
};

TEST(PipeDataAccess, FollowsThePipeGenericMapping) {
    const expected cases[] = {
        {0, false, false, false},
        {GENERIC_READ, true, false, false},
        {GENERIC_WRITE, false, true, true},
        {GENERIC_READ | GENERIC_WRITE, true, true, true},
        {GENERIC_ALL, true, true, true},
        {GENERIC_EXECUTE, false, false, false},
        {FILE_READ_DATA, true, false, false},
        {FILE_WRITE_DATA, false, true, false},
        {FILE_WRITE_ATTRIBUTES, false, false, true},
        {FILE_GENERIC_READ, true, false, false},
        {FILE_GENERIC_WRITE, false, true, true},
        {FILE_ALL_ACCESS, true, true, true},
        {MAXIMUM_ALLOWED, true, true, true},
        {READ_CONTROL | SYNCHRONIZE | FILE_READ_ATTRIBUTES, false, false, false},
        {WRITE_DAC | GENERIC_READ, true, false, false},
        // FILE_APPEND_DATA (= FILE_CREATE_PIPE_INSTANCE) is not write access to the data.
        {FILE_APPEND_DATA, false, false, false},
    };
    for (const auto& c : cases) {
        auto a = pipe_data_access_of(c.mask);
        EXPECT_EQ(a.read, c.read) << access_mask_names(c.mask);
        EXPECT_EQ(a.write, c.write) << access_mask_names(c.mask);
        EXPECT_EQ(a.write_attributes, c.write_attributes) << access_mask_names(c.mask);
    }
}

static_assert(pipe_data_access_of(GENERIC_READ).read, "usable at compile time");

} // namespace
