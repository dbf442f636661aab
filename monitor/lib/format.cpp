#include "monitor/lib/format.hpp"

#include <stdint.h>

namespace monitor {

namespace {
struct Out {
    char* buf;
    size_t cap;
    size_t len = 0;
    void put(char c) {
        if (len + 1 < cap)
            buf[len] = c;
        ++len;
    }
};

void put_number(Out& o, uint64_t v, unsigned base, int width, char pad, bool negative) {
    char tmp[24];
    int n = 0;
    do {
        const unsigned d = static_cast<unsigned>(v % base);
        tmp[n++] = static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    if (negative)
        tmp[n++] = '-';
    for (int i = n; i < width; ++i)
        o.put(pad);
    while (n)
        o.put(tmp[--n]);
}
}  // namespace

size_t vformat(char* buf, size_t cap, const char* fmt, va_list ap) {
    Out o{buf, cap};
    for (const char* p = fmt; *p; ++p) {
        if (*p != '%') {
            o.put(*p);
            continue;
        }
        ++p;
        bool alternate = false;
        if (*p == '#') {
            alternate = true;
            ++p;
        }
        char pad = ' ';
        if (*p == '0') {
            pad = '0';
            ++p;
        }
        int width = 0;
        while (*p >= '0' && *p <= '9')
            width = width * 10 + (*p++ - '0');
        int longs = 0;
        while (*p == 'l') {
            ++longs;
            ++p;
        }
        switch (*p) {
        case 's': {
            const char* s = va_arg(ap, const char*);
            for (s = s ? s : "(null)"; *s; ++s)
                o.put(*s);
            break;
        }
        case 'c': o.put(static_cast<char>(va_arg(ap, int))); break;
        case 'd':
        case 'i': {
            const int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
            put_number(o, v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v), 10, width, pad, v < 0);
            break;
        }
        case 'u': put_number(o, longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad, false); break;
        case 'x':
            if (alternate) {
                o.put('0');
                o.put('x');
            }
            put_number(o, longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad, false);
            break;
        case 'p':
            o.put('0');
            o.put('x');
            put_number(o, reinterpret_cast<uint64_t>(va_arg(ap, void*)), 16, 0, ' ', false);
            break;
        case '%': o.put('%'); break;
        default:
            o.put('%');
            o.put(*p);
            break;
        }
    }
    if (cap)
        buf[o.len < cap ? o.len : cap - 1] = '\0';
    return o.len < cap ? o.len : cap - 1;
}

size_t format(char* buf, size_t cap, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const size_t n = vformat(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

}  // namespace monitor
