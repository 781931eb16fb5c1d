/* npipe/win32.h - the Win32 pipe API on Linux: Windows' names, types, flags and error numbers.
 *
 * Plain C (C99 and later, and C++). A program written for Windows named and anonymous pipes
 * compiles against this header unchanged; <windows.h> from the compat directory
 * (include/npipe/compat, on the include path through `pkg-config --cflags npipe`) includes it.
 *
 * Types have Windows' widths: DWORD, LONG and ULONG are 32-bit, BOOL is int, HANDLE a pointer,
 * WCHAR 16-bit (UTF-16). Structures have Windows' layout. Generic names (CreateNamedPipe,
 * CreateFile, ...) map to the A or W function by UNICODE, as on Windows. A strings are UTF-8.
 *
 * Errors: functions set the calling thread's last error exactly as Windows does; GetLastError()
 * returns Windows' numbers (ERROR_PIPE_BUSY is 231). Every function is safe to call from any
 * thread. The functions that deliberately differ from Windows are listed in the README.
 */
#ifndef NPIPE_WIN32_H
#define NPIPE_WIN32_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(NPIPE_BUILDING_LIBRARY)
#define NPIPE_C_API __attribute__((visibility("default")))
#else
#define NPIPE_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- calling conventions and annotations (meaningless on x86-64/ARM64 Linux) ---------------- */
#define WINAPI
#define APIENTRY
#define CALLBACK
#define WINBASEAPI
#define WINAPIV
#define __stdcall
#define __cdecl
#define CONST const
#define VOID void
#define IN
#define OUT
#define OPTIONAL
#define UNREFERENCED_PARAMETER(P) ((void)(P))

#ifndef FALSE
#define FALSE 0
#endif
#ifndef TRUE
#define TRUE 1
#endif

/* ---- basic types ------------------------------------------------------------------------- */
typedef int BOOL;
typedef BOOL* PBOOL;
typedef BOOL* LPBOOL;
typedef unsigned char BYTE;
typedef unsigned char UCHAR;
typedef BYTE* PBYTE;
typedef BYTE* LPBYTE;
typedef unsigned short WORD;
typedef unsigned short USHORT;
typedef uint32_t DWORD;
typedef int32_t LONG;
typedef uint32_t ULONG;
typedef int INT;
typedef unsigned int UINT;
typedef int64_t LONGLONG;
typedef uint64_t ULONGLONG;
typedef uint64_t DWORD64;
typedef intptr_t INT_PTR;
typedef uintptr_t UINT_PTR;
typedef intptr_t LONG_PTR;
typedef uintptr_t ULONG_PTR;
typedef ULONG_PTR* PULONG_PTR;
typedef uintptr_t DWORD_PTR;
typedef DWORD_PTR* PDWORD_PTR;
typedef uintptr_t SIZE_T;
typedef intptr_t SSIZE_T;
typedef SIZE_T* PSIZE_T;
typedef DWORD* PDWORD;
typedef DWORD* LPDWORD;
typedef LONG* PLONG;
typedef LONG* LPLONG;
typedef ULONG* PULONG;
typedef void* PVOID;
typedef void* LPVOID;
typedef const void* LPCVOID;
typedef void* HANDLE;
typedef HANDLE* PHANDLE;
typedef HANDLE* LPHANDLE;
typedef HANDLE HLOCAL;
typedef HANDLE HGLOBAL;
typedef HANDLE HINSTANCE;
typedef HANDLE HMODULE;
typedef HANDLE HWND;
typedef LONG HRESULT;
typedef LONG NTSTATUS;

typedef char CHAR;
/* WCHAR is a UTF-16 unit. In C++ it is char16_t so u"..." literals (what TEXT() makes under
 * UNICODE) fit; in C it is the type of C11's u"..." literals. With -fshort-wchar, wchar_t is
 * 16-bit and L"..." literals fit too. */
#if defined(__cplusplus)
typedef char16_t WCHAR;
#elif defined(__WCHAR_MAX__) && (__WCHAR_MAX__ == 0xffff || __WCHAR_MAX__ == 0x7fff)
typedef wchar_t WCHAR;
#else
typedef uint_least16_t WCHAR;
#endif
typedef CHAR* PCHAR;
typedef CHAR* LPCH;
typedef CHAR* PSTR;
typedef CHAR* LPSTR;
typedef const CHAR* PCSTR;
typedef const CHAR* LPCSTR;
typedef WCHAR* PWCHAR;
typedef WCHAR* PWSTR;
typedef WCHAR* LPWSTR;
typedef const WCHAR* PCWSTR;
typedef const WCHAR* LPCWSTR;

#ifdef UNICODE
typedef WCHAR TCHAR;
#else
typedef char TCHAR;
#endif
typedef TCHAR* PTCHAR;
typedef TCHAR* LPTSTR;
typedef TCHAR* PTSTR;
typedef const TCHAR* LPCTSTR;
typedef const TCHAR* PCTSTR;

/* Under UNICODE, TEXT("x") is u"x": C11 or C++ (with C99, use -fshort-wchar and L"x"). */
#ifdef UNICODE
#define __TEXT(quote) u##quote
#else
#define __TEXT(quote) quote
#endif
#define TEXT(quote) __TEXT(quote)

