#include "vmm/memory.hpp"

#include <sys/mman.h>
#include <cerrno>

namespace pvvmm {

Result<GuestMemory> GuestMemory::create(uint64_t size) {
    // MAP_NORESERVE: untouched guest pages cost nothing, and anonymous memory
    // arrives zeroed, so the host never has to clear guest RAM.
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return host_error("mmap of {} MiB of guest memory failed: {}", size >> 20, std::strerror(errno));
    return GuestMemory{static_cast<uint8_t*>(p), size};
}

GuestMemory::GuestMemory(GuestMemory&& o) noexcept : base_(o.base_), size_(o.size_) { o.base_ = nullptr; }

GuestMemory::~GuestMemory() {
    if (base_ != nullptr)
        ::munmap(base_, size_);
}

Result<void> GuestMemory::register_with(const kvm::Vm& vm) const { return vm.set_memory(0, 0, size_, base_); }

std::span<uint8_t> GuestMemory::span(uint64_t gpa, uint64_t len) const {
    if (!contains(gpa, len))
        return {};
    return {base_ + gpa, static_cast<size_t>(len)};
}

Result<void> GuestMemory::write(uint64_t gpa, std::span<const uint8_t> bytes) const {
    auto dst = span(gpa, bytes.size());
    if (dst.size() != bytes.size())
        return Error{ErrorKind::Internal,
                     fmt::format("write of {} bytes at {:#x} is outside guest memory", bytes.size(), gpa)};
    std::memcpy(dst.data(), bytes.data(), bytes.size());
    return {};
}

}  // namespace pvvmm
