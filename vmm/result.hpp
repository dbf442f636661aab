// Errors as values for host code: Result<T> holds a T or an Error that says
// what failed (naming the ioctl, file or option) and which kind of failure it
// is, so the CLI can map it to a documented exit status.
#pragma once

#include <fmt/format.h>

#include <string>
#include <utility>
#include <variant>

namespace pvvmm {

enum class ErrorKind {
    BadInput,  // malformed guest ELF, invalid option value, unusable file
    Host,      // /dev/kvm missing or refused, an ioctl or mmap failed
    Internal,  // a pvvmm bug
};

struct Error {
    ErrorKind kind = ErrorKind::Internal;
    std::string message;

    // Prefix context, e.g. "loading guest.elf: " + "segment 2 ...".
    [[nodiscard]] Error context(std::string_view what) const {
        return Error{kind, fmt::format("{}: {}", what, message)};
    }
};

template <typename... Args>
[[nodiscard]] Error bad_input(fmt::format_string<Args...> f, Args&&... args) {
    return Error{ErrorKind::BadInput, fmt::format(f, std::forward<Args>(args)...)};
}

template <typename... Args>
[[nodiscard]] Error host_error(fmt::format_string<Args...> f, Args&&... args) {
    return Error{ErrorKind::Host, fmt::format(f, std::forward<Args>(args)...)};
}

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
    Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

    [[nodiscard]] bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }

    [[nodiscard]] const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

    [[nodiscard]] bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    [[nodiscard]] const Error& error() const { return error_; }

private:
    Error error_;
    bool ok_ = true;
};

// Propagate an error from an expression returning Result<...>.
#define PVVMM_TRY(expr)                              \
    do {                                             \
        if (auto pvvmm_try_r = (expr); !pvvmm_try_r) \
            return pvvmm_try_r.error();              \
    } while (0)

}  // namespace pvvmm
