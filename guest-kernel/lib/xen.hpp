// The Xen public ABI (libxen-dev headers) as our guests see it.
//
// The headers expect the fixed-width integer types to exist already and are
// compiled with -D__XEN_INTERFACE_VERSION__=__XEN_LATEST_INTERFACE_VERSION__
// (meson's freestanding_args), so every guest uses the same struct layouts.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <xen/xen.h>

#include <xen/arch-x86/cpuid.h>
#include <xen/callback.h>
#include <xen/errno.h>
#include <xen/event_channel.h>
#include <xen/features.h>
#include <xen/io/console.h>
#include <xen/memory.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/version.h>

// Layout facts the assembly and the tests rely on (xen-x86_64.h, xen.h).
static_assert(sizeof(void*) == 8, "x86-64 PV guests only");
static_assert(sizeof(struct trap_info) == 16);
static_assert(sizeof(struct vcpu_info) == 64);
static_assert(sizeof(struct iret_context) == 9 * 8);
static_assert(offsetof(struct iret_context, flags) == 3 * 8);
static_assert(offsetof(struct iret_context, rip) == 4 * 8);
static_assert(offsetof(struct start_info, cmd_line) == 0x80);
