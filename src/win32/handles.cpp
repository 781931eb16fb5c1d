// The handle table: HANDLE values, CloseHandle, DuplicateHandle, handle flags, the standard
// handles, and the handles a parent process passed down (see process_api.cpp for the sender).
#include "win32/io_object.hpp"
#include "win32/kernel_object.hpp"

#include "os/fd.hpp"

#include <array>
#include <cstdlib>
#include <shared_mutex>
#include <string_view>
#include <unistd.h>
#include <unordered_map>

namespace npipe::win32 {
namespace {

struct slot {
    std::shared_ptr<object> obj;
    handle_flags flags;
};

// Handle values are multiples of 4 starting at 4, as on Windows; 0 and the pseudo handles
// (-1, -2) are never handed out.
constexpr std::size_t max_handles = 1u << 20;

std::size_t index_of(HANDLE h) noexcept {
    auto v = reinterpret_cast<std::uintptr_t>(h);
    if (v == 0 || v % 4 != 0 || v / 4 > max_handles) return max_handles;
    return v / 4 - 1;
}
HANDLE value_of(std::size_t index) noexcept {
    return reinterpret_cast<HANDLE>(static_cast<std::uintptr_t>((index + 1) * 4));
}

class table {
public:
    HANDLE insert(std::shared_ptr<object> obj, handle_flags flags) {
        std::unique_lock lock(mutex_);
        std::size_t i;
        if (!free_.empty()) {
            i = free_.back();
            free_.pop_back();
        } else {
            if (slots_.size() >= max_handles) return nullptr;
            i = slots_.size();
            slots_.emplace_back();
        }
        ++obj->handle_count;
        slots_[i] = {std::move(obj), flags};
        return value_of(i);
    }

    bool insert_at(HANDLE h, std::shared_ptr<object> obj, handle_flags flags) {
        std::size_t i = index_of(h);
        if (i >= max_handles) return false;
        std::unique_lock lock(mutex_);
        while (slots_.size() <= i) {
            free_.push_back(slots_.size());
            slots_.emplace_back();
        }
        if (slots_[i].obj) return false;
        std::erase(free_, i);
        ++obj->handle_count;
        slots_[i] = {std::move(obj), flags};
        return true;
    }

    std::shared_ptr<object> object_at(HANDLE h) {
        std::size_t i = index_of(h);
        std::shared_lock lock(mutex_);
        if (i >= slots_.size()) return nullptr;
        return slots_[i].obj;
    }

    /// The objects of `count` handles under one lock (a WaitForMultipleObjects of 64 handles
    /// takes it once, not 64 times); false when one is not a handle.
    bool objects_at(const HANDLE* hs, std::size_t count, std::vector<std::shared_ptr<object>>& out) {
        std::shared_lock lock(mutex_);
        for (std::size_t k = 0; k < count; ++k) {
            std::size_t i = index_of(hs[k]);
            if (i >= slots_.size() || !slots_[i].obj) return false;
            out.push_back(slots_[i].obj);
        }
        return true;
    }

    /// `f` over the objects of `count` (at most MAXIMUM_WAIT_OBJECTS) handles, under the lock and
    /// without taking references: no handle can be closed meanwhile. False when one is not a handle.
    bool visit(const HANDLE* hs, std::size_t count, const std::function<void(object* const*)>& f) {
        std::array<object*, MAXIMUM_WAIT_OBJECTS> raw{};
        if (count > raw.size()) return false;
        std::shared_lock lock(mutex_);
        for (std::size_t k = 0; k < count; ++k) {
            std::size_t i = index_of(hs[k]);
            if (i >= slots_.size() || !slots_[i].obj) return false;
            raw[k] = slots_[i].obj.get();
        }
        f(raw.data());
        return true;
    }

    std::optional<slot> get(HANDLE h) {
        std::size_t i = index_of(h);
        std::shared_lock lock(mutex_);
        if (i >= slots_.size() || !slots_[i].obj) return std::nullopt;
        return slots_[i];
    }

