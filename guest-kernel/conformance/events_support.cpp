#include "events_support.hpp"
#include "../lib/iret_probe.hpp"

#include "../lib/page_table.hpp"
#include "../lib/string.hpp"
#include "../lib/traps.hpp"
#include "mmu_helpers.hpp"

namespace evs {

namespace {

uint64_t user_l4_mfn = 0;  // the low user address space, built once

struct FaultSeen {
    unsigned vector;
    uint64_t rip, error;
    uint16_t cs;
};
FaultSeen user_fault{};

void count_handler(evtchn_port_t, void* context) {
    auto& counter = *static_cast<PortCount*>(context);
    counter.count = counter.count + 1;
    counter.mask_in_handler = upcall_mask();
    if (counter.set_flag != nullptr)
        *counter.set_flag = 1;
}

// Writes one table (all zero but up to two entries) into an unmapped frame
// through the staging page, then maps the staging page's own frame back.
bool write_table(uint64_t mfn, unsigned index, uint64_t entry, unsigned index2 = 512, uint64_t entry2 = 0) {
    const uint64_t staging = physmap::address_of(conf_table_staging);
    if (hv::update_va_mapping(staging, pt::entry(mfn, pt::kernel_rw), UVMF_INVLPG | UVMF_LOCAL) != 0)
        return false;
    auto* t = reinterpret_cast<volatile uint64_t*>(staging);
    for (unsigned i = 0; i < 512; ++i)
        t[i] = 0;
    t[index] = entry;
    if (index2 < 512)
        t[index2] = entry2;
    return hv::update_va_mapping(staging, pt::entry(physmap::virt_to_mfn(staging), pt::kernel_rw),
                                 UVMF_INVLPG | UVMF_LOCAL) == 0;
}

// A fault in user mode: recorded, and the kernel resumes where
// iret_probe was called, with events masked.
bool leave_user_fault(traps::Frame& frame) {
    user_fault =
        FaultSeen{static_cast<unsigned>(frame.vector), frame.rip, frame.error_code, static_cast<uint16_t>(frame.cs)};
    frame.rip = reinterpret_cast<uint64_t>(conf_user_fault_return);
    frame.cs = FLAT_KERNEL_CS & ~3u;
    frame.ss = FLAT_KERNEL_SS;
    frame.rsp = kernel_stack_top();
    frame.rflags = 0x2;  // IF clear: HYPERVISOR_iret leaves events masked
    return true;
}

}  // namespace

long status(evtchn_port_t port, evtchn_status& out, domid_t dom) {
    out = evtchn_status{};
    out.dom = dom;
    out.port = port;
    return evtchn(EVTCHNOP_status, out);
}

long alloc_unbound(evtchn_port_t& port, domid_t remote, domid_t dom) {
    evtchn_alloc_unbound a{};
    a.dom = dom;
    a.remote_dom = remote;
    a.port = 0xdead;
    const long rc = evtchn(EVTCHNOP_alloc_unbound, a);
    port = a.port;
    return rc;
}

long bind_virq(unsigned virq, unsigned vcpu, evtchn_port_t& port) {
    evtchn_bind_virq b{virq, vcpu, 0xdead};
    const long rc = evtchn(EVTCHNOP_bind_virq, b);
    port = b.port;
    return rc;
}

long bind_vcpu(evtchn_port_t port, unsigned vcpu) {
    evtchn_bind_vcpu b{port, vcpu};
    return evtchn(EVTCHNOP_bind_vcpu, b);
}

long unmask(evtchn_port_t port) { return events::unmask(port); }

long vcpu_op(int cmd, unsigned vcpu, void* arg) { return hv::vcpu_op(cmd, vcpu, arg); }

long set_periodic(unsigned vcpu, uint64_t period_ns) {
    vcpu_set_periodic_timer p{period_ns};
    return vcpu_op(VCPUOP_set_periodic_timer, vcpu, &p);
}

long set_singleshot(unsigned vcpu, uint64_t deadline_ns, uint32_t flags) {
    vcpu_set_singleshot_timer s{deadline_ns, flags};
    return vcpu_op(VCPUOP_set_singleshot_timer, vcpu, &s);
}

long poll(const evtchn_port_t* ports, unsigned n, uint64_t timeout) {
    sched_poll p{};
    set_xen_guest_handle(p.ports, const_cast<evtchn_port_t*>(ports));
    p.nr_ports = n;
    p.timeout = timeout;
    return hv::sched_op(SCHEDOP_poll, &p);
}

unsigned nr_vcpus() {
    unsigned n = 0;
    while (n < 64 && vcpu_op(VCPUOP_is_up, n, nullptr) >= 0)
        ++n;
    return n;
}

void count_events(evtchn_port_t port, PortCount& counter) { events::set_handler(port, count_handler, &counter); }

evtchn_port_t lowest_closed_port() {
    for (evtchn_port_t p = 1; p < 4096; ++p) {
        evtchn_status s;
        if (status(p, s) == 0 && s.status == EVTCHNSTAT_closed)
            return p;
    }
    return 0;
}

Scope::Scope() {
    if (xen_shared::page() == nullptr) {
        failure_ = "shared_info is not mapped";
        return;
    }
    events::disable();
    if (register_callback(CALLBACKTYPE_event, reinterpret_cast<uint64_t>(conf_event_entry)) != 0) {
        failure_ = "registering the event callback failed";
        return;
    }
    conf_mask_byte_address = reinterpret_cast<uint64_t>(&vcpu().evtchn_upcall_mask);
    // Whatever an earlier subtest left pending is delivered now, not counted later.
    events::enable();
    events::disable();
}

Scope::~Scope() {
    events::disable();
    pvclock::set_timer(0);
    for (unsigned i = 0; i < nports_; ++i) {
        events::close(ports_[i]);
        events::set_handler(ports_[i], nullptr);
        clear_mask_bit(ports_[i]);  // a port allocated later starts unmasked
    }
    if (failure_ == nullptr) {
        set_periodic(0, 10 * kMs);  // Xen's default for every PV vCPU
        events::enable();           // deliver what closing left behind
        events::disable();
    }
}

evtchn_port_t Scope::keep(evtchn_port_t port) {
    if (nports_ < sizeof ports_ / sizeof ports_[0])
        ports_[nports_++] = port;
    return port;
}

long Scope::bind_timer(evtchn_port_t& port, PortCount& counter) {
    const long rc = bind_virq(VIRQ_TIMER, 0, port);
    if (rc != 0)
        return rc;
    keep(port);
    vcpu_op(VCPUOP_stop_periodic_timer, 0, nullptr);
    count_events(port, counter);
    events::enable();  // a tick raised before the stop is delivered now
    events::disable();
    counter.count = 0;
    return 0;
}

long Scope::bind_ipi(evtchn_port_t& port, PortCount& counter) {
    const long rc = events::bind_ipi(0, &port);
    if (rc != 0)
        return rc;
    keep(port);
    count_events(port, counter);
    return 0;
}

uint64_t sleep_until(uint64_t deadline) {
    pvclock::set_timer(deadline);
    for (;;) {
        events::disable();  // a wake-up after this check still ends the block
        const uint64_t t = now();
        if (t >= deadline)
            return t;
        pvclock::block();
    }
}

const char* prepare_user_space() {
    if (user_l4_mfn != 0)
        return nullptr;
    const uint64_t pages = physmap::nr_pages();
    uint64_t mfn[4];
    for (unsigned i = 0; i < 4; ++i)
        mfn[i] = physmap::pfn_to_mfn(pages - 1 - i);  // beyond the boot mapping, never used otherwise
    constexpr uint64_t kUserRo = pt::present | pt::user | pt::accessed;
    constexpr uint64_t kUserRw = kUserRo | pt::writable | pt::dirty;
    constexpr uint64_t kTable = pt::present | pt::writable | pt::user | pt::accessed;
    const uint64_t code = physmap::virt_to_mfn(physmap::address_of(conf_user_code));
    const uint64_t stack = physmap::virt_to_mfn(physmap::address_of(conf_user_stack));
    const bool written = write_table(mfn[3], pt::index(kUserCodeVa, 1), pt::entry(code, kUserRo),
                                     pt::index(kUserStackVa, 1), pt::entry(stack, kUserRw)) &&
                         write_table(mfn[2], pt::index(kUserCodeVa, 2), pt::entry(mfn[3], kTable)) &&
                         write_table(mfn[1], pt::index(kUserCodeVa, 3), pt::entry(mfn[2], kTable)) &&
                         write_table(mfn[0], pt::index(kUserCodeVa, 4), pt::entry(mfn[1], kTable));
    if (!written)
        return "writing the low user page tables failed";
    if (mmu::mmuext_mfn(MMUEXT_PIN_L4_TABLE, mfn[0]) != 0)
        return "pinning the low user L4 failed";
    user_l4_mfn = mfn[0];
    return nullptr;
}

UserTrip user_trip(const char* code, const char* end, uint16_t cs) {
    UserTrip trip{~0ull, 0, 0, 0, 0};
    for (unsigned i = 0; i < 4096; i += 2) {
        conf_user_code[i] = 0x0f;  // ud2 everywhere else
        conf_user_code[i + 1] = 0x0b;
    }
    memcpy(conf_user_code, code, static_cast<size_t>(end - code));
    user_flag() = 0;
    user_fault = FaultSeen{~0u, 0, 0, 0};
    if (use_user_space() != 0) {
        trip.vector = 0xfffe;  // not even entered
        return trip;
    }
    conf_mask_byte_address = reinterpret_cast<uint64_t>(&vcpu().evtchn_upcall_mask);
    traps::set_user_fault_handler(leave_user_fault);
    const uint64_t frame[6] = {kUserCodeVa, cs, 0x202, kUserRsp, FLAT_USER_SS, 0};
    trip.rax = iret_probe(frame, 0);
    traps::set_user_fault_handler(nullptr);
    drop_user_space();
    trip.vector = user_fault.vector;
    trip.fault_rip = user_fault.rip;
    trip.fault_cs = user_fault.cs;
    trip.fault_error = user_fault.error;
    return trip;
}

long use_user_space() {
    if (user_l4_mfn == 0)
        return -XEN_EINVAL;
    if (const long rc = mmu::mmuext_mfn(MMUEXT_NEW_USER_BASEPTR, user_l4_mfn); rc != 0)
        return rc;
    return hv::call<__HYPERVISOR_stack_switch>(FLAT_KERNEL_SS, kernel_stack_top());
}

long drop_user_space() { return mmu::mmuext_mfn(MMUEXT_NEW_USER_BASEPTR, 0); }

long register_callback(uint16_t type, uint64_t address, uint16_t flags) {
    callback_register cb{};
    cb.type = type;
    cb.flags = flags;
    cb.address = address;
    return hv::callback_op(CALLBACKOP_register, &cb);
}

bool cpu_is_intel() {
    uint32_t a = 0, b, c, d;
    asm volatile("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
    return b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e;  // "GenuineIntel"
}

}  // namespace evs
