// The bundled demo guest: greets, shows what the domain builder handed it
// in start_info, and powers off. It needs only console_io and sched_op.
#include "../lib/console.hpp"
#include "../lib/cpu.hpp"
#include "../lib/physmap.hpp"
#include "../lib/runtime.hpp"

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

void show_p2m(const start_info& info) {
    constexpr unsigned shown = 8;
    print("p2m (pfn -> mfn), first entries:\n");
    for (unsigned pfn = 0; pfn < shown && pfn < info.nr_pages; ++pfn) {
        print("  pfn %#5x -> mfn %#lx\n", pfn, physmap::pfn_to_mfn(pfn));
    }
}

}  // namespace

unsigned guest_main(const start_info& info) {
    print("pvvmm demo guest: hello from a Xen PV guest\n");
    show_start_info(info);
    show_p2m(info);
    print("running with cs %#x ss %#x (guest kernel mode, ring 3)\n", cpu::read_cs(), cpu::read_ss());
    print("demo: done\n");
    return SHUTDOWN_poweroff;
}
