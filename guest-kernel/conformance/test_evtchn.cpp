// Event channels, 2-level ABI: every EVTCHNOP with its errors in the order
// Xen checks them (evtchn_ops), and EVTCHNOP_reset (evtchn_reset).
//
// evtchn_ops: port 0 is reserved (closed in status; close/send/bind_vcpu
// -XEN_EINVAL, unmask 0); the console and xenstore ports are interdomain to
// dom 0; allocation takes the lowest free port; status reports each state
// (unbound with its remote domain, IPI, VIRQ with its number, the vCPU it
// notifies); send on an IPI sets pending, on an unbound port is dropped,
// on a VIRQ or closed port is -XEN_EINVAL; close clears the pending bit but
// not the mask bit; a bad vCPU is -XEN_ENOENT before anything else; a VIRQ
// already bound is -XEN_EEXIST, a global one on vCPU != 0 -XEN_EINVAL; bind_vcpu
// refuses IPIs and per-vCPU VIRQs; OUT fields are written only on success;
// init_control -XEN_ENOSYS (no FIFO here), expand_array -XEN_EOPNOTSUPP,
// set_priority -XEN_ENOSYS (2-level), unknown commands -XEN_ENOSYS, unreadable
// arguments -XEN_EFAULT.
//
// evtchn_reset: EVTCHNOP_reset for another domain is -XEN_EPERM (dom 0) or
// -XEN_ESRCH; for ourselves it closes every port, the console and xenstore
// ports included (pending bits cleared, mask bits kept); bind_interdomain
// to the backends' ports then binds them again (the new local port
// pending, as Xen raises it), and the PV console ring notified through the
// rebound port is drained: the line appears on the console; with
// `console_input` on the command line, input on pvvmm's stdin raises the
// rebound port (not start_info's number, closed then).
#include "../lib/console.hpp"
#include "../lib/runtime.hpp"
#include "events_support.hpp"

