#include "cli/run_command.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/exit_status.hpp"
#include "cli/options.hpp"
#include "cli/stats_report.hpp"
#include "cli/step_profile.hpp"
#include "guest-abi/layout.hpp"
#include "vmm/elf/kernel_file.hpp"
#include "vmm/elf/read_file.hpp"
#include "vmm/machine.hpp"
#include "vmm/monitor_image.hpp"

namespace pvvmm::cli {

void add_run_command(CLI::App& app, RunArgs& a) {
    auto* run = app.add_subcommand("run", "Run a 64-bit Xen PV guest (default: the bundled demo guest)");
    run->add_option("guest", a.guest,
                    "Guest kernel with Xen PV support: an ELF, a bzImage (Linux's vmlinuz; gzip, xz, lzma, bzip2, "
                    "zstd or lz4 payload) or a compressed ELF, as Xen's domain builder takes");
    run->add_option("--xpti", a.xpti, "Meltdown mitigation XPTI: on, off or auto (on unless the CPU is not vulnerable)")
        ->capture_default_str();
    run->add_option("--pcid", a.pcid,
                    "With XPTI: use PCIDs (Xen's four; no-flush CR3 writes, INVPCID): on, off or auto "
                    "(on when CPUID has PCID and INVPCID)")
        ->capture_default_str();
    run->add_option("--global-pages", a.global_pages,
                    "Global pages (CR4.PGE) while XPTI is off: on or off (XPTI on never uses them, except "
                    "--xpti-opt without no-global)")
        ->capture_default_str();
    run->add_option("--xpti-opt", a.xpti_opt,
                    "XPTI optimisations, comma-separated, left to right: presets naive (none), xen (copy-avoid, "
                    "flag-byte, no-global, single-flush: Xen after its 2018 series), all (xen plus pvvmm's "
                    "root-cache, slot-copy); a name adds one, no-<name> removes it. E.g. naive,copy-avoid or "
                    "all,no-slot-copy")
        ->capture_default_str();
    run->add_option("--memory", a.memory, "Guest memory, e.g. 64M, 256M, 1G (multiple of 2 MiB)")
        ->capture_default_str();
    run->add_option("--cmdline", a.cmdline, "Guest command line (start_info.cmd_line)");
    run->add_option("--initrd", a.initrd,
                    "Initial ramdisk, loaded as Xen does (start_info mod_start/mod_len; in the frames after the "
                    "initial mapping when the kernel has a MOD_START_PFN note)")
        ->type_name("FILE");
    run->add_option("--timeout", a.timeout, "Stop the guest after this many seconds (0: never)")->capture_default_str();
    run->add_option("--log-level", a.log_level, "trace, debug, info, warn, error, critical or off")
        ->capture_default_str();
    run->add_option("--vcpus", a.vcpus,
                    fmt::format("Number of vCPUs (1..{}); vCPU 0 starts the guest, which brings up the others "
                                "(VCPUOP_initialise and VCPUOP_up, as Linux does)",
                                layout::kMaxVcpus))
        ->capture_default_str();
    run->add_option("--kvm-device", a.kvm_device, "KVM device to open")->capture_default_str();
    // A flag with an optional =value, so that `--stats guest.elf` keeps the
    // guest as the positional argument; bare --stats means text.
    run->add_flag("--stats{text}", a.stats,
                  "Print the monitor's per-vCPU counters at exit, on stderr: --stats or --stats=text as a table "
                  "(rows that are 0 omitted), --stats=json as a JSON document with every counter (README.md)")
        ->option_text("[=text|json]");
    run->add_option("--stats-file", a.stats_file,
                    "Write the --stats report to FILE instead of stderr (implies --stats; opened before the guest "
                    "runs)")
        ->type_name("FILE");
    run->add_option("--audit", a.audit_every,
                    "Check the PV MMU's frame types and counts every N hypercalls and at shutdown; "
                    "an inconsistency is a monitor panic (0: never)")
        ->capture_default_str();
    run->add_option("--check-isolation", a.check_isolation_ms,
                    "With XPTI on: walk every vCPU's restricted page tables every MS milliseconds while the guest "
                    "runs and once at the end; any mapping of monitor memory outside the allowed set is a monitor "
                    "panic (0: never)")
        ->option_text("MS")
        ->capture_default_str();
    run->add_flag("--count-single-steps", a.count_single_steps,
                  "Diagnostic: single-step all vCPUs and report the step count in --stats "
                  "(where KVM single-steps only ring 0, as on kvm_pvm, this counts monitor instructions; slow)");
    run->add_option("--profile-single-steps", a.profile_single_steps,
                    "Diagnostic: as --count-single-steps, and write to FILE each instruction address with its "
                    "step count (all vCPUs; scripts/ring0-profile turns it into instructions per monitor "
                    "function)")
        ->type_name("FILE");
    // Failure injection for pvvmm's own tests; not shown in --help.
    run->add_option("--test-hook", a.test_hook, "none, panic or triple-fault")
        ->group("");  // see the parser below for all names
    run->footer(std::string(kConsoleHelp) + "\n" + kExitStatusHelp);
}

namespace {

int exit_status_of(Outcome o) {
    switch (o) {
    case Outcome::Poweroff: return kExitPoweroff;
    case Outcome::Crash: return kExitGuestCrash;
    case Outcome::Reboot: return kExitReboot;
    case Outcome::MonitorPanic: return kExitMonitorPanic;
    case Outcome::Timeout: return kExitTimeout;
    case Outcome::Stopped: return kExitStopped;
    }
    return kExitMonitorPanic;
}

int fail(const Error& e) {
    fmt::print(stderr, "pvvmm: {}\n", e.message);
    switch (e.kind) {
    case ErrorKind::BadInput: return kExitBadInput;
    case ErrorKind::Host: return kExitHostError;
    case ErrorKind::Internal: return kExitMonitorPanic;
    }
    return kExitMonitorPanic;
}

void setup_logging(int level) {
    auto lvl = static_cast<spdlog::level::level_enum>(level);
    spdlog::set_default_logger(spdlog::stderr_color_mt("pvvmm"));
    spdlog::stderr_color_mt("monitor");
    spdlog::set_level(lvl);
    spdlog::set_pattern("[%n] [%^%l%$] %v");
}

}  // namespace

int run_command(const RunArgs& a) {
    auto level = parse_log_level(a.log_level);
    if (!level)
        return fail(level.error());
    setup_logging(*level);
    auto xpti = parse_xpti(a.xpti);
    if (!xpti)
        return fail(xpti.error());
    auto pcid = parse_pcid(a.pcid);
    if (!pcid)
        return fail(pcid.error());
    auto global_pages = parse_on_off("--global-pages", a.global_pages);
    if (!global_pages)
        return fail(global_pages.error());
    auto xpti_opts = parse_xpti_opts(a.xpti_opt);
    if (!xpti_opts)
        return fail(xpti_opts.error());
    auto memory = parse_memory(a.memory);
    if (!memory)
        return fail(memory.error());
    auto timeout = parse_timeout(a.timeout);
    if (!timeout)
        return fail(timeout.error());
    const bool stats = !a.stats.empty() || !a.stats_file.empty();
    auto stats_format = parse_stats_format(a.stats.empty() ? "text" : a.stats);
    if (!stats_format)
        return fail(stats_format.error());
    if (a.vcpus < 1 || a.vcpus > layout::kMaxVcpus)
        return fail(bad_input("--vcpus {} is outside 1..{}", a.vcpus, layout::kMaxVcpus));

    elf::KernelFile kernel;
    std::string options_note;  // the guest name with how it was unpacked, for the log
    std::span<const uint8_t> guest = embedded_demo_guest_elf();
    if (!a.guest.empty()) {
        auto bytes = elf::read_file(a.guest);
        if (!bytes)
            return fail(bytes.error());
        auto unpacked = elf::unpack_kernel(std::move(*bytes));
        if (!unpacked)
            return fail(unpacked.error().context(a.guest));
        kernel = std::move(*unpacked);
        guest = kernel.elf;
        if (kernel.origin != "ELF")
            options_note = fmt::format("{} ({})", a.guest, kernel.origin);
    }
    std::vector<uint8_t> initrd;
    if (!a.initrd.empty()) {
        auto bytes = elf::read_file(a.initrd);
        if (!bytes)
            return fail(bytes.error().context("--initrd"));
        initrd = std::move(*bytes);
    }

    RunOptions options;
    options.nr_vcpus = a.vcpus;
    options.kvm_path = a.kvm_device.c_str();
    options.count_single_steps = a.count_single_steps || !a.profile_single_steps.empty();
    options.profile_single_steps = !a.profile_single_steps.empty();
    options.audit_every = a.audit_every;
    options.check_isolation_ms = a.check_isolation_ms;
    if (a.test_hook == "panic")
        options.test_hook = abi::TestHook::Panic;
    else if (a.test_hook == "triple-fault")
        options.test_hook = abi::TestHook::TripleFault;
    else if (a.test_hook == "corrupt-frame-table")
        options.test_hook = abi::TestHook::CorruptFrameTable;
    else if (a.test_hook == "leak-into-restricted-root")
        options.test_hook = abi::TestHook::LeakIntoRestrictedRoot;
    else if (a.test_hook == "fault-in-exit-path")
        options.test_hook = abi::TestHook::FaultInExitPath;
    else if (a.test_hook == "skip-guest-flushes")
        options.test_hook = abi::TestHook::SkipGuestFlushes;
    else if (a.test_hook == "stuck-in-kvm-run")
        options.test_hook = abi::TestHook::StuckInKvmRun;
    else if (a.test_hook == "secondary-boots-late")
        options.test_hook = abi::TestHook::SecondaryBootsLate;
    else if (a.test_hook == "drop-root-refresh")
        options.test_hook = abi::TestHook::DropRootRefresh;
    else if (a.test_hook == "drop-ipis")
        options.test_hook = abi::TestHook::DropIpis;
    else if (a.test_hook == "drop-timer-interrupts")
        options.test_hook = abi::TestHook::DropTimerInterrupts;
    else if (a.test_hook == "stop-timer-interrupts")
        options.test_hook = abi::TestHook::StopTimerInterrupts;
    else if (a.test_hook != "none")
        return fail(
            bad_input("--test-hook '{}' is not one of none, panic, triple-fault, corrupt-frame-table, "
                      "leak-into-restricted-root, fault-in-exit-path, skip-guest-flushes, stuck-in-kvm-run, "
                      "secondary-boots-late, "
                      "drop-root-refresh, drop-ipis, drop-timer-interrupts, stop-timer-interrupts",
                      a.test_hook));
    options.xpti = resolve_xpti(*xpti);
    options.pcid = *pcid;
    options.global_pages = *global_pages;
    options.xpti_opts = *xpti_opts;
    options.log_level = static_cast<uint8_t>(*level);
    options.timeout = std::chrono::milliseconds(static_cast<int64_t>(*timeout * 1000));
    options.guest_name = a.guest.empty() ? "bundled demo" : options_note.empty() ? a.guest : options_note;
    options.xpti_choice = a.xpti;

    // Opened before the run: an unwritable --stats-file fails at once.
    auto stats_output = StatsOutput::open(stats ? a.stats_file : std::string());
    if (!stats_output)
        return fail(stats_output.error());

    domain::DomainConfig config;
    config.memory_bytes = *memory;
    config.cmdline = a.cmdline;
    config.initrd = initrd;
    auto result = run_domain(guest, config, options);
    if (!result) {
        const auto& e = result.error();
        return fail(e.kind == ErrorKind::BadInput ? e.context(a.guest.empty() ? "demo guest" : a.guest) : e);
    }
    if (stats) {
        const std::string report = *stats_format == StatsFormat::Json ? stats_json(*result) : stats_text(*result);
        if (auto written = stats_output->write(report); !written)
            return fail(written.error());
    }
    if (!a.profile_single_steps.empty()) {
        if (auto written = write_step_profile(a.profile_single_steps, *result); !written)
            return fail(written.error());
    }
    if (result->outcome != Outcome::Poweroff)
        fmt::print(stderr, "pvvmm: {}\n", result->detail);
    else
        spdlog::info("{}", result->detail);
    return exit_status_of(result->outcome);
}

}  // namespace pvvmm::cli
