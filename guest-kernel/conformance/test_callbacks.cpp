// callback_op and set_callbacks (Xen's pv/callback.c) and where a user
// `syscall` goes (lstar_enter / cstar_enter).
//
// Registering every type a 64-bit guest has (event, failsafe, syscall,
// syscall32, sysenter, nmi) returns 0, at any canonical address (0
// included, and one in the hypervisor's range: Xen only checks that the
// address is canonical); a non-canonical address is -XEN_EINVAL for every
// type, checked before the type; sysenter_deprecated and unknown types are
// -XEN_ENOSYS. Unregistering event, failsafe, syscall, syscall32 or sysenter is
// -XEN_EINVAL, nmi 0, unknown types -XEN_ENOSYS; an unknown command -XEN_ENOSYS; an
// unreadable argument -XEN_EFAULT. set_callbacks returns 0 even for a
// non-canonical entry (ignored: the old event callback still works) and
// registers with flags 0 (the syscall callback no longer masks events).
// A `syscall` from 64-bit user code reaches the syscall callback: rax
// intact, Xen's frame (rcx = rip after the syscall, r11, cs 0xe033, the
// user's rflags with DF as user mode left it, rsp, ss 0xe02b) at the top
// of the stack_switch stack, DF clear in the callback, the upcall mask 1
// with CALLBACKF_mask_events and unchanged (0) without. From 32-bit compat
// code (iret to CS 0xe023 at a low address) it reaches the syscall32
// callback (frame cs 0xe023), masked by the *syscall* callback's flag, on
// AMD; on Intel SYSCALL in compatibility mode is #UD (CPUID vendor
// decides what is expected). With no syscall callback (address 0) a user
// `syscall` is #UD at the syscall instruction (Xen 4.15+), likewise with
// no syscall32 callback on AMD.
#include "events_support.hpp"

extern "C" void failsafe_callback_entry();  // lib/trap_entry.S

