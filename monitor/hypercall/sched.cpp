// sched_op: yield (one vCPU per KVM vCPU, so nothing to schedule), block,
// and shutdown with its reason, which ends the run in the host.
#include <stdint.h>
#include <xen/sched.h>

#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/hypercall/guest_ptr.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/lib/xen_errno.hpp"
#include "monitor/log.hpp"
#include "monitor/mm/audit.hpp"

namespace monitor {

int64_t hc_sched_op(GuestRegs&, HypercallArgs a) {
    switch (a.a1()) {
    case SCHEDOP_yield: return 0;
    case SCHEDOP_shutdown: {
        sched_shutdown_t s;
        if (!GuestPtr<sched_shutdown_t>(a.a2()).read(s))
            return -EFAULT;
        if (s.reason > SHUTDOWN_MAX)
            return -EINVAL;
        log(LogLevel::Debug, "guest shutdown, reason %u", s.reason);
        mm::audit_if_due(true);
        cpu::outl(layout::port::kShutdown, s.reason);
        cpu::halt_forever();
    }
    default: return unknown_subop("sched_op", a.a1());
    }
}

}  // namespace monitor
