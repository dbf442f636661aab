// The few pieces of x86 instruction decoding the emulators share.
#pragma once

#include <stdint.h>

namespace monitor {

// Length of a ModRM byte with its SIB and displacement, starting at
// `modrm`; `memory` tells whether it names memory (mod != 3). RIP-relative
// and SIB-without-base forms count their disp32.
struct ModRm {
    unsigned length;
    unsigned reg;  // the reg field (without REX.R)
    bool memory;
};

inline ModRm decode_modrm(const uint8_t* modrm) {
    const unsigned mod = modrm[0] >> 6, rm = modrm[0] & 7;
    ModRm m{1, (modrm[0] >> 3) & 7u, mod != 3};
    if (!m.memory)
        return m;
    if (rm == 4) {
        m.length += 1;  // SIB
        if (mod == 0 && (modrm[1] & 7) == 5)
            m.length += 4;  // no base: disp32
    }
    if (mod == 1)
        m.length += 1;
    else if (mod == 2 || (mod == 0 && rm == 5))
        m.length += 4;
    return m;
}

}  // namespace monitor
