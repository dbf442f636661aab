// Guest-physical memory: one anonymous mapping registered as KVM slot 0.
// Every host access goes through span() so that a bad address from a guest
// ELF or a monitor report is an error, never a wild pointer.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

#include "vmm/kvm/vm.hpp"
#include "vmm/result.hpp"

namespace pvvmm {

class GuestMemory {
public:
    static Result<GuestMemory> create(uint64_t size);
    GuestMemory(GuestMemory&& o) noexcept;
    GuestMemory& operator=(GuestMemory&&) = delete;
    GuestMemory(const GuestMemory&) = delete;
    GuestMemory& operator=(const GuestMemory&) = delete;
    ~GuestMemory();

    [[nodiscard]] Result<void> register_with(const kvm::Vm& vm) const;
    [[nodiscard]] uint64_t size() const { return size_; }
    [[nodiscard]] bool contains(uint64_t gpa, uint64_t len) const { return gpa <= size_ && len <= size_ - gpa; }

    // Host view of [gpa, gpa+len); empty span when out of range.
    [[nodiscard]] std::span<uint8_t> span(uint64_t gpa, uint64_t len) const;

    template <typename T>
    [[nodiscard]] T* object(uint64_t gpa) const {
        auto s = span(gpa, sizeof(T));
        return s.empty() ? nullptr : reinterpret_cast<T*>(s.data());
    }

    [[nodiscard]] Result<void> write(uint64_t gpa, std::span<const uint8_t> bytes) const;

private:
    GuestMemory(uint8_t* base, uint64_t size) : base_(base), size_(size) {}
    uint8_t* base_;
    uint64_t size_;
};

}  // namespace pvvmm
