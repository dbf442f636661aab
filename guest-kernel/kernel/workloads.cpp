#include "workloads.hpp"

#include "../lib/console.hpp"
#include "../lib/format.hpp"
#include "../lib/panic.hpp"
#include "../lib/shutdown.hpp"
#include "../lib/string.hpp"
#include "../user/bench_modes.hpp"
#include "cpus.hpp"
#include "event_bench.hpp"
#include "frames.hpp"
#include "kernel_selftest.hpp"
#include "mmu.hpp"
#include "page_fault.hpp"
#include "process.hpp"
#include "scheduler.hpp"
#include "syscalls.hpp"
#include "timer.hpp"
#include "upcall.hpp"

namespace workloads {
namespace {

struct Workload {
    const char* name;
    long mode;  // of the user program `bench`
    long default_count;
    bool (*in_kernel)(long count);  // instead: a benchmark of the kernel's own (event_bench.hpp)
    unsigned min_cpus = 1;
};

constexpr Workload table[] = {
    {"syscall", bench::syscall, 1000, nullptr},
    {"pagefault", bench::pagefault, 500, nullptr},
    {"ctxsw", bench::ctxsw, 500, nullptr},
    {"mmu", bench::mmu, 200, nullptr},
    {"fork", bench::fork, 50, nullptr},
    {"mix", bench::mix, 12, nullptr},
    {"threads", bench::threads, 32, nullptr},
    {"remote", bench::remote, 200, nullptr, 2},  // a flush of another vCPU needs one
    {"event", 0, 1000, event_bench::event},
    {"timer", 0, 200, event_bench::timer},
};

uint64_t rdtsc() {
    uint32_t low, high;
    asm volatile("lfence; rdtsc" : "=a"(low), "=d"(high) : : "memory");
    return (uint64_t{high} << 32) | low;
}

long parse_count(const char* text) {
    long value = 0;
    for (; *text >= '0' && *text <= '9'; ++text)
        value = value * 10 + (*text - '0');
    return *text == '\0' ? value : -1;
}

// Starts `copies` programs, runs them all, returns how many exited with
// `expected_status`.
unsigned run_copies(const char* name, unsigned copies, long argument0, long argument1, int expected_status = 0) {
    UserImage image{};
    if (!images::find(name, image))
        panic("no user image %s", name);
    long pids[proc::max_processes];
    for (unsigned i = 0; i < copies; ++i) {
        proc::Process* p = proc::spawn(image, argument0, argument1);
        if (p == nullptr)
            panic("cannot start %s", name);
        pids[i] = p->pid;
    }
    proc::run();
    unsigned succeeded = 0;
    for (unsigned i = 0; i < copies; ++i) {
        int status = -1;
        if (!proc::reap(pids[i], &status))
            panic("process %ld did not finish", pids[i]);
        print("kernel: %s (pid %ld) exited with %d\n", name, pids[i], status);
        succeeded += status == expected_status;
    }
    proc::reap_all();
    return succeeded;
}

void selftest_failure(const char* reason) {
    console::end_line();
    print("Test result: FAILURE: %s\n", reason);
    crash();
}

}  // namespace

unsigned hello() {
    constexpr int hello_exit_code = 42;  // user/hello.cpp
    return run_copies("hello", 1, 7, 0, hello_exit_code) == 1 ? SHUTDOWN_poweroff : SHUTDOWN_crash;
}

unsigned run(const char* specification) {
    char name[32];
    const char* colon = specification;
    while (*colon != '\0' && *colon != ':')
        ++colon;
    size_t length = static_cast<size_t>(colon - specification);
    if (length >= sizeof name)
        length = sizeof name - 1;
    memcpy(name, specification, length);
    name[length] = '\0';
    for (const Workload& w : table) {
        if (strcmp(w.name, name) != 0)
            continue;
        long count = *colon == ':' ? parse_count(colon + 1) : w.default_count;
        if (count <= 0) {
            print("kernel: bad count in workload=%s\n", specification);
            return SHUTDOWN_crash;
        }
        if (cpus::count() < w.min_cpus) {
            print("kernel: workload %s needs at least %u vCPUs, this domain has %u (pvvmm run --vcpus %u)\n", name,
                  w.min_cpus, cpus::count(), w.min_cpus);
            return SHUTDOWN_crash;
        }
        if (w.in_kernel != nullptr) {
            const uint64_t upcalls_before = upcall::count(), timer_before = timer::events();
            const uint64_t unblocked_before = timer::unblocked_waits();
            const uint64_t start = rdtsc();
            const bool ok = w.in_kernel(count);
            print(
                "kernel: workload %s total %lu cycles; %lu upcalls, %lu VIRQ_TIMER events, %lu waits for a timer"
                " already due\n",
                name, rdtsc() - start, upcall::count() - upcalls_before, timer::events() - timer_before,
                timer::unblocked_waits() - unblocked_before);
            return ok ? SHUTDOWN_poweroff : SHUTDOWN_crash;
        }
        const unsigned copies = w.mode == bench::mix ? 3 : 1;  // mix: three "make" processes at once
        const uint64_t free_before = frames::free_count();
        const uint64_t calls_before = syscalls::count(), switches_before = sched::switches();
        const uint64_t preemptions_before = sched::preemptions(), ipis_before = sched::ipis_sent();
        const uint64_t late_before = sched::late_wakeups();
        const mmu::Counters mmu_before = mmu::counters();
        const fault::Counters faults_before = fault::counters();
        const uint64_t start = rdtsc();
        const unsigned ok = run_copies("bench", copies, w.mode, count);
        const uint64_t cycles = rdtsc() - start;
        const mmu::Counters& m = mmu::counters();
        const fault::Counters& f = fault::counters();
        print(
            "kernel: workload %s total %lu cycles; %lu syscalls, %lu switches, faults %lu demand + %lu cow + %lu"
            " reused; mmu_update entries %lu, update_va_mapping %lu, pins %lu, base switches %lu, flushes %lu"
            " (remote %lu); %lu preemptions\n",
            name, cycles, syscalls::count() - calls_before, sched::switches() - switches_before,
            f.demand - faults_before.demand, f.copy_on_write - faults_before.copy_on_write,
            f.reused_sole_owner - faults_before.reused_sole_owner, m.entry_updates - mmu_before.entry_updates,
            m.va_updates - mmu_before.va_updates, m.pins - mmu_before.pins, m.base_switches - mmu_before.base_switches,
            m.flushes - mmu_before.flushes, m.remote_flushes - mmu_before.remote_flushes,
            sched::preemptions() - preemptions_before);
        print("kernel: processes ran on %u of %u vCPUs; %lu wake-up IPIs, %lu late wake-ups (safety timer)\n",
              cpus::in_mask(sched::cpus_used()), cpus::count(), sched::ipis_sent() - ipis_before,
              sched::late_wakeups() - late_before);
        if (frames::free_count() != free_before)
            print("kernel: %ld frames leaked\n", static_cast<long>(free_before - frames::free_count()));
        return ok == copies ? SHUTDOWN_poweroff : SHUTDOWN_crash;
    }
    print("kernel: unknown workload %s (syscall, pagefault, ctxsw, mmu, fork, mix, threads, remote, event, timer)\n",
          name);
    return SHUTDOWN_crash;
}

unsigned shell() {
    UserImage image{};
    proc::Process* p = images::find("shell", image) ? proc::spawn(image, 0, 0) : nullptr;
    if (p == nullptr) {
        print("kernel: cannot start the shell\n");
        return SHUTDOWN_crash;
    }
    const long pid = p->pid;
    proc::run();
    int status = -1;
    if (!proc::reap(pid, &status))
        panic("the shell did not finish");
    proc::reap_all();
    console::end_line();
    print("kernel: shell exited with %d, powering off\n", status);
    return status == 0 ? SHUTDOWN_poweroff : SHUTDOWN_crash;
}

unsigned selftest() {
    const uint64_t free_before = frames::free_count();
    const char* failure = kernel_selftest::run();
    if (failure != nullptr)
        selftest_failure(failure);
    UserImage image{};
    proc::Process* p = images::find("selftest", image) ? proc::spawn(image, 0, 0) : nullptr;
    if (p == nullptr)
        selftest_failure("cannot start the selftest program");
    const long pid = p->pid;
    proc::run();
    int status = -1;
    if (!proc::reap(pid, &status))
        selftest_failure("the selftest program did not finish");
    proc::reap_all();
    if (status != 0) {
        char reason[96];
        format_to(reason, sizeof reason, "the selftest program exited with %d", status);
        selftest_failure(reason);
    }
    if (frames::free_count() != free_before) {
        char reason[96];
        format_to(reason, sizeof reason, "%ld frames leaked", static_cast<long>(free_before - frames::free_count()));
        selftest_failure(reason);
    }
    print("kernel: selftest ran on %u of %u vCPUs; %lu wake-up IPIs, %lu late wake-ups (safety timer)\n",
          cpus::in_mask(sched::cpus_used()), cpus::count(), sched::ipis_sent(), sched::late_wakeups());
    print("Test result: SUCCESS\n");
    return SHUTDOWN_poweroff;
}

void install_selftest_panic_handler() { set_panic_handler(selftest_failure); }

}  // namespace workloads
