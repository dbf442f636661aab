// Per-vCPU event counters kept by the monitor and reported by `pvvmm run
// --stats` (cli/stats_report.cpp). Every field of Counters has one row in
// kCounterTable below: its stable machine name (the key in the JSON report),
// its label in the text report, how it is indexed and what it means. Both
// reports are generated from that table, and the static_asserts after it
// fail the build when a field has no row. Freestanding: the monitor
// includes this header too.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace abi {

inline constexpr uint32_t kHypercallSlots = 64;  // Xen hypercall numbers < 64
inline constexpr uint32_t kVectorSlots = 32;     // exception vectors 0..31
inline constexpr uint32_t kInvpcidTypes = 4;     // INVPCID types 0..3

// Why the monitor flushed a TLB: every flush goes through one interface
// (monitor/mm/flush.hpp) and is counted here by reason and kind.
enum class FlushReason : uint32_t {
    GuestFlushRequest,  // MMUEXT_TLB_FLUSH_* / MMUEXT_INVLPG_*, NEW_BASEPTR of the L4 in use
    UpdateVaMapping,    // update_va_mapping's UVMF_TLB_FLUSH / UVMF_INVLPG
    StaleWritable,      // a frame becomes a page table after a writable mapping was dropped
    GuestRootSwitch,    // naive XPTI: the second flush of a guest root switch
    Count,
};
inline constexpr uint32_t kFlushReasons = static_cast<uint32_t>(FlushReason::Count);

inline constexpr uint64_t kXptiStateOn = 1u << 0;      // restricted roots in use
inline constexpr uint64_t kXptiStatePcid = 1u << 1;    // PCIDs (and INVPCID) in use
inline constexpr uint64_t kXptiStateGlobal = 1u << 2;  // CR4.PGE on

