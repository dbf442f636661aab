/*
 * The fuzzer's sandbox: pages that hypercalls with random arguments may
 * legitimately change (remap, copy, clear) without hurting the fuzzer, a
 * window whose mapping they may replace, the kernel stack named by
 * stack_switch, and the trap handler's stack for abandoned user faults.
 */
        .section .bss.page_aligned, "aw", @nobits
        .balign 4096
        .globl  fuzz_sandbox, fuzz_window, fuzz_switch_stack, fuzz_table_staging
fuzz_sandbox:
        .skip   16 * 4096
fuzz_window:
        .skip   16 * 4096
fuzz_switch_stack:
        .skip   4096
fuzz_table_staging:
        .skip   4096

        .section .note.GNU-stack, "", @progbits
