// A typed view of a guest virtual address passed to a hypercall. Every
// access goes through copy_guest, so a wild pointer is -EFAULT, not a
// monitor fault; monitor addresses are refused before any access.
#pragma once

#include <stdint.h>
#include <xen/xen.h>

extern "C" uint64_t copy_guest(void* dst, const void* src, uint64_t n);

namespace monitor {

template <typename T>
class GuestPtr {
public:
    explicit GuestPtr(uint64_t va) : va_(va) {}
    [[nodiscard]] bool null() const { return va_ == 0; }
    [[nodiscard]] uint64_t address() const { return va_; }

    [[nodiscard]] bool read(T& out, uint64_t index = 0) const { return copy(&out, at(index), false); }
    [[nodiscard]] bool write(const T& in, uint64_t index = 0) const {
        return copy(const_cast<T*>(&in), at(index), true);
    }
    [[nodiscard]] bool read_bytes(void* out, uint64_t n) const { return copy_n(out, va_, n, false); }
    [[nodiscard]] bool write_bytes(const void* in, uint64_t n) const {
        return copy_n(const_cast<void*>(in), va_, n, true);
    }

private:
    [[nodiscard]] uint64_t at(uint64_t index) const { return va_ + index * sizeof(T); }
    static bool in_guest_range(uint64_t va, uint64_t n) {
        if (n == 0)
            return true;
        const uint64_t end = va + n;
        if (end < va)
            return false;
        // Never let a guest pointer reach the monitor's slots 256..271.
        return end <= HYPERVISOR_VIRT_START || va >= HYPERVISOR_VIRT_END;
    }
    static bool copy_n(void* monitor_side, uint64_t guest_va, uint64_t n, bool to_guest) {
        if (!in_guest_range(guest_va, n))
            return false;
        auto* g = reinterpret_cast<void*>(guest_va);
        return (to_guest ? copy_guest(g, monitor_side, n) : copy_guest(monitor_side, g, n)) == 0;
    }
    static bool copy(T* monitor_side, uint64_t guest_va, bool to_guest) {
        return copy_n(monitor_side, guest_va, sizeof(T), to_guest);
    }
    uint64_t va_;
};

}  // namespace monitor