namespace {

using evs::status;

constexpr domid_t kNoSuchDomain = 0x1234;
constexpr evtchn_port_t kBeyondPorts = EVTCHN_2L_NR_CHANNELS;  // 4096
constexpr uint64_t kUnmapped = 0x0000'4000'0000'0000;

struct Ports {
    evtchn_port_t console, store;
};
Ports boot_ports() { return Ports{runtime::boot_info().console.domU.evtchn, runtime::boot_info().store_evtchn}; }

Outcome reserved_and_backend_ports() {
    evtchn_status s;
    long rc = status(0, s);
    REQUIRE(rc == 0 && s.status == EVTCHNSTAT_closed && s.vcpu == 0,
            "status(port 0): rc %ld status %u vcpu %u, expected 0, closed, vCPU 0", rc, s.status, s.vcpu);
    const Ports boot = boot_ports();
    const evtchn_port_t backend_ports[2] = {boot.store, boot.console};
    for (evtchn_port_t p : backend_ports) {
        rc = status(p, s);
        REQUIRE(
            rc == 0 && s.status == EVTCHNSTAT_interdomain && s.u.interdomain.dom == 0 && s.vcpu == 0,
            "status(port %u, a backend's): rc %ld status %u dom %u vcpu %u, expected interdomain to dom 0 on vCPU 0", p,
            rc, s.status, s.u.interdomain.dom, s.vcpu);
    }
    // Another domain: the backend's is not ours to ask about, others do not exist.
    rc = status(boot.console, s, 0);
    REQUIRE(rc == -XEN_EPERM, "status in dom 0 returned %ld, expected -EPERM", rc);
    rc = status(boot.console, s, kNoSuchDomain);
    REQUIRE(rc == -XEN_ESRCH, "status in a domain that does not exist returned %ld, expected -ESRCH", rc);
    rc = status(kBeyondPorts, s);
    REQUIRE(rc == -XEN_EINVAL, "status(4096) returned %ld, expected -EINVAL", rc);
    rc = status(0xffffffff, s);
    REQUIRE(rc == -XEN_EINVAL, "status(0xffffffff) returned %ld, expected -EINVAL", rc);

    evtchn_close c{0};
    rc = evs::evtchn(EVTCHNOP_close, c);
    REQUIRE(rc == -XEN_EINVAL, "close(port 0) returned %ld, expected -EINVAL", rc);
    evtchn_send sd{0};
    rc = evs::evtchn(EVTCHNOP_send, sd);
    REQUIRE(rc == -XEN_EINVAL, "send(port 0) returned %ld, expected -EINVAL", rc);
    rc = evs::bind_vcpu(0, 0);
    REQUIRE(rc == -XEN_EINVAL, "bind_vcpu(port 0) returned %ld, expected -EINVAL", rc);
    rc = evs::unmask(0);
    REQUIRE(rc == 0, "unmask(port 0) returned %ld, expected 0 (nothing done)", rc);
    return passed();
}

Outcome allocation(evs::Scope& scope) {
    const evtchn_port_t lowest = evs::lowest_closed_port();
    REQUIRE(lowest != 0, "no closed port below 4096");
    evtchn_port_t a = 0, b = 0, again = 0;
    long rc = evs::alloc_unbound(a, 0);
    REQUIRE(rc == 0 && a == lowest, "alloc_unbound: rc %ld port %u, expected the lowest free port %u", rc, a, lowest);
    scope.keep(a);
    const evtchn_port_t next = evs::lowest_closed_port();
    rc = evs::alloc_unbound(b, DOMID_SELF);
    REQUIRE(rc == 0 && b == next, "second alloc_unbound: rc %ld port %u, expected the lowest free port %u", rc, b,
            next);
    scope.keep(b);

    evtchn_status s;
    rc = status(a, s);
    REQUIRE(rc == 0 && s.status == EVTCHNSTAT_unbound && s.u.unbound.dom == 0 && s.vcpu == 0,
            "status(unbound to dom 0): rc %ld status %u dom %u vcpu %u", rc, s.status, s.u.unbound.dom, s.vcpu);
    rc = status(b, s);
    REQUIRE(rc == 0 && s.status == EVTCHNSTAT_unbound && s.u.unbound.dom != DOMID_SELF,
            "status(unbound to DOMID_SELF): rc %ld status %u dom %#x: DOMID_SELF must become our domain id", rc,
            s.status, s.u.unbound.dom);

    // Another domain's port: -XEN_EPERM for dom 0, -XEN_ESRCH for none; nothing taken.
    evtchn_port_t refused = 0;
    rc = evs::alloc_unbound(refused, 0, 0);
    REQUIRE(rc == -XEN_EPERM && refused == 0xdead, "alloc_unbound in dom 0: rc %ld port %u, expected -EPERM, untouched",
            rc, refused);
    rc = evs::alloc_unbound(refused, 0, kNoSuchDomain);
    REQUIRE(rc == -XEN_ESRCH, "alloc_unbound in a domain that does not exist returned %ld, expected -ESRCH", rc);

    // A closed port is the lowest free one again.
    REQUIRE(events::close(a) == 0, "close(unbound port) failed");
    rc = status(a, s);
    REQUIRE(rc == 0 && s.status == EVTCHNSTAT_closed && s.vcpu == 0, "status after close: rc %ld status %u", rc,
            s.status);
    rc = evs::alloc_unbound(again, 0);
    REQUIRE(rc == 0 && again == a, "alloc_unbound after closing port %u returned port %u (rc %ld)", a, again, rc);

    // Sending on an unbound port: nobody listens, dropped.
    evtchn_send sd{a};
    rc = evs::evtchn(EVTCHNOP_send, sd);
    REQUIRE(rc == 0, "send(unbound port) returned %ld, expected 0", rc);
    REQUIRE(!events::is_pending(a), "send on an unbound port set its pending bit");
    return passed();
}

Outcome virqs_and_ipis(evs::Scope& scope) {
    evtchn_port_t port = 0;
    long rc = evs::bind_virq(NR_VIRQS, 0, port);
    REQUIRE(rc == -XEN_EINVAL, "bind_virq(24) returned %ld, expected -EINVAL", rc);
    rc = evs::bind_virq(0xffffffff, 0, port);
    REQUIRE(rc == -XEN_EINVAL, "bind_virq(-1) returned %ld, expected -EINVAL", rc);
    // Global VIRQs live on vCPU 0: another vCPU is -XEN_EINVAL, checked before the vCPU exists.
    rc = evs::bind_virq(VIRQ_ARCH_0, 1, port);
    REQUIRE(rc == -XEN_EINVAL, "bind_virq(global VIRQ, vCPU 1) returned %ld, expected -EINVAL", rc);
    rc = evs::bind_virq(VIRQ_CON_RING, 99, port);
    REQUIRE(rc == -XEN_EINVAL, "bind_virq(global VIRQ, vCPU 99) returned %ld, expected -EINVAL", rc);
    rc = evs::bind_virq(VIRQ_DEBUG, 99, port);
    REQUIRE(rc == -XEN_ENOENT, "bind_virq(per-vCPU VIRQ, vCPU 99) returned %ld, expected -ENOENT", rc);

    evtchn_port_t debug = 0, global = 0, ipi = 0;
    rc = evs::bind_virq(VIRQ_DEBUG, 0, debug);
    REQUIRE(rc == 0, "bind_virq(VIRQ_DEBUG, 0) returned %ld", rc);
    scope.keep(debug);
    rc = evs::bind_virq(VIRQ_DEBUG, 0, port);
    REQUIRE(rc == -XEN_EEXIST && port == 0xdead,
            "binding VIRQ_DEBUG twice: rc %ld port %u, expected -EEXIST, untouched", rc, port);
    rc = evs::bind_virq(VIRQ_ARCH_0, 0, global);
    REQUIRE(rc == 0, "bind_virq(VIRQ_ARCH_0, 0) returned %ld", rc);
    scope.keep(global);
    rc = evs::bind_virq(VIRQ_ARCH_0, 0, port);
    REQUIRE(rc == -XEN_EEXIST, "binding a global VIRQ twice returned %ld, expected -EEXIST", rc);
    evtchn_status s;
    rc = status(debug, s);
    REQUIRE(rc == 0 && s.status == EVTCHNSTAT_virq && s.u.virq == VIRQ_DEBUG && s.vcpu == 0,
            "status(VIRQ_DEBUG port): rc %ld status %u virq %u vcpu %u", rc, s.status, s.u.virq, s.vcpu);
    rc = status(global, s);
    REQUIRE(rc == 0 && s.status == EVTCHNSTAT_virq && s.u.virq == VIRQ_ARCH_0,
            "status(VIRQ_ARCH_0 port): rc %ld status %u virq %u", rc, s.status, s.u.virq);

    evtchn_bind_ipi bad_ipi{99, 0xdead};
    rc = evs::evtchn(EVTCHNOP_bind_ipi, bad_ipi);
    REQUIRE(rc == -XEN_ENOENT && bad_ipi.port == 0xdead, "bind_ipi(vCPU 99) returned %ld, expected -ENOENT", rc);
    evtchn_bind_ipi at_nr{evs::nr_vcpus(), 0xdead};
    rc = evs::evtchn(EVTCHNOP_bind_ipi, at_nr);
    REQUIRE(rc == -XEN_ENOENT, "bind_ipi(vCPU nr_vcpus) returned %ld, expected -ENOENT", rc);
    rc = events::bind_ipi(0, &ipi);
    REQUIRE(rc == 0, "bind_ipi(0) returned %ld", rc);
    scope.keep(ipi);
    rc = status(ipi, s);
    REQUIRE(rc == 0 && s.status == EVTCHNSTAT_ipi && s.vcpu == 0, "status(IPI port): rc %ld status %u vcpu %u", rc,
            s.status, s.vcpu);

    // send: an IPI loops back (pending), a VIRQ cannot be sent, nor a closed or invalid port.
    REQUIRE(events::send(ipi) == 0, "send(IPI) failed");
    REQUIRE(events::is_pending(ipi), "send on an IPI port did not set its pending bit");
    evtchn_send sd{debug};
    rc = evs::evtchn(EVTCHNOP_send, sd);
    REQUIRE(rc == -XEN_EINVAL, "send(VIRQ port) returned %ld, expected -EINVAL", rc);
    const evtchn_port_t closed = evs::lowest_closed_port();
    sd.port = closed;
    rc = evs::evtchn(EVTCHNOP_send, sd);
    REQUIRE(rc == -XEN_EINVAL, "send(closed port %u) returned %ld, expected -EINVAL", closed, rc);
    sd.port = kBeyondPorts;
    rc = evs::evtchn(EVTCHNOP_send, sd);
    REQUIRE(rc == -XEN_EINVAL, "send(4096) returned %ld, expected -EINVAL", rc);

    // close: clears the pending bit, keeps the mask bit.
    events::mask(ipi);
    REQUIRE(events::close(ipi) == 0, "close(IPI) failed");
    REQUIRE(!events::is_pending(ipi), "close left the pending bit set");
    REQUIRE(evs::mask_bit(ipi), "close cleared the mask bit (Xen leaves it)");
    rc = status(ipi, s);
    REQUIRE(rc == 0 && s.status == EVTCHNSTAT_closed && s.vcpu == 0, "status after close: rc %ld status %u", rc,
            s.status);
    evtchn_close c{ipi};
    rc = evs::evtchn(EVTCHNOP_close, c);
    REQUIRE(rc == -XEN_EINVAL, "closing a closed port returned %ld, expected -EINVAL", rc);
    c.port = kBeyondPorts;
    rc = evs::evtchn(EVTCHNOP_close, c);
    REQUIRE(rc == -XEN_EINVAL, "close(4096) returned %ld, expected -EINVAL", rc);
    // unmask of a closed port: 0, and the mask bit stays.
    rc = evs::unmask(ipi);
    REQUIRE(rc == 0 && evs::mask_bit(ipi), "unmask(closed port): rc %ld, mask bit %d: expected 0 and still masked", rc,
            evs::mask_bit(ipi));
    evs::clear_mask_bit(ipi);
    rc = evs::unmask(kBeyondPorts);
    REQUIRE(rc == -XEN_EINVAL, "unmask(4096) returned %ld, expected -EINVAL", rc);

    // A closed VIRQ can be bound again.
    REQUIRE(events::close(debug) == 0, "close(VIRQ_DEBUG port) failed");
    rc = evs::bind_virq(VIRQ_DEBUG, 0, debug);
    REQUIRE(rc == 0, "binding VIRQ_DEBUG again after close returned %ld", rc);
    scope.keep(debug);
    return passed();
}

Outcome bind_vcpu_rules(evs::Scope& scope) {
    evtchn_port_t debug = 0, global = 0, ipi = 0, unbound = 0;
    REQUIRE(evs::bind_virq(VIRQ_XENOPROF, 0, debug) == 0, "bind_virq(VIRQ_XENOPROF) failed");
    scope.keep(debug);
    REQUIRE(evs::bind_virq(VIRQ_ARCH_1, 0, global) == 0, "bind_virq(VIRQ_ARCH_1) failed");
    scope.keep(global);
    REQUIRE(events::bind_ipi(0, &ipi) == 0, "bind_ipi failed");
    scope.keep(ipi);
    REQUIRE(evs::alloc_unbound(unbound, 0) == 0, "alloc_unbound failed");
    scope.keep(unbound);

    const unsigned n = evs::nr_vcpus();
    long rc = evs::bind_vcpu(kBeyondPorts, 99);
    REQUIRE(rc == -XEN_ENOENT, "bind_vcpu(vCPU 99, port 4096) returned %ld, expected -ENOENT (vCPU checked first)", rc);
    rc = evs::bind_vcpu(global, n);
    REQUIRE(rc == -XEN_ENOENT, "bind_vcpu(vCPU nr_vcpus) returned %ld, expected -ENOENT", rc);
    rc = evs::bind_vcpu(kBeyondPorts, 0);
    REQUIRE(rc == -XEN_EINVAL, "bind_vcpu(port 4096) returned %ld, expected -EINVAL", rc);
    rc = evs::bind_vcpu(ipi, 0);
    REQUIRE(rc == -XEN_EINVAL, "bind_vcpu(IPI port) returned %ld, expected -EINVAL", rc);
    rc = evs::bind_vcpu(debug, 0);
    REQUIRE(rc == -XEN_EINVAL, "bind_vcpu(per-vCPU VIRQ port) returned %ld, expected -EINVAL", rc);
    rc = evs::bind_vcpu(evs::lowest_closed_port(), 0);
    REQUIRE(rc == -XEN_EINVAL, "bind_vcpu(closed port) returned %ld, expected -EINVAL", rc);
    rc = evs::bind_vcpu(global, 0);
    REQUIRE(rc == 0, "bind_vcpu(global VIRQ port, 0) returned %ld", rc);
    rc = evs::bind_vcpu(unbound, 0);
    REQUIRE(rc == 0, "bind_vcpu(unbound port, 0) returned %ld", rc);
    rc = evs::bind_vcpu(boot_ports().console, 0);
    REQUIRE(rc == 0, "bind_vcpu(console port, 0) returned %ld", rc);
    if (n >= 2) {  // with --vcpus 2: the port notifies vCPU 1 from now on
        evtchn_status s;
        rc = evs::bind_vcpu(global, 1);
        REQUIRE(rc == 0 && status(global, s) == 0 && s.vcpu == 1,
                "bind_vcpu(global VIRQ, 1): rc %ld, status says vCPU %u", rc, s.vcpu);
        rc = evs::bind_vcpu(unbound, 1);
        REQUIRE(rc == 0 && status(unbound, s) == 0 && s.vcpu == 1, "bind_vcpu(unbound, 1): rc %ld, status says vCPU %u",
                rc, s.vcpu);
        rc = evs::bind_vcpu(ipi, 1);
        REQUIRE(rc == -XEN_EINVAL, "bind_vcpu(IPI port, 1) returned %ld, expected -EINVAL", rc);
        // A freed port notifies vCPU 0 again.
        REQUIRE(events::close(unbound) == 0 && status(unbound, s) == 0 && s.vcpu == 0,
                "a closed port still reports vCPU %u", s.vcpu);
        rc = evs::bind_vcpu(global, 0);
        REQUIRE(rc == 0, "bind_vcpu(global VIRQ, 0) returned %ld", rc);
        print("conformance:   bind_vcpu to vCPU 1 of %u checked\n", n);
    }
    return passed();
}

Outcome other_commands() {
    evtchn_port_t unbound = 0;
    REQUIRE(evs::alloc_unbound(unbound, 0) == 0, "alloc_unbound failed");
    evtchn_set_priority pr{unbound, 5};
    long rc = evs::evtchn(EVTCHNOP_set_priority, pr);
    REQUIRE(rc == -XEN_ENOSYS, "set_priority on 2-level events returned %ld, expected -ENOSYS", rc);
    pr.port = kBeyondPorts;
    rc = evs::evtchn(EVTCHNOP_set_priority, pr);
    REQUIRE(rc == -XEN_EINVAL, "set_priority(port 4096) returned %ld, expected -EINVAL", rc);
    events::close(unbound);
    evtchn_init_control ic{};
    rc = evs::evtchn(EVTCHNOP_init_control, ic);
    REQUIRE(rc == -XEN_ENOSYS, "init_control returned %ld, expected -ENOSYS (pvvmm offers no FIFO ABI)", rc);
    evtchn_expand_array ea{};
    rc = evs::evtchn(EVTCHNOP_expand_array, ea);
    REQUIRE(rc == -XEN_EOPNOTSUPP, "expand_array before FIFO returned %ld, expected -EOPNOTSUPP", rc);
    uint64_t junk[8] = {};
    rc = hv::event_channel_op(100, junk);
    REQUIRE(rc == -XEN_ENOSYS, "event_channel_op(100) returned %ld, expected -ENOSYS", rc);
    // Unreadable arguments.
    const int commands[] = {EVTCHNOP_alloc_unbound, EVTCHNOP_bind_virq,    EVTCHNOP_bind_ipi,        EVTCHNOP_send,
                            EVTCHNOP_close,         EVTCHNOP_status,       EVTCHNOP_unmask,          EVTCHNOP_bind_vcpu,
                            EVTCHNOP_reset,         EVTCHNOP_set_priority, EVTCHNOP_bind_interdomain};
    for (int cmd : commands) {
        rc = hv::event_channel_op(cmd, reinterpret_cast<void*>(kUnmapped));
        REQUIRE(rc == -XEN_EFAULT, "event_channel_op(%d) with an unmapped argument returned %ld, expected -EFAULT", cmd,
                rc);
    }
    // bind_interdomain: no such domain, no such or no unbound remote port.
    evtchn_bind_interdomain bi{kNoSuchDomain, boot_ports().console, 0xdead};
    rc = evs::evtchn(EVTCHNOP_bind_interdomain, bi);
    REQUIRE(rc == -XEN_ESRCH, "bind_interdomain to a domain that does not exist returned %ld, expected -ESRCH", rc);
    bi = evtchn_bind_interdomain{0, 4000, 0xdead};
    rc = evs::evtchn(EVTCHNOP_bind_interdomain, bi);
    REQUIRE(rc == -XEN_EINVAL && bi.local_port == 0xdead,
            "bind_interdomain to dom 0 port 4000 returned %ld, expected -EINVAL", rc);
    bi = evtchn_bind_interdomain{0, boot_ports().console, 0xdead};
    rc = evs::evtchn(EVTCHNOP_bind_interdomain, bi);
    REQUIRE(rc == -XEN_EINVAL, "bind_interdomain to the console backend, bound already, returned %ld, expected -EINVAL",
            rc);
    return passed();
}

}  // namespace

