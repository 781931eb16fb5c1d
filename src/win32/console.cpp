// What a program written for a Windows console uses to talk to its user: conio.h's _getch,
// _getche and _kbhit over standard input, and MessageBox, for which a console program has no
// window - its text goes to standard error, where such a program's other complaints go.
#include "os/process.hpp"
#include "os/terminal.hpp"
#include "win32/kernel_object.hpp"
#include "win32/text.hpp"

#include <npipe/compat/conio.h>

#include <cstdio>
#include <iterator>
#include <mutex>
#include <poll.h>
#include <string>

namespace {

using namespace npipe;

constexpr int standard_input = 0;

std::mutex console_turn; // the conio functions run one at a time, as Microsoft's do

/// A key: one byte of standard input, which reads key by key meanwhile when it is a terminal.
int read_key(bool echo) {
    std::lock_guard turn(console_turn);
    std::fflush(stdout); // the prompt before the wait, as a Windows console shows it
    auto keys = os::key_input::start(standard_input, echo);
    unsigned char key = 0;
    auto got = os::read_some(standard_input, &key, 1);
    if (!got || got.value == 0) return EOF;
    if (echo && keys.error == std::errc::inappropriate_io_control_operation) {
        // Not a terminal: no terminal echoes the key, so _getche does.
        std::fputc(key, stdout);
        std::fflush(stdout);
    }
    return key;
}

/// The buttons of each type of box (uType & MB_TYPEMASK), left to right.
constexpr int box_buttons[][3] = {
    {IDOK, 0, 0},                       // MB_OK
    {IDOK, IDCANCEL, 0},                // MB_OKCANCEL
    {IDABORT, IDRETRY, IDIGNORE},       // MB_ABORTRETRYIGNORE
    {IDYES, IDNO, IDCANCEL},            // MB_YESNOCANCEL
    {IDYES, IDNO, 0},                   // MB_YESNO
    {IDRETRY, IDCANCEL, 0},             // MB_RETRYCANCEL
    {IDCANCEL, IDTRYAGAIN, IDCONTINUE}, // MB_CANCELTRYCONTINUE
};

/// The text as lines for a terminal: CR LF becomes LF, and the line ends that FormatMessage's
/// text brings along go (a box shows no empty last line).
std::string as_lines(std::string text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i)
        if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) out += text[i];
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

int show_box(const std::string& text, const std::string& caption, UINT type) {
    UINT kind = type & MB_TYPEMASK;
    if (kind >= std::size(box_buttons)) return win32::fail(ERROR_INVALID_MSGBOX_STYLE, 0);
    UINT position = (type & MB_DEFMASK) >> 8;
    int answer = position < 3 ? box_buttons[kind][position] : 0;
    if (answer == 0) answer = box_buttons[kind][0];
    std::string line = caption.empty() ? as_lines(text) : caption + ": " + as_lines(text);
    line += '\n';
    std::fflush(stdout); // what the program printed before comes first
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
    return answer;
}

} // namespace

extern "C" {

int _getch(void) { return win32::guard(EOF, [] { return read_key(false); }); }

int _getche(void) { return win32::guard(EOF, [] { return read_key(true); }); }

int _kbhit(void) {
    std::lock_guard turn(console_turn);
    // A terminal reads key by key while we look, so that keys typed without Enter count.
    auto keys = os::key_input::start(standard_input, false);
    auto ready = os::poll_one(standard_input, POLLIN, 0);
    // POLLHUP, POLLERR and POLLNVAL too: _getch would return at once (with EOF).
    return ready && ready.value != 0 ? 1 : 0;
}

int WINAPI MessageBoxA(HWND hWnd, LPCSTR lpText, LPCSTR lpCaption, UINT uType) {
    (void)hWnd;
    return win32::guard(0, [&] {
        return show_box(lpText ? lpText : "", lpCaption ? lpCaption : "Error", uType);
    });
}

int WINAPI MessageBoxW(HWND hWnd, LPCWSTR lpText, LPCWSTR lpCaption, UINT uType) {
    (void)hWnd;
    return win32::guard(0, [&] {
        std::string text = lpText ? win32::to_utf8_lossy(lpText, win32::length16(lpText)) : "";
        std::string caption = lpCaption ? win32::to_utf8_lossy(lpCaption, win32::length16(lpCaption)) : "Error";
        return show_box(text, caption, uType);
    });
}

} // extern "C"
