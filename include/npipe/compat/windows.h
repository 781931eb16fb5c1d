/* windows.h - npipe's stand-in for the Windows SDK header: the Win32 pipe API and what pipe
 * programs use around it. On the include path through `pkg-config --cflags npipe`. */
#ifndef NPIPE_COMPAT_WINDOWS_H
#define NPIPE_COMPAT_WINDOWS_H
#include <npipe/win32.h>
#endif
