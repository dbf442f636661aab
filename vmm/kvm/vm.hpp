// A KVM virtual machine: memory slots and vCPU creation.
#pragma once

#include <cstdint>

#include "vmm/kvm/fd.hpp"
#include "vmm/kvm/system.hpp"
#include "vmm/result.hpp"

namespace pvvmm::kvm {

class Vm {
public:
    static Result<Vm> create(const System& sys);

    [[nodiscard]] int fd() const { return fd_.get(); }
    [[nodiscard]] Result<void> set_memory(uint32_t slot, uint64_t gpa, uint64_t size, void* host) const;
    [[nodiscard]] Result<Fd> create_vcpu_fd(uint32_t id) const;
    // In-kernel local APICs (plus PIC and IOAPIC, unused): the monitor's
    // timers, IPIs and halts stay in the kernel; before any vCPU.
    [[nodiscard]] Result<void> create_irqchip() const;
    // A fixed-delivery MSI to the local APIC `apic_id`: wakes it even in hlt.
    [[nodiscard]] Result<void> signal_msi(uint32_t apic_id, uint32_t vector) const;

private:
    explicit Vm(Fd fd) : fd_(std::move(fd)) {}
    Fd fd_;
};

}  // namespace pvvmm::kvm
