// /dev/kvm: capability queries and VM creation.
#pragma once

#include <linux/kvm.h>

#include <vector>

#include "vmm/kvm/fd.hpp"
#include "vmm/result.hpp"

namespace pvvmm::kvm {

class System {
public:
    // Opens /dev/kvm (or `path`) and checks the API version.
    static Result<System> open(const char* path = "/dev/kvm");

    [[nodiscard]] int fd() const { return fd_.get(); }
    [[nodiscard]] Result<int> vcpu_mmap_size() const;
    [[nodiscard]] int check_extension(long cap) const;
    // CPUID entries KVM can present to a guest.
    [[nodiscard]] Result<std::vector<kvm_cpuid_entry2>> supported_cpuid() const;

private:
    explicit System(Fd fd) : fd_(std::move(fd)) {}
    Fd fd_;
};

}  // namespace pvvmm::kvm
