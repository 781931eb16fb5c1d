/* redirect_child.c - the child of redirect_parent: copies standard input to standard output.
 *
 * It knows nothing about pipes: it asks for its standard handles and moves bytes with ReadFile
 * and WriteFile until its input ends -- ERROR_BROKEN_PIPE when the input is a pipe whose write
 * end has been closed, a 0-byte read when it is a file.
 *
 *   redirect_child < in > out
 *
 * Exit code 0 when the whole input was copied, 1 when reading failed, 2 when writing did.
 */
#include <windows.h>
#include <stdio.h>

#define BUFSIZE 4096 /* bytes */

int main(void)
{
    CHAR chBuf[BUFSIZE];
    DWORD cbRead, cbWritten;
    HANDLE hStdin = GetStdHandle(STD_INPUT_HANDLE);
    HANDLE hStdout = GetStdHandle(STD_OUTPUT_HANDLE);

    if (hStdin == INVALID_HANDLE_VALUE || hStdout == INVALID_HANDLE_VALUE)
        ExitProcess(1);

    for (;;)
    {
        if (!ReadFile(hStdin, chBuf, BUFSIZE, &cbRead, NULL))
        {
            if (GetLastError() == ERROR_BROKEN_PIPE)
                break; /* the writer closed its end: the end of the input */
            fprintf(stderr, "Child: ReadFile failed, GLE=%d\n", (int)GetLastError());
            return 1;
        }
        if (cbRead == 0)
            break; /* the end of a file */

        if (!WriteFile(hStdout, chBuf, cbRead, &cbWritten, NULL) || cbWritten != cbRead)
        {
            fprintf(stderr, "Child: WriteFile failed, GLE=%d\n", (int)GetLastError());
            return 2;
        }
    }
    return 0;
}
