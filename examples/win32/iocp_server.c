/* iocp_server.c - a named pipe server with an I/O completion port and a pool of threads.
 *
 * INSTANCES overlapped instances of \\.\pipe\samplepipe are associated with one completion
 * port (CreateIoCompletionPort), each with its own address as the completion key. WORKERS
 * threads (CreateThread) take completion packets with GetQueuedCompletionStatus and move the
 * instance a packet is for on to its next step: connected -> read a request -> write the reply
 * -> read ... -> the client closed its end: DisconnectNamedPipe, ConnectNamedPipe again. One
 * instance has one operation under way at a time, so one worker at a time touches it.
 *
 * What a completion port does not queue, the server queues itself: ConnectNamedPipe's
 * ERROR_PIPE_CONNECTED (the client came first) becomes a packet posted with
 * PostQueuedCompletionStatus. An operation that fails at once queues nothing either; an
 * operation that completes at once, and a message read that fills the buffer
 * (ERROR_MORE_DATA), do queue one.
 *
 * The workers count the clients that came and went with InterlockedIncrement and print through
 * one CRITICAL_SECTION, so lines never mix. To stop, the main thread posts one packet with key
 * 0 per worker and waits for them all (WaitForMultipleObjects).
 *
 *   iocp_server           serve clients until the process is killed
 *   iocp_server N         exit once N clients have come and gone
 *
 * Clients: pipe_client, transact_client, call_client.
 */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>
#include <strsafe.h>

#define INSTANCES 4
#define WORKERS 2
#define BUFSIZE 4096 /* characters */

typedef enum
{
    STEP_CONNECT,
    STEP_READ,
    STEP_WRITE
} STEP;

typedef struct
{
    OVERLAPPED ov;
    HANDLE hPipe;
    STEP step;
    TCHAR achRequest[BUFSIZE];
    TCHAR achReply[BUFSIZE];
    DWORD cbReply;
} INSTANCE;

static LPCTSTR g_szPipeName = TEXT("\\\\.\\pipe\\samplepipe");
static INSTANCE g_aInstances[INSTANCES];
static HANDLE g_hPort = NULL;
static HANDLE g_hAllServed = NULL; /* set when the limit is reached */
static CRITICAL_SECTION g_csOutput;
static volatile LONG g_lServed = 0;
static LONG g_lLimit = 0; /* 0: no limit */

static DWORD WINAPI Worker(LPVOID lpParameter);
static VOID OnPacket(INSTANCE *pInst, DWORD dwError, DWORD cbDone);
static VOID StartConnect(INSTANCE *pInst);
static VOID StartRead(INSTANCE *pInst);
static VOID StartWrite(INSTANCE *pInst);
static VOID Reconnect(INSTANCE *pInst);
static VOID ClientGone(VOID);
static VOID Say(LPCTSTR pszFormat, ...);
static BOOL BuildReply(LPCTSTR pszRequest, LPTSTR pszReply, LPDWORD pcbReply);

