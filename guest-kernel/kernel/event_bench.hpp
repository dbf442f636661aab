// The kernel's own event and timer benchmarks (workload=event:N,
// workload=timer:N), measured in kernel mode on the boot thread, where no
// process runs: they time the hypervisor's event machinery, not ours.
#pragma once

namespace event_bench {

// N times EVTCHNOP_send to an IPI port of our own with events enabled: the
// upcall arrives on the way out of the hypercall, its handler runs, and
// HYPERVISOR_iret comes back. Cycles per round trip.
bool event(long count);
// N times set_timer_op 1 ms ahead, SCHEDOP_block (timer::block), the
// VIRQ_TIMER's upcall: cycles per round trip (the 1 ms included) and the
// lateness of the upcall after the deadline (system time).
bool timer(long count);

}  // namespace event_bench
