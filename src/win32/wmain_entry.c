/* main() for UNICODE programs whose entry point is _tmain/wmain (tchar.h maps _tmain to wmain
 * under UNICODE). Lives in the static libnpipe_wmain, which `pkg-config --libs npipe` links:
 * the linker only takes this object when the program defines no main() itself. The arguments
 * and the environment are passed as UTF-16; malformed UTF-8 becomes U+FFFD.
 *
 * The program's wmain may take all three parameters, the first two, or none (MSVC accepts each
 * form): the call always passes three, and a definition with fewer never looks at the others -
 * the calling convention of every Linux ABI lets the caller pass arguments the callee ignores,
 * which is also how the C library calls a main() defined with fewer parameters. */
#include <npipe/win32.h>

#include <stdlib.h>
#include <string.h>

int wmain(int argc, WCHAR* argv[], WCHAR* envp[]);

static WCHAR* widen(const char* s) {
    size_t n = strlen(s);
    WCHAR* out = (WCHAR*)malloc((n + 1) * sizeof(WCHAR)); /* UTF-16 never needs more units */
    size_t i = 0, o = 0;
    if (!out) return NULL;
    while (i < n) {
        unsigned char b = (unsigned char)s[i];
        unsigned long c = 0xFFFD;
        size_t need = b < 0x80 ? 0 : (b & 0xE0) == 0xC0 ? 1 : (b & 0xF0) == 0xE0 ? 2 : (b & 0xF8) == 0xF0 ? 3 : 9;
        if (need == 0) {
            c = b;
            i += 1;
        } else if (need <= 3 && i + need < n + 1) {
            size_t k;
            int ok = 1;
            c = b & (0x3Fu >> need);
            for (k = 1; k <= need; ++k) {
                unsigned char t = (unsigned char)s[i + k];
                if (i + k >= n || (t & 0xC0) != 0x80) {
                    ok = 0;
                    break;
                }
                c = (c << 6) | (t & 0x3Fu);
            }
            if (!ok || (need == 1 && c < 0x80) || (need == 2 && c < 0x800) || (need == 3 && (c < 0x10000 || c > 0x10FFFF)) ||
                (c >= 0xD800 && c <= 0xDFFF)) {
                c = 0xFFFD;
                i += 1;
            } else {
                i += need + 1;
            }
        } else {
            i += 1;
        }
        if (c >= 0x10000) {
            c -= 0x10000;
            out[o++] = (WCHAR)(0xD800 + (c >> 10));
            out[o++] = (WCHAR)(0xDC00 + (c & 0x3FF));
        } else {
            out[o++] = (WCHAR)c;
        }
    }
    out[o] = 0;
    return out;
}

/* A NULL-terminated UTF-16 copy of `count` strings; NULL when out of memory. */
static WCHAR** widen_all(int count, char** strings) {
    int i;
    WCHAR** out = (WCHAR**)calloc((size_t)count + 1, sizeof(WCHAR*));
    if (!out) return NULL;
    for (i = 0; i < count; ++i)
        if (!(out[i] = widen(strings[i]))) return NULL;
    return out;
}

/* The copies live as long as the process, like argv (a program may keep pointers into them and
 * end with ExitProcess). */
static WCHAR** npipe_wide_argv;
static WCHAR** npipe_wide_envp;

int main(int argc, char** argv, char** envp) {
    int envc = 0;
    while (envp && envp[envc]) ++envc;
    npipe_wide_argv = widen_all(argc, argv);
    npipe_wide_envp = widen_all(envc, envp);
    if (!npipe_wide_argv || !npipe_wide_envp) return 1;
    return wmain(argc, npipe_wide_argv, npipe_wide_envp);
}
