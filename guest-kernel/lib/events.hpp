// Event channels for our PV guests (Xen's 2-level ABI): binding ports,
// per-port handlers run from the event upcall, masking and unmasking. The
// upcall entry (trap_entry.S) lands in dispatch() through handle_trap.
// Needs shared_info mapped (xen_shared::map) and the event callback
// registered (traps::install) before events are enabled.
#pragma once

#include "xen.hpp"

namespace events {

using Handler = void (*)(evtchn_port_t port, void* context);

// Runs `handler` for every event on `port` (from the upcall, events masked).
void set_handler(evtchn_port_t port, Handler handler, void* context = nullptr);

long bind_virq(unsigned virq, unsigned vcpu, evtchn_port_t* port);
long bind_ipi(unsigned vcpu, evtchn_port_t* port);
long send(evtchn_port_t port);
long close(evtchn_port_t port);
// EVTCHNOP_unmask (Xen re-raises a pending event) / the mask bit in shared_info.
long unmask(evtchn_port_t port);
void mask(evtchn_port_t port);
bool is_pending(evtchn_port_t port);
void clear_pending(evtchn_port_t port);

// vcpu_info(0).evtchn_upcall_mask: 0 enables upcalls; a pending one is then
// forced out with a harmless hypercall, as Linux's xen_irq_enable does.
void enable();
void disable();

// The event upcall: every pending, unmasked port of this vCPU's selector
// words, its pending bit cleared, then its handler. Returns how many ran.
unsigned dispatch();

}  // namespace events
