// event_channel_op: Xen's 2-level event channels (monitor/events/). The
// FIFO ABI is not offered (EVTCHNOP_init_control is -ENOSYS), and there
// are no PIRQs (bind_pirq: -ENOSYS).
#include <stdint.h>
#include <xen/event_channel.h>

#include "monitor/events/evtchn.hpp"
#include "monitor/hypercall/guest_ptr.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/lib/xen_errno.hpp"

namespace monitor {

namespace {

// Reads the argument, runs `op` on it, writes it back when op succeeded
// and `writes_back` (the OUT fields).
template <typename T, typename Op>
int64_t with_arg(uint64_t va, bool writes_back, Op op) {
    T arg;
    GuestPtr<T> ptr(va);
    if (!ptr.read(arg))
        return -EFAULT;
    const int64_t rc = op(arg);
    if (rc == 0 && writes_back && !ptr.write(arg))
        return -EFAULT;
    return rc;
}

}  // namespace

int64_t hc_event_channel_op(GuestRegs&, HypercallArgs a) {
    const uint64_t va = a.a2();
    switch (a.a1()) {
    case EVTCHNOP_alloc_unbound: return with_arg<evtchn_alloc_unbound_t>(va, true, events::alloc_unbound);
    case EVTCHNOP_bind_virq: return with_arg<evtchn_bind_virq_t>(va, true, events::bind_virq);
    case EVTCHNOP_bind_ipi: return with_arg<evtchn_bind_ipi_t>(va, true, events::bind_ipi);
    case EVTCHNOP_send:
        return with_arg<evtchn_send_t>(va, false, [](evtchn_send_t& s) { return events::send(s.port); });
    case EVTCHNOP_close:
        return with_arg<evtchn_close_t>(va, false, [](evtchn_close_t& c) { return events::close(c.port); });
    case EVTCHNOP_status: return with_arg<evtchn_status_t>(va, true, events::status);
    case EVTCHNOP_unmask:
        return with_arg<evtchn_unmask_t>(va, false, [](evtchn_unmask_t& u) { return events::unmask(u.port); });
    case EVTCHNOP_bind_vcpu:
        return with_arg<evtchn_bind_vcpu_t>(va, false, [](evtchn_bind_vcpu_t& b) { return events::bind_vcpu(b); });
    case EVTCHNOP_reset:
        return with_arg<evtchn_reset_t>(va, false, [](evtchn_reset_t& r) { return events::reset(r.dom); });
    case EVTCHNOP_bind_interdomain: return with_arg<evtchn_bind_interdomain_t>(va, true, events::bind_interdomain);
    // No FIFO ABI: Xen's answers for a domain on 2-level events (guests,
    // Linux included, fall back to 2-level when init_control fails).
    case EVTCHNOP_init_control: return -ENOSYS;
    case EVTCHNOP_expand_array: return -EOPNOTSUPP;
    case EVTCHNOP_set_priority:
        return with_arg<evtchn_set_priority_t>(va, false,
                                               [](evtchn_set_priority_t& p) { return events::set_priority(p.port); });
    default: return unknown_subop("event_channel_op", a.a1());
    }
}

}  // namespace monitor