    DWORD remove(HANDLE h, std::shared_ptr<object>& removed) {
        std::size_t i = index_of(h);
        std::unique_lock lock(mutex_);
        if (i >= slots_.size() || !slots_[i].obj || slots_[i].flags.protect_from_close)
            return ERROR_INVALID_HANDLE;
        removed = std::move(slots_[i].obj);
        slots_[i] = {};
        free_.push_back(i);
        return 0;
    }

    bool set_flags(HANDLE h, DWORD mask, DWORD flags) {
        std::size_t i = index_of(h);
        std::unique_lock lock(mutex_);
        if (i >= slots_.size() || !slots_[i].obj) return false;
        auto& f = slots_[i].flags;
        if (mask & HANDLE_FLAG_INHERIT) f.inherit = (flags & HANDLE_FLAG_INHERIT) != 0;
        if (mask & HANDLE_FLAG_PROTECT_FROM_CLOSE)
            f.protect_from_close = (flags & HANDLE_FLAG_PROTECT_FROM_CLOSE) != 0;
        return true;
    }

    std::vector<std::pair<HANDLE, std::shared_ptr<object>>> inheritable() {
        std::shared_lock lock(mutex_);
        std::vector<std::pair<HANDLE, std::shared_ptr<object>>> out;
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i].obj && slots_[i].flags.inherit) out.emplace_back(value_of(i), slots_[i].obj);
        return out;
    }

private:
    std::shared_mutex mutex_;
    std::vector<slot> slots_;
    std::vector<std::size_t> free_;
};

// The standard handles (GetStdHandle/SetStdHandle). 0 = not yet made.
struct std_handles {
    std::mutex mutex;
    std::array<HANDLE, 3> value{};
    std::array<bool, 3> made{};
};

std_handles& standard() {
    static std_handles s;
    return s;
}

/// Parses "H:FD:K,H:FD:K" (handle value, descriptor, kind) and NPIPE_STD_HANDLES "IN,OUT,ERR"
/// left by a parent's CreateProcess, so inherited handles keep their values here.
void import_inherited(table& t) {
    const char* list = std::getenv("NPIPE_HANDLES");
    std::unordered_map<int, std::shared_ptr<io_object>> by_fd;
    if (list) {
        std::string_view rest(list);
        while (!rest.empty()) {
            auto comma = rest.find(',');
            auto item = rest.substr(0, comma);
            rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
            unsigned long long h = 0;
            int fd = -1;
            char kind = 0;
            std::string text(item);
            if (std::sscanf(text.c_str(), "%llx:%d:%c", &h, &fd, &kind) != 3) continue;
            if (!os::is_open(fd)) continue; // not really passed down (someone edited the env)
            auto& obj = by_fd[fd];
            if (!obj) {
                // Ours now: our own CreateProcess passes it on only when asked. The standard
                // streams stay as they are.
                if (fd > 2) (void)os::set_cloexec(fd, true);
                obj = adopt_descriptor(fd, kind);
            }
            auto value = reinterpret_cast<HANDLE>(static_cast<std::uintptr_t>(h));
            if (t.insert_at(value, obj, {true, false}) && fd <= 2 && !standard().made[static_cast<std::size_t>(fd)]) {
                // A standard stream passed down as a handle has one owner: that handle is also
                // what GetStdHandle returns (NPIPE_STD_HANDLES below may say otherwise).
                standard().value[static_cast<std::size_t>(fd)] = value;
                standard().made[static_cast<std::size_t>(fd)] = true;
            }
        }
    }
    if (const char* stdh = std::getenv("NPIPE_STD_HANDLES")) {
        unsigned long long v[3] = {0, 0, 0};
        if (std::sscanf(stdh, "%llx,%llx,%llx", &v[0], &v[1], &v[2]) == 3) {
            auto& s = standard();
            for (int i = 0; i < 3; ++i) {
                auto h = reinterpret_cast<HANDLE>(static_cast<std::uintptr_t>(v[i]));
                if (v[i] != 0 && t.get(h)) {
                    s.value[static_cast<std::size_t>(i)] = h;
                    s.made[static_cast<std::size_t>(i)] = true;
                }
            }
        }
    }
    // A grandchild must not mistake these for its own.
    ::unsetenv("NPIPE_HANDLES");
    ::unsetenv("NPIPE_STD_HANDLES");
}

