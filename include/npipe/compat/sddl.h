/* sddl.h - the SDDL conversion functions (ConvertStringSecurityDescriptorToSecurityDescriptor,
 * ConvertSidToStringSid, ...) live in <npipe/win32.h>; this header lets Windows code that
 * includes <sddl.h> compile unchanged. */
#ifndef NPIPE_COMPAT_SDDL_H
#define NPIPE_COMPAT_SDDL_H
#include <npipe/win32.h>
#endif
