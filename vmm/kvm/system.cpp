#include "vmm/kvm/system.hpp"

#include "vmm/kvm/cpuid_buffer.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <cerrno>
#include <cstring>

namespace pvvmm::kvm {

Result<System> System::open(const char* path) {
    int fd = ::open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT)
            return host_error(
                "{} does not exist: this machine has no KVM (load kvm_intel/kvm_amd, or enable nested virtualization)",
                path);
        if (e == EACCES || e == EPERM)
            return host_error("no permission to open {}: run as root or join the group that owns it (kvm)", path);
        return host_error("cannot open {}: {}", path, std::strerror(e));
    }
    System sys{Fd{fd}};
    int version = ::ioctl(fd, KVM_GET_API_VERSION, 0);
    if (version < 0)
        return host_error("ioctl KVM_GET_API_VERSION on {} failed: {} (is it a KVM device?)", path,
                          std::strerror(errno));
    if (version != KVM_API_VERSION)
        return host_error("ioctl KVM_GET_API_VERSION on {} returned {}, pvvmm needs {}", path, version,
                          KVM_API_VERSION);
    return sys;
}

Result<int> System::vcpu_mmap_size() const {
    int size = ::ioctl(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size <= 0)
        return host_error("ioctl KVM_GET_VCPU_MMAP_SIZE failed: {}", std::strerror(errno));
    return size;
}

int System::check_extension(long cap) const { return ::ioctl(fd_.get(), KVM_CHECK_EXTENSION, cap); }

Result<std::vector<kvm_cpuid_entry2>> System::supported_cpuid() const {
    CpuidBuffer buf(256);
    if (::ioctl(fd_.get(), kIoctlGetSupportedCpuid, buf.data()) < 0)
        return host_error("ioctl KVM_GET_SUPPORTED_CPUID failed: {}", std::strerror(errno));
    return buf.entries();
}

}  // namespace pvvmm::kvm
