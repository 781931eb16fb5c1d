// QueryPerformanceCounter and QueryPerformanceFrequency: CLOCK_MONOTONIC counted in 100 ns
// units. 10 MHz is what modern Windows reports on most machines, so programs that assume it (or
// that multiply a counter by a million before dividing by the frequency) behave as there; 1 GHz
// would make those multiplications overflow 100 times sooner.
#include "win32/kernel_object.hpp"

#include <ctime>

namespace {

constexpr LONGLONG ticks_per_second = 10'000'000;
constexpr LONGLONG nanoseconds_per_tick = 1'000'000'000 / ticks_per_second;

} // namespace

using namespace npipe::win32;

extern "C" {

BOOL WINAPI QueryPerformanceCounter(LARGE_INTEGER* lpPerformanceCount) {
    if (!lpPerformanceCount) return fail(ERROR_NOACCESS, FALSE);
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now); // cannot fail with a valid clock and pointer
    lpPerformanceCount->QuadPart =
        static_cast<LONGLONG>(now.tv_sec) * ticks_per_second + static_cast<LONGLONG>(now.tv_nsec) / nanoseconds_per_tick;
    return TRUE;
}

BOOL WINAPI QueryPerformanceFrequency(LARGE_INTEGER* lpFrequency) {
    if (!lpFrequency) return fail(ERROR_NOACCESS, FALSE);
    lpFrequency->QuadPart = ticks_per_second;
    return TRUE;
}

} // extern "C"