Outcome test_evtchn_ops() {
    evs::Scope scope;
    REQUIRE(scope.failure() == nullptr, "%s", scope.failure());
    Outcome o = reserved_and_backend_ports();
    if (o.kind == Outcome::Kind::ok)
        o = allocation(scope);
    if (o.kind == Outcome::Kind::ok)
        o = virqs_and_ipis(scope);
    if (o.kind == Outcome::Kind::ok)
        o = bind_vcpu_rules(scope);
    if (o.kind == Outcome::Kind::ok)
        o = other_commands();
    return o;
}

namespace {

// Writes a line into the PV console ring's output half (no notification).
void ring_write(volatile xencons_interface& ring, const char* text) {
    XENCONS_RING_IDX prod = ring.out_prod;
    for (; *text != '\0'; ++text)
        ring.out[MASK_XENCONS_IDX(prod++, ring.out)] = *text;
    asm volatile("" ::: "memory");
    ring.out_prod = prod;
}

}  // namespace

Outcome test_evtchn_reset() {
    evs::Scope scope;
    REQUIRE(scope.failure() == nullptr, "%s", scope.failure());
    const Ports boot = boot_ports();
    evtchn_port_t ipi = 0, debug = 0, unbound = 0;
    REQUIRE(events::bind_ipi(0, &ipi) == 0 && evs::bind_virq(VIRQ_DEBUG, 0, debug) == 0 &&
                evs::alloc_unbound(unbound, 0) == 0,
            "binding ports before the reset failed");
    events::mask(unbound);
    REQUIRE(events::send(ipi) == 0 && events::is_pending(ipi), "send(IPI) did not set pending");

    evtchn_reset r{0};
    long rc = evs::evtchn(EVTCHNOP_reset, r);
    REQUIRE(rc == -XEN_EPERM, "reset of dom 0 returned %ld, expected -EPERM", rc);
    r.dom = kNoSuchDomain;
    rc = evs::evtchn(EVTCHNOP_reset, r);
    REQUIRE(rc == -XEN_ESRCH, "reset of a domain that does not exist returned %ld, expected -ESRCH", rc);
    evtchn_status s;
    REQUIRE(status(ipi, s) == 0 && s.status == EVTCHNSTAT_ipi, "a refused reset closed ports");

    r.dom = DOMID_SELF;
    rc = evs::evtchn(EVTCHNOP_reset, r);
    REQUIRE(rc == 0, "reset(DOMID_SELF) returned %ld", rc);
    for (evtchn_port_t p = 0; p < 64; ++p) {
        rc = status(p, s);
        REQUIRE(rc == 0 && s.status == EVTCHNSTAT_closed, "after reset port %u: rc %ld status %u, expected closed", p,
                rc, s.status);
    }
    REQUIRE(!events::is_pending(ipi), "reset left the IPI port pending");
    REQUIRE(evs::mask_bit(unbound), "reset cleared a mask bit (Xen keeps them)");
    evs::clear_mask_bit(unbound);
    evtchn_send sd{boot.console};
    rc = evs::evtchn(EVTCHNOP_send, sd);
    REQUIRE(rc == -XEN_EINVAL, "send on the closed console port returned %ld, expected -EINVAL", rc);

    // The console first: it takes the lowest port, whatever start_info said.
    evtchn_bind_interdomain bi{0, boot.console, 0xdead};
    rc = evs::evtchn(EVTCHNOP_bind_interdomain, bi);
    REQUIRE(rc == 0 && bi.local_port == 1, "bind_interdomain(console) after reset: rc %ld local port %u, expected 1",
            rc, bi.local_port);
    const evtchn_port_t console = bi.local_port;
    REQUIRE(events::is_pending(console), "the rebound console port is not pending (Xen raises the new local port)");
    events::clear_pending(console);
    REQUIRE(status(console, s) == 0 && s.status == EVTCHNSTAT_interdomain && s.u.interdomain.dom == 0 &&
                s.u.interdomain.port == boot.console,
            "status(rebound console port): status %u dom %u remote port %u", s.status, s.u.interdomain.dom,
            s.u.interdomain.port);
    rc = evs::evtchn(EVTCHNOP_bind_interdomain, bi);
    REQUIRE(rc == -XEN_EINVAL, "binding the console backend twice returned %ld, expected -EINVAL", rc);

    // The console ring, notified through the rebound port, is drained.
    volatile xencons_interface& ring = *reinterpret_cast<volatile xencons_interface*>(
        physmap::pfn_to_virt(physmap::mfn_to_pfn(runtime::boot_info().console.domU.mfn)));
    console::flush();
    ring_write(ring, "conformance:   console ring notified through rebound port 1\n");
    sd.port = console;
    rc = evs::evtchn(EVTCHNOP_send, sd);
    REQUIRE(rc == 0, "send on the rebound console port returned %ld", rc);
    REQUIRE(ring.out_cons == ring.out_prod, "the console ring was not drained (cons %u prod %u)", ring.out_cons,
            ring.out_prod);
    // With `console_input` (and input on pvvmm's stdin a few seconds after
    // the start): the backend notifies the port bound to it now, not the
    // number start_info gave, which is closed at this point.
    if (runtime::command_line_has("console_input")) {
        print("conformance:   waiting up to 20 s for console input on port %u\n", console);
        rc = evs::poll(&console, 1, evs::now() + 20'000 * evs::kMs);
        REQUIRE(rc == 0 && events::is_pending(console), "no console input event on the rebound port %u", console);
        REQUIRE(!events::is_pending(boot.console), "console input raised port %u, closed since the reset",
                boot.console);
        REQUIRE(ring.in_prod != ring.in_cons, "a console input event, but nothing in the ring");
        print("conformance:   console input arrived on rebound port %u (%u bytes)\n", console,
              ring.in_prod - ring.in_cons);
        ring.in_cons = ring.in_prod;
        events::clear_pending(console);
    }

    // Back to the numbers start_info gave: xenstore then console, lowest first.
    REQUIRE(events::close(console) == 0, "close(console) failed");
    const evtchn_port_t order[2][2] = {{boot.store, boot.console}, {boot.console, boot.store}};
    const auto& first = boot.store < boot.console ? order[0] : order[1];
    for (evtchn_port_t remote : first) {
        bi = evtchn_bind_interdomain{0, remote, 0xdead};
        rc = evs::evtchn(EVTCHNOP_bind_interdomain, bi);
        REQUIRE(rc == 0 && bi.local_port == remote, "rebinding backend port %u: rc %ld local port %u", remote, rc,
                bi.local_port);
        events::clear_pending(bi.local_port);
    }
    ring_write(ring, "conformance:   console ring notified through its start_info port again\n");
    sd.port = boot.console;
    REQUIRE(evs::evtchn(EVTCHNOP_send, sd) == 0 && ring.out_cons == ring.out_prod,
            "the console ring was not drained through the start_info port");
    return passed();
}
