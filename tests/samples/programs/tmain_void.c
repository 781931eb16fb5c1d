/* tmain_void.c - a console program in the style of Microsoft's samples whose entry point takes
 * no arguments, `int _tmain(VOID)`, as the multithreaded and overlapped pipe servers have it. It
 * must build and run as C and as C++, ANSI and UNICODE, with nothing but the Windows headers.
 *
 * It uses what such programs call around their pipe code: the executable's path, the
 * performance counter, the process's processors, GlobalAlloc, a "press a key" wait with _getch
 * and a MessageBox on the way out. Its output is fixed so the test can compare it. */
#include <windows.h>
#include <stdio.h>
#include <conio.h>
#include <tchar.h>
#include <strsafe.h>

#define BUFSIZE 512

int _tmain(VOID)
{
    TCHAR path[MAX_PATH];
    TCHAR line[BUFSIZE];
    LARGE_INTEGER frequency, start, end;
    DWORD_PTR processMask = 0, systemMask = 0;
    LPTSTR copy;
    DWORD length;
    int key;

    length = GetModuleFileName(NULL, path, MAX_PATH);
    if (length == 0 || length >= MAX_PATH)
    {
        _tprintf(TEXT("GetModuleFileName failed, GLE=%lu\n"), (unsigned long)GetLastError());
        return 1;
    }
    /* The program's own name, after the last slash. */
    while (length > 0 && path[length - 1] != TEXT('/')) --length;
    _tprintf(TEXT("tmain_void: I am %s\n"), path + length);

    if (!QueryPerformanceFrequency(&frequency) || !QueryPerformanceCounter(&start) ||
        !QueryPerformanceCounter(&end) || end.QuadPart < start.QuadPart)
    {
        _tprintf(TEXT("the performance counter failed\n"));
        return 1;
    }
    _tprintf(TEXT("tmain_void: counter frequency %lld Hz\n"), (long long)frequency.QuadPart);

    if (!GetProcessAffinityMask(GetCurrentProcess(), &processMask, &systemMask) ||
        !SetProcessAffinityMask(GetCurrentProcess(), processMask) || (processMask & ~systemMask))
    {
        _tprintf(TEXT("the affinity mask failed, GLE=%lu\n"), (unsigned long)GetLastError());
        return 1;
    }

    copy = (LPTSTR)GlobalAlloc(GPTR, BUFSIZE * sizeof(TCHAR));
    if (copy == NULL || FAILED(StringCchCopy(copy, BUFSIZE, TEXT("from GlobalAlloc"))))
        return 1;
    StringCchPrintf(line, BUFSIZE, TEXT("tmain_void: %s, %d characters"), copy, lstrlen(copy));
    _tprintf(TEXT("%s\n"), line);
    GlobalFree(copy);

    _tprintf(TEXT("tmain_void: press a key> "));
    key = _getch();
    _tprintf(TEXT("\ntmain_void: key %d\n"), key);

    if (MessageBox(NULL, TEXT("done"), TEXT("tmain_void"), MB_OK | MB_ICONINFORMATION) != IDOK)
        return 1;
    return 0;
}