// Every field is a uint64_t or an array of them, and has a row in kCounterTable.
struct Counters {
    uint64_t hypercalls[kHypercallSlots];          // by hypercall number
    uint64_t hypercalls_refused[kHypercallSlots];  // of those, the ones that returned an error
    uint64_t hypercalls_unknown;                   // number >= kHypercallSlots or unimplemented
    uint64_t subops_unknown;                       // known hypercall, unknown sub-op (-ENOSYS)
    uint64_t exceptions[kVectorSlots];             // guest exceptions by vector
    uint64_t exceptions_bounced;                   // delivered to the guest's trap table
    uint64_t guest_entries;                        // guest -> monitor transitions
    uint64_t guest_exits;                          // monitor -> guest transitions
    uint64_t syscalls_from_user;                   // guest-user syscalls bounced to the kernel
    uint64_t cr3_writes;
    uint64_t tlb_flushes[kFlushReasons];  // full flushes (CR3 reload) by reason
    uint64_t invlpgs[kFlushReasons];      // single-address flushes by reason
    uint64_t emulated_cpuid;
    uint64_t emulated_privileged;        // rdmsr/wrmsr/mov-from-cr3 emulated
    uint64_t emulated_pt_writes;         // writes to read-only page tables performed (writable_pagetables)
    uint64_t emulated_pt_write_retries;  // of them, re-read: a CPU set the entry's A/D bits meanwhile
    uint64_t emulated_m2p_reads;         // slot-256 reads emulated (host quirk)
    uint64_t emulated_int_n;             // `int N` decoded after #UD (host quirk)
    uint64_t syscall_via_fault;          // syscall entries reached through #PF at LSTAR
    uint64_t syscall_via_trampoline;     // syscall entries reached through the int3 trampoline
    uint64_t audits;                     // PV MMU consistency audits run (--audit)
    // XPTI (see monitor/xpti/). With XPTI on, every guest entry and exit
    // also loads CR3 in entry.S (uncounted there: entries + exits).
    uint64_t xpti_state;       // kXptiState* bits: what the monitor chose at start-up
    uint64_t l4_copies;        // restricted-root refreshes that copied guest L4 slots
    uint64_t l4_slots_copied;  // L4 entries copied by them
    uint64_t root_cache_hits;  // guest root switches that found their restricted root cached
    uint64_t root_cache_misses;
    uint64_t root_slot_updates;        // mmu_update L4 writes applied to cached restricted roots
    uint64_t pge_toggles;              // full flushes done by toggling CR4.PGE
    uint64_t invpcids[kInvpcidTypes];  // by INVPCID type (0 address, 1 context, 2 all, 3 all but globals)
    // Events and time (monitor/events/, monitor/time/, monitor/pending.cpp).
    uint64_t evtchn_sends;      // EVTCHNOP_send
    uint64_t events_raised;     // ports set pending (sends, VIRQs, console input)
    uint64_t upcalls;           // event callbacks delivered
    uint64_t virq_timer;        // VIRQ_TIMER raised by an expired timer
    uint64_t timer_interrupts;  // LAPIC timer interrupts taken
    uint64_t host_kicks;        // the host's MSIs (it posted work)
    uint64_t ipis_sent;         // kicks of other vCPUs
    uint64_t ipis_received;
    uint64_t ipis_resent;               // kicks repeated to a vCPU that had not served a request after 20M cycles
    uint64_t remote_requests_sent;      // flushes and root refreshes asked of other vCPUs (one per vCPU)
    uint64_t remote_requests_served;    // such requests this vCPU carried out
    uint64_t remote_requests_deferred;  // of those sent: left to a vCPU asleep in hlt, neither woken nor waited for
    uint64_t remote_deferred_served;    // merged deferred requests this vCPU carried out on waking
    uint64_t root_refreshes_sent;       // of those sent: L4 entry writes carried to other vCPUs
    uint64_t root_refreshes_received;   // of those served
    uint64_t remote_waits;              // requests this vCPU waited for (all targets at once)
    uint64_t remote_wait_cycles;        // TSC cycles spent waiting for them
    uint64_t domain_lock_waits;         // times the domain lock was held by another vCPU
    uint64_t host_yields;               // waits for another vCPU that gave the host CPU away (port exit)
    uint64_t blocks;                    // SCHEDOP_block
    uint64_t polls;                     // SCHEDOP_poll
    uint64_t yields;                    // SCHEDOP_yield (each gives the host CPU away)
    uint64_t idle_halts;                // hlt with nothing to do (woken by an interrupt)
    uint64_t idle_watchdog_wakes;       // the idle watchdog's deadline expired (timer::kIdleWatchdogNs)
    uint64_t lost_wakeups;              // of those: work was waiting that no interrupt had announced
    uint64_t overdue_deadlines;         // armed deadline long past (at an idle halt or host kick): programmed again
    uint64_t console_input_bytes;       // bytes put into the console ring's input half
    uint64_t exit_faults;               // iretq to the guest faulted: reflected to the guest (or crash)
    uint64_t log_lines_suppressed;      // monitor log lines over the rate limit
};

// ---------------------------------------------------------------------------
// The counter table: what the reports know about each field.

// How a field's values are indexed. Each index has its entry names below
// (hypercall numbers: guest-abi/hypercalls.hpp, host only).
enum class CounterIndex : uint8_t {
    Scalar,           // one count
    HypercallNumber,  // kHypercallSlots counts
    ExceptionVector,  // kVectorSlots counts: kExceptionVectorNames
    FlushReason,      // kFlushReasons counts: kFlushReasonNames
    InvpcidType,      // kInvpcidTypes counts: kInvpcidTypeNames
    XptiStateBits,    // one value, not a count: kXptiState* bits, kXptiStateBitNames
};

// How many uint64_t values a field with this index holds.
constexpr uint32_t counter_index_entries(CounterIndex index) {
    switch (index) {
    case CounterIndex::Scalar: return 1;
    case CounterIndex::HypercallNumber: return kHypercallSlots;
    case CounterIndex::ExceptionVector: return kVectorSlots;
    case CounterIndex::FlushReason: return kFlushReasons;
    case CounterIndex::InvpcidType: return kInvpcidTypes;
    case CounterIndex::XptiStateBits: return 1;
    }
    return 0;
}

// One entry of an index: its machine name (a JSON key, snake_case) and its
// label in the text report.
struct IndexEntryName {
    const char* name;
    const char* label;
};

