#include "monitor/time/runstate.hpp"

#include "monitor/hypercall/guest_ptr.hpp"
#include "monitor/time/clock.hpp"

namespace monitor::runstate {

namespace {

void account(vcpu_runstate_info_t& r, uint64_t now) {
    r.time[r.state] += now - r.state_entry_time;
    r.state_entry_time = now;
}

}  // namespace

void start(Vcpu& v) {
    v.time.runstate = vcpu_runstate_info_t{};
    v.time.runstate.state = RUNSTATE_running;
    v.time.runstate.state_entry_time = time::now_ns();
}

void enter(Vcpu& v, int state) {
    auto& r = v.time.runstate;
    account(r, time::now_ns());
    r.state = state;
    update_guest_area(v);
}

void snapshot(Vcpu& v, vcpu_runstate_info_t& out) {
    out = v.time.runstate;
    account(out, time::now_ns());
}

// Only ever called in a hypercall, so in guest kernel mode, where the
// guest's kernel address (the area) is mapped. A bad area is the guest's
// problem, as in Xen: nothing is written.
void update_guest_area(Vcpu& v) {
    if (v.time.runstate_va)
        (void)GuestPtr<vcpu_runstate_info_t>(v.time.runstate_va).write(v.time.runstate);
}

}  // namespace monitor::runstate
