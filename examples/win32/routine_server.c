/* routine_server.c - a named pipe server on one thread, with completion routines.
 *
 * One instance of \\.\pipe\samplepipe at a time waits for a client (an overlapped
 * ConnectNamedPipe whose event the main thread waits for). When a client connects, the server
 * gives the connected instance a block of its own (GlobalAlloc) and starts reading with
 * ReadFileEx; from then on the client is served by completion routines alone: the read's
 * routine writes the reply with WriteFileEx, the write's routine reads the next request, and
 * when the client closes its end a routine disconnects, closes and frees the instance. The
 * main thread meanwhile creates the next instance and waits alertably
 * (WaitForSingleObjectEx with bAlertable TRUE): a routine runs inside that wait, which then
 * returns WAIT_IO_COMPLETION, and the thread simply waits again.
 *
 *   routine_server        serve clients until the process is killed
 *   routine_server N      take N clients, then stop listening, serve them until they leave
 *                         (SleepEx, alertable) and exit
 *
 * Clients: pipe_client, transact_client, call_client.
 */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>
#include <strsafe.h>

#define BUFSIZE 4096 /* characters */

typedef struct
{
    OVERLAPPED ov; /* first: a routine gets &ov and finds the whole instance */
    HANDLE hPipe;
    TCHAR achRequest[BUFSIZE];
    TCHAR achReply[BUFSIZE];
    DWORD cbReply;
} CLIENT;

static LPCTSTR g_szPipeName = TEXT("\\\\.\\pipe\\samplepipe");
static DWORD g_dwActive = 0; /* clients being served; only the main thread touches it, in routines */

static BOOL CreateAndConnect(LPOVERLAPPED pov, HANDLE *phPipe, BOOL *pbPending);
static VOID WINAPI ReadDone(DWORD dwError, DWORD cbRead, LPOVERLAPPED pov);
static VOID WINAPI WriteDone(DWORD dwError, DWORD cbWritten, LPOVERLAPPED pov);
static VOID StartRead(CLIENT *pClient);
static VOID EndClient(CLIENT *pClient);
static BOOL BuildReply(LPCTSTR pszRequest, LPTSTR pszReply, LPDWORD pcbReply);

int _tmain(int argc, TCHAR *argv[])
{
    OVERLAPPED ovConnect;
    HANDLE hConnectEvent, hPipe = INVALID_HANDLE_VALUE;
    CLIENT *pClient;
    DWORD dwLimit = 0, dwAccepted = 0, dwWait, cbUnused;
    BOOL bPending = FALSE;
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

    hConnectEvent = CreateEvent(NULL, TRUE, TRUE, NULL); /* manual reset, signaled */
    if (hConnectEvent == NULL)
    {
        _tprintf(TEXT("Server: CreateEvent failed, GLE=%u\n"), GetLastError());
        return 1;
    }
    ZeroMemory(&ovConnect, sizeof ovConnect);
    ovConnect.hEvent = hConnectEvent;
    if (!CreateAndConnect(&ovConnect, &hPipe, &bPending))
        return 1;

    while (dwLimit == 0 || dwAccepted < dwLimit)
    {
        dwWait = WaitForSingleObjectEx(hConnectEvent, INFINITE, TRUE);
        if (dwWait == WAIT_IO_COMPLETION)
            continue; /* a routine ran; keep waiting for the next client */
        if (dwWait != WAIT_OBJECT_0)
        {
            _tprintf(TEXT("Server: WaitForSingleObjectEx failed, GLE=%u\n"), GetLastError());
            return 1;
        }
        if (bPending && !GetOverlappedResult(hPipe, &ovConnect, &cbUnused, FALSE))
        {
            _tprintf(TEXT("Server: ConnectNamedPipe failed, GLE=%u\n"), GetLastError());
            return 1;
        }

        pClient = (CLIENT *)GlobalAlloc(GPTR, sizeof(CLIENT)); /* zero-filled */
        if (pClient == NULL)
        {
            _tprintf(TEXT("Server: GlobalAlloc failed, GLE=%u\n"), GetLastError());
            return 1;
        }
        _tprintf(TEXT("Server: a client connected\n"));
        pClient->hPipe = hPipe;
        g_dwActive++;
        dwAccepted++;
        StartRead(pClient);

        hPipe = INVALID_HANDLE_VALUE;
        if ((dwLimit == 0 || dwAccepted < dwLimit) && !CreateAndConnect(&ovConnect, &hPipe, &bPending))
            return 1;
    }

    /* No more listening; the clients still connected are served by their routines, which run
     * while this thread sleeps alertably. */
    while (g_dwActive > 0)
        SleepEx(INFINITE, TRUE);

    CloseHandle(hConnectEvent);
    _tprintf(TEXT("Server: served %u clients, exiting\n"), dwAccepted);
    return 0;
}