// Reserved and legacy vectors are named by number.
inline constexpr IndexEntryName kExceptionVectorNames[kVectorSlots] = {
    {"de", "#DE"},        {"db", "#DB"},        {"nmi", "NMI"},       {"bp", "#BP"},        {"of", "#OF"},
    {"br", "#BR"},        {"ud", "#UD"},        {"nm", "#NM"},        {"df", "#DF"},        {"vector_9", "#09"},
    {"ts", "#TS"},        {"np", "#NP"},        {"ss", "#SS"},        {"gp", "#GP"},        {"pf", "#PF"},
    {"vector_15", "#15"}, {"mf", "#MF"},        {"ac", "#AC"},        {"mc", "#MC"},        {"xm", "#XM"},
    {"ve", "#VE"},        {"cp", "#CP"},        {"vector_22", "#22"}, {"vector_23", "#23"}, {"vector_24", "#24"},
    {"vector_25", "#25"}, {"vector_26", "#26"}, {"vector_27", "#27"}, {"hv", "#HV"},        {"vc", "#VC"},
    {"sx", "#SX"},        {"vector_31", "#31"},
};

// In FlushReason order.
inline constexpr IndexEntryName kFlushReasonNames[kFlushReasons] = {
    {"guest_request", "guest request (mmuext_op)"},
    {"update_va_mapping", "update_va_mapping flags"},
    {"stale_writable", "stale writable mapping"},
    {"guest_root_switch", "guest root switch (2nd flush)"},
};

// The text report keeps the SDM's type numbers.
inline constexpr IndexEntryName kInvpcidTypeNames[kInvpcidTypes] = {
    {"individual_address", "0"},
    {"single_context", "1"},
    {"all_including_globals", "2"},
    {"all_except_globals", "3"},
};

// One kXptiState* bit: its machine name, and how the text report says it.
struct StateBitName {
    uint64_t bit;
    const char* name;
    const char* label;
    const char* when_set;
    const char* when_clear;
};
inline constexpr StateBitName kXptiStateBitNames[] = {
    {kXptiStateOn, "xpti", "XPTI", "on", "off"},
    {kXptiStatePcid, "pcid", "PCID", "in use", "not in use"},
    {kXptiStateGlobal, "global_pages", "global pages", "on", "off"},
};

struct CounterField {
    const char* name;  // stable machine name, snake_case: the JSON report's key
    uint32_t offset;   // of the field in Counters
    uint32_t size;     // of the field, bytes
    CounterIndex index = CounterIndex::Scalar;
    const char* label = nullptr;    // text report; indexed fields: followed by the entry's label
    const char* meaning = nullptr;  // one line
    // Indexed fields counting the same entries (a hypercall's calls and its
    // refusals) are reported together: one JSON object `group` whose entries
    // hold one member per field, one text line per entry. Such fields are
    // adjacent in the table; the first one's value leads the text line.
    const char* group = nullptr;
    const char* member = nullptr;
    bool text_shows_zero = false;  // the text report omits rows that are 0 unless this is set
};

// Where a field is, for CounterField.
#define PVVMM_COUNTER_AT(field) .offset = offsetof(Counters, field), .size = sizeof(Counters::field)

