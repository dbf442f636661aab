// The bundled demo guest: greets, shows what the domain builder handed it
// in start_info, and powers off. It needs only console_io and sched_op.
// With `--cmdline echo` it echoes console input instead (the PV console's
// input half: SCHEDOP_poll on the console port, the ring's input); with
// `--cmdline block=SECONDS` it sleeps that long in SCHEDOP_poll.
#include "../lib/console.hpp"
#include "../lib/cpu.hpp"
#include "../lib/hypercall.hpp"
#include "../lib/physmap.hpp"
#include "../lib/pvclock.hpp"
#include "../lib/runtime.hpp"
#include "../lib/shared_info.hpp"

namespace {

void show_start_info(const start_info& info) {
    print("start_info at %p:\n", static_cast<const void*>(&info));
    print("  magic           \"%.*s\"\n", static_cast<int>(sizeof info.magic), info.magic);
    print("  nr_pages        %lu (%lu MiB)\n", info.nr_pages, info.nr_pages / 256);
    print("  shared_info     %#lx (machine address)\n", info.shared_info);
    print("  flags           %#x\n", info.flags);
    print("  store           mfn %#lx evtchn %u\n", info.store_mfn, info.store_evtchn);
    print("  console         mfn %#lx evtchn %u\n", info.console.domU.mfn, info.console.domU.evtchn);
    print("  pt_base         %#lx (%lu frames)\n", info.pt_base, info.nr_pt_frames);
    print("  mfn_list        %#lx\n", info.mfn_list);
    print("  mod_start       %#lx (%lu bytes)\n", info.mod_start, info.mod_len);
    print("  first_p2m_pfn   %#lx (%lu frames)\n", info.first_p2m_pfn, info.nr_p2m_frames);
    print("  cmd_line        \"%s\"\n", runtime::command_line());
}

// --initrd: the module's checksum (FNV-1a over mod_len bytes, which Xen
// rounds up to whole pages), so that a test can tell it arrived intact.
void show_initrd(const start_info& info) {
    if (info.mod_len == 0)
        return;
    if (info.flags & SIF_MOD_START_PFN) {  // unmapped: this guest has no MOD_START_PFN note, so never
        print("demo: initrd at pfn %#lx, unmapped\n", info.mod_start);
        return;
    }
    const auto* bytes = reinterpret_cast<const uint8_t*>(info.mod_start);
    uint32_t hash = 0x811c9dc5;
    for (uint64_t i = 0; i < info.mod_len; ++i)
        hash = (hash ^ bytes[i]) * 0x01000193;
    print("demo: initrd %lu bytes at %#lx, fnv1a %#x\n", info.mod_len, info.mod_start, hash);
}

void show_p2m(const start_info& info) {
    constexpr unsigned shown = 8;
    print("p2m (pfn -> mfn), first entries:\n");
    for (unsigned pfn = 0; pfn < shown && pfn < info.nr_pages; ++pfn) {
        print("  pfn %#5x -> mfn %#lx\n", pfn, physmap::pfn_to_mfn(pfn));
    }
}

// `--cmdline echo`: console input comes back as output until a 'q' (a
// line "demo: echo done" then). It sleeps in SCHEDOP_poll on the console's
// event channel between bytes, clearing the port's pending bit first.
unsigned echo_console(const start_info& info) {
    if (xen_shared::map(info) != 0 || console::port() == 0) {
        print("demo: echo: no shared_info or console ring\n");
        return SHUTDOWN_crash;
    }
    evtchn_port_t port = console::port();
    volatile xen_ulong_t* pending = xen_shared::page()->evtchn_pending;
    const xen_ulong_t bit = xen_ulong_t{1} << (port % 64);
    print("demo: echo: type, 'q' ends\n");
    for (;;) {
        __atomic_fetch_and(&pending[port / 64], ~bit, __ATOMIC_SEQ_CST);
        char buffer[64];
        const long n = console::read(buffer, sizeof buffer);
        for (long i = 0; i < n; ++i) {
            if (buffer[i] == 'q') {
                print("\ndemo: echo done\n");
                return SHUTDOWN_poweroff;
            }
            print("%c", buffer[i]);
        }
        console::flush();
        if (n > 0)
            continue;
        sched_poll poll{};
        set_xen_guest_handle(poll.ports, &port);
        poll.nr_ports = 1;
        hv::sched_op(SCHEDOP_poll, &poll);
    }
}

// `--cmdline block=SECONDS`: one SCHEDOP_poll on no port with that timeout,
// so the vCPU sleeps in the host (tests measure what that costs it).
unsigned block_for(const start_info& info, uint64_t seconds) {
    if (xen_shared::map(info) != 0) {
        print("demo: block: no shared_info\n");
        return SHUTDOWN_crash;
    }
    const uint64_t start = pvclock::system_time_ns();
    sched_poll poll{};
    poll.nr_ports = 0;
    poll.timeout = start + seconds * 1'000'000'000;
    const long rc = hv::sched_op(SCHEDOP_poll, &poll);
    const uint64_t slept = pvclock::system_time_ns() - start;
    print("demo: blocked %lu.%03lu s (poll returned %ld)\n", slept / 1'000'000'000, slept / 1'000'000 % 1000, rc);
    return SHUTDOWN_poweroff;
}

}  // namespace

unsigned guest_main(const start_info& info) {
    if (runtime::command_line_has("echo"))
        return echo_console(info);
    if (runtime::command_line_has("spin_for_input")) {
        // No hypercall and no fault while it waits: only the host's kick (an
        // interrupt into the running guest) can bring the input in.
        if (console::port() == 0)
            return SHUTDOWN_crash;
        print("demo: spinning until input arrives\n");
        while (!console::input_waiting())
            asm volatile("pause");
        print("demo: input noticed while spinning\n");
        return SHUTDOWN_poweroff;
    }
    if (const uint64_t seconds = runtime::command_line_number("block", ~0ull); seconds != ~0ull)
        return block_for(info, seconds);
    if (const uint64_t n = runtime::command_line_number("unknown_hypercalls", ~0ull); n != ~0ull) {
        // A guest hammering the monitor with something it logs (the rate limit's test).
        for (uint64_t i = 0; i < n; ++i)
            hv::call<60>();
        print("demo: %lu unknown hypercalls made\n", n);
        return SHUTDOWN_poweroff;
    }
    print("pvvmm demo guest: hello from a Xen PV guest\n");
    show_start_info(info);
    show_initrd(info);
    show_p2m(info);
    print("running with cs %#x ss %#x (guest kernel mode, ring 3)\n", cpu::read_cs(), cpu::read_ss());
    print("demo: done\n");
    return SHUTDOWN_poweroff;
}