typedef union _LARGE_INTEGER {
    __extension__ struct {
        DWORD LowPart;
        LONG HighPart;
    };
    struct {
        DWORD LowPart;
        LONG HighPart;
    } u;
    LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

#define MAX_PATH 260
#define UNLEN 256
#define INFINITE 0xFFFFFFFFu
#define INVALID_HANDLE_VALUE ((HANDLE)(LONG_PTR)-1)

#define ZeroMemory(dest, len) ((void)__builtin_memset((dest), 0, (len)))
#define SecureZeroMemory(dest, len) ((void)__builtin_memset((dest), 0, (len)))
#define FillMemory(dest, len, fill) ((void)__builtin_memset((dest), (fill), (len)))
#define CopyMemory(dest, src, len) ((void)__builtin_memcpy((dest), (src), (len)))
#define MoveMemory(dest, src, len) ((void)__builtin_memmove((dest), (src), (len)))

/* ---- structures -------------------------------------------------------------------------- */
typedef struct _SECURITY_ATTRIBUTES {
    DWORD nLength;
    LPVOID lpSecurityDescriptor; /* CreateNamedPipe: the new pipe's owner, group and DACL */
    BOOL bInheritHandle;
} SECURITY_ATTRIBUTES, *PSECURITY_ATTRIBUTES, *LPSECURITY_ATTRIBUTES;

typedef struct _OVERLAPPED {
    ULONG_PTR Internal;     /* NTSTATUS of the operation; STATUS_PENDING while it runs */
    ULONG_PTR InternalHigh; /* bytes transferred */
    __extension__ union {
        __extension__ struct {
            DWORD Offset;
            DWORD OffsetHigh;
        };
        PVOID Pointer;
    };
    HANDLE hEvent; /* set when the operation completes */
} OVERLAPPED, *LPOVERLAPPED;

/* ReadFileEx / WriteFileEx: runs in an alertable wait of the thread that started the I/O. */
typedef VOID(WINAPI* LPOVERLAPPED_COMPLETION_ROUTINE)(DWORD dwErrorCode, DWORD dwNumberOfBytesTransfered,
                                                       LPOVERLAPPED lpOverlapped);

/* GetQueuedCompletionStatusEx: one completion packet. */
typedef struct _OVERLAPPED_ENTRY {
    ULONG_PTR lpCompletionKey;
    LPOVERLAPPED lpOverlapped;
    ULONG_PTR Internal;
    DWORD dwNumberOfBytesTransferred;
} OVERLAPPED_ENTRY, *LPOVERLAPPED_ENTRY;

typedef struct _STARTUPINFOA {
    DWORD cb;
    LPSTR lpReserved;
    LPSTR lpDesktop;
    LPSTR lpTitle;
    DWORD dwX, dwY, dwXSize, dwYSize;
    DWORD dwXCountChars, dwYCountChars;
    DWORD dwFillAttribute;
    DWORD dwFlags;
    WORD wShowWindow;
    WORD cbReserved2;
    LPBYTE lpReserved2;
    HANDLE hStdInput;
    HANDLE hStdOutput;
    HANDLE hStdError;
} STARTUPINFOA, *LPSTARTUPINFOA;

typedef struct _STARTUPINFOW {
    DWORD cb;
    LPWSTR lpReserved;
    LPWSTR lpDesktop;
    LPWSTR lpTitle;
    DWORD dwX, dwY, dwXSize, dwYSize;
    DWORD dwXCountChars, dwYCountChars;
    DWORD dwFillAttribute;
    DWORD dwFlags;
    WORD wShowWindow;
    WORD cbReserved2;
    LPBYTE lpReserved2;
    HANDLE hStdInput;
    HANDLE hStdOutput;
    HANDLE hStdError;
} STARTUPINFOW, *LPSTARTUPINFOW;

typedef struct _PROCESS_INFORMATION {
    HANDLE hProcess;
    HANDLE hThread;
    DWORD dwProcessId;
    DWORD dwThreadId;
} PROCESS_INFORMATION, *PPROCESS_INFORMATION, *LPPROCESS_INFORMATION;

typedef DWORD(WINAPI* PTHREAD_START_ROUTINE)(LPVOID lpThreadParameter);
typedef PTHREAD_START_ROUTINE LPTHREAD_START_ROUTINE;
typedef VOID(CALLBACK* PAPCFUNC)(ULONG_PTR dwParam);

/* ---- error numbers (GetLastError) -------------------------------------------------------- */
#define NO_ERROR 0
#define ERROR_SUCCESS 0
#define ERROR_INVALID_FUNCTION 1
#define ERROR_FILE_NOT_FOUND 2
#define ERROR_PATH_NOT_FOUND 3
#define ERROR_TOO_MANY_OPEN_FILES 4
#define ERROR_ACCESS_DENIED 5
#define ERROR_INVALID_HANDLE 6
#define ERROR_NOT_ENOUGH_MEMORY 8
#define ERROR_BAD_FORMAT 11
#define ERROR_INVALID_ACCESS 12
#define ERROR_INVALID_DATA 13
#define ERROR_OUTOFMEMORY 14
#define ERROR_NOT_READY 21
#define ERROR_WRITE_FAULT 29
#define ERROR_READ_FAULT 30
#define ERROR_GEN_FAILURE 31
#define ERROR_SHARING_VIOLATION 32
#define ERROR_HANDLE_EOF 38
#define ERROR_NOT_SUPPORTED 50
#define ERROR_BAD_NETPATH 53
#define ERROR_UNEXP_NET_ERR 59
#define ERROR_NETNAME_DELETED 64
#define ERROR_BAD_NET_NAME 67
#define ERROR_FILE_EXISTS 80
#define ERROR_INVALID_PARAMETER 87
#define ERROR_BROKEN_PIPE 109
#define ERROR_OPEN_FAILED 110
#define ERROR_BUFFER_OVERFLOW 111
#define ERROR_DISK_FULL 112
#define ERROR_CALL_NOT_IMPLEMENTED 120
#define ERROR_SEM_TIMEOUT 121
#define ERROR_INSUFFICIENT_BUFFER 122
#define ERROR_INVALID_NAME 123
#define ERROR_MOD_NOT_FOUND 126
#define ERROR_DISCARDED 157
#define ERROR_NOT_LOCKED 158
#define ERROR_DIRECTORY 267
#define ERROR_BAD_PATHNAME 161
#define ERROR_BUSY 170
#define ERROR_ALREADY_EXISTS 183
#define ERROR_FILENAME_EXCED_RANGE 206
#define ERROR_BAD_EXE_FORMAT 193
#define ERROR_PIPE_LOCAL 229
#define ERROR_BAD_PIPE 230
#define ERROR_PIPE_BUSY 231
#define ERROR_NO_DATA 232
#define ERROR_PIPE_NOT_CONNECTED 233
#define ERROR_MORE_DATA 234
#define ERROR_NO_MORE_ITEMS 259
#define ERROR_PIPE_CONNECTED 535
#define ERROR_PIPE_LISTENING 536
#define ERROR_OPERATION_ABORTED 995
#define ERROR_IO_INCOMPLETE 996
#define ERROR_IO_PENDING 997
#define ERROR_NOACCESS 998
#define ERROR_INVALID_FLAGS 1004
#define ERROR_INVALID_USER_BUFFER 1784
#define ERROR_SERVICE_NOT_ACTIVE 1062
#define ERROR_NOT_FOUND 1168
#define ERROR_ABANDONED_WAIT_0 735
#define ERROR_CONNECTION_REFUSED 1225
#define ERROR_CONNECTION_ABORTED 1236
#define ERROR_INVALID_OWNER 1307
#define ERROR_PRIVILEGE_NOT_HELD 1314
#define ERROR_NOT_ENOUGH_QUOTA 1816
#define ERROR_NONE_MAPPED 1332
#define ERROR_LOGON_FAILURE 1326
#define ERROR_PASSWORD_EXPIRED 1330
#define ERROR_ACCOUNT_DISABLED 1331
#define ERROR_NO_SYSTEM_RESOURCES 1450
#define ERROR_MR_MID_NOT_FOUND 317
#define ERROR_NOT_CONNECTED 2250
#define ERROR_INVALID_MSGBOX_STYLE 1438
#define ERROR_BAD_IMPERSONATION_LEVEL 1346
#define ERROR_INTERNAL_ERROR 1359
#define ERROR_CANNOT_IMPERSONATE 1368
#define ERROR_TIMEOUT 1460
#define ERROR_INVALID_STATE 5023

/* NTSTATUS values that appear in OVERLAPPED.Internal. */
#define STATUS_SUCCESS ((DWORD)0x00000000)
#define STATUS_WAIT_0 ((DWORD)0x00000000)
#define STATUS_ABANDONED_WAIT_0 ((DWORD)0x00000080)
#define STATUS_USER_APC ((DWORD)0x000000C0)
#define STATUS_TIMEOUT ((DWORD)0x00000102)
#define STATUS_PENDING ((DWORD)0x00000103)
#define STATUS_BUFFER_OVERFLOW ((DWORD)0x80000005)
#define STATUS_INVALID_HANDLE ((DWORD)0xC0000008)
#define STATUS_INVALID_PARAMETER ((DWORD)0xC000000D)
#define STATUS_ACCESS_DENIED ((DWORD)0xC0000022)
#define STATUS_OBJECT_NAME_INVALID ((DWORD)0xC0000033)
#define STATUS_OBJECT_NAME_NOT_FOUND ((DWORD)0xC0000034)
#define STATUS_INSTANCE_NOT_AVAILABLE ((DWORD)0xC00000AB)
#define STATUS_PIPE_NOT_AVAILABLE ((DWORD)0xC00000AC)
#define STATUS_INVALID_PIPE_STATE ((DWORD)0xC00000AD)
#define STATUS_PIPE_BUSY ((DWORD)0xC00000AE)
#define STATUS_ILLEGAL_FUNCTION ((DWORD)0xC00000AF)
#define STATUS_PIPE_DISCONNECTED ((DWORD)0xC00000B0)
#define STATUS_PIPE_CLOSING ((DWORD)0xC00000B1)
#define STATUS_PIPE_CONNECTED ((DWORD)0xC00000B2)
#define STATUS_PIPE_LISTENING ((DWORD)0xC00000B3)
#define STATUS_IO_TIMEOUT ((DWORD)0xC00000B5)
#define STATUS_PIPE_BROKEN ((DWORD)0xC000014B)
#define STATUS_CANCELLED ((DWORD)0xC0000120)
#define STATUS_NO_MEMORY ((DWORD)0xC0000017)

#define HasOverlappedIoCompleted(lpOverlapped) ((DWORD)(lpOverlapped)->Internal != STATUS_PENDING)

/* HRESULT (strsafe.h and friends). */
#define S_OK ((HRESULT)0)
#define S_FALSE ((HRESULT)1)
#define SUCCEEDED(hr) (((HRESULT)(hr)) >= 0)
#define FAILED(hr) (((HRESULT)(hr)) < 0)
#define HRESULT_FROM_WIN32(x)                                                                     \
    ((HRESULT)(x) <= 0 ? ((HRESULT)(x)) : ((HRESULT)(((x)&0x0000FFFF) | (7 << 16) | 0x80000000)))

/* ---- access rights, file creation ------------------------------------------------------- */
#define DELETE 0x00010000u
#define READ_CONTROL 0x00020000u
#define WRITE_DAC 0x00040000u
#define WRITE_OWNER 0x00080000u
#define SYNCHRONIZE 0x00100000u
#define STANDARD_RIGHTS_REQUIRED 0x000F0000u
#define STANDARD_RIGHTS_READ READ_CONTROL
#define STANDARD_RIGHTS_WRITE READ_CONTROL
#define STANDARD_RIGHTS_EXECUTE READ_CONTROL
#define STANDARD_RIGHTS_ALL 0x001F0000u
#define ACCESS_SYSTEM_SECURITY 0x01000000u
#define MAXIMUM_ALLOWED 0x02000000u
#define GENERIC_READ 0x80000000u
#define GENERIC_WRITE 0x40000000u
#define GENERIC_EXECUTE 0x20000000u
#define GENERIC_ALL 0x10000000u

#define FILE_READ_DATA 0x0001u
#define FILE_LIST_DIRECTORY 0x0001u
#define FILE_WRITE_DATA 0x0002u
#define FILE_ADD_FILE 0x0002u
#define FILE_APPEND_DATA 0x0004u
#define FILE_ADD_SUBDIRECTORY 0x0004u
#define FILE_CREATE_PIPE_INSTANCE 0x0004u
#define FILE_READ_EA 0x0008u
#define FILE_WRITE_EA 0x0010u
#define FILE_EXECUTE 0x0020u
#define FILE_READ_ATTRIBUTES 0x0080u
#define FILE_WRITE_ATTRIBUTES 0x0100u
#define FILE_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x1FFu)
#define FILE_GENERIC_READ                                                                         \
    (STANDARD_RIGHTS_READ | FILE_READ_DATA | FILE_READ_ATTRIBUTES | FILE_READ_EA | SYNCHRONIZE)
#define FILE_GENERIC_WRITE                                                                        \
    (STANDARD_RIGHTS_WRITE | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES | FILE_WRITE_EA |             \
     FILE_APPEND_DATA | SYNCHRONIZE)
#define FILE_GENERIC_EXECUTE                                                                      \
    (STANDARD_RIGHTS_EXECUTE | FILE_READ_ATTRIBUTES | FILE_EXECUTE | SYNCHRONIZE)

#define FILE_TYPE_UNKNOWN 0x0000u
#define FILE_TYPE_DISK 0x0001u
#define FILE_TYPE_CHAR 0x0002u
#define FILE_TYPE_PIPE 0x0003u

#define FILE_SHARE_READ 0x00000001u
#define FILE_SHARE_WRITE 0x00000002u
#define FILE_SHARE_DELETE 0x00000004u

#define CREATE_NEW 1
#define CREATE_ALWAYS 2
#define OPEN_EXISTING 3
#define OPEN_ALWAYS 4
#define TRUNCATE_EXISTING 5

#define FILE_ATTRIBUTE_READONLY 0x00000001u
#define FILE_ATTRIBUTE_HIDDEN 0x00000002u
#define FILE_ATTRIBUTE_SYSTEM 0x00000004u
#define FILE_ATTRIBUTE_ARCHIVE 0x00000020u
#define FILE_ATTRIBUTE_NORMAL 0x00000080u
#define FILE_ATTRIBUTE_TEMPORARY 0x00000100u
#define FILE_FLAG_WRITE_THROUGH 0x80000000u
#define FILE_FLAG_OVERLAPPED 0x40000000u
#define FILE_FLAG_NO_BUFFERING 0x20000000u
#define FILE_FLAG_RANDOM_ACCESS 0x10000000u
#define FILE_FLAG_SEQUENTIAL_SCAN 0x08000000u
#define FILE_FLAG_DELETE_ON_CLOSE 0x04000000u
#define FILE_FLAG_BACKUP_SEMANTICS 0x02000000u
#define FILE_FLAG_POSIX_SEMANTICS 0x01000000u
#define FILE_FLAG_OPEN_REPARSE_POINT 0x00200000u
#define FILE_FLAG_OPEN_NO_RECALL 0x00100000u
#define FILE_FLAG_FIRST_PIPE_INSTANCE 0x00080000u

/* Security quality of service (CreateFile's dwFlagsAndAttributes on a pipe name). */
#define SECURITY_ANONYMOUS (0 << 16)
#define SECURITY_IDENTIFICATION (1 << 16)
#define SECURITY_IMPERSONATION (2 << 16)
#define SECURITY_DELEGATION (3 << 16)
#define SECURITY_CONTEXT_TRACKING 0x00040000u
#define SECURITY_EFFECTIVE_ONLY 0x00080000u
#define SECURITY_SQOS_PRESENT 0x00100000u
#define SECURITY_VALID_SQOS_FLAGS 0x001F0000u

/* ---- pipes ------------------------------------------------------------------------------- */
#define PIPE_ACCESS_INBOUND 0x00000001u
#define PIPE_ACCESS_OUTBOUND 0x00000002u
#define PIPE_ACCESS_DUPLEX 0x00000003u
#define PIPE_CLIENT_END 0x00000000u
#define PIPE_SERVER_END 0x00000001u
#define PIPE_WAIT 0x00000000u
#define PIPE_NOWAIT 0x00000001u
#define PIPE_READMODE_BYTE 0x00000000u
#define PIPE_READMODE_MESSAGE 0x00000002u
#define PIPE_TYPE_BYTE 0x00000000u
#define PIPE_TYPE_MESSAGE 0x00000004u
#define PIPE_ACCEPT_REMOTE_CLIENTS 0x00000000u
#define PIPE_REJECT_REMOTE_CLIENTS 0x00000008u
/* npipe's own pipe-mode bit, not Windows': export the pipe to SMB clients through Samba's smbd
 * (server_options::remote; the broker must serve smbd too: npiped --samba). A Windows pipe takes
 * remote clients unless PIPE_REJECT_REMOTE_CLIENTS says otherwise; an npipe pipe only with this,
 * and PIPE_REJECT_REMOTE_CLIENTS wins over it. */
#define NPIPE_PIPE_EXPORT_REMOTE 0x00010000u
#define PIPE_UNLIMITED_INSTANCES 255
#define NMPWAIT_WAIT_FOREVER 0xFFFFFFFFu
#define NMPWAIT_NOWAIT 0x00000001u
#define NMPWAIT_USE_DEFAULT_WAIT 0x00000000u

/* ---- handles ----------------------------------------------------------------------------- */
#define HANDLE_FLAG_INHERIT 0x00000001u
#define HANDLE_FLAG_PROTECT_FROM_CLOSE 0x00000002u
#define DUPLICATE_CLOSE_SOURCE 0x00000001u
#define DUPLICATE_SAME_ACCESS 0x00000002u
#define STD_INPUT_HANDLE ((DWORD)-10)
#define STD_OUTPUT_HANDLE ((DWORD)-11)
#define STD_ERROR_HANDLE ((DWORD)-12)

/* ---- waiting ----------------------------------------------------------------------------- */
#define MAXIMUM_WAIT_OBJECTS 64
#define WAIT_OBJECT_0 ((DWORD)0x00000000)
#define WAIT_ABANDONED ((DWORD)0x00000080)
#define WAIT_ABANDONED_0 ((DWORD)0x00000080)
#define WAIT_IO_COMPLETION ((DWORD)0x000000C0)
#define WAIT_TIMEOUT ((DWORD)258)
#define WAIT_FAILED ((DWORD)0xFFFFFFFF)
#define STILL_ACTIVE ((DWORD)259)
#define EVENT_ALL_ACCESS 0x001F0003u
#define EVENT_MODIFY_STATE 0x00000002u

/* ---- processes and threads --------------------------------------------------------------- */
#define DEBUG_PROCESS 0x00000001u
#define DEBUG_ONLY_THIS_PROCESS 0x00000002u
#define CREATE_SUSPENDED 0x00000004u
#define DETACHED_PROCESS 0x00000008u
#define CREATE_NEW_CONSOLE 0x00000010u
#define NORMAL_PRIORITY_CLASS 0x00000020u
#define IDLE_PRIORITY_CLASS 0x00000040u
#define HIGH_PRIORITY_CLASS 0x00000080u
#define CREATE_NEW_PROCESS_GROUP 0x00000200u
#define CREATE_UNICODE_ENVIRONMENT 0x00000400u
#define CREATE_DEFAULT_ERROR_MODE 0x04000000u
#define CREATE_NO_WINDOW 0x08000000u
#define EXTENDED_STARTUPINFO_PRESENT 0x00080000u
#define STACK_SIZE_PARAM_IS_A_RESERVATION 0x00010000u
#define STARTF_USESHOWWINDOW 0x00000001u
#define STARTF_USESIZE 0x00000002u
#define STARTF_USEPOSITION 0x00000004u
#define STARTF_USESTDHANDLES 0x00000100u
#define SW_HIDE 0
#define SW_SHOWNORMAL 1
#define SW_SHOW 5
#define PROCESS_ALL_ACCESS 0x001FFFFFu
#define THREAD_ALL_ACCESS 0x001FFFFFu

/* ---- memory ------------------------------------------------------------------------------ */
#define HEAP_NO_SERIALIZE 0x00000001u
#define HEAP_GENERATE_EXCEPTIONS 0x00000004u
#define HEAP_ZERO_MEMORY 0x00000008u
#define LMEM_FIXED 0x0000u
#define LMEM_MOVEABLE 0x0002u
#define LMEM_ZEROINIT 0x0040u
#define LMEM_NOCOMPACT 0x0010u
#define LMEM_NODISCARD 0x0020u
#define LMEM_MODIFY 0x0080u
#define LMEM_DISCARDABLE 0x0F00u
#define LMEM_LOCKCOUNT 0x00FFu
#define LMEM_INVALID_HANDLE 0x8000u
#define LPTR (LMEM_FIXED | LMEM_ZEROINIT)
#define LHND (LMEM_MOVEABLE | LMEM_ZEROINIT)
#define NONZEROLPTR LMEM_FIXED
#define NONZEROLHND LMEM_MOVEABLE
#define GMEM_FIXED 0x0000u
#define GMEM_MOVEABLE 0x0002u
#define GMEM_NOCOMPACT 0x0010u
#define GMEM_NODISCARD 0x0020u
#define GMEM_ZEROINIT 0x0040u
#define GMEM_MODIFY 0x0080u
#define GMEM_DISCARDABLE 0x0100u
#define GMEM_DDESHARE 0x2000u
#define GMEM_SHARE 0x2000u
#define GMEM_LOCKCOUNT 0x00FFu
#define GMEM_INVALID_HANDLE 0x8000u
#define GPTR (GMEM_FIXED | GMEM_ZEROINIT)
#define GHND (GMEM_MOVEABLE | GMEM_ZEROINIT)

/* ---- MessageBox (winuser.h) -------------------------------------------------------------- */
#define MB_OK 0x00000000u
#define MB_OKCANCEL 0x00000001u
#define MB_ABORTRETRYIGNORE 0x00000002u
#define MB_YESNOCANCEL 0x00000003u
#define MB_YESNO 0x00000004u
#define MB_RETRYCANCEL 0x00000005u
#define MB_CANCELTRYCONTINUE 0x00000006u
#define MB_ICONHAND 0x00000010u
#define MB_ICONQUESTION 0x00000020u
#define MB_ICONEXCLAMATION 0x00000030u
#define MB_ICONASTERISK 0x00000040u
#define MB_USERICON 0x00000080u
#define MB_ICONWARNING MB_ICONEXCLAMATION
#define MB_ICONERROR MB_ICONHAND
#define MB_ICONINFORMATION MB_ICONASTERISK
#define MB_ICONSTOP MB_ICONHAND
#define MB_DEFBUTTON1 0x00000000u
#define MB_DEFBUTTON2 0x00000100u
#define MB_DEFBUTTON3 0x00000200u
#define MB_DEFBUTTON4 0x00000300u
#define MB_APPLMODAL 0x00000000u
#define MB_SYSTEMMODAL 0x00001000u
#define MB_TASKMODAL 0x00002000u
#define MB_HELP 0x00004000u
#define MB_NOFOCUS 0x00008000u
#define MB_SETFOREGROUND 0x00010000u
#define MB_DEFAULT_DESKTOP_ONLY 0x00020000u
#define MB_TOPMOST 0x00040000u
#define MB_RIGHT 0x00080000u
#define MB_RTLREADING 0x00100000u
#define MB_SERVICE_NOTIFICATION 0x00200000u
#define MB_TYPEMASK 0x0000000Fu
#define MB_ICONMASK 0x000000F0u
#define MB_DEFMASK 0x00000F00u
#define MB_MODEMASK 0x00003000u
#define MB_MISCMASK 0x0000C000u
#define IDOK 1
#define IDCANCEL 2
#define IDABORT 3
#define IDRETRY 4
#define IDIGNORE 5
#define IDYES 6
#define IDNO 7
#define IDCLOSE 8
#define IDHELP 9
#define IDTRYAGAIN 10
#define IDCONTINUE 11
#define IDTIMEOUT 32000

/* ---- GetSystemInfo ----------------------------------------------------------------------- */
#define PROCESSOR_ARCHITECTURE_INTEL 0
#define PROCESSOR_ARCHITECTURE_ARM 5
#define PROCESSOR_ARCHITECTURE_IA64 6
#define PROCESSOR_ARCHITECTURE_AMD64 9
#define PROCESSOR_ARCHITECTURE_ARM64 12
#define PROCESSOR_ARCHITECTURE_UNKNOWN 0xFFFF
#define PROCESSOR_INTEL_386 386
#define PROCESSOR_INTEL_486 486
#define PROCESSOR_INTEL_PENTIUM 586
#define PROCESSOR_AMD_X8664 8664

typedef struct _SYSTEM_INFO {
    __extension__ union {
        DWORD dwOemId;
        __extension__ struct {
            WORD wProcessorArchitecture;
            WORD wReserved;
        };
    };
    DWORD dwPageSize;
    LPVOID lpMinimumApplicationAddress;
    LPVOID lpMaximumApplicationAddress;
    DWORD_PTR dwActiveProcessorMask;
    DWORD dwNumberOfProcessors;
    DWORD dwProcessorType;
    DWORD dwAllocationGranularity;
    WORD wProcessorLevel;
    WORD wProcessorRevision;
} SYSTEM_INFO, *LPSYSTEM_INFO;

/* ---- FormatMessage ----------------------------------------------------------------------- */
#define FORMAT_MESSAGE_ALLOCATE_BUFFER 0x00000100u
#define FORMAT_MESSAGE_IGNORE_INSERTS 0x00000200u
#define FORMAT_MESSAGE_FROM_STRING 0x00000400u
#define FORMAT_MESSAGE_FROM_HMODULE 0x00000800u
#define FORMAT_MESSAGE_FROM_SYSTEM 0x00001000u
#define FORMAT_MESSAGE_ARGUMENT_ARRAY 0x00002000u
#define FORMAT_MESSAGE_MAX_WIDTH_MASK 0x000000FFu
#define LANG_NEUTRAL 0x00
#define SUBLANG_DEFAULT 0x01
#define MAKELANGID(p, s) ((((WORD)(s)) << 10) | (WORD)(p))

/* ======================================================================================== */
/* Functions                                                                                  */
/* ======================================================================================== */

/* ---- errors ------------------------------------------------------------------------------ */
NPIPE_C_API DWORD WINAPI GetLastError(void);
NPIPE_C_API VOID WINAPI SetLastError(DWORD dwErrCode);
/* FROM_SYSTEM (with IGNORE_INSERTS) and ALLOCATE_BUFFER: the text of a Win32 error number. */
NPIPE_C_API DWORD WINAPI FormatMessageA(DWORD dwFlags, LPCVOID lpSource, DWORD dwMessageId,
                                        DWORD dwLanguageId, LPSTR lpBuffer, DWORD nSize,
                                        va_list* Arguments);
NPIPE_C_API DWORD WINAPI FormatMessageW(DWORD dwFlags, LPCVOID lpSource, DWORD dwMessageId,
                                        DWORD dwLanguageId, LPWSTR lpBuffer, DWORD nSize,
                                        va_list* Arguments);

/* ---- named pipes ------------------------------------------------------------------------- */
NPIPE_C_API HANDLE WINAPI CreateNamedPipeA(LPCSTR lpName, DWORD dwOpenMode, DWORD dwPipeMode,
                                           DWORD nMaxInstances, DWORD nOutBufferSize,
                                           DWORD nInBufferSize, DWORD nDefaultTimeOut,
                                           LPSECURITY_ATTRIBUTES lpSecurityAttributes);
NPIPE_C_API HANDLE WINAPI CreateNamedPipeW(LPCWSTR lpName, DWORD dwOpenMode, DWORD dwPipeMode,
                                           DWORD nMaxInstances, DWORD nOutBufferSize,
                                           DWORD nInBufferSize, DWORD nDefaultTimeOut,
                                           LPSECURITY_ATTRIBUTES lpSecurityAttributes);
NPIPE_C_API BOOL WINAPI ConnectNamedPipe(HANDLE hNamedPipe, LPOVERLAPPED lpOverlapped);
NPIPE_C_API BOOL WINAPI DisconnectNamedPipe(HANDLE hNamedPipe);
NPIPE_C_API BOOL WINAPI WaitNamedPipeA(LPCSTR lpNamedPipeName, DWORD nTimeOut);
NPIPE_C_API BOOL WINAPI WaitNamedPipeW(LPCWSTR lpNamedPipeName, DWORD nTimeOut);
NPIPE_C_API BOOL WINAPI CallNamedPipeA(LPCSTR lpNamedPipeName, LPVOID lpInBuffer,
                                       DWORD nInBufferSize, LPVOID lpOutBuffer,
                                       DWORD nOutBufferSize, LPDWORD lpBytesRead, DWORD nTimeOut);
NPIPE_C_API BOOL WINAPI CallNamedPipeW(LPCWSTR lpNamedPipeName, LPVOID lpInBuffer,
                                       DWORD nInBufferSize, LPVOID lpOutBuffer,
                                       DWORD nOutBufferSize, LPDWORD lpBytesRead, DWORD nTimeOut);
NPIPE_C_API BOOL WINAPI TransactNamedPipe(HANDLE hNamedPipe, LPVOID lpInBuffer,
                                          DWORD nInBufferSize, LPVOID lpOutBuffer,
                                          DWORD nOutBufferSize, LPDWORD lpBytesRead,
                                          LPOVERLAPPED lpOverlapped);
NPIPE_C_API BOOL WINAPI PeekNamedPipe(HANDLE hNamedPipe, LPVOID lpBuffer, DWORD nBufferSize,
                                      LPDWORD lpBytesRead, LPDWORD lpTotalBytesAvail,
                                      LPDWORD lpBytesLeftThisMessage);
NPIPE_C_API BOOL WINAPI GetNamedPipeInfo(HANDLE hNamedPipe, LPDWORD lpFlags,
                                         LPDWORD lpOutBufferSize, LPDWORD lpInBufferSize,
                                         LPDWORD lpMaxInstances);
NPIPE_C_API BOOL WINAPI GetNamedPipeHandleStateA(HANDLE hNamedPipe, LPDWORD lpState,
                                                 LPDWORD lpCurInstances,
                                                 LPDWORD lpMaxCollectionCount,
                                                 LPDWORD lpCollectDataTimeout, LPSTR lpUserName,
                                                 DWORD nMaxUserNameSize);
NPIPE_C_API BOOL WINAPI GetNamedPipeHandleStateW(HANDLE hNamedPipe, LPDWORD lpState,
                                                 LPDWORD lpCurInstances,
                                                 LPDWORD lpMaxCollectionCount,
                                                 LPDWORD lpCollectDataTimeout, LPWSTR lpUserName,
                                                 DWORD nMaxUserNameSize);
NPIPE_C_API BOOL WINAPI SetNamedPipeHandleState(HANDLE hNamedPipe, LPDWORD lpMode,
                                                LPDWORD lpMaxCollectionCount,
                                                LPDWORD lpCollectDataTimeout);
/* The ids (and the session ids below) outlive a close of either end, not a DisconnectNamedPipe:
 * a server end with no client (disconnected, or listening) has no client id, ERROR_NOT_FOUND,
 * and a client end its server disconnected has neither, ERROR_PIPE_NOT_CONNECTED. A NULL
 * output is ERROR_INSUFFICIENT_BUFFER. */
NPIPE_C_API BOOL WINAPI GetNamedPipeClientProcessId(HANDLE Pipe, PULONG ClientProcessId);
NPIPE_C_API BOOL WINAPI GetNamedPipeServerProcessId(HANDLE Pipe, PULONG ServerProcessId);
/* For a remote client (an SMB client through smbd): 0 for both, since there is no process or
 * session of it on this machine and smbd passes on none of the client's (see the README). */
NPIPE_C_API BOOL WINAPI GetNamedPipeClientSessionId(HANDLE Pipe, PULONG ClientSessionId);
/* The remote client's computer name as smbd gives it (its address when smbd has no name);
 * ClientComputerNameLength is the buffer's size in bytes for both. ERROR_PIPE_LOCAL unless the
 * handle is a server end with a remote client connected (local clients, client ends and
 * anonymous pipes, as on Windows); ERROR_INSUFFICIENT_BUFFER when the name and its NUL do not
 * fit. */
NPIPE_C_API BOOL WINAPI GetNamedPipeClientComputerNameA(HANDLE Pipe, LPSTR ClientComputerName,
                                                        ULONG ClientComputerNameLength);
NPIPE_C_API BOOL WINAPI GetNamedPipeClientComputerNameW(HANDLE Pipe, LPWSTR ClientComputerName,
                                                        ULONG ClientComputerNameLength);
NPIPE_C_API BOOL WINAPI GetNamedPipeServerSessionId(HANDLE Pipe, PULONG ServerSessionId);
/* The calling thread alone acts as the client: only when the client allowed impersonation
 * (SECURITY_SQOS_PRESENT | SECURITY_IMPERSONATION or _DELEGATION; npipe's default is
 * identification), something was read from it, and this process holds CAP_SETUID+CAP_SETGID
 * (or the client is the same user). Otherwise FALSE with ERROR_CANNOT_IMPERSONATE. */
NPIPE_C_API BOOL WINAPI ImpersonateNamedPipeClient(HANDLE hNamedPipe);
NPIPE_C_API BOOL WINAPI RevertToSelf(void);
/* The calling thread's user (the client's while impersonating). */
NPIPE_C_API BOOL WINAPI GetUserNameA(LPSTR lpBuffer, LPDWORD pcbBuffer);
NPIPE_C_API BOOL WINAPI GetUserNameW(LPWSTR lpBuffer, LPDWORD pcbBuffer);

/* ---- anonymous pipes --------------------------------------------------------------------- */
NPIPE_C_API BOOL WINAPI CreatePipe(PHANDLE hReadPipe, PHANDLE hWritePipe,
                                   LPSECURITY_ATTRIBUTES lpPipeAttributes, DWORD nSize);

/* ---- files and I/O ----------------------------------------------------------------------- */
/* On a `\\.\pipe\NAME` path: opens the client end of a named pipe. Any other path: a file. */
NPIPE_C_API HANDLE WINAPI CreateFileA(LPCSTR lpFileName, DWORD dwDesiredAccess,
                                      DWORD dwShareMode,
                                      LPSECURITY_ATTRIBUTES lpSecurityAttributes,
                                      DWORD dwCreationDisposition, DWORD dwFlagsAndAttributes,
                                      HANDLE hTemplateFile);
NPIPE_C_API HANDLE WINAPI CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess,
                                      DWORD dwShareMode,
                                      LPSECURITY_ATTRIBUTES lpSecurityAttributes,
                                      DWORD dwCreationDisposition, DWORD dwFlagsAndAttributes,
                                      HANDLE hTemplateFile);