// In the order of the reports.
inline constexpr CounterField kCounterTable[] = {
    {.name = "guest_entries",
     PVVMM_COUNTER_AT(guest_entries),
     .label = "guest entries",
     .meaning = "guest -> monitor transitions",
     .text_shows_zero = true},
    {.name = "guest_exits",
     PVVMM_COUNTER_AT(guest_exits),
     .label = "guest exits",
     .meaning = "monitor -> guest transitions",
     .text_shows_zero = true},
    {.name = "xpti_state",
     PVVMM_COUNTER_AT(xpti_state),
     .index = CounterIndex::XptiStateBits,
     .label = "XPTI state",
     .meaning = "what the monitor put in effect at start-up: XPTI, PCIDs, global pages",
     .text_shows_zero = true},
    {.name = "cr3_writes",
     PVVMM_COUNTER_AT(cr3_writes),
     .label = "CR3 writes: outside entry/exit",
     .meaning = "CR3 loads by the monitor outside entry.S (guest root switches, flushes by CR3 reload)"},
    {.name = "l4_copies",
     PVVMM_COUNTER_AT(l4_copies),
     .label = "L4 copies",
     .meaning = "restricted-root refreshes that copied guest L4 slots"},
    {.name = "l4_slots_copied",
     PVVMM_COUNTER_AT(l4_slots_copied),
     .label = "L4 slots copied",
     .meaning = "L4 entries copied by those refreshes"},
    {.name = "root_cache_hits",
     PVVMM_COUNTER_AT(root_cache_hits),
     .label = "root cache hits",
     .meaning = "guest root switches that found their restricted root cached"},
    {.name = "root_cache_misses",
     PVVMM_COUNTER_AT(root_cache_misses),
     .label = "root cache misses",
     .meaning = "guest root switches that had to (re)build a restricted root"},
    {.name = "root_slot_updates",
     PVVMM_COUNTER_AT(root_slot_updates),
     .label = "root cache slot updates",
     .meaning = "mmu_update L4 writes applied to cached restricted roots"},
    {.name = "pge_toggles",
     PVVMM_COUNTER_AT(pge_toggles),
     .label = "PGE toggles",
     .meaning = "full flushes done by toggling CR4.PGE"},
    {.name = "invpcids",
     PVVMM_COUNTER_AT(invpcids),
     .index = CounterIndex::InvpcidType,
     .label = "INVPCID type",
     .meaning = "INVPCID instructions by type"},
    {.name = "tlb_flushes",
     PVVMM_COUNTER_AT(tlb_flushes),
     .index = CounterIndex::FlushReason,
     .label = "TLB flushes:",
     .meaning = "full TLB flushes by reason"},
    {.name = "invlpgs",
     PVVMM_COUNTER_AT(invlpgs),
     .index = CounterIndex::FlushReason,
     .label = "INVLPG:",
     .meaning = "single-address flushes by reason"},
    {.name = "syscalls_from_user",
     PVVMM_COUNTER_AT(syscalls_from_user),
     .label = "syscalls from guest user",
     .meaning = "guest-user syscalls bounced to the guest kernel"},
    {.name = "exceptions_bounced",
     PVVMM_COUNTER_AT(exceptions_bounced),
     .label = "exceptions bounced to guest",
     .meaning = "exceptions delivered to the guest's trap table"},
    {.name = "emulated_cpuid",
     PVVMM_COUNTER_AT(emulated_cpuid),
     .label = "emulated CPUID",
     .meaning = "forced-emulation CPUIDs emulated"},
    {.name = "emulated_privileged",
     PVVMM_COUNTER_AT(emulated_privileged),
     .label = "emulated privileged insns",
     .meaning = "rdmsr/wrmsr of the FS/GS bases and mov from CR3 emulated"},
    {.name = "emulated_pt_writes",
     PVVMM_COUNTER_AT(emulated_pt_writes),
     .label = "emulated page-table writes",
     .meaning = "guest writes to its read-only L1 tables performed as validated updates (writable_pagetables)"},
    {.name = "emulated_pt_write_retries",
     PVVMM_COUNTER_AT(emulated_pt_write_retries),
     .label = "emulated PT writes re-read",
     .meaning = "emulated page-table writes computed again: another CPU set the entry's accessed/dirty bits"},
    {.name = "emulated_m2p_reads",
     PVVMM_COUNTER_AT(emulated_m2p_reads),
     .label = "emulated M2P reads (quirk)",
     .meaning = "guest reads of the M2P in L4 slot 256 emulated (host quirk)"},
    {.name = "emulated_int_n",
     PVVMM_COUNTER_AT(emulated_int_n),
     .label = "emulated int N (quirk)",
     .meaning = "`int N` decoded after #UD (host quirk)"},
    {.name = "syscall_via_fault",
     PVVMM_COUNTER_AT(syscall_via_fault),
     .label = "syscall entries via #PF",
     .meaning = "syscall entries reached through the #PF at LSTAR (host quirk)"},
    {.name = "syscall_via_trampoline",
     PVVMM_COUNTER_AT(syscall_via_trampoline),
     .label = "syscall entries via int3",
     .meaning = "syscall entries reached through the int3 trampoline (host quirk)"},
    {.name = "audits",
     PVVMM_COUNTER_AT(audits),
     .label = "PV MMU audits",
     .meaning = "PV MMU consistency audits run (--audit)"},
    {.name = "evtchn_sends",
     PVVMM_COUNTER_AT(evtchn_sends),
     .label = "event channel sends",
     .meaning = "EVTCHNOP_send calls"},
    {.name = "events_raised",
     PVVMM_COUNTER_AT(events_raised),
     .label = "events raised",
     .meaning = "event-channel ports set pending: sends, VIRQs, console input"},
    {.name = "upcalls",
     PVVMM_COUNTER_AT(upcalls),
     .label = "event upcalls delivered",
     .meaning = "bounces to the guest's event callback"},
    {.name = "virq_timer",
     PVVMM_COUNTER_AT(virq_timer),
     .label = "VIRQ_TIMER raised",
     .meaning = "singleshot or periodic timers that expired and raised VIRQ_TIMER"},
    {.name = "timer_interrupts",
     PVVMM_COUNTER_AT(timer_interrupts),
     .label = "LAPIC timer interrupts",
     .meaning = "interrupts of the vCPU's TSC-deadline timer"},
    {.name = "host_kicks",
     PVVMM_COUNTER_AT(host_kicks),
     .label = "host kicks",
     .meaning = "MSIs from the host after it posted work (console input)"},
    {.name = "ipis_sent",
     PVVMM_COUNTER_AT(ipis_sent),
     .label = "IPIs sent",
     .meaning = "kicks of other vCPUs after posting them work"},
    {.name = "ipis_received",
     PVVMM_COUNTER_AT(ipis_received),
     .label = "IPIs received",
     .meaning = "kicks from other vCPUs"},
    {.name = "ipis_resent",
     PVVMM_COUNTER_AT(ipis_resent),
     .label = "IPIs resent",
     .meaning = "kicks repeated to a vCPU that had not served a remote request after 20M TSC cycles (a lost IPI?)"},
    {.name = "remote_requests_sent",
     PVVMM_COUNTER_AT(remote_requests_sent),
     .label = "remote requests sent",
     .meaning = "TLB flushes and XPTI root refreshes asked of other vCPUs, one per vCPU asked"},
    {.name = "remote_requests_served",
     PVVMM_COUNTER_AT(remote_requests_served),
     .label = "remote requests served",
     .meaning = "such requests from other vCPUs carried out by this one"},
    {.name = "remote_requests_deferred",
     PVVMM_COUNTER_AT(remote_requests_deferred),
     .label = "remote requests deferred",
     .meaning = "of those sent, left to a vCPU asleep in hlt: carried out before it runs guest code, not waited for"},
    {.name = "remote_deferred_served",
     PVVMM_COUNTER_AT(remote_deferred_served),
     .label = "deferred requests served",
     .meaning = "merged deferred requests carried out on waking (a full flush, every root recopied)"},
    {.name = "root_refreshes_sent",
     PVVMM_COUNTER_AT(root_refreshes_sent),
     .label = "root refreshes sent",
     .meaning = "L4 entry writes carried to other vCPUs (Xen's FLUSH_ROOT_PGTBL), one per vCPU"},
    {.name = "root_refreshes_received",
     PVVMM_COUNTER_AT(root_refreshes_received),
     .label = "root refreshes received",
     .meaning = "root refreshes from other vCPUs: their roots holding that L4 are recopied"},
    {.name = "remote_waits",
     PVVMM_COUNTER_AT(remote_waits),
     .label = "remote waits",
     .meaning = "requests this vCPU sent and waited for until every vCPU asked had served them"},
    {.name = "remote_wait_cycles",
     PVVMM_COUNTER_AT(remote_wait_cycles),
     .label = "remote wait cycles",
     .meaning = "TSC cycles spent in those waits (divide by remote_waits: a remote flush round trip)"},
    {.name = "domain_lock_waits",
     PVVMM_COUNTER_AT(domain_lock_waits),
     .label = "domain lock waits",
     .meaning = "hypercalls and page-table write emulations that found the domain lock held by another vCPU"},
    {.name = "host_yields",
     PVVMM_COUNTER_AT(host_yields),
     .label = "host yields",
     .meaning = "waits for another vCPU (its answer, the domain lock) that let the host run something else"},
    {.name = "blocks", PVVMM_COUNTER_AT(blocks), .label = "SCHEDOP_block", .meaning = "SCHEDOP_block calls"},
    {.name = "polls", PVVMM_COUNTER_AT(polls), .label = "SCHEDOP_poll", .meaning = "SCHEDOP_poll calls"},
    {.name = "yields",
     PVVMM_COUNTER_AT(yields),
     .label = "SCHEDOP_yield",
     .meaning = "SCHEDOP_yield calls, each giving the host CPU away (a port exit)"},
    {.name = "idle_halts",
     PVVMM_COUNTER_AT(idle_halts),
     .label = "idle halts",
     .meaning = "hlt with nothing to do, until an interrupt woke the vCPU"},
    {.name = "idle_watchdog_wakes",
     PVVMM_COUNTER_AT(idle_watchdog_wakes),
     .label = "idle watchdog expiries",
     .meaning = "SMP: the LAPIC timer is armed at most 200 ms ahead before an idle halt; times that deadline expired"},
    {.name = "lost_wakeups",
     PVVMM_COUNTER_AT(lost_wakeups),
     .label = "lost wake-ups recovered",
     .meaning = "watchdog wake-ups that found work no interrupt had announced (an IPI or timer interrupt lost)"},
    {.name = "overdue_deadlines",
     PVVMM_COUNTER_AT(overdue_deadlines),
     .label = "overdue timer deadlines re-armed",
     .meaning = "idle halts and host kicks that found the LAPIC deadline over 50 ms past with no timer interrupt (one "
                "lost, or the "
                "vCPU's host thread kept off the CPU): armed again, so it fires at once"},
    {.name = "console_input_bytes",
     PVVMM_COUNTER_AT(console_input_bytes),
     .label = "console input bytes",
     .meaning = "bytes copied into the console ring's input half"},
    {.name = "exit_faults",
     PVVMM_COUNTER_AT(exit_faults),
     .label = "faults returning to the guest",
     .meaning = "iretq to the guest refused by the CPU: the fault reflected to the guest's handler, or a crash"},
    {.name = "log_lines_suppressed",
     PVVMM_COUNTER_AT(log_lines_suppressed),
     .label = "log lines suppressed",
     .meaning = "monitor log lines dropped by the rate limit (20 a second per vCPU, errors never)"},
    {.name = "hypercalls",
     PVVMM_COUNTER_AT(hypercalls),
     .index = CounterIndex::HypercallNumber,
     .label = "hypercall",
     .meaning = "hypercalls handled, by number",
     .group = "hypercalls",
     .member = "calls"},
    {.name = "hypercalls_refused",
     PVVMM_COUNTER_AT(hypercalls_refused),
     .index = CounterIndex::HypercallNumber,
     .label = "refused",
     .meaning = "of those, the ones that returned an error (iret excepted)",
     .group = "hypercalls",
     .member = "refused"},
    {.name = "hypercalls_unknown",
     PVVMM_COUNTER_AT(hypercalls_unknown),
     .label = "hypercalls unknown (ENOSYS)",
     .meaning = "hypercalls with a number >= 64 or not implemented, refused with -ENOSYS"},
    {.name = "subops_unknown",
     PVVMM_COUNTER_AT(subops_unknown),
     .label = "sub-ops unknown (ENOSYS)",
     .meaning = "known hypercalls with an unknown sub-op, refused with -ENOSYS"},
    {.name = "exceptions",
     PVVMM_COUNTER_AT(exceptions),
     .index = CounterIndex::ExceptionVector,
     .label = "exception",
     .meaning = "guest exceptions taken by the monitor, by vector"},
};

