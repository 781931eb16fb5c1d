// npipe/export.hpp - symbol visibility for the public API.
#pragma once

#if defined(NPIPE_BUILDING_LIBRARY)
#define NPIPE_API __attribute__((visibility("default")))
#else
#define NPIPE_API
#endif
