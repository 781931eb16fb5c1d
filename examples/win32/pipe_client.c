/* pipe_client.c - a named pipe client.
 *
 * Opens \\.\pipe\samplepipe, waiting up to 20 seconds whenever every instance is busy, puts its
 * handle in message-read mode, sends one request and prints the reply, reading it in pieces
 * when it is longer than the buffer. It then holds the connection until a line (or the end of
 * standard input) arrives, so that several clients can be connected at once.
 *
 *   pipe_client [message]
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
    LPCTSTR pszMessage = TEXT("Hello from the pipe client");
    TCHAR achReply[BUFSIZE + 1];
    HANDLE hPipe;
    DWORD dwMode, cbMessage, cbWritten, cbRead;
    BOOL bOk;

    if (argc > 1)
        pszMessage = argv[1];

    /* Open the pipe. ERROR_PIPE_BUSY means it exists but every instance has a client: wait for
     * one to become free and try again (another client may beat us to it). */
    for (;;)
    {
        hPipe = CreateFile(pszPipeName,
                           GENERIC_READ | GENERIC_WRITE,
                           0,             /* no sharing */
                           NULL,          /* default security */
                           OPEN_EXISTING, /* a pipe can only be opened, not created */
                           0,             /* default attributes */
                           NULL);         /* no template */
        if (hPipe != INVALID_HANDLE_VALUE)
            break;

        if (GetLastError() != ERROR_PIPE_BUSY)
        {
            _tprintf(TEXT("Client: cannot open %s, GLE=%d\n"), pszPipeName, GetLastError());
            return 1;
        }
        if (!WaitNamedPipe(pszPipeName, 20000))
        {
            _tprintf(TEXT("Client: no free instance of %s within 20 seconds, GLE=%d\n"),
                     pszPipeName, GetLastError());
            return 1;
        }
    }

    /* A client end starts in byte-read mode; read whole messages instead. */
    dwMode = PIPE_READMODE_MESSAGE;
    if (!SetNamedPipeHandleState(hPipe, &dwMode, NULL, NULL))
    {
        _tprintf(TEXT("Client: SetNamedPipeHandleState failed, GLE=%d\n"), GetLastError());
        CloseHandle(hPipe);
        return 1;
    }

    /* The request is one message: the string and its terminating null. */
    cbMessage = (DWORD)((lstrlen(pszMessage) + 1) * sizeof(TCHAR));
    _tprintf(TEXT("Client: sending \"%s\"\n"), pszMessage);
    if (!WriteFile(hPipe, pszMessage, cbMessage, &cbWritten, NULL) || cbWritten != cbMessage)
    {
        _tprintf(TEXT("Client: WriteFile failed, GLE=%d\n"), GetLastError());
        CloseHandle(hPipe);
        return 1;
    }

    /* The reply is one message. ReadFile fails with ERROR_MORE_DATA as long as part of it is
     * still unread; each call returns the next piece. */
    _tprintf(TEXT("Client: reply: "));
    do
    {
        bOk = ReadFile(hPipe, achReply, BUFSIZE * sizeof(TCHAR), &cbRead, NULL);
        if (!bOk && GetLastError() != ERROR_MORE_DATA)
        {
            _tprintf(TEXT("\nClient: ReadFile failed, GLE=%d\n"), GetLastError());
            CloseHandle(hPipe);
            return 1;
        }
        achReply[cbRead / sizeof(TCHAR)] = 0;
        _tprintf(TEXT("%s"), achReply);
    } while (!bOk);
    _tprintf(TEXT("\n"));

    _tprintf(TEXT("Client: press ENTER to close the connection\n"));
    fflush(stdout);
    (void)getchar();

    CloseHandle(hPipe);
    _tprintf(TEXT("Client: closed\n"));
    return 0;
}
