#include "monitor/events/evtchn.hpp"

#include <xen/xen.h>

#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/hypercall/console.hpp"
#include "monitor/lib/xen_errno.hpp"
#include "monitor/log.hpp"
#include "monitor/mm/pv_mmu.hpp"
#include "monitor/pending.hpp"
#include "monitor/time/clock.hpp"
#include "monitor/time/timer.hpp"
#include "monitor/traps/bounce.hpp"

namespace monitor::events {

namespace {

// Xen's ECS_* states; the interdomain ports lead to a backend in pvvmm.
enum class State : uint8_t { Free, Reserved, Unbound, Interdomain, Virq, Ipi };
enum class Backend : uint8_t { None, Console, Store };

struct Port {
    State state;
    Backend backend;  // Interdomain
    uint8_t virq;     // Virq
    uint8_t pad;
    uint16_t vcpu;         // the vCPU it notifies
    domid_t remote_domid;  // Unbound, Interdomain
    uint32_t remote_port;  // Interdomain
};
static_assert(sizeof(Port) == 12);

Port ports[kNrPorts];
// Changes to the port table; the pending and mask bits are atomic.
uint32_t table_lock = 0;

struct TableLock {
    TableLock() {
        while (__atomic_exchange_n(&table_lock, 1, __ATOMIC_ACQUIRE))
            asm volatile("pause");
    }
    ~TableLock() { __atomic_store_n(&table_lock, 0, __ATOMIC_RELEASE); }
    TableLock(const TableLock&) = delete;
    TableLock& operator=(const TableLock&) = delete;
};

// DOMID_SELF or our own id: this domain. Dom0 (the backends) exists, but
// is not ours to touch (Xen's XSM check: -EPERM); any other: -ESRCH.
int64_t check_own_domain(domid_t dom) {
    if (dom == DOMID_SELF || dom == abi::kGuestDomid)
        return 0;
    return dom == abi::kBackendDomid ? -EPERM : -ESRCH;
}

using Word = xen_ulong_t;
constexpr unsigned kBitsPerWord = sizeof(Word) * 8;

bool test_and_set(Word* words, uint32_t bit) {
    const Word mask = Word{1} << (bit % kBitsPerWord);
    return __atomic_fetch_or(&words[bit / kBitsPerWord], mask, __ATOMIC_SEQ_CST) & mask;
}
bool test_and_clear(Word* words, uint32_t bit) {
    const Word mask = Word{1} << (bit % kBitsPerWord);
    return __atomic_fetch_and(&words[bit / kBitsPerWord], ~mask, __ATOMIC_SEQ_CST) & mask;
}
void clear(Word* words, uint32_t bit) { (void)test_and_clear(words, bit); }
bool test(const Word* words, uint32_t bit) {
    return (__atomic_load_n(&words[bit / kBitsPerWord], __ATOMIC_RELAXED) >> (bit % kBitsPerWord)) & 1;
}

shared_info_t& shared() { return *domain().shared_info; }

// Xen's VIRQs marked "V." are per vCPU; the others are global (vCPU 0).
bool virq_is_per_vcpu(unsigned virq) {
    return virq == VIRQ_TIMER || virq == VIRQ_DEBUG || virq == VIRQ_XENOPROF || virq == VIRQ_XENPMU;
}

bool valid_vcpu(uint64_t id) { return id < domain().boot.nr_vcpus; }

// Xen's evtchn_usable: bound to something (not free, not the reserved port 0).
bool usable(uint32_t port) { return ports[port].state > State::Reserved; }

// The upcall: vcpu_info's flag, then the vCPU gets to deliver it.
void mark_upcall_pending(Vcpu& v) {
    if (!__atomic_exchange_n(&v.events.info->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST))
        post_and_kick(v, kPendingEvent);
}

// Lowest free port above 0, as Xen's get_free_port.
int64_t allocate(State state, uint16_t vcpu) {
    for (uint32_t p = 1; p < kNrPorts; ++p) {
        if (ports[p].state != State::Free)
            continue;
        ports[p] = Port{state, Backend::None, 0, 0, vcpu, 0, 0};
        return p;
    }
    return -ENOSPC;
}

void free_port(uint32_t p) {
    Port& port = ports[p];
    if (port.state == State::Virq && virq_is_per_vcpu(port.virq))
        vcpu(port.vcpu).events.virq_port[port.virq] = 0;
    else if (port.state == State::Virq)
        vcpu(0).events.virq_port[port.virq] = 0;
    port = Port{};
    clear(shared().evtchn_pending, p);
}

void bind_backend(uint32_t p, Backend backend) {
    if (p == 0 || p >= kNrPorts)
        panic("domain builder gave backend port %u", p);
    ports[p] = Port{State::Interdomain, backend, 0, 0, 0, abi::kBackendDomid, p};
}

}  // namespace

void init() {
    ports[0].state = State::Reserved;
    bind_backend(domain().boot.domain.console_evtchn, Backend::Console);
    bind_backend(domain().boot.domain.store_evtchn, Backend::Store);
}

bool usable_port(uint64_t port) { return port < kNrPorts && usable(static_cast<uint32_t>(port)); }

// Xen's evtchn_2l_set_pending: pending bit, then (unmasked) the selector
// bit, then the upcall flag and a kick. A vCPU polling any port wakes too.
void set_pending(uint32_t port) {
    if (!usable(port))
        return;  // Xen's evtchn_port_set_pending: nothing for a closed port
    Vcpu& v = vcpu(ports[port].vcpu);
    current().counters->events_raised++;
    if (test_and_set(shared().evtchn_pending, port))
        return;
    if (!test(shared().evtchn_mask, port) && !test_and_set(&v.events.info->evtchn_pending_sel, port / kBitsPerWord))
        mark_upcall_pending(v);
    if (__atomic_load_n(&v.events.polling, __ATOMIC_SEQ_CST))  // masked or not (Xen's evtchn_check_pollers)
        post_and_kick(v, kPendingEvent);
}

namespace {

// Wherever the guest bound a backend's end (after EVTCHNOP_reset it may be
// another port than start_info's), or nowhere.
void raise_backend(Backend backend) {
    for (uint32_t p = 1; p < kNrPorts; ++p)
        if (ports[p].state == State::Interdomain && ports[p].backend == backend) {
            set_pending(p);
            return;
        }
}

// The host's xenstore serves the ring synchronously, inside this exit, as
// xenstored would right after the notification; its replies and watch
// events are in the ring when outl returns.
void store_notified() {
    auto& ch = *current().channel;
    cpu::outl(layout::port::kXenstore, 0);
    if (__atomic_exchange_n(&ch.store_output, 0, __ATOMIC_ACQ_REL))
        raise_backend(Backend::Store);
}

}  // namespace

void raise_console() { raise_backend(Backend::Console); }

void send_virq(Vcpu& v, unsigned virq) {
    if (const uint16_t port = v.events.virq_port[virq])
        set_pending(port);
}

bool upcall_deliverable(const Vcpu& v) {
    const vcpu_info_t& info = *v.events.info;
    return __atomic_load_n(&info.evtchn_upcall_pending, __ATOMIC_SEQ_CST) && !info.evtchn_upcall_mask;
}

void deliver_upcall(GuestRegs& r, Vcpu& v) {
    const vcpu_info_t& info = *v.events.info;
    if (!__atomic_load_n(&info.evtchn_upcall_pending, __ATOMIC_SEQ_CST)) {
        __atomic_fetch_and(&v.pending, ~kPendingEvent, __ATOMIC_SEQ_CST);
        return;
    }
    if (info.evtchn_upcall_mask)
        return;  // kPendingEvent stays: the guest unmasks, then forces a hypercall
    __atomic_fetch_and(&v.pending, ~kPendingEvent, __ATOMIC_SEQ_CST);
    v.counters->upcalls++;  // no callback registered: a domain crash, as in Xen
    bounce_to_guest(r, Bounce{v.event_callback, false, 0, true});
}

bool any_pending(const evtchn_port_t* list, unsigned n) {
    for (unsigned i = 0; i < n; ++i)
        if (list[i] < kNrPorts && test(shared().evtchn_pending, list[i]))
            return true;
    return false;
}

int64_t alloc_unbound(evtchn_alloc_unbound_t& a) {
    if (int64_t rc = check_own_domain(a.dom); rc < 0)
        return rc;
    TableLock lock;
    const int64_t p = allocate(State::Unbound, 0);
    if (p < 0)
        return p;
    ports[p].remote_domid = a.remote_dom == DOMID_SELF ? abi::kGuestDomid : a.remote_dom;
    a.port = static_cast<evtchn_port_t>(p);
    return 0;
}

int64_t bind_virq(evtchn_bind_virq_t& a) {
    if (a.virq >= NR_VIRQS)
        return -EINVAL;
    const bool per_vcpu = virq_is_per_vcpu(a.virq);
    if (!per_vcpu && a.vcpu != 0)
        return -EINVAL;  // global VIRQs are bound on vCPU 0 (then rebound with bind_vcpu)
    if (!valid_vcpu(a.vcpu))
        return -ENOENT;
    TableLock lock;
    auto& slot = vcpu(a.vcpu).events.virq_port[a.virq];
    if (slot != 0)
        return -EEXIST;
    const int64_t p = allocate(State::Virq, static_cast<uint16_t>(a.vcpu));
    if (p < 0)
        return p;
    ports[p].virq = static_cast<uint8_t>(a.virq);
    slot = static_cast<uint16_t>(p);
    a.port = static_cast<evtchn_port_t>(p);
    if (a.virq == VIRQ_TIMER && &vcpu(a.vcpu) == &current())
        timer::virq_timer_bound(current());  // its periodic ticks start to matter
    return 0;
}

int64_t bind_ipi(evtchn_bind_ipi_t& a) {
    if (!valid_vcpu(a.vcpu))
        return -ENOENT;
    TableLock lock;
    const int64_t p = allocate(State::Ipi, static_cast<uint16_t>(a.vcpu));
    if (p < 0)
        return p;
    a.port = static_cast<evtchn_port_t>(p);
    return 0;
}

int64_t send(uint32_t port) {
    if (port >= kNrPorts)
        return -EINVAL;
    current().counters->evtchn_sends++;
    const Port p = ports[port];
    switch (p.state) {
    case State::Ipi: set_pending(port); return 0;
    case State::Unbound: return 0;  // nobody is listening: dropped, as in Xen
    case State::Interdomain:
        if (p.backend == Backend::Console)
            console_notified();
        else if (p.backend == Backend::Store)
            store_notified();
        return 0;
    case State::Free:
    case State::Reserved:
    case State::Virq: return -EINVAL;
    }
    return -EINVAL;
}

int64_t close(uint32_t port) {
    if (port >= kNrPorts)
        return -EINVAL;
    TableLock lock;
    switch (ports[port].state) {
    case State::Free: return -EINVAL;
    case State::Reserved: return -EINVAL;
    default: free_port(port); return 0;
    }
}

int64_t status(evtchn_status_t& a) {
    if (int64_t rc = check_own_domain(a.dom); rc < 0)
        return rc;
    if (a.port >= kNrPorts)
        return -EINVAL;
    TableLock lock;
    const Port& p = ports[a.port];
    a.vcpu = p.vcpu;
    switch (p.state) {
    case State::Free:
    case State::Reserved: a.status = EVTCHNSTAT_closed; break;
    case State::Unbound:
        a.status = EVTCHNSTAT_unbound;
        a.u.unbound.dom = p.remote_domid;
        break;
    case State::Interdomain:
        a.status = EVTCHNSTAT_interdomain;
        a.u.interdomain.dom = p.remote_domid;
        a.u.interdomain.port = p.remote_port;
        break;
    case State::Virq:
        a.status = EVTCHNSTAT_virq;
        a.u.virq = p.virq;
        break;
    case State::Ipi: a.status = EVTCHNSTAT_ipi; break;
    }
    return 0;
}

// Xen's evtchn_2l_unmask: a pending event that was masked now reaches the
// selector and the upcall of the vCPU the port notifies. A closed port: 0,
// nothing done.
int64_t unmask(uint32_t port) {
    if (port >= kNrPorts)
        return -EINVAL;
    if (!usable(port))
        return 0;
    Vcpu& v = vcpu(ports[port].vcpu);
    if (test_and_clear(shared().evtchn_mask, port) && test(shared().evtchn_pending, port) &&
        !test_and_set(&v.events.info->evtchn_pending_sel, port / kBitsPerWord))
        mark_upcall_pending(v);
    return 0;
}

int64_t bind_vcpu(const evtchn_bind_vcpu_t& a) {
    if (!valid_vcpu(a.vcpu))
        return -ENOENT;
    if (a.port >= kNrPorts)
        return -EINVAL;
    TableLock lock;
    Port& p = ports[a.port];
    switch (p.state) {
    case State::Virq:
        if (virq_is_per_vcpu(p.virq))
            return -EINVAL;
        [[fallthrough]];
    case State::Unbound:
    case State::Interdomain: p.vcpu = static_cast<uint16_t>(a.vcpu); return 0;
    default: return -EINVAL;
    }
}

// Xen's evtchn_reset: every port but the reserved one closed, the console
// and xenstore ports too (the guest binds them again with
// bind_interdomain, as after a kexec).
int64_t reset(domid_t dom) {
    if (int64_t rc = check_own_domain(dom); rc < 0)
        return rc;
    TableLock lock;
    for (uint32_t p = 1; p < kNrPorts; ++p)
        if (usable(p))
            free_port(p);
    return 0;
}

// Only the backends' ports exist to bind to: dom0's port numbers are the
// ones the domain builder gave the guest (start_info), free again after a
// close or reset. Xen raises the new local port at once.
int64_t bind_interdomain(evtchn_bind_interdomain_t& a) {
    if (a.remote_dom != abi::kBackendDomid)
        return check_own_domain(a.remote_dom) < 0 ? -ESRCH : -EINVAL;  // no loopback channels
    const auto& d = domain().boot.domain;
    const Backend backend = a.remote_port == d.console_evtchn ? Backend::Console
                            : a.remote_port == d.store_evtchn ? Backend::Store
                                                              : Backend::None;
    int64_t p;
    {
        TableLock lock;
        if (backend == Backend::None)
            return -EINVAL;
        for (uint32_t q = 1; q < kNrPorts; ++q)
            if (ports[q].state == State::Interdomain && ports[q].backend == backend)
                return -EINVAL;  // the backend's end is bound already
        p = allocate(State::Interdomain, 0);
        if (p < 0)
            return p;
        ports[p].backend = backend;
        ports[p].remote_domid = abi::kBackendDomid;
        ports[p].remote_port = a.remote_port;
    }
    a.local_port = static_cast<evtchn_port_t>(p);
    set_pending(static_cast<uint32_t>(p));
    return 0;
}

int64_t set_priority(uint32_t port) { return port < kNrPorts ? -ENOSYS : -EINVAL; }  // no FIFO ABI

// Xen 4.18's checks and results (older Xen: -EINVAL for most of them).
int64_t register_vcpu_info(Vcpu& v, uint64_t mfn, uint64_t offset) {
    if (offset >= layout::kPageSize)
        return -EINVAL;
    if (v.events.info_mfn)
        return -EBUSY;  // once only
    if (offset > layout::kPageSize - sizeof(vcpu_info_t) || (offset & 7))
        return -ENXIO;  // crosses a page, or misaligned
    if (!mm::guest_may_map(mfn))
        return -EINVAL;
    // A writable-type reference: the frame cannot become a page table.
    if (mm::get_page_type(mfn, mm::FrameType::None) < 0)
        return -EACCES;
    auto* moved = reinterpret_cast<vcpu_info_t*>(frame_ptr<uint8_t>(mfn) + offset);
    *moved = *v.events.info;
    v.events.info = moved;
    v.events.info_mfn = mfn;
    time::publish(v);
    // Xen marks every selector pending afterwards so that nothing is lost.
    __atomic_store_n(&moved->evtchn_pending_sel, ~Word{0}, __ATOMIC_SEQ_CST);
    mark_upcall_pending(v);
    return 0;
}

}  // namespace monitor::events
