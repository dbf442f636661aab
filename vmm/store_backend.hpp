// The xenstore daemon of pvvmm's one guest: the store and the server of its
// ring, driven by the guest's notifications only. The monitor turns an
// EVTCHNOP_send on the store port into an OUT to port::kXenstore; the vCPU
// thread that takes the exit serves the ring there and then, and tells the
// monitor whether to raise the store event (HostChannel::store_output).
// Nothing polls the ring: a guest that never notifies is never served, as
// with xenstored.
#pragma once

#include <cstdint>
#include <mutex>
#include <string_view>

#include "vmm/xenstore/server.hpp"
#include "vmm/xenstore/store.hpp"

namespace pvvmm {

class StoreBackend {
public:
    // `ring`: the guest's xenstore page (start_info.store_mfn) in host memory.
    StoreBackend(xenstore_domain_interface* ring, uint32_t domid, std::string_view name, uint64_t memory_kib,
                 unsigned vcpus);
    StoreBackend(const StoreBackend&) = delete;
    StoreBackend& operator=(const StoreBackend&) = delete;

    // The guest notified the store port. True when the guest must be
    // notified back: requests were consumed, replies or watch events
    // written, or output still waits for room in its ring.
    [[nodiscard]] bool notified();

private:
    std::mutex lock_;  // vCPU threads may take store exits at once
    xenstore_domain_interface* ring_;
    xenstore::Store store_;
    xenstore::Server server_;
};

}  // namespace pvvmm
