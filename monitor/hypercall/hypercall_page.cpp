// The hypercall page (ELF note HYPERCALL_PAGE): 32-byte slots of
// `push %rcx; push %r11; mov $nr,%eax; syscall; pop %r11; pop %rcx; ret`;
// slot 23 (iret) pushes the rest of the iret context and does not return.
#include <stdint.h>
#include <xen/xen.h>

#include "monitor/hypercall/hypercall.hpp"
#include "monitor/state.hpp"

namespace monitor {

void write_hypercall_page(uint64_t mfn) {
    auto* page = frame_ptr<uint8_t>(mfn);
    for (unsigned nr = 0; nr < 4096 / 32; ++nr) {
        uint8_t* s = page + nr * 32;
        unsigned n = 0;
        auto b = [&](uint8_t x) { s[n++] = x; };
        b(0x51);           // push %rcx
        b(0x41), b(0x53);  // push %r11
        if (nr == __HYPERVISOR_iret)
            b(0x50);  // push %rax
        b(0xb8);      // mov $nr, %eax
        b(static_cast<uint8_t>(nr)), b(0), b(0), b(0);
        b(0x0f), b(0x05);  // syscall
        if (nr == __HYPERVISOR_iret) {
            b(0x0f), b(0x0b);  // ud2: iret never returns here
        } else {
            b(0x41), b(0x5b);  // pop %r11
            b(0x59);           // pop %rcx
            b(0xc3);           // ret
        }
        while (n < 32)
            b(0xcc);
    }
}

}  // namespace monitor
