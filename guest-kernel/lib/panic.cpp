#include "panic.hpp"

#include <stdarg.h>

#include "console.hpp"
#include "format.hpp"
#include "shutdown.hpp"

namespace {

PanicHandler installed_handler = nullptr;
bool panicking = false;

}  // namespace

void set_panic_handler(PanicHandler handler) { installed_handler = handler; }

void panic(const char* format, ...) {
    char reason[256];
    va_list arguments;
    va_start(arguments, format);
    vformat_to(reason, sizeof reason, format, arguments);
    va_end(arguments);

    console::end_line();
    // A fault inside the handler must not recurse into it.
    if (installed_handler != nullptr && !panicking) {
        panicking = true;
        installed_handler(reason);
    }
    print("panic: %s\n", reason);
    crash();
}