NPIPE_C_API BOOL WINAPI ReadFile(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead,
                                 LPDWORD lpNumberOfBytesRead, LPOVERLAPPED lpOverlapped);
NPIPE_C_API BOOL WINAPI WriteFile(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite,
                                  LPDWORD lpNumberOfBytesWritten, LPOVERLAPPED lpOverlapped);
NPIPE_C_API BOOL WINAPI FlushFileBuffers(HANDLE hFile);
NPIPE_C_API BOOL WINAPI GetOverlappedResult(HANDLE hFile, LPOVERLAPPED lpOverlapped,
                                            LPDWORD lpNumberOfBytesTransferred, BOOL bWait);
NPIPE_C_API BOOL WINAPI GetOverlappedResultEx(HANDLE hFile, LPOVERLAPPED lpOverlapped,
                                              LPDWORD lpNumberOfBytesTransferred, DWORD dwMilliseconds,
                                              BOOL bAlertable);
NPIPE_C_API BOOL WINAPI ReadFileEx(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead,
                                   LPOVERLAPPED lpOverlapped,
                                   LPOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);
NPIPE_C_API BOOL WINAPI WriteFileEx(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite,
                                    LPOVERLAPPED lpOverlapped,
                                    LPOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);
/* CancelIo: the calling thread's pending operations on hFile; CancelIoEx: one (lpOverlapped) or
 * all of them, whoever started them; CancelSynchronousIo: a thread blocked in a synchronous call. */
