/* Offsets shared by assembly and C++. Only #defines here so that .S files
 * can include it; regs.hpp checks every value with static_assert. */
#pragma once

#define REGS_R15 0x00
#define REGS_R14 0x08
#define REGS_R13 0x10
#define REGS_R12 0x18
#define REGS_RBP 0x20
#define REGS_RBX 0x28
#define REGS_R11 0x30
#define REGS_R10 0x38
#define REGS_R9 0x40
#define REGS_R8 0x48
#define REGS_RAX 0x50
#define REGS_RCX 0x58
#define REGS_RDX 0x60
#define REGS_RSI 0x68
#define REGS_RDI 0x70
#define REGS_VECTOR 0x78
#define REGS_ERROR_CODE 0x80
#define REGS_RIP 0x88
#define REGS_CS 0x90
#define REGS_RFLAGS 0x98
#define REGS_RSP 0xa0
#define REGS_SS 0xa8
#define REGS_SIZE 0xb0

/* CpuInfo sits at the top of each per-CPU stack; its first member is the
 * guest register frame, so TSS.RSP0 = CpuInfo + REGS_SIZE. */
#define CPUINFO_SCRATCH_RSP (REGS_SIZE + 0x00)
/* XPTI (Xen's cpu_info fields): CR3 to load on entry (0: none), CR3 of the
 * restricted root to load on exit, the monitor view the exit path arms
 * xen_cr3 with, and the flag byte saying pv_cr3 is (about to be) live. */
#define CPUINFO_XEN_CR3 (REGS_SIZE + 0x18)
#define CPUINFO_PV_CR3 (REGS_SIZE + 0x20)
#define CPUINFO_MONITOR_CR3 (REGS_SIZE + 0x28)
#define CPUINFO_USE_PV_CR3 (REGS_SIZE + 0x30)
/* Per CPU: its IDT's entry path and this exit go together. */
#define CPUINFO_EXIT_PATH (REGS_SIZE + 0x38)
/* The XPTI engine's last CR3 write (read by the host after a triple fault). */
#define CPUINFO_LAST_CR3_WRITTEN (REGS_SIZE + 0x40)
/* An L4 release left to this sleeping vCPU: its cached roots await a drop. */
#define CPUINFO_CACHED_ROOTS_AWAIT_DROP (REGS_SIZE + 0x48)
#define CPUINFO_SIZE 0x100

/* Per-CPU area offsets (mirror layout::percpu in guest-abi/layout.hpp). */
#define PERCPU_VIRT_STRIDE 0x100000
#define PERCPU_STUB_OFFSET 0x0000
#define PERCPU_STACK_TOP 0x8000
#define PERCPU_CPUINFO_OFFSET (PERCPU_STACK_TOP - CPUINFO_SIZE)

/* Software vector number for syscall entries (above the 256 IDT vectors). */
#define VECTOR_SYSCALL 0x100
/* Interrupt vectors of the local APIC (monitor/arch/x86_64/lapic.hpp); the
 * host's kick must match layout::kHostKickVector. */
#define VECTOR_LAPIC_TIMER 0xf0
#define VECTOR_HOST_KICK 0xf1
#define VECTOR_IPI 0xf2
#define VECTOR_SPURIOUS 0xff

#define MONITOR_CS 0xe008
#define MONITOR_DS 0xe010
#define GUEST_CS64 0xe033
#define GUEST_SS 0xe02b
