// Event delivery (Xen's evtchn_2l_set_pending / evtchn_2l_unmask and the
// upcall on every way back to the guest).
//
// evtchn_mask: an event sent to a masked port sets its pending bit only
// (no selector bit, no upcall_pending, no upcall even with upcalls
// enabled); EVTCHNOP_unmask re-raises it (selector, upcall_pending, and the
// upcall arrives on the way out of the unmask); unmask of a port that is
// pending but not masked raises nothing; neither does unmask when the
// selector bit is already set; a second send while pending is a no-op.
//
// upcalls: an IPI to ourselves (bind_ipi + send) with upcalls enabled is
// delivered on the way out of the send, in kernel mode: Xen's frame with
// CS RPL cleared (0xe030), the saved upcall mask (0) in CS bits 32-39, IF
// set, rip in the event_channel_op slot of the hypercall page, the frame
// 16-byte aligned below the interrupted rsp; the mask is 1 while the
// handler runs and 0 again after its iret. Delivered while in guest user
// mode (a VIRQ_TIMER while user code spins): CS 0xe033 and the user's rip,
// rsp and ss in the frame, saved mask 0, the frame at the top of the
// stack_switch stack (rounded down to 16) minus 7 slots. Linux's
// xen_irq_enable: with upcalls masked, an event leaves upcall_pending;
// clearing the mask does nothing by itself, and the next harmless
// hypercall (xen_version) delivers it on its way out.
#include "events_support.hpp"

extern "C" char hypercall_page[];

namespace {

constexpr uint64_t kSlotSize = 32;

}  // namespace

Outcome test_evtchn_mask() {
    evs::Scope scope;
    REQUIRE(scope.failure() == nullptr, "%s", scope.failure());
    evs::PortCount counter{};
    evtchn_port_t p = 0;
    REQUIRE(scope.bind_ipi(p, counter) == 0, "bind_ipi failed");
    volatile vcpu_info& v = evs::vcpu();
    v.evtchn_pending_sel = 0;

    // Masked: pending only, nothing else, even with upcalls enabled.
    events::enable();
    events::mask(p);
    const unsigned before = evs::upcalls();
    REQUIRE(events::send(p) == 0, "send failed");
    REQUIRE(events::is_pending(p), "send to a masked port did not set its pending bit");
    REQUIRE(!evs::selector_bit(p), "send to a masked port set its selector bit");
    REQUIRE(v.evtchn_upcall_pending == 0, "send to a masked port set upcall_pending");
    REQUIRE(evs::upcalls() == before && counter.count == 0, "an upcall arrived for a masked port");
    // Sending again while pending changes nothing.
    REQUIRE(events::send(p) == 0 && evs::upcalls() == before, "a second send to a masked port raised an upcall");

    // EVTCHNOP_unmask re-raises it: the upcall arrives on the way out.
    long rc = evs::unmask(p);
    REQUIRE(rc == 0, "unmask returned %ld", rc);
    REQUIRE(!evs::mask_bit(p), "unmask left the mask bit set");
    REQUIRE(evs::upcalls() == before + 1 && counter.count == 1,
            "unmask of a masked pending port: %u upcalls and %u handler runs, expected 1 and 1",
            evs::upcalls() - before, counter.count);
    REQUIRE(!events::is_pending(p), "the handler did not see the port pending");

    // Pending but not masked: unmask raises nothing.
    events::disable();
    events::mask(p);
    REQUIRE(events::send(p) == 0, "send failed");
    evs::clear_mask_bit(p);  // as a guest may: now pending, unmasked, no selector bit
    REQUIRE(!evs::selector_bit(p) && v.evtchn_upcall_pending == 0, "selector or upcall_pending set while masked");
    rc = evs::unmask(p);
    REQUIRE(rc == 0, "unmask returned %ld", rc);
    REQUIRE(!evs::selector_bit(p) && v.evtchn_upcall_pending == 0,
            "unmask of a port that was not masked re-raised it (selector %d, upcall_pending %u)", evs::selector_bit(p),
            v.evtchn_upcall_pending);
    const unsigned quiet = evs::upcalls();
    events::enable();
    REQUIRE(evs::upcalls() == quiet, "an upcall arrived although unmask raised nothing");
    events::disable();
    events::clear_pending(p);

    // Masked and pending, but the selector bit already set: no upcall_pending.
    events::mask(p);
    REQUIRE(events::send(p) == 0, "send failed");
    __atomic_fetch_or(&v.evtchn_pending_sel, xen_ulong_t{1} << (p / 64), __ATOMIC_SEQ_CST);
    rc = evs::unmask(p);
    REQUIRE(rc == 0 && v.evtchn_upcall_pending == 0,
            "unmask with the selector bit already set raised upcall_pending (rc %ld)", rc);
    // The guest's own scan still finds it.
    v.evtchn_upcall_pending = 1;
    const unsigned scanned = counter.count;
    events::enable();
    REQUIRE(counter.count == scanned + 1, "the upcall did not find the pending port");
    return passed();
}