int _tmain(int argc, TCHAR *argv[])
{
    HANDLE ahWorkers[WORKERS];
    DWORD i;
    const TCHAR *pch;

    if (argc > 1)
    {
        for (pch = argv[1]; *pch >= TEXT('0') && *pch <= TEXT('9'); pch++)
            g_lLimit = g_lLimit * 10 + (LONG)(*pch - TEXT('0'));
        if (*pch != 0 || g_lLimit <= 0)
        {
            _tprintf(TEXT("usage: %s [clients to serve]\n"), argv[0]);
            return 2;
        }
    }

    InitializeCriticalSectionAndSpinCount(&g_csOutput, 1000);
    g_hAllServed = CreateEvent(NULL, TRUE, FALSE, NULL);
    /* A new port, with no file yet; at most WORKERS threads should run packets at once. */
    g_hPort = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, WORKERS);
    if (g_hAllServed == NULL || g_hPort == NULL)
    {
        _tprintf(TEXT("Server: CreateEvent/CreateIoCompletionPort failed, GLE=%u\n"), GetLastError());
        return 1;
    }

    for (i = 0; i < INSTANCES; i++)
    {
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
        /* The instance's packets carry its address as their key. */
        if (CreateIoCompletionPort(g_aInstances[i].hPipe, g_hPort, (ULONG_PTR)&g_aInstances[i], 0) != g_hPort)
        {
            _tprintf(TEXT("Server: CreateIoCompletionPort failed, GLE=%u\n"), GetLastError());
            return 1;
        }
    }

    for (i = 0; i < WORKERS; i++)
    {
        ahWorkers[i] = CreateThread(NULL, 0, Worker, NULL, 0, NULL);
        if (ahWorkers[i] == NULL)
        {
            _tprintf(TEXT("Server: CreateThread failed, GLE=%u\n"), GetLastError());
            return 1;
        }
    }
    for (i = 0; i < INSTANCES; i++)
        StartConnect(&g_aInstances[i]);
    Say(TEXT("Server: %s has %d instances and a completion port"), g_szPipeName, INSTANCES);

    WaitForSingleObject(g_hAllServed, INFINITE); /* forever without a limit */

    /* Key 0 tells a worker to stop; each takes one such packet. */
    for (i = 0; i < WORKERS; i++)
        PostQueuedCompletionStatus(g_hPort, 0, 0, NULL);
    WaitForMultipleObjects(WORKERS, ahWorkers, TRUE, INFINITE);
    for (i = 0; i < WORKERS; i++)
        CloseHandle(ahWorkers[i]);

    /* The listening instances' ConnectNamedPipe end as their handles close. */
    for (i = 0; i < INSTANCES; i++)
        CloseHandle(g_aInstances[i].hPipe);
    CloseHandle(g_hPort);
    CloseHandle(g_hAllServed);
    DeleteCriticalSection(&g_csOutput);
    _tprintf(TEXT("Server: served %d clients, exiting\n"), (int)g_lServed);
    return 0;
}

/* Takes packets until one with key 0 comes. */
static DWORD WINAPI Worker(LPVOID lpParameter)
{
    DWORD cbDone, dwError;
    ULONG_PTR ulKey;
    LPOVERLAPPED pov;

    UNREFERENCED_PARAMETER(lpParameter);
    for (;;)
    {
        pov = NULL;
        dwError = 0;
        if (!GetQueuedCompletionStatus(g_hPort, &cbDone, &ulKey, &pov, INFINITE))
        {
            dwError = GetLastError();
            if (pov == NULL) /* no packet: the port itself failed */
            {
                Say(TEXT("Worker: GetQueuedCompletionStatus failed, GLE=%u"), dwError);
                return 1;
            }
        }
        if (ulKey == 0)
            return 0;
        /* A packet for an operation that failed carries its error: FALSE and the last error. */
        OnPacket((INSTANCE *)ulKey, dwError, cbDone);
    }
}

/* The operation under way on pInst has finished: start its next one. */
static VOID OnPacket(INSTANCE *pInst, DWORD dwError, DWORD cbDone)
{
    switch (pInst->step)
    {
    case STEP_CONNECT:
        if (dwError != 0)
        {
            Say(TEXT("Server: ConnectNamedPipe failed, GLE=%u"), dwError);
            Reconnect(pInst);
            return;
        }
        Say(TEXT("Server: a client connected"));
        StartRead(pInst);
        return;

    case STEP_READ:
        if (dwError == ERROR_BROKEN_PIPE)
        {
            ClientGone();
            Reconnect(pInst);
            return;
        }
        if (dwError != 0)
        {
            Say(TEXT("Server: ReadFile failed, GLE=%u"), dwError);
            Reconnect(pInst);
            return;
        }
        pInst->achRequest[cbDone / sizeof(TCHAR)] = 0;
        if (!BuildReply(pInst->achRequest, pInst->achReply, &pInst->cbReply))
        {
            Reconnect(pInst);
            return;
        }
        StartWrite(pInst);
        return;

    case STEP_WRITE:
        if (dwError != 0 || cbDone != pInst->cbReply)
        {
            Say(TEXT("Server: WriteFile failed, GLE=%u"), dwError);
            Reconnect(pInst);
            return;
        }
        StartRead(pInst);
        return;
    }
}

