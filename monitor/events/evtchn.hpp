// Xen event channels, 2-level ABI: the domain's ports (unbound,
// interdomain to the monitor's own backends: console and xenstore, VIRQ,
// IPI), the pending and mask bitmaps in shared_info, each vCPU's selector
// and upcall flags in its vcpu_info, and delivery of the upcall to the
// guest's event callback on the way out (monitor/pending.hpp).
#pragma once

#include <stdint.h>
#include <xen/event_channel.h>

#include "monitor/arch/x86_64/regs.hpp"
#include "monitor/state.hpp"

namespace monitor::events {

inline constexpr uint32_t kNrPorts = EVTCHN_2L_NR_CHANNELS;

// Boot (vCPU 0): port 0 reserved, the console and xenstore ports bound to
// the monitor's backends, as Xen's domain builder leaves them.
void init();

// Raise the event of `port` (any bound state); kicks the vCPU it notifies.
void set_pending(uint32_t port);
// The guest's end of the console channel (the backend notifying it).
void raise_console();
// Per-vCPU VIRQ (VIRQ_TIMER): raised if the guest bound it on `v`.
void send_virq(Vcpu& v, unsigned virq);

// upcall_pending and not masked: what Xen checks before every return.
[[nodiscard]] bool upcall_deliverable(const Vcpu& v);
// Exit step: bounce to the event callback if deliverable (events masked
// on entry, as Xen's TBF_INTERRUPT); leaves kPendingEvent set while an
// upcall waits for the guest to unmask.
void deliver_upcall(GuestRegs& r, Vcpu& v);
// SCHEDOP_poll: is any of these ports pending (masked or not)?
[[nodiscard]] bool any_pending(const evtchn_port_t* ports, unsigned n);
// Bound to something (Xen's evtchn_usable): not free, not the reserved port 0.
[[nodiscard]] bool usable_port(uint64_t port);

// EVTCHNOP_* (hypercall/event_channel.cpp reads and writes the arguments).
int64_t alloc_unbound(evtchn_alloc_unbound_t& a);
int64_t bind_virq(evtchn_bind_virq_t& a);
int64_t bind_ipi(evtchn_bind_ipi_t& a);
int64_t send(uint32_t port);
int64_t close(uint32_t port);
int64_t status(evtchn_status_t& a);
int64_t unmask(uint32_t port);
int64_t bind_vcpu(const evtchn_bind_vcpu_t& a);
int64_t reset(domid_t dom);
int64_t bind_interdomain(evtchn_bind_interdomain_t& a);
int64_t set_priority(uint32_t port);

// VCPUOP_register_vcpu_info: move v's vcpu_info into a guest frame.
int64_t register_vcpu_info(Vcpu& v, uint64_t mfn, uint64_t offset);

}  // namespace monitor::events
