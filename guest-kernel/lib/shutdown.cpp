#include "shutdown.hpp"

#include "console.hpp"
#include "hypercall.hpp"

void shutdown(unsigned reason) {
    console::flush();
    sched_shutdown request{reason};
    hv::sched_op(SCHEDOP_shutdown, &request);
    // Still here: the hypervisor refused. Try the harshest reason, then
    // give the CPU away forever.
    print("shutdown(%u) returned; crashing\n", reason);
    console::flush();
    sched_shutdown crash_request{SHUTDOWN_crash};
    hv::sched_op(SCHEDOP_shutdown, &crash_request);
    for (;;)
        hv::sched_op(SCHEDOP_yield, nullptr);
}