NPIPE_C_API BOOL WINAPI CancelIo(HANDLE hFile);
NPIPE_C_API BOOL WINAPI CancelIoEx(HANDLE hFile, LPOVERLAPPED lpOverlapped);
/* The thread hThread (THREAD_TERMINATE access on Windows; any thread handle here) is blocked in
 * a synchronous ReadFile, WriteFile, TransactNamedPipe, FlushFileBuffers, ConnectNamedPipe or
 * WaitNamedPipe on a named pipe: that call returns FALSE with ERROR_OPERATION_ABORTED (a message
 * write that has started to go out still goes out whole). FALSE with ERROR_NOT_FOUND when the
 * thread is in no such call; ERROR_INVALID_HANDLE when hThread is not a thread. */
NPIPE_C_API BOOL WINAPI CancelSynchronousIo(HANDLE hThread);

/* ---- I/O completion ports ---------------------------------------------------------------- */
#define FILE_SKIP_COMPLETION_PORT_ON_SUCCESS 0x1
#define FILE_SKIP_SET_EVENT_ON_HANDLE 0x2
NPIPE_C_API HANDLE WINAPI CreateIoCompletionPort(HANDLE FileHandle, HANDLE ExistingCompletionPort,
                                                 ULONG_PTR CompletionKey, DWORD NumberOfConcurrentThreads);
