// Guest console output.
//
// Text goes out through HYPERVISOR_console_io(CONSOLEIO_write), Xen's
// debug console, one line per hypercall. A release Xen refuses that for
// unprivileged domains (-EPERM); then the text goes to the PV console ring
// (start_info.console.domU) instead, notified with EVTCHNOP_send.
#pragma once

#include <stddef.h>

#include "xen.hpp"

namespace console {

void init(const start_info& info);
void write(const char* text, size_t length);
// Sends a pending partial line as it is.
void flush();
// Terminates a pending partial line, so what follows starts a line of its
// own (verdict lines must).
void end_line();

// Console input: what the backend put in the ring's input half, up to
// `max` bytes (0: nothing yet). Having taken some, it notifies the
// backend, which may have more waiting for room (as Linux's hvc_xen).
// -1: no console ring to read.
long read(char* buffer, size_t max);
// The console's event channel port (0 if there is no ring).
evtchn_port_t port();
// Whether input waits in the ring, without any hypercall (false: no ring).
bool input_waiting();

}  // namespace console

// printf-style output to the console (format.hpp lists the conversions).
__attribute__((format(printf, 1, 2))) void print(const char* format, ...);
