#include "vmm/kvm/vm.hpp"

#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <cerrno>
#include <cstring>

namespace pvvmm::kvm {

Result<Vm> Vm::create(const System& sys) {
    int fd = -1;
    // KVM_CREATE_VM may fail with EINTR while the host is busy; retry.
    do {
        fd = ::ioctl(sys.fd(), KVM_CREATE_VM, 0);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return host_error("ioctl KVM_CREATE_VM failed: {}", std::strerror(errno));
    return Vm{Fd{fd}};
}

Result<void> Vm::set_memory(uint32_t slot, uint64_t gpa, uint64_t size, void* host) const {
    kvm_userspace_memory_region region{};
    region.slot = slot;
    region.guest_phys_addr = gpa;
    region.memory_size = size;
    region.userspace_addr = reinterpret_cast<uint64_t>(host);
    if (::ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return host_error("ioctl KVM_SET_USER_MEMORY_REGION (slot {}, {:#x} bytes at {:#x}) failed: {}", slot, size,
                          gpa, std::strerror(errno));
    return {};
}

Result<Fd> Vm::create_vcpu_fd(uint32_t id) const {
    int fd = ::ioctl(fd_.get(), KVM_CREATE_VCPU, id);
    if (fd < 0)
        return host_error("ioctl KVM_CREATE_VCPU({}) failed: {}", id, std::strerror(errno));
    return Fd{fd};
}

Result<void> Vm::create_irqchip() const {
    if (::ioctl(fd_.get(), KVM_CREATE_IRQCHIP, 0) < 0)
        return host_error("ioctl KVM_CREATE_IRQCHIP failed: {}", std::strerror(errno));
    return {};
}

Result<void> Vm::signal_msi(uint32_t apic_id, uint32_t vector) const {
    kvm_msi msi{};
    msi.address_lo = 0xfee00000u | ((apic_id & 0xff) << 12);  // physical destination
    msi.address_hi = apic_id & ~0xffu;                        // x2APIC ids above 255
    msi.data = vector;                                        // fixed, edge
    if (::ioctl(fd_.get(), KVM_SIGNAL_MSI, &msi) < 0)
        return host_error("ioctl KVM_SIGNAL_MSI (APIC {}, vector {:#x}) failed: {}", apic_id, vector,
                          std::strerror(errno));
    return {};
}

}  // namespace pvvmm::kvm
