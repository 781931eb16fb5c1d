/* tmain_args.c - the entry point of Microsoft's pipe clients, `int _tmain(int argc, TCHAR *argv[])`,
 * built as C and as C++, ANSI and UNICODE: prints its arguments (UTF-16 under UNICODE) with their
 * lengths in TCHARs, then waits for a key as the clients do before they close the pipe. */
#include <windows.h>
#include <stdio.h>
#include <conio.h>
#include <tchar.h>

int _tmain(int argc, TCHAR *argv[])
{
    int i;
    for (i = 1; i < argc; i++)
        _tprintf(TEXT("tmain_args: argument %d: \"%s\" (%d characters)\n"), i, argv[i], lstrlen(argv[i]));
    printf("\n<End of message, press ENTER to terminate connection and exit>");
    _getch();
    printf("\ntmain_args: %d arguments\n", argc - 1);
    return argc - 1;
}
