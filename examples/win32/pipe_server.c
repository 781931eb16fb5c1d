/* pipe_server.c - a named pipe server with one thread per client.
 *
 * The main thread creates an instance of \\.\pipe\samplepipe, blocks in ConnectNamedPipe until
 * a client takes it, passes the connected instance to a new thread and loops to create the
 * next instance. Each client thread answers the client's requests (message mode) until the
 * client closes its end, then flushes, disconnects and closes its instance.
 *
 *   pipe_server        serve clients until the process is killed
 *   pipe_server N      serve N clients (1 to 64), wait for their threads, then exit
 *
 * Clients: pipe_client, transact_client, call_client.
 */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>
#include <strsafe.h>

#define BUFSIZE 4096 /* characters */

static LPCTSTR g_szPipeName = TEXT("\\\\.\\pipe\\samplepipe");

DWORD WINAPI ClientThread(LPVOID lpParameter);
BOOL BuildReply(LPCTSTR pszRequest, LPTSTR pszReply, LPDWORD pcbReply);

int _tmain(int argc, TCHAR *argv[])
{
    HANDLE hPipe = INVALID_HANDLE_VALUE;
    HANDLE hThread = NULL;
    HANDLE ahThreads[MAXIMUM_WAIT_OBJECTS];
    DWORD dwThreadId = 0;
    DWORD dwLimit = 0; /* 0: no limit */
    DWORD dwServed = 0;
    DWORD i;
    BOOL bConnected = FALSE;
    const TCHAR *pch;

    if (argc > 1)
    {
        for (pch = argv[1]; *pch >= TEXT('0') && *pch <= TEXT('9'); pch++)
            dwLimit = dwLimit * 10 + (DWORD)(*pch - TEXT('0'));
        if (*pch != 0 || dwLimit == 0 || dwLimit > MAXIMUM_WAIT_OBJECTS)
        {
            _tprintf(TEXT("usage: %s [clients to serve, 1 to %d]\n"), argv[0],
                     MAXIMUM_WAIT_OBJECTS);
            return 2;
        }
    }

    /* One iteration per client: a fresh instance, a connection, a thread. */
    for (;;)
    {
        _tprintf(TEXT("Server: waiting for a client on %s\n"), g_szPipeName);

        hPipe = CreateNamedPipe(g_szPipeName,
                                PIPE_ACCESS_DUPLEX,               /* both directions */
                                PIPE_TYPE_MESSAGE |               /* writes are messages, */
                                    PIPE_READMODE_MESSAGE |       /* reads return messages, */
                                    PIPE_WAIT,                    /* calls block */
                                PIPE_UNLIMITED_INSTANCES,
                                BUFSIZE * sizeof(TCHAR),          /* outbound buffer */
                                BUFSIZE * sizeof(TCHAR),          /* inbound buffer */
                                0,                                /* default timeout (50 ms) */
                                NULL);                            /* default security */
        if (hPipe == INVALID_HANDLE_VALUE)
        {
            _tprintf(TEXT("Server: CreateNamedPipe failed, GLE=%d\n"), GetLastError());
            return 1;
        }

        /* A client that opened the instance before this call makes ConnectNamedPipe fail with
         * ERROR_PIPE_CONNECTED: it is connected all the same. */
        bConnected = ConnectNamedPipe(hPipe, NULL) ? TRUE
                                                   : (GetLastError() == ERROR_PIPE_CONNECTED);
        if (!bConnected)
        {
            _tprintf(TEXT("Server: ConnectNamedPipe failed, GLE=%d\n"), GetLastError());
            CloseHandle(hPipe);
            continue;
        }

        _tprintf(TEXT("Server: client connected, starting a thread for it\n"));
        hThread = CreateThread(NULL,          /* default security */
                               0,             /* default stack size */
                               ClientThread,  /* thread function */
                               (LPVOID)hPipe, /* its argument: the connected instance */
                               0,             /* run at once */
                               &dwThreadId);
        if (hThread == NULL)
        {
            _tprintf(TEXT("Server: CreateThread failed, GLE=%d\n"), GetLastError());
            return 1;
        }

        if (dwLimit == 0)
        {
            CloseHandle(hThread); /* the thread runs on without its handle */
            continue;
        }
        ahThreads[dwServed++] = hThread;
        if (dwServed == dwLimit)
            break;
    }

    /* With a limit: no more instances; let the client threads finish. */
    WaitForMultipleObjects(dwServed, ahThreads, TRUE, INFINITE);
    for (i = 0; i < dwServed; i++)
        CloseHandle(ahThreads[i]);

    _tprintf(TEXT("Server: served %u clients, exiting\n"), dwServed);
    return 0;
}

