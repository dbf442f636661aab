// The smallest user program: greets through the write system call and
// exits with a code its parent (the kernel) checks.
#include "ulib.hpp"

long main(long argument0, long) {
    print("hello from user process %ld (argument %ld)\n", user::getpid(), argument0);
    return 42;
}
