/*
 * Numbers shared by trap_entry.S and traps.cpp. Architectural vectors are
 * 0..31; the two callbacks Xen bounces to (CALLBACKOP_register) get pseudo
 * vectors above 255 so one C dispatcher serves all entry stubs.
 */
#pragma once

#define TRAP_VECTOR_EVENT_UPCALL 0x100
#define TRAP_VECTOR_FAILSAFE     0x101

/* struct traps::Frame: 15 saved GPRs, vector, error code, then the
 * hardware-style part of Xen's bounce frame (rip, cs, rflags, rsp, ss). */
#define TRAP_FRAME_GPR_BYTES     (15 * 8)
#define TRAP_FRAME_SIZE          (TRAP_FRAME_GPR_BYTES + 2 * 8 + 5 * 8)
