// Benchmarks of kernel.elf's system calls, page faults, context switches,
// page-table churn and fork. Each mode runs N operations in batches, times
// every batch with the TSC and prints the median batch's cycles per
// operation with a checksum that depends on every operation's result.
#include "bench_modes.hpp"
#include "bench_smp.hpp"
#include "ulib.hpp"

namespace {

using batches::split;
using Batches = batches::Split;
constexpr unsigned max_batches = batches::kMaxBatches;

void report(const char* name, long operations, uint64_t* batch_cycles, Batches b, uint64_t divisor_per_batch,
            uint64_t checksum) {
    uint64_t median = user::median(batch_cycles, b.count);
    print("workload %s: %ld ops, %lu cycles/op (median of %u batches), checksum %#lx\n", name, operations,
          median / divisor_per_batch, b.count, checksum);
}

long syscalls(long n) {
    Batches b = split(n);
    uint64_t cycles[max_batches], checksum = 0;
    for (unsigned k = 0; k < b.count; ++k) {
        uint64_t start = user::rdtsc();
        for (long i = 0; i < b.per_batch; ++i)
            checksum += static_cast<uint64_t>(user::getpid());
        cycles[k] = user::rdtsc() - start;
    }
    report("syscall", b.count * b.per_batch, cycles, b, b.per_batch, checksum);
    return 0;
}

long pagefaults(long n) {
    Batches b = split(n);
    const long pages = b.count * b.per_batch;
    auto* memory = static_cast<volatile uint64_t*>(user::mmap(nullptr, pages * 4096));
    if (user::failed(const_cast<uint64_t*>(memory)))
        return 1;
    uint64_t cycles[max_batches], checksum = 0;
    for (unsigned k = 0; k < b.count; ++k) {
        uint64_t start = user::rdtsc();
        for (long i = k * b.per_batch; i < (k + 1) * b.per_batch; ++i)
            memory[i * 512] = static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15;
        cycles[k] = user::rdtsc() - start;
    }
    for (long i = 0; i < pages; ++i)
        checksum ^= memory[i * 512];
    user::munmap(const_cast<uint64_t*>(memory), pages * 4096);
    report("pagefault", pages, cycles, b, b.per_batch, checksum);
    return 0;
}

long context_switches(long n) {
    Batches b = split(n);
    const long yields = b.count * b.per_batch;
    long child = user::fork();
    if (child == 0) {
        long done = 0;
        for (long i = 0; i < yields; ++i)
            done += user::yield() == 0;
        user::exit(static_cast<int>(done & 0x7f));
    }
    uint64_t cycles[max_batches], checksum = 0;
    for (unsigned k = 0; k < b.count; ++k) {
        uint64_t start = user::rdtsc();
        for (long i = 0; i < b.per_batch; ++i)
            checksum += user::yield() == 0;
        cycles[k] = user::rdtsc() - start;
    }
    int status = -1;
    if (user::wait(child, &status) != child)
        return 2;
    checksum = (checksum << 8) | static_cast<unsigned>(status);
    // Each yield of ours is two switches: to the child and back.
    report("ctxsw", yields * 2, cycles, b, 2 * b.per_batch, checksum);
    return 0;
}

long page_table_churn(long n) {
    Batches b = split(n);
    uint64_t cycles[max_batches], checksum = 0;
    long op = 0;
    for (unsigned k = 0; k < b.count; ++k) {
        uint64_t start = user::rdtsc();
        for (long i = 0; i < b.per_batch; ++i, ++op) {
            // A fresh 512 GiB slot each time (up to 64 of them): the kernel
            // builds L3, L2 and L1 on the touch and frees them on munmap.
            unsigned long address = sys::mmap_base + (op % 64) * 0x8000000000UL + (op % 512) * 4096UL;
            auto* page = static_cast<volatile uint64_t*>(user::mmap(reinterpret_cast<void*>(address), 4096));
            if (user::failed(const_cast<uint64_t*>(page)))
                return 3;
            page[op % 512] = static_cast<uint64_t>(op) + 1;
            checksum += page[op % 512];
            user::munmap(const_cast<uint64_t*>(page), 4096);
        }
        cycles[k] = user::rdtsc() - start;
    }
    report("mmu", op, cycles, b, b.per_batch, checksum);
    return 0;
}

long forks(long n) {
    Batches b = split(n);
    // Some memory for each fork to share copy-on-write.
    auto* data = static_cast<volatile uint64_t*>(user::mmap(nullptr, 16 * 4096));
    for (unsigned i = 0; i < 16; ++i)
        data[i * 512] = i;
    uint64_t cycles[max_batches], checksum = 0;
    long op = 0;
    for (unsigned k = 0; k < b.count; ++k) {
        uint64_t start = user::rdtsc();
        for (long i = 0; i < b.per_batch; ++i, ++op) {
            long child = user::fork();
            if (child == 0)
                user::exit(static_cast<int>((op + data[(op % 16) * 512]) & 0x7f));
            int status = -1;
            if (child < 0 || user::wait(child, &status) != child)
                return 4;
            checksum += static_cast<unsigned>(status);
        }
        cycles[k] = user::rdtsc() - start;
    }
    report("fork", op, cycles, b, b.per_batch, checksum);
    return 0;
}

// One "compile job": a child that allocates, fills and sums memory, makes
// a few system calls, yields to its siblings and exits with the sum.
[[noreturn]] void compile_job(long job) {
    constexpr long pages = 24;
    auto* memory = static_cast<volatile uint64_t*>(user::mmap(nullptr, pages * 4096));
    uint64_t sum = 0;
    for (long p = 0; p < pages; ++p) {
        memory[p * 512] = static_cast<uint64_t>(job * 31 + p);
        sum += static_cast<uint64_t>(user::getpid()) & 0;
        if (p % 8 == 7)
            user::yield();
    }
    for (long p = 0; p < pages; ++p)
        sum += memory[p * 512];
    user::munmap(const_cast<uint64_t*>(memory), pages * 4096);
    user::exit(static_cast<int>(sum & 0x7f));
}

long mix(long n) {
    Batches b = split(n);
    uint64_t cycles[max_batches], checksum = 0;
    long job = 0;
    for (unsigned k = 0; k < b.count; ++k) {
        uint64_t start = user::rdtsc();
        for (long i = 0; i < b.per_batch; i += 2) {
            // Two jobs in flight, like make -j2.
            long first = user::fork();
            if (first == 0)
                compile_job(job);
            long second = user::fork();
            if (second == 0)
                compile_job(job + 1);
            for (int left = 2; left > 0; --left) {
                int status = -1;
                if (user::wait(-1, &status) < 0)
                    return 5;
                checksum += static_cast<unsigned>(status);
            }
            job += 2;
        }
        cycles[k] = user::rdtsc() - start;
    }
    long per_batch = (b.per_batch + 1) / 2 * 2;
    print("mix worker %ld: %ld jobs, %lu cycles/job (median of %u batches), checksum %#lx\n", user::getpid(), job,
          user::median(cycles, b.count) / per_batch, b.count, checksum);
    return 0;
}

}  // namespace

long main(long mode, long n) {
    switch (mode) {
    case bench::syscall: return syscalls(n);
    case bench::pagefault: return pagefaults(n);
    case bench::ctxsw: return context_switches(n);
    case bench::mmu: return page_table_churn(n);
    case bench::fork: return forks(n);
    case bench::mix: return mix(n);
    case bench::threads: return bench_smp::threads(n);
    case bench::remote: return bench_smp::remote(n);
    default: return 100;
    }
}
