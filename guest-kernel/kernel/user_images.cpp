#include "user_images.hpp"

#include "../lib/string.hpp"

// Symbols of the embedded ELF files (scripts/embed_blob.py, see meson.build).
#define USER_IMAGE(name)                                \
    extern "C" const uint8_t user_##name##_elf_start[]; \
    extern "C" const uint8_t user_##name##_elf_end[];
USER_IMAGE(hello)
USER_IMAGE(bench)
USER_IMAGE(selftest)
USER_IMAGE(shell)
#undef USER_IMAGE

namespace images {
namespace {

struct Embedded {
    const char* name;
    const uint8_t* start;
    const uint8_t* end;
};

const Embedded embedded[] = {
    {"hello", user_hello_elf_start, user_hello_elf_end},
    {"bench", user_bench_elf_start, user_bench_elf_end},
    {"selftest", user_selftest_elf_start, user_selftest_elf_end},
    {"shell", user_shell_elf_start, user_shell_elf_end},
};

}  // namespace

bool find(const char* name, UserImage& image) {
    for (const Embedded& e : embedded)
        if (strcmp(e.name, name) == 0) {
            image = UserImage{e.name, e.start, static_cast<size_t>(e.end - e.start)};
            return true;
        }
    return false;
}

const char* name(unsigned index) {
    return index < sizeof embedded / sizeof embedded[0] ? embedded[index].name : nullptr;
}

}  // namespace images
