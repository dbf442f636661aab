#include "monitor/mm/address_space.hpp"

#include "monitor/xpti/xpti.hpp"

namespace monitor {

// The engine skips the CR3 write when the root did not change and, with
// XPTI, picks the restricted root the next exit loads.
void load_guest_cr3(Vcpu& v) { xpti::switch_root(v); }

}  // namespace monitor