NPIPE_C_API BOOL WINAPI GetQueuedCompletionStatus(HANDLE CompletionPort, LPDWORD lpNumberOfBytesTransferred,
                                                  PULONG_PTR lpCompletionKey, LPOVERLAPPED* lpOverlapped,
                                                  DWORD dwMilliseconds);
NPIPE_C_API BOOL WINAPI GetQueuedCompletionStatusEx(HANDLE CompletionPort, LPOVERLAPPED_ENTRY lpCompletionPortEntries,
                                                    ULONG ulCount, PULONG ulNumEntriesRemoved,
                                                    DWORD dwMilliseconds, BOOL fAlertable);
NPIPE_C_API BOOL WINAPI PostQueuedCompletionStatus(HANDLE CompletionPort, DWORD dwNumberOfBytesTransferred,
                                                   ULONG_PTR dwCompletionKey, LPOVERLAPPED lpOverlapped);
NPIPE_C_API BOOL WINAPI SetFileCompletionNotificationModes(HANDLE FileHandle, UCHAR Flags);

NPIPE_C_API HANDLE WINAPI GetStdHandle(DWORD nStdHandle);
NPIPE_C_API DWORD WINAPI GetFileType(HANDLE hFile);
NPIPE_C_API BOOL WINAPI SetStdHandle(DWORD nStdHandle, HANDLE hHandle);

/* ---- handles ----------------------------------------------------------------------------- */
NPIPE_C_API BOOL WINAPI CloseHandle(HANDLE hObject);
NPIPE_C_API BOOL WINAPI DuplicateHandle(HANDLE hSourceProcessHandle, HANDLE hSourceHandle,
                                        HANDLE hTargetProcessHandle, LPHANDLE lpTargetHandle,
                                        DWORD dwDesiredAccess, BOOL bInheritHandle,
                                        DWORD dwOptions);
NPIPE_C_API BOOL WINAPI GetHandleInformation(HANDLE hObject, LPDWORD lpdwFlags);
NPIPE_C_API BOOL WINAPI SetHandleInformation(HANDLE hObject, DWORD dwMask, DWORD dwFlags);

/* ---- events and waiting ------------------------------------------------------------------ */
/* Named events (lpName != NULL) are not supported: NULL with ERROR_NOT_SUPPORTED. */
NPIPE_C_API HANDLE WINAPI CreateEventA(LPSECURITY_ATTRIBUTES lpEventAttributes,
                                       BOOL bManualReset, BOOL bInitialState, LPCSTR lpName);
NPIPE_C_API HANDLE WINAPI CreateEventW(LPSECURITY_ATTRIBUTES lpEventAttributes,
                                       BOOL bManualReset, BOOL bInitialState, LPCWSTR lpName);
NPIPE_C_API BOOL WINAPI SetEvent(HANDLE hEvent);
NPIPE_C_API BOOL WINAPI ResetEvent(HANDLE hEvent);
NPIPE_C_API DWORD WINAPI WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds);
NPIPE_C_API DWORD WINAPI WaitForSingleObjectEx(HANDLE hHandle, DWORD dwMilliseconds,
                                               BOOL bAlertable);
NPIPE_C_API DWORD WINAPI WaitForMultipleObjects(DWORD nCount, const HANDLE* lpHandles,
                                                BOOL bWaitAll, DWORD dwMilliseconds);
NPIPE_C_API DWORD WINAPI WaitForMultipleObjectsEx(DWORD nCount, const HANDLE* lpHandles,
                                                  BOOL bWaitAll, DWORD dwMilliseconds,
                                                  BOOL bAlertable);
NPIPE_C_API VOID WINAPI Sleep(DWORD dwMilliseconds);
/* Milliseconds since boot (CLOCK_MONOTONIC); GetTickCount wraps after 49.7 days. */
NPIPE_C_API DWORD WINAPI GetTickCount(void);
NPIPE_C_API ULONGLONG WINAPI GetTickCount64(void);
NPIPE_C_API DWORD WINAPI SleepEx(DWORD dwMilliseconds, BOOL bAlertable);
NPIPE_C_API DWORD WINAPI QueueUserAPC(PAPCFUNC pfnAPC, HANDLE hThread, ULONG_PTR dwData);

/* ---- threads ----------------------------------------------------------------------------- */
NPIPE_C_API HANDLE WINAPI CreateThread(LPSECURITY_ATTRIBUTES lpThreadAttributes,
                                       SIZE_T dwStackSize, LPTHREAD_START_ROUTINE lpStartAddress,
                                       LPVOID lpParameter, DWORD dwCreationFlags,
                                       LPDWORD lpThreadId);
NPIPE_C_API __attribute__((noreturn)) VOID WINAPI ExitThread(DWORD dwExitCode);
NPIPE_C_API BOOL WINAPI GetExitCodeThread(HANDLE hThread, LPDWORD lpExitCode);
NPIPE_C_API HANDLE WINAPI GetCurrentThread(void);
NPIPE_C_API DWORD WINAPI GetCurrentThreadId(void);

/* ---- critical sections ------------------------------------------------------------------- */
/* Windows' layout (40 bytes on 64-bit); the fields are the implementation's, as on Windows:
 * read none of them. A critical section is recursive: the owning thread may enter it again and
 * leaves it as often as it entered. Initialize before use, Delete when no thread uses it any
 * more. Entering spins up to SpinCount times before it sleeps. Leave by a thread that does not
 * own it is a programming error (Windows' behaviour is undefined). */
typedef struct _RTL_CRITICAL_SECTION_DEBUG* PRTL_CRITICAL_SECTION_DEBUG;
typedef struct _RTL_CRITICAL_SECTION {
    PRTL_CRITICAL_SECTION_DEBUG DebugInfo;
    LONG LockCount;
    LONG RecursionCount;
    HANDLE OwningThread;
    HANDLE LockSemaphore;
    ULONG_PTR SpinCount;
} RTL_CRITICAL_SECTION, *PRTL_CRITICAL_SECTION;
typedef RTL_CRITICAL_SECTION CRITICAL_SECTION;
typedef PRTL_CRITICAL_SECTION PCRITICAL_SECTION;
typedef PRTL_CRITICAL_SECTION LPCRITICAL_SECTION;
#define CRITICAL_SECTION_NO_DEBUG_INFO 0x01000000
NPIPE_C_API VOID WINAPI InitializeCriticalSection(LPCRITICAL_SECTION lpCriticalSection);
NPIPE_C_API BOOL WINAPI InitializeCriticalSectionAndSpinCount(LPCRITICAL_SECTION lpCriticalSection,
                                                              DWORD dwSpinCount);
/* dwFlags: 0 or CRITICAL_SECTION_NO_DEBUG_INFO; anything else is ERROR_INVALID_PARAMETER. */
NPIPE_C_API BOOL WINAPI InitializeCriticalSectionEx(LPCRITICAL_SECTION lpCriticalSection,
                                                    DWORD dwSpinCount, DWORD Flags);
/* Returns the previous spin count. */
NPIPE_C_API DWORD WINAPI SetCriticalSectionSpinCount(LPCRITICAL_SECTION lpCriticalSection,
                                                     DWORD dwSpinCount);
NPIPE_C_API VOID WINAPI EnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection);
/* TRUE when the calling thread now owns it (also when it already did); FALSE at once otherwise. */
NPIPE_C_API BOOL WINAPI TryEnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection);
NPIPE_C_API VOID WINAPI LeaveCriticalSection(LPCRITICAL_SECTION lpCriticalSection);
NPIPE_C_API VOID WINAPI DeleteCriticalSection(LPCRITICAL_SECTION lpCriticalSection);

/* ---- interlocked operations -------------------------------------------------------------- */
/* Full-barrier atomic operations, as Windows' compiler intrinsics: inline here, on naturally
 * aligned variables (32-bit LONG, 64-bit LONG64, pointers). Each returns what Windows'
 * returns: Increment/Decrement/Add the new value; Exchange, ExchangeAdd, CompareExchange, And,
 * Or, Xor the value before. */
