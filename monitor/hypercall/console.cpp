// console_io (CONSOLEIO_write) and the PV console ring both ways: output
// ends in the host's console buffer, input comes from the host's channel.
// A guest that notifies the console event channel may spin on
// SCHEDOP_yield until the ring is drained, so the ring is drained right on
// the notification.
#include <stdint.h>
#include <xen/event_channel.h>
#include <xen/io/console.h>
#include <xen/xen.h>
#include "monitor/lib/xen_errno.hpp"

#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/events/evtchn.hpp"
#include "monitor/hypercall/console.hpp"
#include "monitor/hypercall/guest_ptr.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/log.hpp"
#include "monitor/state.hpp"

namespace monitor {

namespace {

constexpr uint64_t kMaxWrite = 1u << 20;

void emit(const char* bytes, uint64_t n) {
    auto& ch = channel();
    while (n) {
        const uint64_t room = abi::kConsoleBufSize - ch.console_len;
        const uint64_t take = n < room ? n : room;
        __builtin_memcpy(ch.console + ch.console_len, bytes, take);
        ch.console_len += static_cast<uint32_t>(take);
        bytes += take;
        n -= take;
        if (ch.console_len == abi::kConsoleBufSize)
            cpu::outl(layout::port::kConsole, 0);
    }
    if (ch.console_len)
        cpu::outl(layout::port::kConsole, 0);
}

xencons_interface& ring() { return *frame_ptr<xencons_interface>(domain().boot.domain.console_mfn); }

void drain_console_ring() {
    xencons_interface& r = ring();
    XENCONS_RING_IDX cons = r.out_cons;
    const XENCONS_RING_IDX prod = __atomic_load_n(&r.out_prod, __ATOMIC_ACQUIRE);
    char buf[256];
    while (cons != prod) {
        unsigned n = 0;
        while (cons != prod && n < sizeof(buf))
            buf[n++] = r.out[MASK_XENCONS_IDX(cons++, r.out)];
        emit(buf, n);
    }
    __atomic_store_n(&r.out_cons, cons, __ATOMIC_RELEASE);
}

// Console input the host left in vCPU 0's channel, into the ring's input
// half as far as it has room; the rest waits for the guest to read some.
bool fill_console_input() {
    abi::HostChannel& ch = *vcpu(0).channel;
    xencons_interface& r = ring();
    uint32_t cons = ch.in_cons;
    const uint32_t avail_end = __atomic_load_n(&ch.in_prod, __ATOMIC_ACQUIRE);
    XENCONS_RING_IDX prod = r.in_prod;
    const XENCONS_RING_IDX guest_cons = __atomic_load_n(&r.in_cons, __ATOMIC_ACQUIRE);
    const XENCONS_RING_IDX first = prod;
    while (cons != avail_end && prod - guest_cons < sizeof(r.in))
        r.in[MASK_XENCONS_IDX(prod++, r.in)] = ch.console_in[cons++ % abi::kConsoleInSize];
    __atomic_store_n(&r.in_prod, prod, __ATOMIC_RELEASE);
    __atomic_store_n(&ch.in_cons, cons, __ATOMIC_RELEASE);
    current().counters->console_input_bytes += prod - first;
    return prod != first;
}

}  // namespace

void console_notified() {
    drain_console_ring();
    if (fill_console_input())
        events::raise_console();
}

void console_input_arrived() {
    if (fill_console_input())
        events::raise_console();
}

int64_t hc_console_io(GuestRegs&, HypercallArgs a) {
    switch (a.a1()) {
    case CONSOLEIO_write: {
        if (a.a2() > kMaxWrite)
            return -EINVAL;
        GuestPtr<char> buf(a.a3());
        char chunk[256];
        for (uint64_t done = 0; done < a.a2();) {
            const uint64_t n = a.a2() - done < sizeof(chunk) ? a.a2() - done : sizeof(chunk);
            if (!GuestPtr<char>(buf.address() + done).read_bytes(chunk, n))
                return -EFAULT;
            emit(chunk, n);
            done += n;
        }
        return static_cast<int64_t>(a.a2());
    }
    case CONSOLEIO_read: return 0;  // no console input yet
    default: return unknown_subop("console_io", a.a1());
    }
}

}  // namespace monitor
