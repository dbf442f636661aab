#include "monitor/state.hpp"

#include "monitor/arch/x86_64/regs.hpp"

namespace monitor {

namespace {
Domain the_domain;
Vcpu vcpus[layout::kMaxVcpus];
}  // namespace

Domain& domain() { return the_domain; }
Vcpu& vcpu(uint32_t id) { return vcpus[id]; }
Vcpu& current() { return *this_cpu()->vcpu; }

}  // namespace monitor
