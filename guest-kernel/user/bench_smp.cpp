// The threads of one process on different vCPUs, sharing its address space:
//
// `threads`: one thread per vCPU (at least two). In round r, thread r % T
// maps a page at a fresh 512 GiB slot (the kernel writes a new L4 entry,
// on the owner's vCPU), fills it and publishes its address; every other
// thread reads it from its own vCPU, checks every word and acknowledges;
// the owner unmaps it (the L4 entry is cleared, the tables freed, and the
// kernel flushes every vCPU running the process). A reader that does not
// see the new L4 entry faults for ever (the kernel then kills it: a lost
// root refresh); one that reads through a stale one reads the wrong words.
// The checksum is the sum of every word read: deterministic for a given
// number of threads.
//
// `remote`: a helper thread spins in user mode on another vCPU, so the
// process's address space is loaded there; the main thread then times
// flush_tlb(flush_space) (TLB_FLUSH_MULTI naming both vCPUs: the IPI, the
// other vCPU's flush and the wait for it) against flush_tlb(flush_local).
#include "bench_smp.hpp"

#include "ulib.hpp"

namespace {

constexpr long max_threads = 8;
constexpr long words = 8;                       // checked per page and round
constexpr unsigned long slot_span = 1ul << 39;  // one L4 slot
constexpr unsigned long first_slot = 16;        // above the mmap area's first slot
constexpr unsigned long slots = 8;              // cycled through: each is empty when its round begins
constexpr long wait_limit_ns = 3'000'000'000;   // a partner gone for this long: abort

struct Shared {
    volatile long threads, rounds;
    volatile long ready_round, done_round;  // the owner filled / unmapped the round's page
    volatile unsigned long address;
    volatile long acks;
    volatile long abort;  // someone waited in vain: everybody leaves
    volatile unsigned long checksum[max_threads], cpus_seen[max_threads];
    volatile long bad_reads;
    volatile long bad_round, bad_thread;
    volatile unsigned long bad_address, bad_value, bad_expected;
    volatile long helper_cpu, stop;  // remote
};
Shared shared;

// No popcnt in the baseline ISA, and no libgcc to call.
int bits_set(unsigned long mask) {
    int n = 0;
    for (; mask != 0; mask &= mask - 1)
        ++n;
    return n;
}

unsigned long value(long round, long word) {
    return (static_cast<unsigned long>(round) + 1) * 0x9e3779b97f4a7c15ul ^ static_cast<unsigned long>(word);
}

unsigned long round_address(long round) {
    return sys::mmap_base + (first_slot + static_cast<unsigned long>(round) % slots) * slot_span +
           static_cast<unsigned long>(round % 512) * 4096;
}

// Spins until `done()`; false when the wait was given up (abort, or the
// limit). With a vCPU per thread it never yields, so that each thread
// keeps its vCPU (a yield would hand it to a waiting thread and the two
// would share one); with fewer vCPUs the partner needs the yield.
template <typename Done>
bool wait_for(Done done) {
    const bool share_cpus = user::cpus() < shared.threads;
    long deadline = 0;
    for (unsigned long spins = 1; !done(); ++spins) {
        if (__atomic_load_n(&shared.abort, __ATOMIC_ACQUIRE))
            return false;
        if (spins % (share_cpus ? 256 : 65536) != 0) {
            asm volatile("pause" ::: "memory");
            continue;
        }
        if (share_cpus)
            user::yield();
        const long now = user::clock_ns();
        if (deadline == 0)
            deadline = now + wait_limit_ns;
        else if (now > deadline) {
            __atomic_store_n(&shared.abort, 1, __ATOMIC_RELEASE);
            return false;
        }
    }
    return true;
}

void record_bad_read(long index, long round, unsigned long address, unsigned long seen, unsigned long expected) {
    if (__atomic_fetch_add(&shared.bad_reads, 1, __ATOMIC_ACQ_REL) == 0) {
        shared.bad_thread = index;
        shared.bad_round = round;
        shared.bad_address = address;
        shared.bad_value = seen;
        shared.bad_expected = expected;
    }
}

bool own_round(long round) {
    const unsigned long address = round_address(round);
    auto* page = static_cast<volatile unsigned long*>(user::mmap(reinterpret_cast<void*>(address), 4096));
    if (user::failed(const_cast<unsigned long*>(page)))
        return false;
    for (long w = 0; w < words; ++w)
        page[w * 64] = value(round, w);
    shared.address = address;
    __atomic_store_n(&shared.ready_round, round, __ATOMIC_RELEASE);
    const long readers = shared.threads - 1;
    const bool all_read = wait_for([&] { return __atomic_load_n(&shared.acks, __ATOMIC_ACQUIRE) == readers; });
    shared.acks = 0;
    user::munmap(const_cast<unsigned long*>(page), 4096);
    __atomic_store_n(&shared.done_round, round, __ATOMIC_RELEASE);
    return all_read;
}

bool read_round(long index, long round, unsigned long& checksum) {
    if (!wait_for([&] { return __atomic_load_n(&shared.ready_round, __ATOMIC_ACQUIRE) >= round; }))
        return false;
    const unsigned long address = shared.address;
    auto* page = reinterpret_cast<volatile unsigned long*>(address);
    for (long w = 0; w < words; ++w) {
        const unsigned long seen = page[w * 64];
        if (seen != value(round, w))
            record_bad_read(index, round, address + static_cast<unsigned long>(w) * 512, seen, value(round, w));
        checksum += seen;
    }
    __atomic_fetch_add(&shared.acks, 1, __ATOMIC_ACQ_REL);
    return wait_for([&] { return __atomic_load_n(&shared.done_round, __ATOMIC_ACQUIRE) >= round; });
}

// Thread `index` (0: the main thread) through every round; thread 0 also
// times batches of rounds into `cycles`.
long worker(long index, uint64_t* cycles, batches::Split b) {
    unsigned long checksum = 0, seen = 0;
    uint64_t batch_start = user::rdtsc();
    for (long round = 0; round < shared.rounds; ++round) {
        seen |= 1ul << user::cpu();
        const bool ok = round % shared.threads == index ? own_round(round) : read_round(index, round, checksum);
        if (!ok)
            break;
        if (cycles != nullptr && (round + 1) % b.per_batch == 0) {
            const uint64_t now = user::rdtsc();
            cycles[round / b.per_batch] = now - batch_start;
            batch_start = now;
        }
    }
    shared.checksum[index] = checksum;
    shared.cpus_seen[index] = seen;
    return 0;
}

long thread_worker(long index) { return worker(index, nullptr, batches::Split{}); }

long remote_helper(long) {
    __atomic_store_n(&shared.helper_cpu, user::cpu(), __ATOMIC_RELEASE);
    while (!__atomic_load_n(&shared.stop, __ATOMIC_ACQUIRE))
        asm volatile("pause" ::: "memory");
    return 0;
}

constexpr long max_samples = 1024;
uint64_t remote_samples[max_samples], local_samples[max_samples];

}  // namespace

