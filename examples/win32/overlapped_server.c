/* overlapped_server.c - a named pipe server on one thread, with overlapped I/O.
 *
 * The server creates INSTANCES instances of \\.\pipe\samplepipe with FILE_FLAG_OVERLAPPED, each
 * with its own OVERLAPPED and manual-reset event. Its only thread waits for any of the events
 * with WaitForMultipleObjects and moves the instance whose operation finished on to its next
 * step: a client connected (ConnectNamedPipe) -> read its request (ReadFile) -> write the
 * reply (WriteFile) -> read the next request ... When the client closes its end the instance
 * is disconnected (DisconnectNamedPipe) and listens again (ConnectNamedPipe).
 *
 * Every operation is finished the same way, whether it completed at once or later: an
 * overlapped call that completes at once sets the event too, so the main loop picks the result
 * up with GetOverlappedResult. The one answer that sets no event is ConnectNamedPipe's
 * ERROR_PIPE_CONNECTED (the client came first); the server sets the event itself.
 *
 *   overlapped_server        serve clients until the process is killed
 *   overlapped_server N      exit once N clients have come and gone
 *
 * Clients: pipe_client, transact_client, call_client.
 */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>
#include <strsafe.h>

#define INSTANCES 4
#define BUFSIZE 4096 /* characters */

typedef enum
{
    STEP_CONNECT, /* ConnectNamedPipe is under way */
    STEP_READ,    /* ReadFile of a request is under way */
    STEP_WRITE    /* WriteFile of a reply is under way */
} STEP;

typedef struct
{
    OVERLAPPED ov;       /* its hEvent is this instance's entry in g_ahEvents */
    HANDLE hPipe;
    STEP step;
    BOOL bConnectedEarly; /* ConnectNamedPipe said ERROR_PIPE_CONNECTED */
    TCHAR achRequest[BUFSIZE];
    TCHAR achReply[BUFSIZE];
    DWORD cbReply;
} INSTANCE;

static LPCTSTR g_szPipeName = TEXT("\\\\.\\pipe\\samplepipe");
static INSTANCE g_aInstances[INSTANCES];
static HANDLE g_ahEvents[INSTANCES];
static DWORD g_dwServed = 0;

static BOOL StartConnect(INSTANCE *pInst);
static BOOL StartRead(INSTANCE *pInst);
static BOOL StartWrite(INSTANCE *pInst);
static BOOL Reconnect(INSTANCE *pInst);
static BOOL Finish(INSTANCE *pInst);
static BOOL BuildReply(LPCTSTR pszRequest, LPTSTR pszReply, LPDWORD pcbReply);

int _tmain(int argc, TCHAR *argv[])
{
    DWORD dwLimit = 0; /* 0: no limit */
    DWORD dwWait, i;
    const TCHAR *pch;

    if (argc > 1)
    {
        for (pch = argv[1]; *pch >= TEXT('0') && *pch <= TEXT('9'); pch++)
            dwLimit = dwLimit * 10 + (DWORD)(*pch - TEXT('0'));
        if (*pch != 0 || dwLimit == 0)
        {
            _tprintf(TEXT("usage: %s [clients to serve]\n"), argv[0]);
            return 2;
        }
    }

    for (i = 0; i < INSTANCES; i++)
    {
        /* Manual reset and signaled: the overlapped calls reset it when they start. */
        g_ahEvents[i] = CreateEvent(NULL, TRUE, TRUE, NULL);
        if (g_ahEvents[i] == NULL)
        {
            _tprintf(TEXT("Server: CreateEvent failed, GLE=%u\n"), GetLastError());
            return 1;
        }
        g_aInstances[i].ov.hEvent = g_ahEvents[i];
        g_aInstances[i].hPipe = CreateNamedPipe(g_szPipeName,
                                                PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                                                PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT,
                                                INSTANCES,
                                                BUFSIZE * sizeof(TCHAR),
                                                BUFSIZE * sizeof(TCHAR),
                                                0,     /* default timeout (50 ms) */
                                                NULL); /* default security */
        if (g_aInstances[i].hPipe == INVALID_HANDLE_VALUE)
        {
            _tprintf(TEXT("Server: CreateNamedPipe failed, GLE=%u\n"), GetLastError());
            return 1;
        }
        if (!StartConnect(&g_aInstances[i]))
            return 1;
    }
    _tprintf(TEXT("Server: %d instances of %s wait for clients\n"), INSTANCES, g_szPipeName);

    while (dwLimit == 0 || g_dwServed < dwLimit)
    {
        dwWait = WaitForMultipleObjects(INSTANCES, g_ahEvents, FALSE, INFINITE);
        i = dwWait - WAIT_OBJECT_0;
        if (i >= INSTANCES)
        {
            _tprintf(TEXT("Server: WaitForMultipleObjects failed, GLE=%u\n"), GetLastError());
            return 1;
        }
        if (!Finish(&g_aInstances[i]))
            return 1;
    }

    /* Closing an instance with a ConnectNamedPipe under way ends that operation. */
    for (i = 0; i < INSTANCES; i++)
    {
        CloseHandle(g_aInstances[i].hPipe);
        CloseHandle(g_ahEvents[i]);
    }
    _tprintf(TEXT("Server: served %u clients, exiting\n"), g_dwServed);
    return 0;
}

