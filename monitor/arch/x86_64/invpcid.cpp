#include "monitor/arch/x86_64/cpu.hpp"

namespace monitor::cpu {

[[gnu::noinline]] void invpcid(uint64_t type, uint64_t pcid, uint64_t va) {
    struct {
        uint64_t pcid, va;
    } desc{pcid, va};
    asm volatile("invpcid %0, %1" ::"m"(desc), "r"(type) : "memory");
}

}  // namespace monitor::cpu