namespace bench_smp {

long threads(long rounds) {
    const long cpus = user::cpus();
    const long count = cpus < 2 ? 2 : (cpus > max_threads ? max_threads : cpus);
    const batches::Split b = batches::split(rounds);
    shared.threads = count;
    shared.rounds = b.count * b.per_batch;
    shared.ready_round = -1;
    shared.done_round = -1;
    long pids[max_threads] = {};
    for (long i = 1; i < count; ++i) {
        pids[i] = user::start_thread(thread_worker, i);
        if (pids[i] < 0) {
            print("threads: FAILED: cannot start thread %ld (%ld)\n", i, pids[i]);
            return 6;
        }
    }
    uint64_t cycles[batches::kMaxBatches] = {};
    worker(0, cycles, b);
    long result = 0;
    unsigned long checksum = shared.checksum[0], cpus_seen = shared.cpus_seen[0];
    for (long i = 1; i < count; ++i) {
        int status = -1;
        if (user::wait(pids[i], &status) != pids[i] || status != 0) {
            print("threads: FAILED: thread %ld (pid %ld) exited with %d%s\n", i, pids[i], status,
                  status == sys::killed_by_fault ? " (killed by a fault it could not get past)" : "");
            result = 6;
        }
        checksum += shared.checksum[i];
        cpus_seen |= shared.cpus_seen[i];
    }
    if (shared.bad_reads != 0) {
        print("threads: FAILED: %ld bad reads; thread %ld read %#lx at %#lx in round %ld, expected %#lx\n",
              shared.bad_reads, shared.bad_thread, shared.bad_value, shared.bad_address, shared.bad_round,
              shared.bad_expected);
        result = 6;
    }
    if (shared.abort) {
        print("threads: FAILED: a thread waited for another for %ld s (round %ld ready, %ld done)\n",
              wait_limit_ns / 1'000'000'000, shared.ready_round, shared.done_round);
        result = 6;
    }
    if (result != 0)
        return result;
    print("workload threads: %ld ops, %lu cycles/op (median of %u batches), checksum %#lx\n", shared.rounds,
          user::median(cycles, b.count) / static_cast<uint64_t>(b.per_batch), b.count, checksum);
    print(
        "threads: %ld threads in one address space ran on %d of %ld vCPUs, %ld rounds of map, read elsewhere, unmap\n",
        count, bits_set(cpus_seen), cpus, shared.rounds);
    return 0;
}

long remote(long n) {
    if (user::cpus() < 2) {
        print("remote: FAILED: needs a second vCPU\n");
        return 7;
    }
    if (n > max_samples)
        n = max_samples;
    shared.helper_cpu = -1;
    const long helper = user::start_thread(remote_helper, 0);
    if (helper < 0)
        return 7;
    // Running on another vCPU, it has the address space loaded there: the
    // flush then names two vCPUs. (Where it runs may change until then: a
    // yield of ours may hand it our vCPU for a while.)
    const long deadline = user::clock_ns() + wait_limit_ns;
    while (__atomic_load_n(&shared.helper_cpu, __ATOMIC_ACQUIRE) < 0 || user::flush_tlb(sys::flush_space) < 2) {
        if (user::clock_ns() > deadline) {
            print("remote: FAILED: the helper thread did not run on another vCPU within %ld s\n",
                  wait_limit_ns / 1'000'000'000);
            __atomic_store_n(&shared.stop, 1, __ATOMIC_RELEASE);
            return 7;
        }
        asm volatile("pause" ::: "memory");
    }
    unsigned long checksum = 0;
    long missed = 0;  // flushes whose mask did not name the helper's vCPU
    for (long i = 0; i < n; ++i) {
        const uint64_t start = user::rdtsc();
        const long flushed = user::flush_tlb(sys::flush_space);
        remote_samples[i] = user::rdtsc() - start;
        missed += flushed < 2;
        checksum += static_cast<unsigned long>(flushed);
    }
    for (long i = 0; i < n; ++i) {
        const uint64_t start = user::rdtsc();
        checksum += static_cast<unsigned long>(user::flush_tlb(sys::flush_local));
        local_samples[i] = user::rdtsc() - start;
    }
    __atomic_store_n(&shared.stop, 1, __ATOMIC_RELEASE);
    int status = -1;
    if (user::wait(helper, &status) != helper || status != 0)
        return 7;
    const uint64_t remote_median = user::median(remote_samples, static_cast<unsigned>(n));
    const uint64_t local_median = user::median(local_samples, static_cast<unsigned>(n));
    const uint64_t ratio100 = local_median != 0 ? remote_median * 100 / local_median : 0;
    print(
        "workload remote: %ld ops, %lu cycles/op (median of %ld flushes of this vCPU and the helper's),"
        " local flush %lu cycles/op (median of %ld), remote/local %lu.%02lu, checksum %#lx\n",
        n, remote_median, n, local_median, n, ratio100 / 100, ratio100 % 100, checksum);
    if (missed != 0) {
        print("remote: FAILED: %ld of %ld flushes did not name the helper's vCPU\n", missed, n);
        return 7;
    }
    return 0;
}

}  // namespace bench_smp
