#include "console.hpp"

#include "format.hpp"
#include "hypercall.hpp"
#include "physmap.hpp"
#include "string.hpp"

namespace console {
namespace {

const start_info* boot = nullptr;
volatile xencons_interface* ring = nullptr;
evtchn_port_t ring_port = 0;
bool use_ring = false;

char line[256];
size_t line_length = 0;

void notify_backend() {
    evtchn_send send{ring_port};
    hv::event_channel_op(EVTCHNOP_send, &send);
}

// Producer side of the PV console ring (xen/io/console.h). When the ring is
// full, notify and yield until the backend has consumed some of it.
void write_ring(const char* text, size_t length) {
    constexpr XENCONS_RING_IDX capacity = sizeof ring->out;
    while (length > 0) {
        XENCONS_RING_IDX consumer = ring->out_cons;
        XENCONS_RING_IDX producer = ring->out_prod;
        asm volatile("" ::: "memory");  // read the indexes before the data
        if (producer - consumer >= capacity) {
            notify_backend();
            hv::sched_op(SCHEDOP_yield, nullptr);
            continue;
        }
        while (length > 0 && producer - consumer < capacity) {
            ring->out[MASK_XENCONS_IDX(producer, ring->out)] = *text++;
            ++producer;
            --length;
        }
        asm volatile("" ::: "memory");  // data before the index (x86 keeps store order)
        ring->out_prod = producer;
    }
    notify_backend();
}

// Looked up only when needed: it reads the M2P, which the simplest guests
// (and a hypervisor under bring-up) should not depend on.
bool find_ring() {
    if (boot == nullptr)
        return false;
    uint64_t mfn = boot->console.domU.mfn;
    uint64_t pfn = physmap::mfn_to_pfn(mfn);
    // Only a console page inside our initial mapping can be used.
    if (pfn >= physmap::nr_pages() || physmap::pfn_to_mfn(pfn) != mfn)
        return false;
    ring = reinterpret_cast<volatile xencons_interface*>(physmap::pfn_to_virt(pfn));
    ring_port = boot->console.domU.evtchn;
    return true;
}

void write_line(const char* text, size_t length) {
    if (!use_ring) {
        long rc = hv::console_io(CONSOLEIO_write, static_cast<unsigned>(length), text);
        if (rc >= 0 || !find_ring())
            return;
        use_ring = true;
    }
    write_ring(text, length);
}

void append(void*, const char* text, size_t length) { write(text, length); }

}  // namespace

void init(const start_info& info) { boot = &info; }

void write(const char* text, size_t length) {
    for (size_t i = 0; i < length; ++i) {
        line[line_length++] = text[i];
        if (text[i] == '\n' || line_length == sizeof line)
            flush();
    }
}

void flush() {
    if (line_length == 0)
        return;
    write_line(line, line_length);
    line_length = 0;
}

void end_line() {
    if (line_length != 0)
        write("\n", 1);
}

long read(char* buffer, size_t max) {
    if (ring == nullptr && !find_ring())
        return -1;
    XENCONS_RING_IDX consumer = ring->in_cons;
    const XENCONS_RING_IDX producer = ring->in_prod;
    asm volatile("" ::: "memory");  // the index before the data
    size_t n = 0;
    while (consumer != producer && n < max)
        buffer[n++] = ring->in[MASK_XENCONS_IDX(consumer++, ring->in)];
    asm volatile("" ::: "memory");
    ring->in_cons = consumer;
    if (n)
        notify_backend();
    return static_cast<long>(n);
}

evtchn_port_t port() { return (ring != nullptr || find_ring()) ? ring_port : 0; }

bool input_waiting() { return ring != nullptr && ring->in_cons != ring->in_prod; }

}  // namespace console

void print(const char* format, ...) {
    va_list arguments;
    va_start(arguments, format);
    vformat(FormatSink{console::append, nullptr}, format, arguments);
    va_end(arguments);
}
