// What kernel.elf runs, chosen by the command line: the benchmarks
// (`workload=NAME:N`), the self-test battery and the hello program. Each
// returns the SCHEDOP_shutdown reason.
#pragma once

namespace workloads {

unsigned hello();
unsigned run(const char* specification);
unsigned selftest();
void install_selftest_panic_handler();

}  // namespace workloads
