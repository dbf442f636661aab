// The domain lock: the one lock that makes the PV MMU (frame types and
// counts, page-table validation, the L4 summaries), descriptor tables and
// the event-channel port table safe on several vCPUs, as a big lock
// rather than Xen's per-page compare-exchange. Taken by every hypercall
// that touches shared domain state (hypercall/dispatch.cpp lists the ones
// that do not) and by the writable-page-table emulation. The holder may
// wait for other vCPUs (remote flushes); a vCPU waiting for the lock
// serves their requests meanwhile, so neither waits for the other.
#pragma once

#include <stdint.h>

#include "monitor/state.hpp"

namespace monitor::smp {

void lock_domain(Vcpu& v);
void unlock_domain(Vcpu& v);
[[nodiscard]] bool holds_domain_lock(const Vcpu& v);

// Holds the lock for its scope; nested in a scope that holds it already
// (a crash or shutdown inside a locked hypercall), it does nothing.
class DomainLock {
public:
    explicit DomainLock(Vcpu& v) : v_(v), took_(!holds_domain_lock(v)) {
        if (took_)
            lock_domain(v_);
    }
    ~DomainLock() {
        if (took_)
            unlock_domain(v_);
    }
    DomainLock(const DomainLock&) = delete;
    DomainLock& operator=(const DomainLock&) = delete;

private:
    Vcpu& v_;
    bool took_;
};

}  // namespace monitor::smp
