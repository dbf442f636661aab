#include "kernel_selftest.hpp"

#include "../lib/console.hpp"
#include "../lib/events.hpp"
#include "../lib/hypercall.hpp"
#include "../lib/page_table.hpp"
#include "address_space.hpp"
#include "frames.hpp"
#include "mmu.hpp"
#include "timer.hpp"

namespace kernel_selftest {
namespace {

constexpr uint64_t test_address = 0x0000200000000000;  // L4 slot 64
constexpr uint64_t pattern = 0x7e57c0de12345678;

long pin_raw(unsigned level, uint64_t pfn) {
    mmuext_op_t op{};
    op.cmd = MMUEXT_PIN_L1_TABLE + (level - 1);
    op.arg1.mfn = frames::mfn(pfn);
    unsigned done = 0;
    return hv::mmuext_op(&op, 1, &done);
}

// A table frame holding one entry, read-only and pinned at `level`.
uint64_t pinned_table(unsigned level, unsigned index, uint64_t entry) {
    uint64_t pfn = frames::allocate_zeroed();
    static_cast<uint64_t*>(frames::pointer(pfn))[index] = entry;
    mmu::make_readonly(pfn);
    mmu::pin(level, pfn);
    return pfn;
}

const char* pinned_levels() {
    const uint64_t data = frames::allocate_zeroed();
    *static_cast<uint64_t*>(frames::pointer(data)) = pattern;
    const uint64_t l1 = pinned_table(1, pt::index(test_address, 1), pt::entry(frames::mfn(data), vm::user_rw));
    const uint64_t l2 = pinned_table(2, pt::index(test_address, 2), pt::entry(frames::mfn(l1), vm::table_link));
    const uint64_t l3 = pinned_table(3, pt::index(test_address, 3), pt::entry(frames::mfn(l2), vm::table_link));
    vm::AddressSpace space;
    if (!vm::create(space))
        return "no memory for an address space";
    const uint64_t l4_entry = mmu::entry_address(space.l4_pfn, pt::index(test_address, 4));
    mmu::write_entry(l4_entry, pt::entry(frames::mfn(l3), vm::table_link));

    vm::set_current(&space);
    const uint64_t seen = *reinterpret_cast<volatile uint64_t*>(test_address);
    vm::set_current(nullptr);

    mmu::write_entry(l4_entry, 0);
    const uint64_t tables[] = {l3, l2, l1};
    for (uint64_t table : tables) {
        mmu::unpin(table);
        mmu::make_writable(table);
        frames::put(table);
    }
    vm::destroy(space);
    frames::put(data);
    if (seen != pattern)
        return "a page reached through tables pinned at L1, L2 and L3 reads wrong";
    print("kernel selftest: tables pinned at L1..L3 and linked into a process L4: ok\n");
    return nullptr;
}

const char* refusals() {
    // A table that is mapped writable cannot be pinned.
    const uint64_t table = frames::allocate_zeroed();
    if (pin_raw(1, table) == 0)
        return "the monitor pinned an L1 that is mapped writable";
    // A pinned table cannot become writable.
    mmu::make_readonly(table);
    mmu::pin(1, table);
    long rc = hv::update_va_mapping(frames::address(table), pt::entry(frames::mfn(table), pt::kernel_rw),
                                    UVMF_INVLPG | UVMF_LOCAL);
    if (rc == 0)
        return "the monitor mapped a pinned L1 writable";
    // An entry mapping a page-table frame writable is refused.
    mmu_update_t request{};
    request.ptr = mmu::entry_address(table, 0) | MMU_NORMAL_PT_UPDATE;
    request.val = pt::entry(frames::mfn(table), vm::user_rw);
    unsigned done = 0;
    if (hv::mmu_update(&request, 1, &done) == 0)
        return "the monitor let an L1 map itself writable";
    mmu::unpin(table);
    mmu::make_writable(table);
    frames::put(table);

    // The monitor's L4 slots (256..271) are not the guest's to fill.
    vm::AddressSpace space;
    if (!vm::create(space))
        return "no memory for an address space";
    const uint64_t l3 = frames::allocate_zeroed();
    mmu::make_readonly(l3);
    request.ptr = mmu::entry_address(space.l4_pfn, 256) | MMU_NORMAL_PT_UPDATE;
    request.val = pt::entry(frames::mfn(l3), vm::table_link);
    rc = hv::mmu_update(&request, 1, &done);
    mmu::make_writable(l3);
    frames::put(l3);
    vm::destroy(space);
    if (rc == 0)
        return "the monitor accepted a guest entry in its L4 slot 256";
    print("kernel selftest: monitor refusals (writable table, pinned table remap, slot 256): ok\n");
    return nullptr;
}

void count_event(evtchn_port_t, void* counter) {
    volatile unsigned& count = *static_cast<volatile unsigned*>(counter);
    count = count + 1;
}

// An IPI to ourselves while events are masked stays pending; unmasking
// delivers it (the upcall runs our handler once). Then VIRQ_TIMER from
// set_timer_op 1 ms ahead wakes SCHEDOP_block, not before the deadline.
const char* events_and_timer() {
    evtchn_port_t port = 0;
    if (events::bind_ipi(0, &port) != 0)
        return "EVTCHNOP_bind_ipi failed";
    volatile unsigned seen = 0;
    events::set_handler(port, count_event, const_cast<unsigned*>(&seen));
    events::send(port);
    const unsigned while_masked = seen;
    const bool was_pending = events::is_pending(port);
    events::enable();
    events::disable();
    events::set_handler(port, nullptr);
    events::close(port);
    if (while_masked != 0 || !was_pending)
        return "an IPI was delivered while events were masked, or not left pending";
    if (seen != 1)
        return "an IPI to ourselves did not reach its handler once events were enabled";

    const uint64_t timer_events = timer::events();
    const uint64_t deadline = timer::now() + 1'000'000;
    timer::arm(deadline);
    while (timer::events() == timer_events)
        timer::block();
    events::disable();
    const uint64_t fired = timer::last_event_ns();
    if (fired < deadline)
        return "VIRQ_TIMER came before the set_timer_op deadline";
    print("kernel selftest: IPI to ourselves through the upcall, VIRQ_TIMER %lu us after its deadline: ok\n",
          (fired - deadline) / 1000);
    return nullptr;
}

}  // namespace

const char* run() {
    if (const char* failure = pinned_levels())
        return failure;
    if (const char* failure = refusals())
        return failure;
    return events_and_timer();
}

}  // namespace kernel_selftest
