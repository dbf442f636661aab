#include "kernel_lock.hpp"

#include "../lib/hypercall.hpp"
#include "../lib/panic.hpp"
#include "cpus.hpp"

namespace kernel_lock {
namespace {

constexpr int free_owner = -1;
constexpr unsigned spins_before_yield = 64;

volatile int owner = free_owner;
uint64_t contended_count = 0;  // written by the holder only

bool try_take(int self) {
    int expected = free_owner;
    return __atomic_compare_exchange_n(&owner, &expected, self, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

}  // namespace

void acquire() {
    const int self = static_cast<int>(cpus::self());
    if (__atomic_load_n(&owner, __ATOMIC_RELAXED) == self)
        panic("vCPU %d takes the kernel lock it holds", self);
    if (try_take(self))
        return;
    for (unsigned tries = 1;; ++tries) {
        if (__atomic_load_n(&owner, __ATOMIC_RELAXED) == free_owner && try_take(self))
            break;
        if (tries < spins_before_yield)
            asm volatile("pause" ::: "memory");
        else
            hv::sched_op(SCHEDOP_yield, nullptr);
    }
    ++contended_count;
}

void release() {
    const int self = static_cast<int>(cpus::self());
    if (__atomic_load_n(&owner, __ATOMIC_RELAXED) != self)
        panic("vCPU %d releases the kernel lock held by %d", self, owner);
    __atomic_store_n(&owner, free_owner, __ATOMIC_RELEASE);
}

bool held_here() { return __atomic_load_n(&owner, __ATOMIC_RELAXED) == static_cast<int>(cpus::self()); }

uint64_t contended() { return contended_count; }

}  // namespace kernel_lock