#undef PVVMM_COUNTER_AT

// Values computed from the counters, reported next to them (just before
// the field `next_to`, in both reports).
struct DerivedCounter {
    const char* name;  // stable machine name, snake_case: the JSON report's key
    const char* label;
    const char* meaning;
    uint64_t (*value)(const Counters&);
    const char* next_to;
    bool text_shows_zero = false;
};

// entry.S loads CR3 on every entry and exit under XPTI without counting it.
constexpr uint64_t cr3_writes_xpti_switches(const Counters& c) {
    return (c.xpti_state & kXptiStateOn) ? c.guest_entries + c.guest_exits : 0;
}

inline constexpr DerivedCounter kDerivedCounters[] = {
    {.name = "cr3_writes_total",
     .label = "CR3 writes",
     .meaning = "every CR3 load: cr3_writes + cr3_writes_xpti_switches",
     .value = [](const Counters& c) { return c.cr3_writes + cr3_writes_xpti_switches(c); },
     .next_to = "cr3_writes",
     .text_shows_zero = true},
    {.name = "cr3_writes_xpti_switches",
     .label = "CR3 writes: XPTI entry/exit switches",
     .meaning = "CR3 loads by entry.S under XPTI, one per guest entry and exit (not counted there)",
     .value = cr3_writes_xpti_switches,
     .next_to = "cr3_writes"},
};