table& handles() {
    static table* t = [] {
        auto* made = new table; // never destroyed: handles may be used from atexit handlers
        import_inherited(*made);
        return made;
    }();
    return *t;
}

/// The parent's handles are taken in when the library is loaded, while the program is still
/// single-threaded (import_inherited edits the environment).
[[gnu::constructor]] void take_inherited_handles_at_load() { (void)handles(); }

} // namespace

HANDLE insert_handle(std::shared_ptr<object> obj, handle_flags flags) {
    return handles().insert(std::move(obj), flags);
}

bool insert_handle_at(HANDLE value, std::shared_ptr<object> obj, handle_flags flags) {
    return handles().insert_at(value, std::move(obj), flags);
}

std::shared_ptr<object> lookup(HANDLE h) {
    if (h == current_process_pseudo()) return current_process();
    if (h == current_thread_pseudo()) return current_thread();
    return handles().object_at(h);
}

bool lookup_all(const HANDLE* hs, std::size_t count, std::vector<std::shared_ptr<object>>& out) {
    for (std::size_t k = 0; k < count; ++k)
        if (hs[k] == current_process_pseudo() || hs[k] == current_thread_pseudo()) {
            for (std::size_t j = 0; j < count; ++j) {
                auto o = lookup(hs[j]);
                if (!o) return false;
                out.push_back(std::move(o));
            }
            return true;
        }
    return handles().objects_at(hs, count, out);
}

bool visit_objects(const HANDLE* hs, std::size_t count, const std::function<void(object* const*)>& f) {
    for (std::size_t k = 0; k < count; ++k)
        if (hs[k] == current_process_pseudo() || hs[k] == current_thread_pseudo()) return false;
    return handles().visit(hs, count, f);
}

std::optional<std::pair<std::shared_ptr<object>, handle_flags>> lookup_entry(HANDLE h) {
    auto s = handles().get(h);
    if (!s) return std::nullopt;
    return std::make_pair(s->obj, s->flags);
}

DWORD remove_handle(HANDLE h, std::shared_ptr<object>& removed) {
    if (DWORD e = handles().remove(h, removed)) return e;
    // The table's reference and `removed` are one; anything beyond is a call still running.
    if (--removed->handle_count == 0 && removed.use_count() > 1) removed->last_handle_closed();
    return 0;
}

bool set_handle_flags(HANDLE h, DWORD mask, DWORD flags) { return handles().set_flags(h, mask, flags); }

std::vector<std::pair<HANDLE, std::shared_ptr<object>>> inheritable_handles() {
    return handles().inheritable();
}

std::shared_ptr<process_object> current_process() {
    static auto self = [] {
        auto p = std::make_shared<process_object>();
        p->pid = ::getpid();
        p->self = true;
        return p;
    }();
    return self;
}

} // namespace npipe::win32

using namespace npipe::win32;