typedef int64_t LONG64;
typedef LONG64* PLONG64;
#define NPIPE_ATOMIC_ __ATOMIC_SEQ_CST
static inline LONG InterlockedIncrement(LONG volatile* Addend) { return __atomic_add_fetch(Addend, 1, NPIPE_ATOMIC_); }
static inline LONG InterlockedDecrement(LONG volatile* Addend) { return __atomic_sub_fetch(Addend, 1, NPIPE_ATOMIC_); }
static inline LONG InterlockedAdd(LONG volatile* Addend, LONG Value) { return __atomic_add_fetch(Addend, Value, NPIPE_ATOMIC_); }
static inline LONG InterlockedExchangeAdd(LONG volatile* Addend, LONG Value) { return __atomic_fetch_add(Addend, Value, NPIPE_ATOMIC_); }
static inline LONG InterlockedExchange(LONG volatile* Target, LONG Value) { return __atomic_exchange_n(Target, Value, NPIPE_ATOMIC_); }
static inline LONG InterlockedAnd(LONG volatile* Destination, LONG Value) { return __atomic_fetch_and(Destination, Value, NPIPE_ATOMIC_); }
static inline LONG InterlockedOr(LONG volatile* Destination, LONG Value) { return __atomic_fetch_or(Destination, Value, NPIPE_ATOMIC_); }
static inline LONG InterlockedXor(LONG volatile* Destination, LONG Value) { return __atomic_fetch_xor(Destination, Value, NPIPE_ATOMIC_); }
static inline LONG InterlockedCompareExchange(LONG volatile* Destination, LONG ExChange, LONG Comperand) {
    __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, NPIPE_ATOMIC_, NPIPE_ATOMIC_);
    return Comperand; /* the value before: Comperand when the exchange happened */
}
static inline LONG64 InterlockedIncrement64(LONG64 volatile* Addend) { return __atomic_add_fetch(Addend, 1, NPIPE_ATOMIC_); }
static inline LONG64 InterlockedDecrement64(LONG64 volatile* Addend) { return __atomic_sub_fetch(Addend, 1, NPIPE_ATOMIC_); }
static inline LONG64 InterlockedAdd64(LONG64 volatile* Addend, LONG64 Value) { return __atomic_add_fetch(Addend, Value, NPIPE_ATOMIC_); }
static inline LONG64 InterlockedExchangeAdd64(LONG64 volatile* Addend, LONG64 Value) { return __atomic_fetch_add(Addend, Value, NPIPE_ATOMIC_); }
static inline LONG64 InterlockedExchange64(LONG64 volatile* Target, LONG64 Value) { return __atomic_exchange_n(Target, Value, NPIPE_ATOMIC_); }
static inline LONG64 InterlockedCompareExchange64(LONG64 volatile* Destination, LONG64 ExChange, LONG64 Comperand) {
    __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, NPIPE_ATOMIC_, NPIPE_ATOMIC_);
    return Comperand;
}
static inline PVOID InterlockedExchangePointer(PVOID volatile* Target, PVOID Value) { return __atomic_exchange_n(Target, Value, NPIPE_ATOMIC_); }
static inline PVOID InterlockedCompareExchangePointer(PVOID volatile* Destination, PVOID ExChange, PVOID Comperand) {
    __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, NPIPE_ATOMIC_, NPIPE_ATOMIC_);
    return Comperand;
}
/* A full barrier the way x64 Windows makes one (a locked operation on the stack): GCC refuses
   __atomic_thread_fence under -fsanitize=thread, and a program must build there too. */
static inline void npipe_memory_barrier_(void) {
    volatile LONG barrier = 0;
    (void)__atomic_exchange_n(&barrier, 0, __ATOMIC_SEQ_CST);
}
#define MemoryBarrier() npipe_memory_barrier_()

/* ---- processes --------------------------------------------------------------------------- */
NPIPE_C_API BOOL WINAPI CreateProcessA(LPCSTR lpApplicationName, LPSTR lpCommandLine,
                                       LPSECURITY_ATTRIBUTES lpProcessAttributes,
                                       LPSECURITY_ATTRIBUTES lpThreadAttributes,
                                       BOOL bInheritHandles, DWORD dwCreationFlags,
                                       LPVOID lpEnvironment, LPCSTR lpCurrentDirectory,
                                       LPSTARTUPINFOA lpStartupInfo,
                                       LPPROCESS_INFORMATION lpProcessInformation);
NPIPE_C_API BOOL WINAPI CreateProcessW(LPCWSTR lpApplicationName, LPWSTR lpCommandLine,
                                       LPSECURITY_ATTRIBUTES lpProcessAttributes,
                                       LPSECURITY_ATTRIBUTES lpThreadAttributes,
                                       BOOL bInheritHandles, DWORD dwCreationFlags,
                                       LPVOID lpEnvironment, LPCWSTR lpCurrentDirectory,
                                       LPSTARTUPINFOW lpStartupInfo,
                                       LPPROCESS_INFORMATION lpProcessInformation);
NPIPE_C_API BOOL WINAPI GetExitCodeProcess(HANDLE hProcess, LPDWORD lpExitCode);
NPIPE_C_API BOOL WINAPI TerminateProcess(HANDLE hProcess, UINT uExitCode);
NPIPE_C_API HANDLE WINAPI GetCurrentProcess(void);
NPIPE_C_API DWORD WINAPI GetCurrentProcessId(void);
NPIPE_C_API DWORD WINAPI GetProcessId(HANDLE Process);
NPIPE_C_API __attribute__((noreturn)) VOID WINAPI ExitProcess(UINT uExitCode);

/* ---- memory ------------------------------------------------------------------------------ */
NPIPE_C_API HANDLE WINAPI GetProcessHeap(void);
NPIPE_C_API LPVOID WINAPI HeapAlloc(HANDLE hHeap, DWORD dwFlags, SIZE_T dwBytes);
NPIPE_C_API LPVOID WINAPI HeapReAlloc(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem, SIZE_T dwBytes);
NPIPE_C_API BOOL WINAPI HeapFree(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem);
NPIPE_C_API SIZE_T WINAPI HeapSize(HANDLE hHeap, DWORD dwFlags, LPCVOID lpMem);
/* Local and Global memory are one heap. Nothing moves: a LMEM_MOVEABLE/GMEM_MOVEABLE block's
 * handle is its address; Lock returns it and counts locks as Windows does (Unlock: TRUE while
 * still locked; FALSE with NO_ERROR at the last unlock, ERROR_NOT_LOCKED when not locked). A
 * moveable block of 0 bytes is discarded: Lock gives NULL and ERROR_DISCARDED. GlobalAlloc of a
 * fixed block of 0 bytes makes one of 1 byte, as Windows does. Size of a bad handle: 0 with
 * ERROR_INVALID_HANDLE. Free returns NULL, or the handle with ERROR_INVALID_HANDLE. */
NPIPE_C_API HLOCAL WINAPI LocalAlloc(UINT uFlags, SIZE_T uBytes);
NPIPE_C_API HLOCAL WINAPI LocalFree(HLOCAL hMem);
NPIPE_C_API SIZE_T WINAPI LocalSize(HLOCAL hMem);
NPIPE_C_API LPVOID WINAPI LocalLock(HLOCAL hMem);
/* A fixed block: FALSE with ERROR_NOT_LOCKED. */
NPIPE_C_API BOOL WINAPI LocalUnlock(HLOCAL hMem);
/* GPTR (GMEM_FIXED | GMEM_ZEROINIT) is zeroed, fixed memory. */
NPIPE_C_API HGLOBAL WINAPI GlobalAlloc(UINT uFlags, SIZE_T dwBytes);
NPIPE_C_API HGLOBAL WINAPI GlobalFree(HGLOBAL hMem);
NPIPE_C_API SIZE_T WINAPI GlobalSize(HGLOBAL hMem);
NPIPE_C_API LPVOID WINAPI GlobalLock(HGLOBAL hMem);
/* A fixed block: TRUE, the last error untouched (Windows' answer). */
NPIPE_C_API BOOL WINAPI GlobalUnlock(HGLOBAL hMem);

/* ---- time, this process, this machine ---------------------------------------------------- */
/* CLOCK_MONOTONIC in units of 100 ns: the frequency is 10 MHz (10000000), the value modern
 * Windows reports, fixed for the life of the system. A NULL pointer: FALSE, ERROR_NOACCESS. */
NPIPE_C_API BOOL WINAPI QueryPerformanceCounter(LARGE_INTEGER* lpPerformanceCount);
NPIPE_C_API BOOL WINAPI QueryPerformanceFrequency(LARGE_INTEGER* lpFrequency);
/* hModule NULL: the path of this program's executable (/proc/self/exe; UTF-8 for the A
 * function). Returns its length without the NUL. A buffer of nSize characters too small for
 * path and NUL gets nSize - 1 characters and a NUL; the function returns nSize and sets
 * ERROR_INSUFFICIENT_BUFFER (nSize 0: nothing written, 0). Success sets ERROR_SUCCESS, as
 * Windows does. Any other module: 0 with ERROR_MOD_NOT_FOUND, the buffer untouched. */
NPIPE_C_API DWORD WINAPI GetModuleFileNameA(HMODULE hModule, LPSTR lpFilename, DWORD nSize);
NPIPE_C_API DWORD WINAPI GetModuleFileNameW(HMODULE hModule, LPWSTR lpFilename, DWORD nSize);
/* Affinity masks: bit N for CPU N; CPUs numbered 64 and up are not represented (one processor
 * group). The system mask holds the online CPUs. hProcess: GetCurrentProcess() or a process
 * handle from CreateProcess (a child that has exited: ERROR_ACCESS_DENIED, its pid may be
 * another process's by then); anything else is ERROR_INVALID_HANDLE. Either out pointer may be
 * NULL. */
NPIPE_C_API BOOL WINAPI GetProcessAffinityMask(HANDLE hProcess, PDWORD_PTR lpProcessAffinityMask,
                                               PDWORD_PTR lpSystemAffinityMask);
/* Applies to every thread of the process (sched_setaffinity on each); threads started later
 * inherit it. A mask of 0 or with CPUs outside the system mask: ERROR_INVALID_PARAMETER. */
NPIPE_C_API BOOL WINAPI SetProcessAffinityMask(HANDLE hProcess, DWORD_PTR dwProcessAffinityMask);
/* dwNumberOfProcessors: the online CPUs; dwActiveProcessorMask: the system affinity mask;
 * dwPageSize: the kernel's; dwAllocationGranularity: 65536, as on Windows; wProcessorLevel and
 * wProcessorRevision: 0. */
NPIPE_C_API VOID WINAPI GetSystemInfo(LPSYSTEM_INFO lpSystemInfo);
NPIPE_C_API VOID WINAPI GetNativeSystemInfo(LPSYSTEM_INFO lpSystemInfo);

/* ---- a console program's message box (winuser.h) ----------------------------------------- */
/* A console program has no window to show a box in: writes "CAPTION: TEXT" and a newline to
 * stderr (a NULL caption is "Error", as Windows titles it) and returns the ID of the box's
 * default button (MB_DEFBUTTONn; the first button when there is no n-th), as if the user had
 * pressed Enter: IDOK for MB_OK. An unknown box type (uType & MB_TYPEMASK above
 * MB_CANCELTRYCONTINUE): 0 with ERROR_INVALID_MSGBOX_STYLE. hWnd is ignored. */
NPIPE_C_API int WINAPI MessageBoxA(HWND hWnd, LPCSTR lpText, LPCSTR lpCaption, UINT uType);
NPIPE_C_API int WINAPI MessageBoxW(HWND hWnd, LPCWSTR lpText, LPCWSTR lpCaption, UINT uType);

/* ---- strings ----------------------------------------------------------------------------- */
NPIPE_C_API int WINAPI lstrlenA(LPCSTR lpString);
NPIPE_C_API int WINAPI lstrlenW(LPCWSTR lpString);
NPIPE_C_API int WINAPI lstrcmpA(LPCSTR lpString1, LPCSTR lpString2);
NPIPE_C_API int WINAPI lstrcmpW(LPCWSTR lpString1, LPCWSTR lpString2);
NPIPE_C_API LPSTR WINAPI lstrcpyA(LPSTR lpString1, LPCSTR lpString2);
NPIPE_C_API LPWSTR WINAPI lstrcpyW(LPWSTR lpString1, LPCWSTR lpString2);
NPIPE_C_API LPSTR WINAPI lstrcatA(LPSTR lpString1, LPCSTR lpString2);
NPIPE_C_API LPWSTR WINAPI lstrcatW(LPWSTR lpString1, LPCWSTR lpString2);

