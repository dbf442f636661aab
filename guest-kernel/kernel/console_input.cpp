#include "console_input.hpp"

#include "../lib/console.hpp"
#include "../lib/events.hpp"
#include "../lib/string.hpp"
#include "../user/syscall_numbers.hpp"
#include "process.hpp"
#include "scheduler.hpp"

namespace console_input {
namespace {

bool ready = false;
uint64_t event_count = 0;

// From the upcall: whoever waits for input tries again.
void on_console_event(evtchn_port_t, void*) {
    ++event_count;
    for (unsigned i = 0; i < proc::max_processes; ++i) {
        proc::Process* p = proc::slot(i);
        if (p->state == proc::State::reading)
            sched::wake(p);
    }
}

}  // namespace

bool init() {
    const evtchn_port_t port = console::port();
    if (port == 0)
        return false;
    events::set_handler(port, on_console_event);
    ready = true;
    return true;
}

long read(uint64_t user_buffer, size_t length) {
    if (!ready)
        return -sys::eio;
    if (length == 0)
        return 0;
    proc::Process* self = proc::current();
    for (;;) {
        // Through a kernel buffer: the ring's indexes are not left half
        // updated by a page fault on the user's buffer.
        char buffer[256];
        const long n = console::read(buffer, length < sizeof buffer ? length : sizeof buffer);
        if (n < 0)
            return -sys::eio;
        if (n > 0) {
            memcpy(reinterpret_cast<void*>(user_buffer), buffer, static_cast<size_t>(n));
            return n;
        }
        // Events are masked in the kernel: input arriving from here on
        // leaves the port pending, and its handler runs (waking us) once
        // the scheduler idles or some process returns to user mode.
        self->state = proc::State::reading;
        sched::schedule();
    }
}

uint64_t events() { return event_count; }

}  // namespace console_input
