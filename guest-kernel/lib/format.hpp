// A small printf-style formatter: %d %i %u %x %X %p %s %c %%, the flags
// '-', '0', '#', a width and a precision ('*' allowed), and the length
// modifiers hh, h, l, ll, z. Output goes to a sink, so the console and
// fixed buffers share it.
#pragma once

#include <stdarg.h>
#include <stddef.h>

struct FormatSink {
    void (*write)(void* context, const char* text, size_t length);
    void* context;
};

void vformat(const FormatSink& sink, const char* format, va_list arguments);

// snprintf semantics, always NUL-terminated when size > 0; returns the
// length written (excluding the NUL).
size_t vformat_to(char* buffer, size_t size, const char* format, va_list arguments);
__attribute__((format(printf, 3, 4))) size_t format_to(char* buffer, size_t size, const char* format, ...);
