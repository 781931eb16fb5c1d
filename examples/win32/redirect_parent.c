/* redirect_parent.c - start a child process whose standard input and output are anonymous pipes.
 *
 * The parent creates two anonymous pipes, makes its own ends of them non-inheritable, and
 * starts redirect_child with the other ends as the child's standard input and output
 * (STARTF_USESTDHANDLES, bInheritHandles TRUE). A second thread writes the input file into the
 * child's standard input and closes it; the main thread copies whatever the child writes to the
 * parent's standard output until the pipe breaks, then collects the child's exit code.
 *
 * Writing and reading on separate threads matters once the data outgrows the pipe buffers:
 * a parent that first writes everything and only then reads would wait forever on a child
 * that waits for its output to be read.
 *
 *   redirect_parent FILE
 *
 * Standard output receives exactly what the child wrote (with redirect_child: the file);
 * progress reports go to standard error. redirect_child is looked up in the parent's own
 * directory first, then in the current directory, then in PATH.
 */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>
#include <strsafe.h>

#define BUFSIZE 4096 /* bytes */

static HANDLE g_hChildStdinRead = NULL;
static HANDLE g_hChildStdinWrite = NULL;
static HANDLE g_hChildStdoutRead = NULL;
static HANDLE g_hChildStdoutWrite = NULL;
static HANDLE g_hInputFile = NULL;
static DWORD g_cbSent = 0;

static HANDLE StartChild(void);
static DWORD WINAPI FeedChild(LPVOID lpParameter);
static DWORD CollectChildOutput(void);
static void ErrorExit(LPCTSTR pszFunction);

int _tmain(int argc, TCHAR *argv[])
{
    SECURITY_ATTRIBUTES sa;
    HANDLE hChild, hFeeder;
    DWORD dwChildExit = 0, dwFeederExit = 0, cbReceived;

    if (argc != 2)
    {
        _ftprintf(stderr, TEXT("usage: %s FILE\n"), argv[0]);
        return 2;
    }

    _ftprintf(stderr, TEXT("Parent: started\n"));

    /* The pipes' handles are created inheritable, so the child can get its ends... */
    sa.nLength = sizeof(SECURITY_ATTRIBUTES);
    sa.lpSecurityDescriptor = NULL;
    sa.bInheritHandle = TRUE;

    if (!CreatePipe(&g_hChildStdoutRead, &g_hChildStdoutWrite, &sa, 0))
        ErrorExit(TEXT("CreatePipe (child's stdout)"));
    /* ...but the parent's ends must stay in the parent: a child holding the write end of its
     * own standard input would never see that input end. */
    if (!SetHandleInformation(g_hChildStdoutRead, HANDLE_FLAG_INHERIT, 0))
        ErrorExit(TEXT("SetHandleInformation (child's stdout)"));

    if (!CreatePipe(&g_hChildStdinRead, &g_hChildStdinWrite, &sa, 0))
        ErrorExit(TEXT("CreatePipe (child's stdin)"));
    if (!SetHandleInformation(g_hChildStdinWrite, HANDLE_FLAG_INHERIT, 0))
        ErrorExit(TEXT("SetHandleInformation (child's stdin)"));

    /* The input file, opened before the child starts so that a bad name fails early. */
    g_hInputFile = CreateFile(argv[1], GENERIC_READ, 0, NULL, OPEN_EXISTING,
                              FILE_ATTRIBUTE_READONLY, NULL);
    if (g_hInputFile == INVALID_HANDLE_VALUE)
        ErrorExit(TEXT("CreateFile"));

    hChild = StartChild();

    hFeeder = CreateThread(NULL, 0, FeedChild, NULL, 0, NULL);
    if (hFeeder == NULL)
        ErrorExit(TEXT("CreateThread"));

    cbReceived = CollectChildOutput();

    WaitForSingleObject(hFeeder, INFINITE);
    GetExitCodeThread(hFeeder, &dwFeederExit);
    CloseHandle(hFeeder);

    WaitForSingleObject(hChild, INFINITE);
    if (!GetExitCodeProcess(hChild, &dwChildExit))
        ErrorExit(TEXT("GetExitCodeProcess"));
    CloseHandle(hChild);

    _ftprintf(stderr, TEXT("Parent: sent %u bytes to the child, received %u bytes from it\n"),
              g_cbSent, cbReceived);
    _ftprintf(stderr, TEXT("Parent: the child exited with code %u\n"), dwChildExit);

    return (dwChildExit == 0 && dwFeederExit == 0) ? 0 : 1;
}

