/* call_client.c - the whole client in one call: CallNamedPipe.
 *
 * CallNamedPipe waits up to 20 seconds for a free instance of \\.\pipe\samplepipe, opens it in
 * message mode, writes the request, reads one reply message and closes the handle. A reply
 * longer than the buffer makes it fail with ERROR_MORE_DATA: the buffer then holds the start of
 * the reply, and the rest is gone with the closed handle.
 *
 *   call_client [message]
 *
 * Start pipe_server first.
 */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>
#include <strsafe.h>

#define BUFSIZE 512 /* characters */

int _tmain(int argc, TCHAR *argv[])
{
    LPCTSTR pszPipeName = TEXT("\\\\.\\pipe\\samplepipe");
    LPCTSTR pszRequest = TEXT("Hello from the CallNamedPipe client");
    TCHAR achReply[BUFSIZE + 1];
    DWORD cbRead = 0;
    BOOL bOk;

    if (argc > 1)
        pszRequest = argv[1];

    bOk = CallNamedPipe(pszPipeName,
                        (LPVOID)pszRequest,
                        (DWORD)((lstrlen(pszRequest) + 1) * sizeof(TCHAR)),
                        achReply,
                        BUFSIZE * sizeof(TCHAR),
                        &cbRead,
                        20000); /* wait up to 20 seconds for an instance */
    if (!bOk && GetLastError() != ERROR_MORE_DATA)
    {
        _tprintf(TEXT("Call: CallNamedPipe failed, GLE=%d\n"), GetLastError());
        return 1;
    }

    achReply[cbRead / sizeof(TCHAR)] = 0;
    _tprintf(TEXT("Call: reply: %s\n"), achReply);
    if (!bOk)
        _tprintf(TEXT("Call: the reply was longer than %d characters; the rest is lost\n"),
                 BUFSIZE);
    return 0;
}
