// The PV console's backend in the monitor (hypercall/console.cpp).
#pragma once

namespace monitor {

// The guest notified the console port: drain its output, give it input.
void console_notified();
// The host posted console input (vCPU 0's channel): into the ring, event.
void console_input_arrived();

}  // namespace monitor