/* ======================================================================================== */
/* Security descriptors, SIDs and ACLs (securitybaseapi.h, sddl.h)                            */
/* ======================================================================================== */
/* Binary forms with Windows' layout. npipe holds a pipe's descriptor as owner, group and DACL
 * (allow and deny ACEs); a SACL is accepted in a binary descriptor but not kept, and SDDL's
 * `S:` part is refused (docs/SECURITY.md). */

#define ERROR_UNKNOWN_REVISION 1305
#define ERROR_REVISION_MISMATCH 1306
#define ERROR_INVALID_ACL 1336
#define ERROR_INVALID_SID 1337
#define ERROR_INVALID_SECURITY_DESCR 1338
#define ERROR_ALLOTTED_SPACE_EXCEEDED 1344

typedef DWORD ACCESS_MASK;
typedef ACCESS_MASK* PACCESS_MASK;
typedef PVOID PSID;
typedef WORD SECURITY_DESCRIPTOR_CONTROL, *PSECURITY_DESCRIPTOR_CONTROL;
typedef DWORD SECURITY_INFORMATION, *PSECURITY_INFORMATION;
typedef PVOID PSECURITY_DESCRIPTOR;

typedef struct _SID_IDENTIFIER_AUTHORITY {
    BYTE Value[6]; /* big-endian */
} SID_IDENTIFIER_AUTHORITY, *PSID_IDENTIFIER_AUTHORITY;

typedef struct _SID {
    BYTE Revision; /* SID_REVISION */
    BYTE SubAuthorityCount;
    SID_IDENTIFIER_AUTHORITY IdentifierAuthority;
    DWORD SubAuthority[1]; /* SubAuthorityCount of them */
} SID;

#define SID_REVISION 1
#define SID_MAX_SUB_AUTHORITIES 15
#define SECURITY_MAX_SID_SIZE (8 + 4 * SID_MAX_SUB_AUTHORITIES)

typedef struct _ACL {
    BYTE AclRevision;
    BYTE Sbz1;
    WORD AclSize; /* header and ACEs, in bytes */
    WORD AceCount;
    WORD Sbz2;
} ACL, *PACL;

#define ACL_REVISION 2
#define ACL_REVISION_DS 4

typedef struct _ACE_HEADER {
    BYTE AceType;
    BYTE AceFlags;
    WORD AceSize; /* header, mask and SID, in bytes */
} ACE_HEADER, *PACE_HEADER;

typedef struct _ACCESS_ALLOWED_ACE {
    ACE_HEADER Header;
    ACCESS_MASK Mask;
    DWORD SidStart; /* the SID begins here */
} ACCESS_ALLOWED_ACE, *PACCESS_ALLOWED_ACE;

typedef struct _ACCESS_DENIED_ACE {
    ACE_HEADER Header;
    ACCESS_MASK Mask;
    DWORD SidStart;
} ACCESS_DENIED_ACE, *PACCESS_DENIED_ACE;

#define ACCESS_ALLOWED_ACE_TYPE 0x0
#define ACCESS_DENIED_ACE_TYPE 0x1
#define SYSTEM_AUDIT_ACE_TYPE 0x2
#define SYSTEM_ALARM_ACE_TYPE 0x3

#define OBJECT_INHERIT_ACE 0x01
#define CONTAINER_INHERIT_ACE 0x02
#define NO_PROPAGATE_INHERIT_ACE 0x04
#define INHERIT_ONLY_ACE 0x08
#define INHERITED_ACE 0x10
#define VALID_INHERIT_FLAGS 0x1F

/* Absolute form: the parts are pointers (on 64-bit: 40 bytes, the pointers at offset 8). */
typedef struct _SECURITY_DESCRIPTOR {
    BYTE Revision; /* SECURITY_DESCRIPTOR_REVISION */
    BYTE Sbz1;
    SECURITY_DESCRIPTOR_CONTROL Control;
    PSID Owner;
    PSID Group;
    PACL Sacl;
    PACL Dacl;
} SECURITY_DESCRIPTOR, *PISECURITY_DESCRIPTOR;

/* Self-relative form (SE_SELF_RELATIVE): the parts follow the 20-byte header; offsets from the
 * start of the descriptor, 0 for a part that is absent. */
typedef struct _SECURITY_DESCRIPTOR_RELATIVE {
    BYTE Revision;
    BYTE Sbz1;
    SECURITY_DESCRIPTOR_CONTROL Control;
    DWORD Owner;
    DWORD Group;
    DWORD Sacl;
    DWORD Dacl;
} SECURITY_DESCRIPTOR_RELATIVE, *PISECURITY_DESCRIPTOR_RELATIVE;

#define SECURITY_DESCRIPTOR_REVISION 1
#define SECURITY_DESCRIPTOR_REVISION1 1
#define SECURITY_DESCRIPTOR_MIN_LENGTH (sizeof(SECURITY_DESCRIPTOR))
#define SDDL_REVISION_1 1
#define SDDL_REVISION SDDL_REVISION_1

#define SE_OWNER_DEFAULTED 0x0001
#define SE_GROUP_DEFAULTED 0x0002
#define SE_DACL_PRESENT 0x0004
#define SE_DACL_DEFAULTED 0x0008
#define SE_SACL_PRESENT 0x0010
#define SE_SACL_DEFAULTED 0x0020
#define SE_DACL_AUTO_INHERIT_REQ 0x0100
#define SE_SACL_AUTO_INHERIT_REQ 0x0200
#define SE_DACL_AUTO_INHERITED 0x0400
#define SE_SACL_AUTO_INHERITED 0x0800
#define SE_DACL_PROTECTED 0x1000
#define SE_SACL_PROTECTED 0x2000
#define SE_RM_CONTROL_VALID 0x4000
#define SE_SELF_RELATIVE 0x8000

#define OWNER_SECURITY_INFORMATION 0x00000001u
#define GROUP_SECURITY_INFORMATION 0x00000002u
#define DACL_SECURITY_INFORMATION 0x00000004u
#define SACL_SECURITY_INFORMATION 0x00000008u
#define LABEL_SECURITY_INFORMATION 0x00000010u

/* SDDL <-> self-relative descriptor. The descriptor and the strings are LocalAlloc'd (free them
 * with LocalFree). Malformed SDDL: ERROR_INVALID_PARAMETER; a revision other than
 * SDDL_REVISION_1: ERROR_UNKNOWN_REVISION. *StringSecurityDescriptorLen counts the NUL. */
NPIPE_C_API BOOL WINAPI ConvertStringSecurityDescriptorToSecurityDescriptorA(
    LPCSTR StringSecurityDescriptor, DWORD StringSDRevision,
    PSECURITY_DESCRIPTOR* SecurityDescriptor, PULONG SecurityDescriptorSize);
NPIPE_C_API BOOL WINAPI ConvertStringSecurityDescriptorToSecurityDescriptorW(
    LPCWSTR StringSecurityDescriptor, DWORD StringSDRevision,
    PSECURITY_DESCRIPTOR* SecurityDescriptor, PULONG SecurityDescriptorSize);
NPIPE_C_API BOOL WINAPI ConvertSecurityDescriptorToStringSecurityDescriptorA(
    PSECURITY_DESCRIPTOR SecurityDescriptor, DWORD RequestedStringSDRevision,
    SECURITY_INFORMATION SecurityInformation, LPSTR* StringSecurityDescriptor,
    PULONG StringSecurityDescriptorLen);
NPIPE_C_API BOOL WINAPI ConvertSecurityDescriptorToStringSecurityDescriptorW(
    PSECURITY_DESCRIPTOR SecurityDescriptor, DWORD RequestedStringSDRevision,
    SECURITY_INFORMATION SecurityInformation, LPWSTR* StringSecurityDescriptor,
    PULONG StringSecurityDescriptorLen);
NPIPE_C_API BOOL WINAPI ConvertSidToStringSidA(PSID Sid, LPSTR* StringSid);
NPIPE_C_API BOOL WINAPI ConvertSidToStringSidW(PSID Sid, LPWSTR* StringSid);
NPIPE_C_API BOOL WINAPI ConvertStringSidToSidA(LPCSTR StringSid, PSID* Sid);
NPIPE_C_API BOOL WINAPI ConvertStringSidToSidW(LPCWSTR StringSid, PSID* Sid);

NPIPE_C_API BOOL WINAPI InitializeSecurityDescriptor(PSECURITY_DESCRIPTOR pSecurityDescriptor,
                                                     DWORD dwRevision);
/* IsValidSecurityDescriptor and IsValidSid set no last error, as on Windows. */
NPIPE_C_API BOOL WINAPI IsValidSecurityDescriptor(PSECURITY_DESCRIPTOR pSecurityDescriptor);
/* Self-relative: its size. Absolute: SECURITY_DESCRIPTOR_MIN_LENGTH plus its SIDs and ACLs. */
NPIPE_C_API DWORD WINAPI GetSecurityDescriptorLength(PSECURITY_DESCRIPTOR pSecurityDescriptor);
NPIPE_C_API BOOL WINAPI GetSecurityDescriptorControl(PSECURITY_DESCRIPTOR pSecurityDescriptor,
                                                     PSECURITY_DESCRIPTOR_CONTROL pControl,
                                                     LPDWORD lpdwRevision);
NPIPE_C_API BOOL WINAPI SetSecurityDescriptorDacl(PSECURITY_DESCRIPTOR pSecurityDescriptor,
                                                  BOOL bDaclPresent, PACL pDacl,
                                                  BOOL bDaclDefaulted);
NPIPE_C_API BOOL WINAPI GetSecurityDescriptorDacl(PSECURITY_DESCRIPTOR pSecurityDescriptor,
                                                  LPBOOL lpbDaclPresent, PACL* pDacl,
                                                  LPBOOL lpbDaclDefaulted);
NPIPE_C_API BOOL WINAPI SetSecurityDescriptorOwner(PSECURITY_DESCRIPTOR pSecurityDescriptor,
                                                   PSID pOwner, BOOL bOwnerDefaulted);
NPIPE_C_API BOOL WINAPI GetSecurityDescriptorOwner(PSECURITY_DESCRIPTOR pSecurityDescriptor,
                                                   PSID* pOwner, LPBOOL lpbOwnerDefaulted);
