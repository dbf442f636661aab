// physdev_op: a domU without devices needs only PHYSDEVOP_set_iopl, the
// virtual IOPL that lets its kernel's cli/sti and port I/O be emulated
// (monitor/traps/priv_op.hpp). The interrupt and PCI operations answer
// -ENOSYS; Linux tolerates that (PHYSDEVOP_pirq_eoi_gmfn_v2 is probed).
#include <stdint.h>
#include <xen/physdev.h>

#include "monitor/hypercall/guest_ptr.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/lib/xen_errno.hpp"
#include "monitor/state.hpp"

namespace monitor {

int64_t hc_physdev_op(GuestRegs&, HypercallArgs a) {
    switch (a.a1()) {
    case PHYSDEVOP_set_iopl: {
        physdev_set_iopl_t op;
        if (!GuestPtr<physdev_set_iopl_t>(a.a2()).read(op))
            return -EFAULT;
        if (op.iopl > 3)
            return -EINVAL;
        current().iopl = static_cast<uint8_t>(op.iopl);
        return 0;
    }
    default: return unknown_subop("physdev_op", a.a1());
    }
}

}  // namespace monitor