/* The operation of pInst has finished (its event is set): take its result and start the next
 * one. FALSE only when the server cannot go on. */
static BOOL Finish(INSTANCE *pInst)
{
    DWORD cbDone = 0, dwError = 0;

    if (pInst->step == STEP_CONNECT && pInst->bConnectedEarly)
    {
        pInst->bConnectedEarly = FALSE;
        ResetEvent(pInst->ov.hEvent);
    }
    else if (!GetOverlappedResult(pInst->hPipe, &pInst->ov, &cbDone, FALSE))
    {
        dwError = GetLastError();
    }

    switch (pInst->step)
    {
    case STEP_CONNECT:
        if (dwError != 0)
        {
            _tprintf(TEXT("Server: ConnectNamedPipe failed, GLE=%u\n"), dwError);
            return Reconnect(pInst);
        }
        _tprintf(TEXT("Server: a client connected\n"));
        return StartRead(pInst);

    case STEP_READ:
        if (dwError == ERROR_BROKEN_PIPE)
        {
            _tprintf(TEXT("Server: the client closed the pipe\n"));
            g_dwServed++;
            return Reconnect(pInst);
        }
        if (dwError != 0)
        {
            _tprintf(TEXT("Server: ReadFile failed, GLE=%u\n"), dwError);
            return Reconnect(pInst);
        }
        pInst->achRequest[cbDone / sizeof(TCHAR)] = 0;
        if (!BuildReply(pInst->achRequest, pInst->achReply, &pInst->cbReply))
            return Reconnect(pInst);
        return StartWrite(pInst);

    case STEP_WRITE:
        if (dwError != 0 || cbDone != pInst->cbReply)
        {
            _tprintf(TEXT("Server: WriteFile failed, GLE=%u\n"), dwError);
            return Reconnect(pInst);
        }
        return StartRead(pInst);
    }
    return FALSE;
}

/* Listens for the next client on pInst. */
static BOOL StartConnect(INSTANCE *pInst)
{
    pInst->step = STEP_CONNECT;
    if (ConnectNamedPipe(pInst->hPipe, &pInst->ov))
        return TRUE; /* completed at once: the event is set */

    switch (GetLastError())
    {
    case ERROR_IO_PENDING:
        return TRUE;
    case ERROR_PIPE_CONNECTED:
        /* The client came before the call: connected, but nothing set the event. */
        pInst->bConnectedEarly = TRUE;
        SetEvent(pInst->ov.hEvent);
        return TRUE;
    case ERROR_NO_DATA:
        /* A client came and already went: disconnect it, listen again. */
        return Reconnect(pInst);
    default:
        _tprintf(TEXT("Server: ConnectNamedPipe failed, GLE=%u\n"), GetLastError());
        return FALSE;
    }
}

/* Reads the next request; its end is picked up by Finish once the event is set. */
static BOOL StartRead(INSTANCE *pInst)
{
    pInst->step = STEP_READ;
    if (ReadFile(pInst->hPipe, pInst->achRequest, (BUFSIZE - 1) * sizeof(TCHAR), NULL, &pInst->ov) ||
        GetLastError() == ERROR_IO_PENDING)
        return TRUE;
    /* Failed at once (the client has gone, say): the event is not set, so finish here. The
     * error is in the last error, and GetOverlappedResult would not know it. */
    if (GetLastError() == ERROR_BROKEN_PIPE)
    {
        _tprintf(TEXT("Server: the client closed the pipe\n"));
        g_dwServed++;
    }
    else
    {
        _tprintf(TEXT("Server: ReadFile failed, GLE=%u\n"), GetLastError());
    }
    return Reconnect(pInst);
}

static BOOL StartWrite(INSTANCE *pInst)
{
    pInst->step = STEP_WRITE;
    if (WriteFile(pInst->hPipe, pInst->achReply, pInst->cbReply, NULL, &pInst->ov) ||
        GetLastError() == ERROR_IO_PENDING)
        return TRUE;
    _tprintf(TEXT("Server: WriteFile failed, GLE=%u\n"), GetLastError());
    return Reconnect(pInst);
}

/* Ends the instance's connection and listens for the next client. */
static BOOL Reconnect(INSTANCE *pInst)
{
    if (!DisconnectNamedPipe(pInst->hPipe))
        _tprintf(TEXT("Server: DisconnectNamedPipe failed, GLE=%u\n"), GetLastError());
    return StartConnect(pInst);
}

/* Logs the request and answers with its text and length; *pcbReply is the reply's size in
 * bytes, its null included. */
static BOOL BuildReply(LPCTSTR pszRequest, LPTSTR pszReply, LPDWORD pcbReply)
{
    size_t cchRequest = 0;

    _tprintf(TEXT("Server: request \"%s\"\n"), pszRequest);
    if (FAILED(StringCchLength(pszRequest, BUFSIZE, &cchRequest)) ||
        FAILED(StringCchPrintf(pszReply, BUFSIZE, TEXT("Server reply: you sent \"%s\" (%u characters)"),
                               pszRequest, (unsigned)cchRequest)))
    {
        _tprintf(TEXT("Server: the reply does not fit in %d characters\n"), BUFSIZE);
        return FALSE;
    }
    *pcbReply = (DWORD)((lstrlen(pszReply) + 1) * sizeof(TCHAR));
    return TRUE;
}
