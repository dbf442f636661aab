#include "vmm/kvm/vcpu.hpp"

#include "vmm/kvm/cpuid_buffer.hpp"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <cerrno>
#include <cstring>

namespace pvvmm::kvm {

Result<Vcpu> Vcpu::create(const System& sys, const Vm& vm, uint32_t id) {
    auto fd = vm.create_vcpu_fd(id);
    if (!fd)
        return fd.error();
    auto size = sys.vcpu_mmap_size();
    if (!size)
        return size.error();
    void* run = ::mmap(nullptr, static_cast<size_t>(*size), PROT_READ | PROT_WRITE, MAP_SHARED, fd->get(), 0);
    if (run == MAP_FAILED)
        return host_error("mmap of the kvm_run page of vCPU {} failed: {}", id, std::strerror(errno));
    return Vcpu{id, std::move(*fd), static_cast<kvm_run*>(run), static_cast<size_t>(*size)};
}

Vcpu::Vcpu(Vcpu&& o) noexcept : id_(o.id_), fd_(std::move(o.fd_)), run_(o.run_), run_size_(o.run_size_) {
    o.run_ = nullptr;
}

Vcpu::~Vcpu() {
    if (run_ != nullptr)
        ::munmap(run_, run_size_);
}

Result<void> Vcpu::run() const {
    if (::ioctl(fd_.get(), KVM_RUN, 0) < 0 && errno != EINTR && errno != EAGAIN)
        return host_error("ioctl KVM_RUN on vCPU {} failed: {}", id_, std::strerror(errno));
    return {};
}

#define PVVMM_VCPU_IOCTL(req, arg, what)  \
    if (::ioctl(fd_.get(), req, arg) < 0) \
        return host_error("ioctl " #req " on vCPU {} failed: {}", id_, std::strerror(errno));

Result<kvm_regs> Vcpu::get_regs() const {
    kvm_regs regs{};
    PVVMM_VCPU_IOCTL(KVM_GET_REGS, &regs, get)
    return regs;
}

Result<void> Vcpu::set_regs(const kvm_regs& regs) const {
    PVVMM_VCPU_IOCTL(KVM_SET_REGS, &regs, set)
    return {};
}

Result<kvm_sregs> Vcpu::get_sregs() const {
    kvm_sregs sregs{};
    PVVMM_VCPU_IOCTL(KVM_GET_SREGS, &sregs, get)
    return sregs;
}

Result<void> Vcpu::set_sregs(const kvm_sregs& sregs) const {
    PVVMM_VCPU_IOCTL(KVM_SET_SREGS, &sregs, set)
    return {};
}

Result<void> Vcpu::set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) const {
    CpuidBuffer buf(entries);
    if (::ioctl(fd_.get(), kIoctlSetCpuid2, buf.data()) < 0)
        return host_error("ioctl KVM_SET_CPUID2 on vCPU {} failed: {}", id_, std::strerror(errno));
    return {};
}

Result<void> Vcpu::set_tsc_offset(int64_t offset) const {
    kvm_device_attr attr{};
    attr.group = KVM_VCPU_TSC_CTRL;
    attr.attr = KVM_VCPU_TSC_OFFSET;
    attr.addr = reinterpret_cast<uint64_t>(&offset);
    // Not every KVM has the attribute; a missing one only costs TSC agreement.
    if (::ioctl(fd_.get(), KVM_HAS_DEVICE_ATTR, &attr) < 0)
        return {};
    PVVMM_VCPU_IOCTL(KVM_SET_DEVICE_ATTR, &attr, set)
    return {};
}

Result<void> Vcpu::set_single_step(bool on) const {
    kvm_guest_debug debug{};
    if (on)
        debug.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
    PVVMM_VCPU_IOCTL(KVM_SET_GUEST_DEBUG, &debug, set)
    return {};
}

Result<void> Vcpu::make_runnable() const {
    kvm_mp_state state{};
    state.mp_state = KVM_MP_STATE_RUNNABLE;
    PVVMM_VCPU_IOCTL(KVM_SET_MP_STATE, &state, set)
    return {};
}

Result<uint32_t> Vcpu::tsc_khz() const {
    const int khz = ::ioctl(fd_.get(), KVM_GET_TSC_KHZ, 0);
    if (khz <= 0)
        return host_error("ioctl KVM_GET_TSC_KHZ on vCPU {} failed: {}", id_, std::strerror(errno));
    return static_cast<uint32_t>(khz);
}

#undef PVVMM_VCPU_IOCTL

}  // namespace pvvmm::kvm
