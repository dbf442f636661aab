// struct kvm_cpuid2 ends in a flexible array that C++ lays out differently
// from C (linux/kvm.h's __DECLARE_FLEX_ARRAY gives 12 bytes, not 8), which
// also changes the ioctl numbers. This buffer uses the kernel's C layout.
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace pvvmm::kvm {

struct CpuidHeader {
    uint32_t nent;
    uint32_t padding;
};
static_assert(sizeof(CpuidHeader) == 8);

inline constexpr unsigned long kIoctlGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
inline constexpr unsigned long kIoctlSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);

class CpuidBuffer {
public:
    explicit CpuidBuffer(uint32_t capacity) : bytes_(sizeof(CpuidHeader) + capacity * sizeof(kvm_cpuid_entry2)) {
        header().nent = capacity;
    }
    explicit CpuidBuffer(const std::vector<kvm_cpuid_entry2>& entries)
        : CpuidBuffer(static_cast<uint32_t>(entries.size())) {
        std::memcpy(bytes_.data() + sizeof(CpuidHeader), entries.data(), entries.size() * sizeof(kvm_cpuid_entry2));
    }
    void* data() { return bytes_.data(); }
    CpuidHeader& header() { return *reinterpret_cast<CpuidHeader*>(bytes_.data()); }
    [[nodiscard]] std::vector<kvm_cpuid_entry2> entries() {
        std::vector<kvm_cpuid_entry2> out(header().nent);
        std::memcpy(out.data(), bytes_.data() + sizeof(CpuidHeader), out.size() * sizeof(kvm_cpuid_entry2));
        return out;
    }

private:
    std::vector<unsigned char> bytes_;
};

}  // namespace pvvmm::kvm
