#include "monitor/state.hpp"

namespace monitor {

Domain the_domain;
Vcpu the_vcpus[layout::kMaxVcpus];

}  // namespace monitor
