// What kernel.elf runs, chosen by the command line: the benchmarks
// (`workload=NAME:N`), the self-test battery, the shell and the hello program. Each
// returns the SCHEDOP_shutdown reason.
#pragma once

namespace workloads {

unsigned hello();
// The `shell` program on the console; poweroff when it exits with 0.
unsigned shell();
unsigned run(const char* specification);
unsigned selftest();
void install_selftest_panic_handler();

}  // namespace workloads