/* Serves one client: reads a request, writes the reply, until the client goes away. */
DWORD WINAPI ClientThread(LPVOID lpParameter)
{
    HANDLE hPipe = (HANDLE)lpParameter;
    HANDLE hHeap = GetProcessHeap();
    TCHAR *pszRequest = (TCHAR *)HeapAlloc(hHeap, 0, BUFSIZE * sizeof(TCHAR));
    TCHAR *pszReply = (TCHAR *)HeapAlloc(hHeap, 0, BUFSIZE * sizeof(TCHAR));
    DWORD cbRead = 0, cbReply = 0, cbWritten = 0;
    BOOL bOk;

    if (hPipe == NULL || pszRequest == NULL || pszReply == NULL)
    {
        _tprintf(TEXT("Client thread: no pipe or no memory, giving up\n"));
        if (pszRequest != NULL)
            HeapFree(hHeap, 0, pszRequest);
        if (pszReply != NULL)
            HeapFree(hHeap, 0, pszReply);
        if (hPipe != NULL)
            CloseHandle(hPipe);
        return 1;
    }

    for (;;)
    {
        /* One request is one message. The last character is kept for the terminating null,
         * should the client not send one. */
        bOk = ReadFile(hPipe, pszRequest, (BUFSIZE - 1) * sizeof(TCHAR), &cbRead, NULL);
        if (!bOk || cbRead == 0)
        {
            if (GetLastError() == ERROR_BROKEN_PIPE)
                _tprintf(TEXT("Client thread: the client closed the pipe\n"));
            else
                _tprintf(TEXT("Client thread: ReadFile failed, GLE=%d\n"), GetLastError());
            break;
        }
        pszRequest[cbRead / sizeof(TCHAR)] = 0;

        if (!BuildReply(pszRequest, pszReply, &cbReply))
            break;

        bOk = WriteFile(hPipe, pszReply, cbReply, &cbWritten, NULL);
        if (!bOk || cbWritten != cbReply)
        {
            _tprintf(TEXT("Client thread: WriteFile failed, GLE=%d\n"), GetLastError());
            break;
        }
    }

    /* Let the client read what is still in the pipe before cutting the connection. */
    FlushFileBuffers(hPipe);
    DisconnectNamedPipe(hPipe);
    CloseHandle(hPipe);

    HeapFree(hHeap, 0, pszRequest);
    HeapFree(hHeap, 0, pszReply);
    _tprintf(TEXT("Client thread: done\n"));
    return 0;
}

/* The "work" of this server: log the request, and answer with its text and length. The reply
 * is a null-terminated string; *pcbReply gets its size in bytes, null included. */
BOOL BuildReply(LPCTSTR pszRequest, LPTSTR pszReply, LPDWORD pcbReply)
{
    size_t cchRequest = 0;

    _tprintf(TEXT("Client thread: request \"%s\"\n"), pszRequest);

    if (FAILED(StringCchLength(pszRequest, BUFSIZE, &cchRequest)) ||
        FAILED(StringCchPrintf(pszReply, BUFSIZE, TEXT("Server reply: you sent \"%s\" (%u characters)"),
                               pszRequest, (unsigned)cchRequest)))
    {
        _tprintf(TEXT("Client thread: the reply does not fit in %d characters\n"), BUFSIZE);
        *pcbReply = 0;
        return FALSE;
    }
    *pcbReply = (DWORD)((lstrlen(pszReply) + 1) * sizeof(TCHAR));
    return TRUE;
}
