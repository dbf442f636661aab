// One KVM vCPU: its fd, the shared kvm_run page, and one method per ioctl.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "vmm/kvm/fd.hpp"
#include "vmm/kvm/system.hpp"
#include "vmm/kvm/vm.hpp"
#include "vmm/result.hpp"

namespace pvvmm::kvm {

class Vcpu {
public:
    static Result<Vcpu> create(const System& sys, const Vm& vm, uint32_t id);
    Vcpu(Vcpu&& o) noexcept;
    Vcpu& operator=(Vcpu&&) = delete;
    Vcpu(const Vcpu&) = delete;
    Vcpu& operator=(const Vcpu&) = delete;
    ~Vcpu();

    [[nodiscard]] uint32_t id() const { return id_; }
    [[nodiscard]] kvm_run* run_page() const { return run_; }

    // Runs until the next exit. EINTR (a signal, immediate_exit) is not an error.
    [[nodiscard]] Result<void> run() const;
    [[nodiscard]] Result<kvm_regs> get_regs() const;
    [[nodiscard]] Result<void> set_regs(const kvm_regs& regs) const;
    [[nodiscard]] Result<kvm_sregs> get_sregs() const;
    [[nodiscard]] Result<void> set_sregs(const kvm_sregs& sregs) const;
    [[nodiscard]] Result<void> set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) const;
    // Zero TSC offset so guest ring 0 and ring 3 (and all vCPUs) read one TSC.
    [[nodiscard]] Result<void> set_tsc_offset(int64_t offset) const;
    [[nodiscard]] Result<void> set_single_step(bool on) const;
    // With an in-kernel LAPIC, vCPUs other than 0 start waiting for a SIPI.
    [[nodiscard]] Result<void> make_runnable() const;
    // The guest's TSC frequency in kHz.
    [[nodiscard]] Result<uint32_t> tsc_khz() const;

private:
    Vcpu(uint32_t id, Fd fd, kvm_run* run, size_t run_size)
        : id_(id), fd_(std::move(fd)), run_(run), run_size_(run_size) {}
    uint32_t id_;
    Fd fd_;
    kvm_run* run_;
    size_t run_size_;
};

}  // namespace pvvmm::kvm
