// console_io (CONSOLEIO_write) and the PV console ring: both end in the
// host's console buffer. A guest that notifies the console event channel
// may spin on SCHEDOP_yield until the ring is drained, so the ring is
// drained right on the notification.
#include <stdint.h>
#include <xen/event_channel.h>
#include <xen/io/console.h>
#include <xen/xen.h>
#include "monitor/lib/xen_errno.hpp"

#include "monitor/arch/x86_64/cpu.hpp"
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

void drain_console_ring() {
    auto* ring = frame_ptr<xencons_interface>(domain().boot.domain.console_mfn);
    XENCONS_RING_IDX cons = ring->out_cons;
    const XENCONS_RING_IDX prod = ring->out_prod;
    asm volatile("" ::: "memory");
    char buf[256];
    while (cons != prod) {
        unsigned n = 0;
        while (cons != prod && n < sizeof(buf))
            buf[n++] = ring->out[MASK_XENCONS_IDX(cons++, ring->out)];
        emit(buf, n);
    }
    asm volatile("" ::: "memory");
    ring->out_cons = cons;
}

}  // namespace

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

int64_t hc_event_channel_op(GuestRegs&, HypercallArgs a) {
    switch (a.a1()) {
    case EVTCHNOP_send: {
        evtchn_send_t send;
        if (!GuestPtr<evtchn_send_t>(a.a2()).read(send))
            return -EFAULT;
        if (send.port == domain().boot.domain.console_evtchn) {
            drain_console_ring();
            return 0;
        }
        if (send.port == domain().boot.domain.store_evtchn)
            return 0;  // no xenstore backend: the notification is dropped
        return -EINVAL;
    }
    default: return unknown_subop("event_channel_op", a.a1());
    }
}

}  // namespace monitor
