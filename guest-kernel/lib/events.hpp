// Event channels for our PV guests (Xen's 2-level ABI): binding ports,
// per-port handlers run from the event upcall, masking and unmasking. The
// upcall entry (trap_entry.S) lands in dispatch() through handle_trap.
// Needs shared_info mapped (xen_shared::map) and the event callback
// registered (traps::install) before events are enabled.
//
// Several vCPUs: the pending and mask bitmaps are shared, so a vCPU's
// upcall may find another vCPU's ports pending in the words its selector
// names; it leaves them to their vCPU (Linux's cpu_evtchn_mask). A port's
// vCPU is the one bind_virq / bind_ipi named, vCPU 0 for every other port
// (Xen notifies vCPU 0 for interdomain and unbound ports). enable(),
// disable() and dispatch() act on the calling vCPU (percpu::vcpu()).
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

// This vCPU's vcpu_info.evtchn_upcall_mask: 0 enables upcalls; a pending one is then
// forced out with a harmless hypercall, as Linux's xen_irq_enable does.
void enable();
void disable();

// The event upcall: every pending, unmasked port of this vCPU in its
// selector words, its pending bit cleared, then its handler. Returns how
// many ran.
unsigned dispatch();

}  // namespace events