Outcome test_upcalls() {
    evs::Scope scope;
    REQUIRE(scope.failure() == nullptr, "%s", scope.failure());
    evs::PortCount ipi_count{}, timer_count{};
    evtchn_port_t ipi = 0, timer = 0;
    REQUIRE(scope.bind_ipi(ipi, ipi_count) == 0, "bind_ipi failed");
    REQUIRE(scope.bind_timer(timer, timer_count) == 0, "bind_virq(VIRQ_TIMER) failed");

    // Kernel mode: delivered on the way out of the send itself.
    events::enable();
    unsigned before = evs::upcalls();
    REQUIRE(events::send(ipi) == 0, "send(IPI) failed");
    const unsigned delivered = evs::upcalls() - before;
    const uint64_t* f = conf_upcall_frame;
    REQUIRE(delivered == 1 && ipi_count.count == 1, "send(IPI to self): %u upcalls, handler ran %u times, expected 1",
            delivered, ipi_count.count);
    REQUIRE(ipi_count.mask_in_handler == 1, "upcall mask %u in the handler, expected 1 (set on entry)",
            ipi_count.mask_in_handler);
    REQUIRE(evs::upcall_mask() == 0, "upcall mask %u after the handler's iret, expected 0", evs::upcall_mask());
    REQUIRE((f[1] & 0xffff) == (FLAT_KERNEL_CS & ~3u), "upcall frame cs %#lx, expected %#x (kernel, RPL cleared)",
            f[1] & 0xffff, FLAT_KERNEL_CS & ~3u);
    REQUIRE(((f[1] >> 32) & 0xff) == 0, "saved upcall mask %lu in the frame, expected 0", (f[1] >> 32) & 0xff);
    REQUIRE((f[2] & evs::kRflagsIf) != 0, "frame rflags %#lx without IF although upcalls were enabled", f[2]);
    REQUIRE((f[4] & 0xffff) == FLAT_KERNEL_SS, "frame ss %#lx, expected %#x", f[4], FLAT_KERNEL_SS);
    const uint64_t slot = physmap::address_of(hypercall_page) + __HYPERVISOR_event_channel_op * kSlotSize;
    REQUIRE(f[0] - slot < kSlotSize, "frame rip %#lx, expected inside the event_channel_op slot at %#lx", f[0], slot);
    REQUIRE(f[5] == (f[3] & ~0xfull) - 7 * 8, "frame at %#lx for an interrupted rsp %#lx: expected (rsp & ~15) - 56",
            f[5], f[3]);

    // Several sends while the upcall is pending make one event.
    events::disable();
    before = evs::upcalls();
    REQUIRE(events::send(ipi) == 0 && events::send(ipi) == 0, "send failed");
    REQUIRE(evs::upcalls() == before, "an upcall arrived while upcalls were masked");
    REQUIRE(evs::vcpu().evtchn_upcall_pending != 0, "upcall_pending not set by an event while masked");
    // xen_irq_enable: clearing the mask alone delivers nothing; a hypercall does.
    evs::vcpu().evtchn_upcall_mask = 0;
    asm volatile("" ::: "memory");
    const unsigned after_unmask = evs::upcalls();
    hv::xen_version(XENVER_version, nullptr);
    REQUIRE(after_unmask == before, "the upcall arrived without a hypercall");
    REQUIRE(evs::upcalls() == before + 1 && ipi_count.count == 2,
            "after unmasking, xen_version delivered %u upcalls (handler total %u), expected 1 (2)",
            evs::upcalls() - before, ipi_count.count);
    const uint64_t version_slot = physmap::address_of(hypercall_page) + __HYPERVISOR_xen_version * kSlotSize;
    REQUIRE(f[0] - version_slot < kSlotSize, "frame rip %#lx, expected inside the xen_version slot", f[0]);
    events::disable();

    // User mode: a timer fires while user code spins on a flag the handler sets.
    const char* why = evs::prepare_user_space();
    REQUIRE(why == nullptr, "%s", why);
    REQUIRE(evs::register_callback(CALLBACKTYPE_syscall, reinterpret_cast<uint64_t>(conf_syscall64_callback),
                                   CALLBACKF_mask_events) == 0,
            "registering the syscall callback failed");
    timer_count.set_flag = reinterpret_cast<volatile char*>(&evs::user_flag());
    timer_count.count = 0;
    before = evs::upcalls();
    pvclock::set_timer(evs::now() + 5 * evs::kMs);
    const evs::UserTrip trip = evs::user_trip(conf_blob_spin, conf_blob_spin_end, FLAT_USER_CS64);
    timer_count.set_flag = nullptr;
    REQUIRE(trip.vector == ~0u, "user mode faulted: vector %u at rip %#lx", trip.vector, trip.fault_rip);
    REQUIRE(trip.rax != 0, "no timer upcall reached user mode (the spin ran out)");
    REQUIRE(timer_count.count == 1 && evs::upcalls() == before + 1,
            "%u timer handler runs, %u upcalls during the user trip, expected 1", timer_count.count,
            evs::upcalls() - before);
    REQUIRE(timer_count.mask_in_handler == 1, "upcall mask %u in the handler, expected 1", timer_count.mask_in_handler);
    REQUIRE((f[1] & 0xffff) == FLAT_USER_CS64, "user-mode upcall frame cs %#lx, expected %#x", f[1] & 0xffff,
            FLAT_USER_CS64);
    REQUIRE(((f[1] >> 32) & 0xff) == 0, "saved upcall mask %lu in the user-mode frame, expected 0",
            (f[1] >> 32) & 0xff);
    const uint64_t spin_size = static_cast<uint64_t>(conf_blob_spin_end - conf_blob_spin);
    REQUIRE(f[0] - evs::kUserCodeVa < spin_size, "user-mode frame rip %#lx, expected inside the user code at %#lx",
            f[0], evs::kUserCodeVa);
    REQUIRE(f[3] == evs::kUserRsp && (f[4] & 0xffff) == FLAT_USER_SS,
            "user-mode frame rsp %#lx ss %#lx, expected %#lx %#x", f[3], f[4], evs::kUserRsp, FLAT_USER_SS);
    REQUIRE((f[2] & evs::kRflagsIf) != 0, "user-mode frame rflags %#lx without IF", f[2]);
    const uint64_t expected_frame = (evs::kernel_stack_top() & ~0xfull) - 7 * 8;
    REQUIRE(f[5] == expected_frame, "user-mode upcall frame at %#lx, expected %#lx (top of the stack_switch stack)",
            f[5], expected_frame);
    return passed();
}
