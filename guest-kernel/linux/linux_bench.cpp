// A small static Linux program for the initramfs of scripts/linux-guest:
// the system-call, process and pipe round trips that XPTI makes dearer,
// measured inside Debian's kernel under pvvmm.
//
// usage: pvvmm-linux-bench getppid|fork|pipe COUNT
//        pvvmm-linux-bench realtime
// Prints one line: "linux-bench: <what> <COUNT> ops, <ns>/op, <cycles>/op"
// (cycles from the TSC the guest reads), or the wall clock in seconds with
// nanoseconds (busybox's date has no %N; Xen's wallclock makes it the
// host's). Exit 1 on a failing system call.
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace {

[[noreturn]] void die(const char* what) {
    std::perror(what);
    std::exit(1);
}

void getppid_loop(long n) {
    for (long i = 0; i < n; ++i)
        if (syscall(SYS_getppid) < 0)  // not the libc wrapper: no caching
            die("getppid");
}

void fork_loop(long n) {
    for (long i = 0; i < n; ++i) {
        const pid_t child = fork();
        if (child < 0)
            die("fork");
        if (child == 0)
            _exit(0);
        int status = 0;
        if (waitpid(child, &status, 0) != child)
            die("waitpid");
    }
}

// One byte there and back between two processes: two context switches
// and four system calls per round trip.
void pipe_loop(long n) {
    int there[2], back[2];
    if (pipe(there) != 0 || pipe(back) != 0)
        die("pipe");
    const pid_t child = fork();
    if (child < 0)
        die("fork");
    char byte = 'x';
    if (child == 0) {
        for (long i = 0; i < n; ++i)
            if (read(there[0], &byte, 1) != 1 || write(back[1], &byte, 1) != 1)
                _exit(1);
        _exit(0);
    }
    for (long i = 0; i < n; ++i)
        if (write(there[1], &byte, 1) != 1 || read(back[0], &byte, 1) != 1)
            die("pipe round trip");
    int status = 0;
    if (waitpid(child, &status, 0) != child || status != 0)
        die("pipe child");
}

double seconds_now() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 2 && std::strcmp(argv[1], "realtime") == 0) {
        timespec t{};
        clock_gettime(CLOCK_REALTIME, &t);
        std::printf("%lld.%09ld\n", static_cast<long long>(t.tv_sec), t.tv_nsec);
        return 0;
    }
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s getppid|fork|pipe COUNT\n", argv[0]);
        return 2;
    }
    const char* what = argv[1];
    const long n = std::strtol(argv[2], nullptr, 10);
    void (*loop)(long) = std::strcmp(what, "getppid") == 0 ? getppid_loop
                         : std::strcmp(what, "fork") == 0  ? fork_loop
                         : std::strcmp(what, "pipe") == 0  ? pipe_loop
                                                           : nullptr;
    if (loop == nullptr || n <= 0) {
        std::fprintf(stderr, "usage: %s getppid|fork|pipe COUNT\n", argv[0]);
        return 2;
    }
    const double t0 = seconds_now();
    const unsigned long long c0 = __rdtsc();
    loop(n);
    const unsigned long long c1 = __rdtsc();
    const double t1 = seconds_now();
    std::printf("linux-bench: %s %ld ops, %.0f ns/op, %.0f cycles/op\n", what, n,
                (t1 - t0) * 1e9 / static_cast<double>(n), static_cast<double>(c1 - c0) / static_cast<double>(n));
    return 0;
}
