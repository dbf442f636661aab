// Ending the domain: SCHEDOP_shutdown with a reason from xen/sched.h.
#pragma once

#include "xen.hpp"

[[noreturn]] void shutdown(unsigned reason);
[[noreturn]] inline void poweroff() { shutdown(SHUTDOWN_poweroff); }
[[noreturn]] inline void crash() { shutdown(SHUTDOWN_crash); }
