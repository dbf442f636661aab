// The benchmark program's modes (its first argument; the second is N).
#pragma once

namespace bench {

enum Mode : long {
    syscall = 1,    // N getpid calls
    pagefault = 2,  // N demand-paging faults on a fresh mmap
    ctxsw = 3,      // N yields each in two processes
    mmu = 4,        // N cycles of mmap at a new 512 GiB slot, touch, munmap
    fork = 5,       // N fork + exit + wait
    mix = 6,        // N "compile jobs": fork, mmap, fill, sum, yield, exit
    threads = 7,    // N rounds: one thread maps a page in a fresh L4 slot, the others (other vCPUs) read it, unmap
    remote = 8,     // N remote flushes (a thread spinning on another vCPU) against N local ones
};

}  // namespace bench
