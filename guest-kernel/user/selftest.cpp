// The user part of kernel.elf's `selftest`: checks the system calls and
// the memory semantics from a process's point of view. Prints one line per
// check; exits 0 when all passed, else the number of the failed check
// (the kernel turns that into the verdict line).
#include "ulib.hpp"

namespace {

long data_word = 0x1234;  // .data: copy-on-write after fork
const long readonly_word = 0x5678;

#define CHECK(number, condition, ...)                     \
    do {                                                  \
        if (!(condition)) {                               \
            print("selftest: check %d failed: ", number); \
            print(__VA_ARGS__);                           \
            print("\n");                                  \
            return number;                                \
        }                                                 \
    } while (0)

// Runs `body` in a child; returns its exit status (or -1).
template <typename Body>
int in_child(Body body) {
    long pid = user::fork();
    if (pid == 0)
        user::exit(body());
    int status = -1;
    if (pid < 0 || user::wait(pid, &status) != pid)
        return -1;
    return status;
}

long touch_stack(long depth) {
    volatile char buffer[1024];
    buffer[0] = static_cast<char>(depth);
    if (depth == 0)
        return buffer[0];
    return touch_stack(depth - 1) + buffer[0];
}

int basics() {
    long pid = user::getpid();
    CHECK(1, pid > 0, "getpid returned %ld", pid);
    CHECK(2, user::write(1, "selftest: write\n", 16) == 16, "write did not return the length");
    CHECK(3, user::write(5, "x", 1) == -sys::ebadf, "write to fd 5 did not fail with EBADF");
    CHECK(4, user::write(1, reinterpret_cast<void*>(0x1000), 8) == -sys::efault, "write from an unmapped buffer");
    CHECK(5, user::yield() == 0, "yield");
    CHECK(6, user::syscall(99) == -sys::enosys, "an unknown system call did not return ENOSYS");
    CHECK(7, touch_stack(100) > 0, "stack growth");  // 100 KiB of demand-paged stack
    print("selftest: basic system calls: ok\n");
    return 0;
}

int anonymous_memory() {
    constexpr long pages = 8;
    auto* memory = static_cast<volatile long*>(user::mmap(nullptr, pages * 4096));
    CHECK(10, !user::failed(const_cast<long*>(memory)), "mmap failed");
    for (long p = 0; p < pages; ++p)
        CHECK(11, memory[p * 512 + 7] == 0, "fresh page %ld not zero", p);
    for (long p = 0; p < pages; p += 2)
        memory[p * 512] = p + 100;
    for (long p = 0; p < pages; ++p)
        CHECK(12, memory[p * 512] == (p % 2 == 0 ? p + 100 : 0), "page %ld reads %ld", p, memory[p * 512]);
    void* fixed = reinterpret_cast<void*>(sys::mmap_base + 0x40000000000);
    CHECK(13, user::mmap(fixed, 4096) == fixed, "mmap at a fixed address");
    CHECK(14, user::failed(user::mmap(fixed, 4096)), "mmap over an existing mapping succeeded");
    CHECK(15, user::munmap(fixed, 4096) == 0, "munmap");
    // munmap'd memory faults: a child touching it is killed.
    CHECK(16, user::munmap(const_cast<long*>(memory) + 2 * 512, 4096) == 0, "munmap of one page");
    int status = in_child([&] { return static_cast<int>(memory[2 * 512] + 1); });
    CHECK(17, status == sys::killed_by_fault, "reading munmap'd memory: child exit %d, expected %d", status,
          sys::killed_by_fault);
    CHECK(18, memory[4 * 512] == 104, "the rest of the mapping survived a partial munmap");
    status = in_child([] { return static_cast<int>(*reinterpret_cast<volatile long*>(0x10000000)); });
    CHECK(19, status == sys::killed_by_fault, "reading never-mapped memory: child exit %d", status);
    status = in_child([] {
        const_cast<volatile long&>(readonly_word) = 1;
        return 0;
    });
    CHECK(20, status == sys::killed_by_fault, "writing read-only data: child exit %d", status);
    user::munmap(const_cast<long*>(memory), pages * 4096);
    print("selftest: anonymous memory, munmap faults, read-only data: ok\n");
    return 0;
}

int copy_on_write() {
    auto* shared = static_cast<volatile long*>(user::mmap(nullptr, 4096));
    shared[0] = 111;
    data_word = 0x1234;
    int status = in_child([&] {
        if (shared[0] != 111 || data_word != 0x1234)
            return 1;  // the child must see the parent's memory
        shared[0] = 222;
        data_word = 0x4321;
        return shared[0] == 222 && data_word == 0x4321 ? 0 : 2;
    });
    CHECK(30, status == 0, "child view after fork: status %d", status);
    CHECK(31, shared[0] == 111, "the child's write reached the parent's mmap page (%ld)", shared[0]);
    CHECK(32, data_word == 0x1234, "the child's write reached the parent's data (%#lx)", data_word);
    shared[0] = 333;  // the parent writes after the child is gone: its own copy
    CHECK(33, shared[0] == 333, "parent write after fork");
    // Two processes writing the same address each keep their own value.
    long child = user::fork();
    if (child == 0) {
        for (int i = 0; i < 10; ++i) {
            shared[0] = 1000 + i;
            user::yield();
            if (shared[0] != 1000 + i)
                user::exit(3);
        }
        user::exit(0);
    }
    for (int i = 0; i < 10; ++i) {
        shared[0] = 2000 + i;
        user::yield();
        CHECK(34, shared[0] == 2000 + i, "the other process's write is visible (%ld)", shared[0]);
    }
    CHECK(35, user::wait(child, &status) == child && status == 0, "child isolation status %d", status);
    user::munmap(const_cast<long*>(shared), 4096);
    print("selftest: copy-on-write fork and process isolation: ok\n");
    return 0;
}

int exit_codes() {
    long pids[3];
    for (int i = 0; i < 3; ++i) {
        pids[i] = user::fork();
        if (pids[i] == 0) {
            for (int y = 0; y < i; ++y)
                user::yield();
            user::exit(3 + 2 * i);
        }
        CHECK(40, pids[i] > 0, "fork returned %ld", pids[i]);
    }
    int seen = 0;
    for (int i = 0; i < 3; ++i) {
        int status = -1;
        long pid = user::wait(-1, &status);
        int which = pid == pids[0] ? 0 : pid == pids[1] ? 1 : pid == pids[2] ? 2 : -1;
        CHECK(41, which >= 0, "wait returned %ld", pid);
        CHECK(42, status == 3 + 2 * which, "child %d exited with %d", which, status);
        seen |= 1 << which;
    }
    CHECK(43, seen == 7, "children reaped %#x", seen);
    int status = 0;
    CHECK(44, user::wait(-1, &status) == -sys::echild, "wait without children");
    // A grandchild: fork in a child, the child waits for it.
    status = in_child([] {
        long g = user::fork();
        if (g == 0)
            user::exit(9);
        int s = -1;
        return user::wait(g, &s) == g && s == 9 ? 0 : 1;
    });
    CHECK(45, status == 0, "grandchild exit code via wait");
    print("selftest: exit codes through wait: ok\n");
    return 0;
}

// The kernel image is linked at VIRT_BASE (lib/elf_notes.S), mapped in
// the kernel L4 only.
int kernel_memory_unreachable() {
    int status = in_child([] { return static_cast<int>(*reinterpret_cast<volatile long*>(0xffffffff80000000)); });
    CHECK(50, status == sys::killed_by_fault, "user mode read kernel memory (child exit %d)", status);
    status = in_child([] {
        *reinterpret_cast<volatile long*>(0xffffffff80100000) = 0;
        return 0;
    });
    CHECK(51, status == sys::killed_by_fault, "user mode wrote kernel memory (child exit %d)", status);
    CHECK(52, user::write(1, reinterpret_cast<void*>(0xffffffff80000000), 8) == -sys::efault,
          "write() from a kernel address");
    print("selftest: kernel memory unreachable from user mode: ok\n");
    return 0;
}

// The kernel touching an untouched user page on the process's behalf
// (here wait's status) demand-pages it like a user access would.
int kernel_access_to_fresh_pages() {
    auto* page = static_cast<char*>(user::mmap(nullptr, 2 * 4096));
    CHECK(60, user::write(1, page, 0) == 0, "empty write");
    auto* status = reinterpret_cast<int*>(page + 4096 + 8);
    long child = user::fork();
    if (child == 0)
        user::exit(77);
    CHECK(62, user::wait(child, status) == child && *status == 77, "wait into an untouched page: %d", *status);
    user::munmap(page, 2 * 4096);
    print("selftest: kernel access to untouched user pages: ok\n");
    return 0;
}

constexpr long ms = 1'000'000;   // ns
constexpr long slice = 10 * ms;  // the kernel's time slice (kernel/scheduler.hpp)

// Children that spin without ever entering the kernel, one per vCPU, do
// not starve their parent: yielding to them, the parent gets a vCPU back
// once a child's time slice is over (the timer preempts it), three times
// over; kill() then ends them. On one vCPU that takes a whole slice; on
// several, a slice of another vCPU may end sooner.
int preemption() {
    constexpr long max_spinners = 8;
    const long cpus = user::cpus();
    const long count = cpus < max_spinners ? cpus : max_spinners;
    long spinners[max_spinners];
    for (long i = 0; i < count; ++i) {
        spinners[i] = user::fork();
        if (spinners[i] == 0)
            for (;;)
                asm volatile("" ::: "memory");
        CHECK(70, spinners[i] > 0, "fork returned %ld", spinners[i]);
    }
    long away[3];
    for (long& a : away) {
        const long start = user::clock_ns();
        CHECK(71, user::yield() == 0, "yield");
        a = user::clock_ns() - start;
        CHECK(72, cpus > 1 || a >= slice, "back %ld us after yielding to the spinner, before its 10 ms slice was over",
              a / 1000);
        CHECK(77, a < 100 * slice, "back only %ld us after yielding to %ld spinners", a / 1000, count);
    }
    for (long i = 0; i < count; ++i) {
        CHECK(73, user::kill(spinners[i]) == 0, "kill");
        int status = -1;
        CHECK(74, user::wait(spinners[i], &status) == spinners[i], "wait for the killed spinner");
        CHECK(75, status == sys::killed_by_signal, "the killed spinner exited with %d", status);
        CHECK(76, user::kill(spinners[i]) == -sys::esrch, "kill of a reaped process");
    }
    print("selftest: preemption: %ld spinning process%s gave a vCPU back after %ld, %ld, %ld us: ok\n", count,
          count == 1 ? "" : "es", away[0] / 1000, away[1] / 1000, away[2] / 1000);
    return 0;
}

// sleep(10) takes at least 10 ms: alone (the kernel blocks the vCPU),
// while another process spins (the wake-up preempts it), and other
// processes run meanwhile (a child that exits at once is gone, not
// killable any more, by the time its parent's sleep ends).
int sleeping() {
    long start = user::clock_ns();
    CHECK(80, user::sleep(10) == 0, "sleep");
    const long alone = user::clock_ns() - start;
    CHECK(81, alone >= 10 * ms, "sleep(10) returned after %ld us", alone / 1000);

    const long spinner = user::fork();
    if (spinner == 0)
        for (;;)
            asm volatile("" ::: "memory");
    CHECK(82, spinner > 0, "fork");
    start = user::clock_ns();
    CHECK(83, user::sleep(10) == 0, "sleep");
    const long busy = user::clock_ns() - start;
    int status = -1;
    CHECK(84, user::kill(spinner) == 0 && user::wait(spinner, &status) == spinner, "kill and wait for the spinner");
    CHECK(85, busy >= 10 * ms, "sleep(10) beside a spinning process returned after %ld us", busy / 1000);

    const long child = user::fork();
    if (child == 0)
        user::exit(0);
    CHECK(86, child > 0, "fork");
    CHECK(87, user::sleep(10) == 0, "sleep");
    CHECK(88, user::kill(child) == -sys::esrch, "a runnable child did not run while its parent slept");
    CHECK(89, user::wait(child, &status) == child && status == 0, "wait: status %d", status);
    print(
        "selftest: sleep(10) took %ld us alone (%ld us late), %ld us beside a spinning process (%ld us late);"
        " others run meanwhile: ok\n",
        alone / 1000, (alone - 10 * ms) / 1000, busy / 1000, (busy - 10 * ms) / 1000);
    return 0;
}

// Threads: the vCPU count and number, a local flush, a thread sharing the
// address space, on several vCPUs two threads running at once, and a page
// unmapped by one thread faulting in another that read it a moment before
// (on another vCPU only the kernel's remote flush takes it out of that
// vCPU's TLB).
volatile long thread_word = 0;
volatile long handshake[2];
volatile long unmapped = 0, reads_before_unmap = 0;
volatile long* shared_page = nullptr;

long set_word(long value) {
    thread_word = value;
    return 0;
}

// Both sides announce themselves and wait for the other with pure spins
// (no system call): only two vCPUs let both finish.
long meet(long) {
    __atomic_store_n(&handshake[1], 1, __ATOMIC_RELEASE);
    for (long spins = 0; !__atomic_load_n(&handshake[0], __ATOMIC_ACQUIRE); ++spins)
        if (spins > 2'000'000'000)
            return 1;
    return 0;
}

long read_until_unmapped(long) {
    const bool single = user::cpus() == 1;
    for (;;) {
        const bool done = __atomic_load_n(&unmapped, __ATOMIC_ACQUIRE) != 0;
        const long value = shared_page[0];  // after the munmap: must fault (the kernel kills us, 139)
        if (done)
            return 2;  // read an unmapped page
        if (value != 5)
            return 3;
        reads_before_unmap = reads_before_unmap + 1;
        if (single)
            user::yield();
    }
}

int threads() {
    const long cpus = user::cpus(), cpu = user::cpu();
    CHECK(100, cpus >= 1 && cpus <= 8, "cpus() returned %ld", cpus);
    CHECK(101, cpu >= 0 && cpu < cpus, "cpu() returned %ld of %ld", cpu, cpus);
    CHECK(102, user::flush_tlb(sys::flush_local) == 1, "flush_tlb(flush_local)");
    CHECK(103, user::syscall(sys::flush_tlb, 7) == -sys::einval, "flush_tlb with a bad scope");
    CHECK(104, user::syscall(sys::thread, 0, 0, 0) == -sys::efault, "a thread without code or stack");
    long thread = user::start_thread(set_word, 77);
    int status = -1;
    CHECK(105, thread > 0 && user::wait(thread, &status) == thread && status == 0, "thread: exit %d", status);
    CHECK(106, thread_word == 77, "the thread's write did not reach its creator (%ld)", thread_word);
    if (cpus > 1) {
        thread = user::start_thread(meet, 0);
        CHECK(107, thread > 0, "start_thread");
        while (!__atomic_load_n(&handshake[1], __ATOMIC_ACQUIRE))
            asm volatile("pause" ::: "memory");
        __atomic_store_n(&handshake[0], 1, __ATOMIC_RELEASE);
        CHECK(108, user::wait(thread, &status) == thread && status == 0, "two threads at once: exit %d", status);
    }
    shared_page = static_cast<volatile long*>(user::mmap(nullptr, 4096));
    CHECK(109, !user::failed(const_cast<long*>(shared_page)), "mmap");
    shared_page[0] = 5;
    thread = user::start_thread(read_until_unmapped, 0);
    CHECK(110, thread > 0, "start_thread");
    while (reads_before_unmap < 100)
        user::yield();
    CHECK(111, user::munmap(const_cast<long*>(shared_page), 4096) == 0, "munmap");
    __atomic_store_n(&unmapped, 1, __ATOMIC_RELEASE);
    CHECK(112, user::wait(thread, &status) == thread, "wait for the reader");
    CHECK(113, status == sys::killed_by_fault,
          "a thread read a page another thread had unmapped (exit %d: 2 = it read it, 3 = wrong value)", status);
    print("selftest: threads (%ld vCPUs): shared memory%s, munmap reaches the other thread's TLB: ok\n", cpus,
          cpus > 1 ? ", two running at once" : "");
    return 0;
}

// read() checks what it can without blocking (the input is the shell's).
int read_errors() {
    char buffer[8];
    CHECK(90, user::read(3, buffer, sizeof buffer) == -sys::ebadf, "read from fd 3");
    CHECK(91, user::read(0, reinterpret_cast<void*>(0x1000), 8) == -sys::efault, "read into an unmapped buffer");
    CHECK(92, user::read(0, buffer, 0) == 0, "read of 0 bytes");
    CHECK(93, user::sleep(2'000'000'000) == -sys::einval, "sleep of 23 days");
    CHECK(94, user::spawn("no-such-program") == -sys::enoent, "spawn of an unknown program");
    long child = user::spawn("hello", 5);
    int status = -1;
    CHECK(95, child > 0 && user::wait(child, &status) == child && status == 42, "spawn hello: exit %d", status);
    print("selftest: read, sleep and spawn errors, spawn and wait: ok\n");
    return 0;
}

}  // namespace

long main(long, long) {
    int (*const checks[])() = {basics,
                               anonymous_memory,
                               copy_on_write,
                               exit_codes,
                               kernel_memory_unreachable,
                               kernel_access_to_fresh_pages,
                               preemption,
                               sleeping,
                               read_errors,
                               threads};
    for (auto check : checks)
        if (int failed = check(); failed != 0)
            return failed;
    return 0;
}
