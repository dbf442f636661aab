#include "vmm/store_backend.hpp"

#include "vmm/xenstore/domu_store.hpp"

namespace pvvmm {

StoreBackend::StoreBackend(xenstore_domain_interface* ring, uint32_t domid, std::string_view name, uint64_t memory_kib,
                           unsigned vcpus)
    : ring_(ring), store_(xenstore::domu_store(domid, name, memory_kib, vcpus)), server_(store_) {}

bool StoreBackend::notified() {
    std::lock_guard g(lock_);
    if (server_.broken())
        return false;
    const bool changed = server_.service(*ring_);
    return changed || server_.has_pending_output();
}

}  // namespace pvvmm
