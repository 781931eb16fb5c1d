/* transact_client.c - a request and its reply in one call: TransactNamedPipe.
 *
 * Opens \\.\pipe\samplepipe (waiting while every instance is busy), puts the handle in
 * message-read mode -- TransactNamedPipe requires it -- and sends a request. When the reply
 * is longer than the buffer, TransactNamedPipe fails with ERROR_MORE_DATA after filling it,
 * and ReadFile returns the rest of the message, piece by piece.
 *
 *   transact_client [message]
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
    LPCTSTR pszRequest = TEXT("Hello from the transaction client");
    TCHAR achReply[BUFSIZE + 1];
    HANDLE hPipe;
    DWORD dwMode, cbRead = 0;
    BOOL bOk;

    if (argc > 1)
        pszRequest = argv[1];

    for (;;)
    {
        hPipe = CreateFile(pszPipeName, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                           0, NULL);
        if (hPipe != INVALID_HANDLE_VALUE)
            break;
        if (GetLastError() != ERROR_PIPE_BUSY)
        {
            _tprintf(TEXT("Transact: cannot open %s, GLE=%d\n"), pszPipeName, GetLastError());
            return 1;
        }
        if (!WaitNamedPipe(pszPipeName, 20000))
        {
            _tprintf(TEXT("Transact: no free instance of %s within 20 seconds, GLE=%d\n"),
                     pszPipeName, GetLastError());
            return 1;
        }
    }

    dwMode = PIPE_READMODE_MESSAGE;
    if (!SetNamedPipeHandleState(hPipe, &dwMode, NULL, NULL))
    {
        _tprintf(TEXT("Transact: SetNamedPipeHandleState failed, GLE=%d\n"), GetLastError());
        CloseHandle(hPipe);
        return 1;
    }

    /* Write the request and wait for the reply message. */
    bOk = TransactNamedPipe(hPipe,
                            (LPVOID)pszRequest,
                            (DWORD)((lstrlen(pszRequest) + 1) * sizeof(TCHAR)),
                            achReply,
                            BUFSIZE * sizeof(TCHAR),
                            &cbRead,
                            NULL); /* synchronous */
    if (!bOk && GetLastError() != ERROR_MORE_DATA)
    {
        _tprintf(TEXT("Transact: TransactNamedPipe failed, GLE=%d\n"), GetLastError());
        CloseHandle(hPipe);
        return 1;
    }

    /* Print what arrived; while the message has more, read the next piece. */
    _tprintf(TEXT("Transact: reply: "));
    for (;;)
    {
        achReply[cbRead / sizeof(TCHAR)] = 0;
        _tprintf(TEXT("%s"), achReply);
        if (bOk)
            break;

        bOk = ReadFile(hPipe, achReply, BUFSIZE * sizeof(TCHAR), &cbRead, NULL);
        if (!bOk && GetLastError() != ERROR_MORE_DATA)
        {
            _tprintf(TEXT("\nTransact: ReadFile failed, GLE=%d\n"), GetLastError());
            CloseHandle(hPipe);
            return 1;
        }
    }
    _tprintf(TEXT("\n"));

    CloseHandle(hPipe);
    return 0;
}
