#include "events.hpp"

#include "hypercall.hpp"
#include "percpu.hpp"
#include "shared_info.hpp"

namespace events {
namespace {

constexpr unsigned kPorts = EVTCHN_2L_NR_CHANNELS;
constexpr unsigned kBits = sizeof(xen_ulong_t) * 8;

struct Binding {
    Handler handler;
    void* context;
};
Binding bindings[kPorts];
// The vCPU each port notifies (what bind_virq / bind_ipi named; 0 otherwise).
uint8_t port_vcpu[kPorts];

volatile shared_info& shared() { return *xen_shared::page(); }

}  // namespace

void set_handler(evtchn_port_t port, Handler handler, void* context) {
    if (port < kPorts)
        bindings[port] = Binding{handler, context};
}

long bind_virq(unsigned virq, unsigned vcpu, evtchn_port_t* port) {
    evtchn_bind_virq bind{virq, vcpu, 0};
    const long rc = hv::event_channel_op(EVTCHNOP_bind_virq, &bind);
    if (rc == 0) {
        *port = bind.port;
        port_vcpu[bind.port % kPorts] = static_cast<uint8_t>(vcpu);
    }
    return rc;
}

long bind_ipi(unsigned vcpu, evtchn_port_t* port) {
    evtchn_bind_ipi bind{vcpu, 0};
    const long rc = hv::event_channel_op(EVTCHNOP_bind_ipi, &bind);
    if (rc == 0) {
        *port = bind.port;
        port_vcpu[bind.port % kPorts] = static_cast<uint8_t>(vcpu);
    }
    return rc;
}

long send(evtchn_port_t port) {
    evtchn_send s{port};
    return hv::event_channel_op(EVTCHNOP_send, &s);
}

long close(evtchn_port_t port) {
    evtchn_close c{port};
    const long rc = hv::event_channel_op(EVTCHNOP_close, &c);
    if (rc == 0 && port < kPorts)
        port_vcpu[port] = 0;  // a port reused later notifies vCPU 0 unless bound again
    return rc;
}

long unmask(evtchn_port_t port) {
    evtchn_unmask u{port};
    return hv::event_channel_op(EVTCHNOP_unmask, &u);
}

void mask(evtchn_port_t port) {
    __atomic_fetch_or(&shared().evtchn_mask[port / kBits], xen_ulong_t{1} << (port % kBits), __ATOMIC_SEQ_CST);
}

bool is_pending(evtchn_port_t port) { return (shared().evtchn_pending[port / kBits] >> (port % kBits)) & 1; }

void clear_pending(evtchn_port_t port) {
    __atomic_fetch_and(&shared().evtchn_pending[port / kBits], ~(xen_ulong_t{1} << (port % kBits)), __ATOMIC_SEQ_CST);
}

void enable() {
    volatile vcpu_info& v = *xen_shared::this_vcpu();
    v.evtchn_upcall_mask = 0;
    asm volatile("" ::: "memory");
    if (v.evtchn_upcall_pending)
        hv::xen_version(XENVER_version, nullptr);  // any hypercall: the way out delivers it
}

void disable() { xen_shared::this_vcpu()->evtchn_upcall_mask = 1; }

unsigned dispatch() {
    const unsigned self = percpu::vcpu();
    volatile vcpu_info& v = *xen_shared::vcpu(self);
    unsigned handled = 0;
    v.evtchn_upcall_pending = 0;
    for (xen_ulong_t selector = __atomic_exchange_n(&v.evtchn_pending_sel, 0, __ATOMIC_SEQ_CST); selector != 0;) {
        const unsigned word = static_cast<unsigned>(__builtin_ctzl(selector));
        selector &= selector - 1;
        xen_ulong_t ready = shared().evtchn_pending[word] & ~shared().evtchn_mask[word];
        while (ready != 0) {
            const unsigned bit = static_cast<unsigned>(__builtin_ctzl(ready));
            ready &= ready - 1;
            const evtchn_port_t port = word * kBits + bit;
            if (port_vcpu[port] != self)
                continue;  // its own vCPU's upcall takes it
            clear_pending(port);
            ++handled;
            if (bindings[port].handler != nullptr)
                bindings[port].handler(port, bindings[port].context);
        }
    }
    return handled;
}

}  // namespace events