/* Creates an instance and starts an overlapped ConnectNamedPipe on it. *pbPending: the connect
 * is under way (its event is set when a client arrives); FALSE: a client was already there and
 * the event has been set here. */
static BOOL CreateAndConnect(LPOVERLAPPED pov, HANDLE *phPipe, BOOL *pbPending)
{
    *phPipe = CreateNamedPipe(g_szPipeName,
                              PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                              PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT,
                              PIPE_UNLIMITED_INSTANCES,
                              BUFSIZE * sizeof(TCHAR),
                              BUFSIZE * sizeof(TCHAR),
                              0,     /* default timeout (50 ms) */
                              NULL); /* default security */
    if (*phPipe == INVALID_HANDLE_VALUE)
    {
        _tprintf(TEXT("Server: CreateNamedPipe failed, GLE=%u\n"), GetLastError());
        return FALSE;
    }
    _tprintf(TEXT("Server: waiting for a client on %s\n"), g_szPipeName);

    /* An overlapped ConnectNamedPipe returns FALSE: pending, or the client came first. */
    *pbPending = FALSE;
    while (!ConnectNamedPipe(*phPipe, pov))
    {
        switch (GetLastError())
        {
        case ERROR_IO_PENDING:
            *pbPending = TRUE;
            return TRUE;
        case ERROR_PIPE_CONNECTED:
            SetEvent(pov->hEvent);
            return TRUE;
        case ERROR_NO_DATA: /* a client came and went already: listen again */
            DisconnectNamedPipe(*phPipe);
            continue;
        default:
            break;
        }
        break;
    }
    _tprintf(TEXT("Server: ConnectNamedPipe failed, GLE=%u\n"), GetLastError());
    return FALSE;
}

/* Reads the client's next request; ReadDone runs when it has arrived. */
static VOID StartRead(CLIENT *pClient)
{
    if (!ReadFileEx(pClient->hPipe, pClient->achRequest, (BUFSIZE - 1) * sizeof(TCHAR), &pClient->ov,
                    ReadDone))
    {
        /* Failed at once, so no routine will run: a client that has gone already is the
         * usual reason. */
        if (GetLastError() == ERROR_BROKEN_PIPE)
            _tprintf(TEXT("Server: the client closed the pipe\n"));
        else
            _tprintf(TEXT("Server: ReadFileEx failed, GLE=%u\n"), GetLastError());
        EndClient(pClient);
    }
}

/* A request has arrived (or the client has gone): answer it with WriteFileEx. */
static VOID WINAPI ReadDone(DWORD dwError, DWORD cbRead, LPOVERLAPPED pov)
{
    CLIENT *pClient = (CLIENT *)pov;

    if (dwError == ERROR_BROKEN_PIPE)
    {
        _tprintf(TEXT("Server: the client closed the pipe\n"));
        EndClient(pClient);
        return;
    }
    if (dwError != 0)
    {
        _tprintf(TEXT("Server: the read failed, GLE=%u\n"), dwError);
        EndClient(pClient);
        return;
    }
    pClient->achRequest[cbRead / sizeof(TCHAR)] = 0;
    if (!BuildReply(pClient->achRequest, pClient->achReply, &pClient->cbReply))
    {
        EndClient(pClient);
        return;
    }
    if (!WriteFileEx(pClient->hPipe, pClient->achReply, pClient->cbReply, &pClient->ov, WriteDone))
    {
        _tprintf(TEXT("Server: WriteFileEx failed, GLE=%u\n"), GetLastError());
        EndClient(pClient);
    }
}

/* The reply has gone out: read the next request. */
static VOID WINAPI WriteDone(DWORD dwError, DWORD cbWritten, LPOVERLAPPED pov)
{
    CLIENT *pClient = (CLIENT *)pov;

    if (dwError != 0 || cbWritten != pClient->cbReply)
    {
        _tprintf(TEXT("Server: the write failed, GLE=%u\n"), dwError);
        EndClient(pClient);
        return;
    }
    StartRead(pClient);
}

static VOID EndClient(CLIENT *pClient)
{
    if (!DisconnectNamedPipe(pClient->hPipe))
        _tprintf(TEXT("Server: DisconnectNamedPipe failed, GLE=%u\n"), GetLastError());
    CloseHandle(pClient->hPipe);
    GlobalFree(pClient);
    g_dwActive--;
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
