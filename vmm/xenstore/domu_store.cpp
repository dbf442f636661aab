#include "vmm/xenstore/domu_store.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace pvvmm::xenstore {

namespace {

void must(Status s, std::string_view what) {
    // Fixed, valid paths in a fresh store: only a pvvmm bug can fail here.
    if (!s)
        throw std::logic_error(fmt::format("xenstore: setting up {}: {}", what, s.error()));
}

}  // namespace

Store domu_store(uint32_t domid, std::string_view name, uint64_t memory_kib, unsigned vcpus) {
    Store store(domid);
    const std::string& home = store.domain_path();
    must(store.write(home + "/name", name), "name");
    must(store.write(home + "/domid", std::to_string(domid)), "domid");
    must(store.write(home + "/memory/target", std::to_string(memory_kib)), "memory/target");
    must(store.write(home + "/memory/static-max", std::to_string(memory_kib)), "memory/static-max");
    for (unsigned cpu = 0; cpu < vcpus; ++cpu)
        must(store.write(fmt::format("{}/cpu/{}/availability", home, cpu), "online"), "cpu");
    must(store.mkdir(home + "/control"), "control");
    must(store.mkdir(home + "/device"), "device");
    return store;
}

}  // namespace pvvmm::xenstore