NPIPE_C_API BOOL WINAPI SetSecurityDescriptorGroup(PSECURITY_DESCRIPTOR pSecurityDescriptor,
                                                   PSID pGroup, BOOL bGroupDefaulted);
NPIPE_C_API BOOL WINAPI GetSecurityDescriptorGroup(PSECURITY_DESCRIPTOR pSecurityDescriptor,
                                                   PSID* pGroup, LPBOOL lpbGroupDefaulted);

NPIPE_C_API BOOL WINAPI IsValidSid(PSID pSid);
NPIPE_C_API DWORD WINAPI GetLengthSid(PSID pSid);
NPIPE_C_API BOOL WINAPI EqualSid(PSID pSid1, PSID pSid2);
NPIPE_C_API BOOL WINAPI CopySid(DWORD nDestinationSidLength, PSID pDestinationSid,
                                PSID pSourceSid);

NPIPE_C_API BOOL WINAPI InitializeAcl(PACL pAcl, DWORD nAclLength, DWORD dwAclRevision);
NPIPE_C_API BOOL WINAPI IsValidAcl(PACL pAcl);
NPIPE_C_API BOOL WINAPI AddAccessAllowedAce(PACL pAcl, DWORD dwAceRevision, DWORD AccessMask,
                                            PSID pSid);
NPIPE_C_API BOOL WINAPI AddAccessAllowedAceEx(PACL pAcl, DWORD dwAceRevision, DWORD AceFlags,
                                              DWORD AccessMask, PSID pSid);
NPIPE_C_API BOOL WINAPI AddAccessDeniedAce(PACL pAcl, DWORD dwAceRevision, DWORD AccessMask,
                                           PSID pSid);
NPIPE_C_API BOOL WINAPI AddAccessDeniedAceEx(PACL pAcl, DWORD dwAceRevision, DWORD AceFlags,
                                             DWORD AccessMask, PSID pSid);
NPIPE_C_API BOOL WINAPI GetAce(PACL pAcl, DWORD dwAceIndex, LPVOID* pAce);

#define PROTECTED_DACL_SECURITY_INFORMATION 0x80000000u
#define UNPROTECTED_DACL_SECURITY_INFORMATION 0x20000000u

/* aclapi.h: the security of an object by handle. npipe supports named-pipe handles, as
 * SE_KERNEL_OBJECT or SE_FILE_OBJECT; other handles: ERROR_NOT_SUPPORTED. Both return the error
 * instead of setting the last error, as on Windows. GetSecurityInfo needs READ_CONTROL on the
 * handle (every server handle; a client handle opened with GENERIC_READ or READ_CONTROL);
 * SetSecurityInfo needs WRITE_DAC (DACL) / WRITE_OWNER (owner, group) - a server handle has
 * them only when CreateNamedPipe's dwOpenMode asked for them. The broker also checks the
 * caller against the pipe's DACL at the time of the call. *ppSecurityDescriptor is LocalAlloc'd,
 * self-relative, holds the parts asked for, and the other out-pointers point into it. */
typedef enum _SE_OBJECT_TYPE {
    SE_UNKNOWN_OBJECT_TYPE = 0,
    SE_FILE_OBJECT,
    SE_SERVICE,
    SE_PRINTER,
    SE_REGISTRY_KEY,
    SE_LMSHARE,
    SE_KERNEL_OBJECT,
    SE_WINDOW_OBJECT,
    SE_DS_OBJECT,
    SE_DS_OBJECT_ALL,
    SE_PROVIDER_DEFINED_OBJECT,
    SE_WMIGUID_OBJECT,
    SE_REGISTRY_WOW64_32KEY,
    SE_REGISTRY_WOW64_64KEY
} SE_OBJECT_TYPE;
NPIPE_C_API DWORD WINAPI GetSecurityInfo(HANDLE handle, SE_OBJECT_TYPE ObjectType,
                                         SECURITY_INFORMATION SecurityInfo, PSID* ppsidOwner,
                                         PSID* ppsidGroup, PACL* ppDacl, PACL* ppSacl,
                                         PSECURITY_DESCRIPTOR* ppSecurityDescriptor);
NPIPE_C_API DWORD WINAPI SetSecurityInfo(HANDLE handle, SE_OBJECT_TYPE ObjectType,
                                         SECURITY_INFORMATION SecurityInfo, PSID psidOwner,
                                         PSID psidGroup, PACL pDacl, PACL pSacl);

/* ---- network connections (remote pipes: \\HOST\IPC$ only) ------------------------------ */
/* WNetAddConnection2 with a user name and password for \\HOST\IPC$ connects at once (a wrong
 * password: ERROR_LOGON_FAILURE) and makes later opens of \\HOST\pipe\NAME use those
 * credentials; without a user name the caller's own are used (Kerberos ticket, NTLM_USER_FILE).
 * lpLocalName and other shares: ERROR_NOT_SUPPORTED. The functions return the error, and set it. */
#define RESOURCETYPE_ANY 0x00000000u
#define RESOURCETYPE_DISK 0x00000001u
#define RESOURCETYPE_PRINT 0x00000002u
#define CONNECT_TEMPORARY 0x00000004u
#define CONNECT_INTERACTIVE 0x00000008u
typedef struct _NETRESOURCEA {
    DWORD dwScope;
    DWORD dwType;
    DWORD dwDisplayType;
    DWORD dwUsage;
    LPSTR lpLocalName;
    LPSTR lpRemoteName;
    LPSTR lpComment;
    LPSTR lpProvider;
} NETRESOURCEA, *LPNETRESOURCEA;
typedef struct _NETRESOURCEW {
    DWORD dwScope;
    DWORD dwType;
    DWORD dwDisplayType;
    DWORD dwUsage;
    LPWSTR lpLocalName;
    LPWSTR lpRemoteName;
    LPWSTR lpComment;
    LPWSTR lpProvider;
} NETRESOURCEW, *LPNETRESOURCEW;
NPIPE_C_API DWORD WINAPI WNetAddConnection2A(LPNETRESOURCEA lpNetResource, LPCSTR lpPassword,
                                             LPCSTR lpUserName, DWORD dwFlags);
NPIPE_C_API DWORD WINAPI WNetAddConnection2W(LPNETRESOURCEW lpNetResource, LPCWSTR lpPassword,
                                             LPCWSTR lpUserName, DWORD dwFlags);
NPIPE_C_API DWORD WINAPI WNetCancelConnection2A(LPCSTR lpName, DWORD dwFlags, BOOL fForce);
NPIPE_C_API DWORD WINAPI WNetCancelConnection2W(LPCWSTR lpName, DWORD dwFlags, BOOL fForce);

/* ---- generic names ----------------------------------------------------------------------- */
#ifdef UNICODE
#define CreateNamedPipe CreateNamedPipeW
#define NETRESOURCE NETRESOURCEW
#define LPNETRESOURCE LPNETRESOURCEW
#define WNetAddConnection2 WNetAddConnection2W
#define WNetCancelConnection2 WNetCancelConnection2W
#define WaitNamedPipe WaitNamedPipeW
#define CallNamedPipe CallNamedPipeW
#define GetNamedPipeHandleState GetNamedPipeHandleStateW
#define CreateFile CreateFileW
#define CreateEvent CreateEventW
#define CreateProcess CreateProcessW
#define GetUserName GetUserNameW
#define STARTUPINFO STARTUPINFOW
#define LPSTARTUPINFO LPSTARTUPINFOW
#define FormatMessage FormatMessageW
#define lstrlen lstrlenW
#define lstrcmp lstrcmpW
#define lstrcpy lstrcpyW
#define lstrcat lstrcatW
#define GetModuleFileName GetModuleFileNameW
#define MessageBox MessageBoxW
#define ConvertStringSecurityDescriptorToSecurityDescriptor ConvertStringSecurityDescriptorToSecurityDescriptorW
#define ConvertSecurityDescriptorToStringSecurityDescriptor ConvertSecurityDescriptorToStringSecurityDescriptorW
#define ConvertSidToStringSid ConvertSidToStringSidW
#define ConvertStringSidToSid ConvertStringSidToSidW
#else
#define CreateNamedPipe CreateNamedPipeA
#define NETRESOURCE NETRESOURCEA
#define LPNETRESOURCE LPNETRESOURCEA
#define WNetAddConnection2 WNetAddConnection2A
#define WNetCancelConnection2 WNetCancelConnection2A
#define WaitNamedPipe WaitNamedPipeA
#define CallNamedPipe CallNamedPipeA
#define GetNamedPipeHandleState GetNamedPipeHandleStateA
#define CreateFile CreateFileA
#define CreateEvent CreateEventA
#define CreateProcess CreateProcessA
#define GetUserName GetUserNameA
#define STARTUPINFO STARTUPINFOA
#define LPSTARTUPINFO LPSTARTUPINFOA
#define FormatMessage FormatMessageA
#define lstrlen lstrlenA
#define lstrcmp lstrcmpA
#define lstrcpy lstrcpyA
#define lstrcat lstrcatA
#define GetModuleFileName GetModuleFileNameA
#define MessageBox MessageBoxA
#define ConvertStringSecurityDescriptorToSecurityDescriptor ConvertStringSecurityDescriptorToSecurityDescriptorA
#define ConvertSecurityDescriptorToStringSecurityDescriptor ConvertSecurityDescriptorToStringSecurityDescriptorA
#define ConvertSidToStringSid ConvertSidToStringSidA
#define ConvertStringSidToSid ConvertStringSidToSidA
#endif

#ifdef __cplusplus
} /* extern "C" */

/* wmain, the UNICODE entry point (tchar.h's _tmain under UNICODE), is called by the main() in
 * libnpipe_wmain, so it needs C linkage in every form MSVC accepts: with the arguments, with
 * the environment too, or with none (wmain(void)). These declarations give each form the one
 * symbol `wmain`; a program defines one of them. (C needs no declaration: main() passes argc,
 * argv and envp, and a definition with fewer parameters does not see the rest - as with C's
 * own main.) wchar_t is UTF-16 only with -fshort-wchar. */
extern "C" int wmain(int argc, WCHAR* argv[]);
int wmain(void) __asm__("wmain");
int wmain(int argc, WCHAR* argv[], WCHAR* envp[]) __asm__("wmain");
#if defined(__WCHAR_MAX__) && __WCHAR_MAX__ == 0xffff
int wmain(int argc, wchar_t* argv[]) __asm__("wmain");
int wmain(int argc, wchar_t* argv[], wchar_t* envp[]) __asm__("wmain");
#endif
#endif

#endif /* NPIPE_WIN32_H */
