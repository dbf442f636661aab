#include "monitor/state.hpp"

namespace monitor {

// constinit: the monitor runs no constructors, so a member initialiser that needs
// one must not compile.
constinit Domain the_domain;
constinit Vcpu the_vcpus[layout::kMaxVcpus];

}  // namespace monitor