static VOID StartConnect(INSTANCE *pInst)
{
    pInst->step = STEP_CONNECT;
    while (!ConnectNamedPipe(pInst->hPipe, &pInst->ov))
    {
        switch (GetLastError())
        {
        case ERROR_IO_PENDING:
            return; /* a packet comes when a client does */
        case ERROR_PIPE_CONNECTED:
            /* Connected before the call: no packet is queued for that, so queue one. */
            PostQueuedCompletionStatus(g_hPort, 0, (ULONG_PTR)pInst, &pInst->ov);
            return;
        case ERROR_NO_DATA:
            /* A client came and went already: disconnect it, listen again. */
            DisconnectNamedPipe(pInst->hPipe);
            continue;
        default:
            Say(TEXT("Server: ConnectNamedPipe failed, GLE=%u"), GetLastError());
            return;
        }
    }
}

static VOID StartRead(INSTANCE *pInst)
{
    DWORD dwError;

    pInst->step = STEP_READ;
    if (ReadFile(pInst->hPipe, pInst->achRequest, (BUFSIZE - 1) * sizeof(TCHAR), NULL, &pInst->ov))
        return; /* done at once: its packet is queued all the same */
    dwError = GetLastError();
    if (dwError == ERROR_IO_PENDING || dwError == ERROR_MORE_DATA)
        return; /* a packet comes (ERROR_MORE_DATA is a warning: it queues one too) */
    OnPacket(pInst, dwError, 0); /* failed at once: no packet */
}

static VOID StartWrite(INSTANCE *pInst)
{
    DWORD dwError;

    pInst->step = STEP_WRITE;
    if (WriteFile(pInst->hPipe, pInst->achReply, pInst->cbReply, NULL, &pInst->ov))
        return;
    dwError = GetLastError();
    if (dwError == ERROR_IO_PENDING)
        return;
    OnPacket(pInst, dwError, 0);
}

static VOID Reconnect(INSTANCE *pInst)
{
    if (!DisconnectNamedPipe(pInst->hPipe))
        Say(TEXT("Server: DisconnectNamedPipe failed, GLE=%u"), GetLastError());
    StartConnect(pInst);
}

/* A client closed its end: count it; the last one of the limit wakes the main thread. */
static VOID ClientGone(VOID)
{
    Say(TEXT("Server: the client closed the pipe"));
    if (InterlockedIncrement(&g_lServed) == g_lLimit)
        SetEvent(g_hAllServed);
}

/* Prints one line (a StringCchPrintf format and its arguments), never mixed with another
 * thread's. */
static VOID Say(LPCTSTR pszFormat, ...)
{
    TCHAR achLine[BUFSIZE + 64];
    va_list args;
    HRESULT hr;

    va_start(args, pszFormat);
    hr = StringCchVPrintf(achLine, BUFSIZE + 64, pszFormat, args);
    va_end(args);
    if (FAILED(hr))
        return;
    EnterCriticalSection(&g_csOutput);
    _tprintf(TEXT("%s\n"), achLine);
    LeaveCriticalSection(&g_csOutput);
}

/* Logs the request and answers with its text and length; *pcbReply is the reply's size in
 * bytes, its null included. */
static BOOL BuildReply(LPCTSTR pszRequest, LPTSTR pszReply, LPDWORD pcbReply)
{
    size_t cchRequest = 0;

    Say(TEXT("Server: request \"%s\""), pszRequest);
    if (FAILED(StringCchLength(pszRequest, BUFSIZE, &cchRequest)) ||
        FAILED(StringCchPrintf(pszReply, BUFSIZE, TEXT("Server reply: you sent \"%s\" (%u characters)"),
                               pszRequest, (unsigned)cchRequest)))
    {
        Say(TEXT("Server: the reply does not fit in %d characters"), BUFSIZE);
        return FALSE;
    }
    *pcbReply = (DWORD)((lstrlen(pszReply) + 1) * sizeof(TCHAR));
    return TRUE;
}