extern "C" {

BOOL WINAPI CloseHandle(HANDLE hObject) {
    return guard(FALSE, [&]() -> BOOL {
        if (hObject == current_process_pseudo() || hObject == current_thread_pseudo()) return TRUE;
        std::shared_ptr<object> removed;
        if (DWORD e = remove_handle(hObject, removed)) return fail(e, FALSE);
        {
            auto& s = standard();
            std::lock_guard lock(s.mutex);
            for (auto& v : s.value)
                if (v == hObject) v = nullptr; // GetStdHandle now reports the closed handle as absent
        }
        removed.reset(); // the object goes now unless another handle or a running call holds it
        return TRUE;
    });
}

BOOL WINAPI DuplicateHandle(HANDLE hSourceProcessHandle, HANDLE hSourceHandle, HANDLE hTargetProcessHandle,
                            LPHANDLE lpTargetHandle, DWORD dwDesiredAccess, BOOL bInheritHandle,
                            DWORD dwOptions) {
    return guard(FALSE, [&]() -> BOOL {
        (void)dwDesiredAccess; // the duplicate always has the source's access (DUPLICATE_SAME_ACCESS)
        auto is_self = [](HANDLE p) {
            auto proc = lookup_as<process_object>(p);
            return proc && proc->self;
        };
        if (!lookup(hSourceProcessHandle) || !lookup(hTargetProcessHandle)) return fail(ERROR_INVALID_HANDLE, FALSE);
        if (!is_self(hSourceProcessHandle) || !is_self(hTargetProcessHandle))
            return fail(ERROR_NOT_SUPPORTED, FALSE); // only within this process
        auto obj = lookup(hSourceHandle);
        if (!obj) return fail(ERROR_INVALID_HANDLE, FALSE);
        // The duplicate is made before the source is closed, so it never reuses the source's value.
        HANDLE h = nullptr;
        if (lpTargetHandle) {
            h = insert_handle(obj, {bInheritHandle != FALSE, false});
            if (!h) return fail(ERROR_NOT_ENOUGH_MEMORY, FALSE);
        }
        if (dwOptions & DUPLICATE_CLOSE_SOURCE) {
            std::shared_ptr<object> removed;
            (void)remove_handle(hSourceHandle, removed);
        }
        if (lpTargetHandle) *lpTargetHandle = h;
        return TRUE;
    });
}

BOOL WINAPI GetHandleInformation(HANDLE hObject, LPDWORD lpdwFlags) {
    auto e = lookup_entry(hObject);
    if (!e) return fail(ERROR_INVALID_HANDLE, FALSE);
    if (!lpdwFlags) return fail(ERROR_NOACCESS, FALSE);
    *lpdwFlags = (e->second.inherit ? HANDLE_FLAG_INHERIT : 0u) |
                 (e->second.protect_from_close ? HANDLE_FLAG_PROTECT_FROM_CLOSE : 0u);
    return TRUE;
}

BOOL WINAPI SetHandleInformation(HANDLE hObject, DWORD dwMask, DWORD dwFlags) {
    if (!set_handle_flags(hObject, dwMask, dwFlags)) return fail(ERROR_INVALID_HANDLE, FALSE);
    return TRUE;
}

HANDLE WINAPI GetStdHandle(DWORD nStdHandle) {
    return guard(INVALID_HANDLE_VALUE, [&]() -> HANDLE {
        int which;
        switch (nStdHandle) {
        case STD_INPUT_HANDLE: which = 0; break;
        case STD_OUTPUT_HANDLE: which = 1; break;
        case STD_ERROR_HANDLE: which = 2; break;
        default: return fail(ERROR_INVALID_HANDLE, INVALID_HANDLE_VALUE);
        }
        (void)handles(); // the parent's handles first: they may name the standard ones
        auto& s = standard();
        auto i = static_cast<std::size_t>(which);
        std::lock_guard lock(s.mutex);
        if (!s.made[i]) {
            s.made[i] = true;
            if (npipe::os::is_open(which)) {
                // Inheritable, as the standard handles a Windows process starts with are.
                auto obj = std::make_shared<file_object>(which, which == 0, which != 0);
                s.value[i] = insert_handle(std::move(obj), {true, false});
            }
        }
        return s.value[i]; // NULL when the process has no such stream, as on Windows
    });
}

BOOL WINAPI SetStdHandle(DWORD nStdHandle, HANDLE hHandle) {
    std::size_t i;
    switch (nStdHandle) {
    case STD_INPUT_HANDLE: i = 0; break;
    case STD_OUTPUT_HANDLE: i = 1; break;
    case STD_ERROR_HANDLE: i = 2; break;
    default: return fail(ERROR_INVALID_HANDLE, FALSE);
    }
    (void)handles();
    auto& s = standard();
    std::lock_guard lock(s.mutex);
    s.value[i] = hHandle;
    s.made[i] = true;
    return TRUE;
}

} // extern "C"
