// The memory/string functions a freestanding compiler may call. Plain loops:
// ring-0 `rep` string instructions cost the same per element here and the
// compiler must not turn these bodies back into calls to themselves.
#include <stddef.h>
#include <stdint.h>

extern "C" {

[[gnu::optimize("no-tree-loop-distribute-patterns")]] void* memcpy(void* dst, const void* src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    while (n--)
        *d++ = *s++;
    return dst;
}

[[gnu::optimize("no-tree-loop-distribute-patterns")]] void* memmove(void* dst, const void* src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    if (d < s) {
        while (n--)
            *d++ = *s++;
    } else {
        while (n--)
            d[n] = s[n];
    }
    return dst;
}

[[gnu::optimize("no-tree-loop-distribute-patterns")]] void* memset(void* dst, int c, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    while (n--)
        *d++ = static_cast<unsigned char>(c);
    return dst;
}

int memcmp(const void* a, const void* b, size_t n) {
    const auto* x = static_cast<const unsigned char*>(a);
    const auto* y = static_cast<const unsigned char*>(b);
    for (; n; --n, ++x, ++y)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char* s) {
    size_t n = 0;
    while (s[n])
        ++n;
    return n;
}
}
