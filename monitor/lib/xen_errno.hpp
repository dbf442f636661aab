// Xen's errno values (public/errno.h gives them as XEN_E*), under the
// usual names, for hypercall results: return -EINVAL etc.
#pragma once

#include <stdint.h>
#include <xen/errno.h>

namespace monitor {
inline constexpr int64_t EPERM = XEN_EPERM;
inline constexpr int64_t ENOENT = XEN_ENOENT;
inline constexpr int64_t ESRCH = XEN_ESRCH;
inline constexpr int64_t EFAULT = XEN_EFAULT;
inline constexpr int64_t EBUSY = XEN_EBUSY;
inline constexpr int64_t EINVAL = XEN_EINVAL;
inline constexpr int64_t ENOSPC = XEN_ENOSPC;
inline constexpr int64_t E2BIG = XEN_E2BIG;
inline constexpr int64_t ENOSYS = XEN_ENOSYS;
inline constexpr int64_t ENODATA = XEN_ENODATA;
inline constexpr int64_t EOPNOTSUPP = XEN_EOPNOTSUPP;
inline constexpr int64_t EEXIST = XEN_EEXIST;
inline constexpr int64_t ETIME = XEN_ETIME;
inline constexpr int64_t ENXIO = XEN_ENXIO;
inline constexpr int64_t EACCES = XEN_EACCES;
}  // namespace monitor