// ---------------------------------------------------------------------------
// The build fails unless kCounterTable describes every byte of Counters
// exactly once.

namespace counter_table_check {

constexpr bool same(const char* a, const char* b) {
    if (a == nullptr || b == nullptr)
        return a == b;
    while (*a && *a == *b)
        ++a, ++b;
    return *a == *b;
}

constexpr bool is_snake_case(const char* s) {
    if (s == nullptr || *s < 'a' || *s > 'z')
        return false;
    for (; *s; ++s)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

constexpr bool overlap(const CounterField& a, const CounterField& b) {
    return a.offset < b.offset + b.size && b.offset < a.offset + a.size;
}

constexpr bool fields_tile_counters() {
    size_t covered = 0;
    for (const CounterField& f : kCounterTable) {
        for (const CounterField& g : kCounterTable)
            if (&f != &g && overlap(f, g))
                return false;
        covered += f.size;
    }
    return covered == sizeof(Counters);
}

constexpr bool sizes_match_indices() {
    for (const CounterField& f : kCounterTable)
        if (f.size != counter_index_entries(f.index) * sizeof(uint64_t) || f.offset % sizeof(uint64_t) != 0)
            return false;
    return true;
}

constexpr bool names_unique_and_described() {
    for (const CounterField& f : kCounterTable) {
        if (!is_snake_case(f.name) || f.label == nullptr || f.meaning == nullptr)
            return false;
        for (const CounterField& g : kCounterTable)
            if (&f != &g && same(f.name, g.name))
                return false;
        for (const DerivedCounter& d : kDerivedCounters)
            if (same(f.name, d.name))
                return false;
    }
    return true;
}

constexpr const char* json_key(const CounterField& f) { return f.group ? f.group : f.name; }

// The keys of a vCPU object in the JSON report: a group's fields share
// theirs, nothing else does; the report adds "vcpu" and "single_steps".
constexpr bool json_keys_unique() {
    for (const CounterField& f : kCounterTable) {
        if (!is_snake_case(json_key(f)) || same(json_key(f), "vcpu") || same(json_key(f), "single_steps"))
            return false;
        for (const CounterField& g : kCounterTable)
            if (&f != &g && same(json_key(f), json_key(g)) && (f.group == nullptr || !same(f.group, g.group)))
                return false;
        for (const DerivedCounter& d : kDerivedCounters)
            if (same(json_key(f), d.name))
                return false;
    }
    return true;
}

// A group's fields are adjacent, share their index and each names its member.
constexpr bool groups_adjacent() {
    constexpr size_t n = sizeof(kCounterTable) / sizeof(kCounterTable[0]);
    for (size_t i = 0; i < n; ++i) {
        const CounterField& f = kCounterTable[i];
        if ((f.group == nullptr) != (f.member == nullptr) || (f.group && f.index == CounterIndex::Scalar))
            return false;
        if (f.group == nullptr)
            continue;
        const bool continues = i > 0 && same(kCounterTable[i - 1].group, f.group);
        if (continues && kCounterTable[i - 1].index != f.index)
            return false;
        for (size_t j = 0; j < i && !continues; ++j)
            if (same(kCounterTable[j].group, f.group))
                return false;
    }
    return true;
}

constexpr bool derived_placed() {
    for (const DerivedCounter& d : kDerivedCounters) {
        bool found = false;
        for (const CounterField& f : kCounterTable)
            found = found || same(f.name, d.next_to);
        if (!found || !is_snake_case(d.name) || d.value == nullptr)
            return false;
    }
    return true;
}

}  // namespace counter_table_check

static_assert(counter_table_check::fields_tile_counters(),
              "every field of abi::Counters needs exactly one row in abi::kCounterTable");
static_assert(counter_table_check::sizes_match_indices(),
              "a kCounterTable row's size does not match its CounterIndex (counts are uint64_t)");
static_assert(counter_table_check::names_unique_and_described(),
              "kCounterTable names must be unique snake_case, with a label and a meaning");
static_assert(counter_table_check::json_keys_unique(),
              "kCounterTable: two rows would have the same key in the JSON report");
static_assert(counter_table_check::groups_adjacent(), "kCounterTable: rows of one group must be adjacent");
static_assert(counter_table_check::derived_placed(), "kDerivedCounters: next_to must name a kCounterTable row");

}  // namespace abi
