// Fatal errors inside a guest: report and end the domain.
#pragma once

// Called with the formatted reason; must not return. The default prints
// "panic: <reason>" and crashes the domain; a test guest installs one that
// prints its verdict line.
using PanicHandler = void (*)(const char* reason);
void set_panic_handler(PanicHandler handler);

[[noreturn]] __attribute__((format(printf, 1, 2))) void panic(const char* format, ...);