namespace {

constexpr uint64_t kNonCanonical = 0x0000'8000'0000'0000;

long unregister(uint16_t type) {
    callback_unregister u{type, 0};
    return hv::callback_op(CALLBACKOP_unregister, &u);
}

uint64_t addr(void (*f)()) { return reinterpret_cast<uint64_t>(f); }

Outcome registration() {
    const uint16_t types[] = {CALLBACKTYPE_event,     CALLBACKTYPE_failsafe, CALLBACKTYPE_syscall,
                              CALLBACKTYPE_syscall32, CALLBACKTYPE_sysenter, CALLBACKTYPE_nmi};
    for (uint16_t type : types) {
        long rc = evs::register_callback(type, kNonCanonical);
        REQUIRE(rc == -XEN_EINVAL,
                "registering callback type %u at a non-canonical address returned %ld, expected -EINVAL", type, rc);
    }
    long rc = evs::register_callback(9, kNonCanonical);
    REQUIRE(rc == -XEN_EINVAL,
            "an unknown type at a non-canonical address returned %ld, expected -EINVAL (checked first)", rc);
    rc = evs::register_callback(9, addr(conf_syscall64_callback));
    REQUIRE(rc == -XEN_ENOSYS, "registering unknown callback type 9 returned %ld, expected -ENOSYS", rc);
    rc = evs::register_callback(CALLBACKTYPE_sysenter_deprecated, addr(conf_syscall64_callback));
    REQUIRE(rc == -XEN_ENOSYS, "registering sysenter_deprecated returned %ld, expected -ENOSYS", rc);
    rc = evs::register_callback(6, addr(conf_syscall64_callback));
    REQUIRE(rc == -XEN_ENOSYS, "registering type 6 returned %ld, expected -ENOSYS", rc);

    rc = evs::register_callback(CALLBACKTYPE_sysenter, addr(conf_syscall32_callback), CALLBACKF_mask_events);
    REQUIRE(rc == 0, "registering the sysenter callback returned %ld", rc);
    rc = evs::register_callback(CALLBACKTYPE_nmi, addr(conf_syscall32_callback));
    REQUIRE(rc == 0, "registering the NMI callback returned %ld", rc);
    rc = evs::register_callback(CALLBACKTYPE_sysenter, HYPERVISOR_VIRT_START + 0x1000);
    REQUIRE(rc == 0,
            "registering a callback at a canonical address in the hypervisor's range returned %ld (Xen "
            "checks only that it is canonical)",
            rc);
    rc = evs::register_callback(CALLBACKTYPE_sysenter, 0);
    REQUIRE(rc == 0, "registering the sysenter callback at address 0 returned %ld", rc);
    rc = evs::register_callback(CALLBACKTYPE_failsafe, addr(failsafe_callback_entry), CALLBACKF_mask_events);
    REQUIRE(rc == 0, "registering the failsafe callback returned %ld", rc);
    rc = evs::register_callback(CALLBACKTYPE_event, addr(conf_event_entry));
    REQUIRE(rc == 0, "registering the event callback returned %ld", rc);

    const uint16_t fixed[] = {CALLBACKTYPE_event, CALLBACKTYPE_failsafe, CALLBACKTYPE_syscall, CALLBACKTYPE_syscall32,
                              CALLBACKTYPE_sysenter};
    for (uint16_t type : fixed) {
        rc = unregister(type);
        REQUIRE(rc == -XEN_EINVAL, "unregistering callback type %u returned %ld, expected -EINVAL", type, rc);
    }
    rc = unregister(CALLBACKTYPE_nmi);
    REQUIRE(rc == 0, "unregistering the NMI callback returned %ld", rc);
    rc = unregister(9);
    REQUIRE(rc == -XEN_ENOSYS, "unregistering type 9 returned %ld, expected -ENOSYS", rc);
    rc = unregister(CALLBACKTYPE_sysenter_deprecated);
    REQUIRE(rc == -XEN_ENOSYS, "unregistering sysenter_deprecated returned %ld, expected -ENOSYS", rc);
    callback_register cb{};
    rc = hv::callback_op(2, &cb);
    REQUIRE(rc == -XEN_ENOSYS, "callback_op(2) returned %ld, expected -ENOSYS", rc);
    rc = hv::callback_op(CALLBACKOP_register, reinterpret_cast<void*>(0x0000'4000'0000'0000));
    REQUIRE(rc == -XEN_EFAULT, "callback_op(register) with an unmapped argument returned %ld, expected -EFAULT", rc);
    rc = hv::callback_op(CALLBACKOP_unregister, reinterpret_cast<void*>(0x0000'4000'0000'0000));
    REQUIRE(rc == -XEN_EFAULT, "callback_op(unregister) with an unmapped argument returned %ld, expected -EFAULT", rc);
    return passed();
}

// One 64-bit user syscall; the checks of Xen's syscall bounce.
Outcome syscall64(uint8_t expected_mask, const char* how) {
    memset(conf_syscall_record, 0, sizeof(uint64_t) * 12);
    const evs::UserTrip trip = evs::user_trip(conf_blob_syscall64, conf_blob_syscall64_end, FLAT_USER_CS64);
    const uint64_t* r = conf_syscall_record;
    REQUIRE(trip.vector == ~0u, "%s: user syscall faulted: vector %u at %#lx", how, trip.vector, trip.fault_rip);
    REQUIRE(r[0] == 64, "%s: the user syscall reached callback %lu, expected the syscall callback", how, r[0]);
    REQUIRE(trip.rax == 0x5e5c0de, "%s: rax %#lx at the callback, user mode passed 0x5e5c0de", how, trip.rax);
    const uint64_t after = evs::kUserCodeVa + static_cast<uint64_t>(conf_blob_syscall64_at - conf_blob_syscall64) + 2;
    REQUIRE(r[4] == after && r[2] == after, "%s: frame rip %#lx rcx %#lx, expected %#lx (after the syscall)", how, r[4],
            r[2], after);
    REQUIRE((r[5] & 0xffff) == FLAT_USER_CS64 && (r[8] & 0xffff) == FLAT_USER_SS,
            "%s: frame cs %#lx ss %#lx, expected %#x %#x", how, r[5], r[8], FLAT_USER_CS64, FLAT_USER_SS);
    REQUIRE(r[7] == evs::kUserRsp, "%s: frame rsp %#lx, expected the user's %#lx", how, r[7], evs::kUserRsp);
    REQUIRE((r[6] & evs::kRflagsDf) != 0, "%s: frame rflags %#lx lost the user's DF", how, r[6]);
    REQUIRE((r[9] & evs::kRflagsDf) == 0, "%s: the callback runs with DF set (rflags %#lx): Xen clears it", how, r[9]);
    REQUIRE(r[10] == expected_mask, "%s: upcall mask %lu in the callback, expected %u", how, r[10], expected_mask);
    const uint64_t frame = (evs::kernel_stack_top() & ~0xfull) - 7 * 8;
    REQUIRE(r[11] == frame, "%s: frame at %#lx, expected %#lx (top of the stack_switch stack)", how, r[11], frame);
    return passed();
}

Outcome user_syscalls() {
    const char* why = evs::prepare_user_space();
    REQUIRE(why == nullptr, "%s", why);
    const uint64_t sys64 = addr(conf_syscall64_callback), sys32 = addr(conf_syscall32_callback);
    REQUIRE(evs::register_callback(CALLBACKTYPE_syscall, sys64, CALLBACKF_mask_events) == 0 &&
                evs::register_callback(CALLBACKTYPE_syscall32, sys32) == 0,
            "registering the syscall callbacks failed");
    Outcome o = syscall64(1, "syscall callback with CALLBACKF_mask_events");
    if (o.kind != Outcome::Kind::ok)
        return o;
    REQUIRE(evs::register_callback(CALLBACKTYPE_syscall, sys64, 0) == 0, "registering the syscall callback failed");
    o = syscall64(0, "syscall callback without CALLBACKF_mask_events");
    if (o.kind != Outcome::Kind::ok)
        return o;
    events::disable();

    // set_callbacks: flags 0, errors ignored.
    long rc = hv::call<__HYPERVISOR_set_callbacks>(addr(conf_event_entry), addr(failsafe_callback_entry), sys64);
    REQUIRE(rc == 0, "set_callbacks returned %ld", rc);
    REQUIRE(evs::register_callback(CALLBACKTYPE_syscall, sys64, CALLBACKF_mask_events) == 0, "register failed");
    rc = hv::call<__HYPERVISOR_set_callbacks>(kNonCanonical, kNonCanonical, sys64);
    REQUIRE(rc == 0, "set_callbacks with non-canonical entries returned %ld, expected 0", rc);
    o = syscall64(0, "after set_callbacks (flags 0)");
    if (o.kind != Outcome::Kind::ok)
        return o;
    events::disable();
    {
        evs::PortCount counter{};
        evtchn_port_t ipi = 0;
        REQUIRE(events::bind_ipi(0, &ipi) == 0, "bind_ipi failed");
        evs::count_events(ipi, counter);
        events::enable();
        events::send(ipi);
        events::disable();
        events::close(ipi);
        events::set_handler(ipi, nullptr);
        REQUIRE(counter.count == 1, "after set_callbacks with a non-canonical event entry no upcall arrived");
    }

    // 32-bit compat code: syscall32 callback on AMD, #UD on Intel.
    REQUIRE(evs::register_callback(CALLBACKTYPE_syscall, sys64, CALLBACKF_mask_events) == 0, "register failed");
    memset(conf_syscall_record, 0, sizeof(uint64_t) * 12);
    evs::UserTrip trip = evs::user_trip(conf_blob_compat, conf_blob_compat_end, FLAT_USER_CS32);
    const uint64_t syscall_at = evs::kUserCodeVa + static_cast<uint64_t>(conf_blob_compat_at - conf_blob_compat);
    const uint64_t* r = conf_syscall_record;
    const bool intel = evs::cpu_is_intel();
    if (intel) {
        REQUIRE(trip.vector == traps::invalid_opcode && trip.fault_rip == syscall_at && trip.fault_cs == FLAT_USER_CS32,
                "Intel: syscall in compatibility mode gave vector %u at %#lx cs %#x, expected #UD at %#lx cs %#x",
                trip.vector, trip.fault_rip, trip.fault_cs, syscall_at, FLAT_USER_CS32);
    } else {
        REQUIRE(trip.vector == ~0u, "AMD: compat syscall faulted: vector %u at %#lx", trip.vector, trip.fault_rip);
        REQUIRE(r[0] == 32, "AMD: compat syscall reached callback %lu, expected syscall32", r[0]);
        REQUIRE((trip.rax & 0xffffffff) == 0x32c0de, "AMD: rax %#lx at the syscall32 callback", trip.rax);
        REQUIRE(r[4] == syscall_at + 2 && (r[5] & 0xffff) == FLAT_USER_CS32,
                "AMD: syscall32 frame rip %#lx cs %#lx, expected %#lx %#x", r[4], r[5], syscall_at + 2, FLAT_USER_CS32);
        REQUIRE(r[10] == 1, "AMD: upcall mask %lu at the syscall32 callback, expected 1 (the syscall flag decides)",
                r[10]);
    }
    print("conformance:   compat syscall on %s: %s\n", intel ? "Intel" : "AMD", intel ? "#UD" : "syscall32 callback");

    // No callback: #UD at the syscall.
    REQUIRE(evs::register_callback(CALLBACKTYPE_syscall, 0) == 0, "registering syscall callback 0 failed");
    trip = evs::user_trip(conf_blob_syscall64, conf_blob_syscall64_end, FLAT_USER_CS64);
    const uint64_t at64 = evs::kUserCodeVa + static_cast<uint64_t>(conf_blob_syscall64_at - conf_blob_syscall64);
    REQUIRE(trip.vector == traps::invalid_opcode && trip.fault_rip == at64 && trip.fault_cs == FLAT_USER_CS64,
            "user syscall without a syscall callback: vector %u at %#lx cs %#x, expected #UD at %#lx", trip.vector,
            trip.fault_rip, trip.fault_cs, at64);
    if (!intel) {
        REQUIRE(evs::register_callback(CALLBACKTYPE_syscall32, 0) == 0, "registering syscall32 callback 0 failed");
        trip = evs::user_trip(conf_blob_compat, conf_blob_compat_end, FLAT_USER_CS32);
        REQUIRE(trip.vector == traps::invalid_opcode && trip.fault_rip == syscall_at,
                "compat syscall without a syscall32 callback: vector %u at %#lx, expected #UD at %#lx", trip.vector,
                trip.fault_rip, syscall_at);
    }
    REQUIRE(evs::register_callback(CALLBACKTYPE_syscall, sys64, CALLBACKF_mask_events) == 0, "register failed");
    return passed();
}

}  // namespace

Outcome test_callbacks() {
    evs::Scope scope;
    REQUIRE(scope.failure() == nullptr, "%s", scope.failure());
    Outcome o = registration();
    if (o.kind == Outcome::Kind::ok)
        o = user_syscalls();
    // The library's set-up again (trap table, event and failsafe callbacks).
    traps::install();
    evs::register_callback(CALLBACKTYPE_event, addr(conf_event_entry));
    return o;
}
