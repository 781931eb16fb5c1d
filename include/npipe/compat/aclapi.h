/* aclapi.h - GetSecurityInfo, SetSecurityInfo and SE_OBJECT_TYPE live in <npipe/win32.h>; this
 * header lets Windows code that includes <aclapi.h> compile unchanged. */
#ifndef NPIPE_COMPAT_ACLAPI_H
#define NPIPE_COMPAT_ACLAPI_H
#include <npipe/win32.h>
#endif