/* Starts the child with the pipes as its standard handles; returns its process handle. */
static HANDLE StartChild(void)
{
    TCHAR szCommandLine[] = TEXT("redirect_child");
    PROCESS_INFORMATION pi;
    STARTUPINFO si;

    ZeroMemory(&pi, sizeof(PROCESS_INFORMATION));
    ZeroMemory(&si, sizeof(STARTUPINFO));
    si.cb = sizeof(STARTUPINFO);
    si.hStdInput = g_hChildStdinRead;
    si.hStdOutput = g_hChildStdoutWrite;
    si.hStdError = g_hChildStdoutWrite;
    si.dwFlags |= STARTF_USESTDHANDLES;

    if (!CreateProcess(NULL,
                       szCommandLine, /* the command line; may be modified */
                       NULL,          /* process security */
                       NULL,          /* thread security */
                       TRUE,          /* inheritable handles are inherited */
                       0,             /* no creation flags */
                       NULL,          /* the parent's environment */
                       NULL,          /* the parent's current directory */
                       &si,
                       &pi))
        ErrorExit(TEXT("CreateProcess"));

    _ftprintf(stderr, TEXT("Parent: started %s, process id %u\n"), szCommandLine,
              pi.dwProcessId);

    /* The child has its copies of these ends now. The parent's copies must go, or the
     * parent would never see the end of the child's output. */
    CloseHandle(g_hChildStdoutWrite);
    CloseHandle(g_hChildStdinRead);
    CloseHandle(pi.hThread);
    return pi.hProcess;
}

/* Thread: copies the input file into the child's standard input, then closes it, which the
 * child sees as the end of its input. */
static DWORD WINAPI FeedChild(LPVOID lpParameter)
{
    CHAR chBuf[BUFSIZE];
    DWORD cbRead, cbWritten;
    DWORD dwResult = 0;

    UNREFERENCED_PARAMETER(lpParameter);

    for (;;)
    {
        if (!ReadFile(g_hInputFile, chBuf, BUFSIZE, &cbRead, NULL))
        {
            _ftprintf(stderr, TEXT("Parent: ReadFile (input file) failed, GLE=%d\n"),
                      GetLastError());
            dwResult = 1;
            break;
        }
        if (cbRead == 0)
            break; /* end of the file */

        if (!WriteFile(g_hChildStdinWrite, chBuf, cbRead, &cbWritten, NULL))
        {
            _ftprintf(stderr, TEXT("Parent: WriteFile (child's stdin) failed, GLE=%d\n"),
                      GetLastError());
            dwResult = 1;
            break;
        }
        g_cbSent += cbWritten;
    }

    CloseHandle(g_hInputFile);
    if (!CloseHandle(g_hChildStdinWrite))
        ErrorExit(TEXT("CloseHandle (child's stdin)"));
    return dwResult;
}

/* Copies the child's output to the parent's standard output until the child's end is closed
 * (ERROR_BROKEN_PIPE); returns the number of bytes copied. */
static DWORD CollectChildOutput(void)
{
    CHAR chBuf[BUFSIZE];
    DWORD cbRead, cbWritten, cbTotal = 0;
    HANDLE hParentStdout = GetStdHandle(STD_OUTPUT_HANDLE);

    for (;;)
    {
        if (!ReadFile(g_hChildStdoutRead, chBuf, BUFSIZE, &cbRead, NULL))
        {
            if (GetLastError() != ERROR_BROKEN_PIPE)
                _ftprintf(stderr, TEXT("Parent: ReadFile (child's stdout) failed, GLE=%d\n"),
                          GetLastError());
            break;
        }
        if (cbRead == 0)
            break;

        if (!WriteFile(hParentStdout, chBuf, cbRead, &cbWritten, NULL))
            ErrorExit(TEXT("WriteFile (parent's stdout)"));
        cbTotal += cbWritten;
    }

    CloseHandle(g_hChildStdoutRead);
    return cbTotal;
}

/* Reports the calling thread's last error with its text, and ends the process. */
static void ErrorExit(LPCTSTR pszFunction)
{
    LPTSTR pszSystemText = NULL;
    LPTSTR pszDisplay;
    size_t cchDisplay;
    int cchText;
    DWORD dwError = GetLastError();

    FormatMessage(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
                      FORMAT_MESSAGE_IGNORE_INSERTS,
                  NULL,
                  dwError,
                  MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT),
                  (LPTSTR)&pszSystemText, /* with ALLOCATE_BUFFER: where to put the pointer */
                  0,
                  NULL);

    /* System messages end with a line break; the display adds its own. */
    cchText = pszSystemText != NULL ? lstrlen(pszSystemText) : 0;
    while (cchText > 0 &&
           (pszSystemText[cchText - 1] == TEXT('\n') || pszSystemText[cchText - 1] == TEXT('\r')))
        pszSystemText[--cchText] = 0;

    cchDisplay = (size_t)cchText + (size_t)lstrlen(pszFunction) + 64;
    pszDisplay = (LPTSTR)LocalAlloc(LMEM_ZEROINIT, cchDisplay * sizeof(TCHAR));
    if (pszDisplay != NULL)
    {
        StringCchPrintf(pszDisplay, cchDisplay, TEXT("Parent: %s failed with error %u: %s"),
                        pszFunction, dwError,
                        pszSystemText != NULL ? pszSystemText : TEXT("(no text)"));
        _ftprintf(stderr, TEXT("%s\n"), pszDisplay);
        LocalFree(pszDisplay);
    }
    if (pszSystemText != NULL)
        LocalFree(pszSystemText);
    ExitProcess(1);
}
