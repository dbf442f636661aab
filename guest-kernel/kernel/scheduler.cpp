#include "scheduler.hpp"

#include "../lib/hypercall.hpp"
#include "../lib/panic.hpp"

extern "C" void switch_context(uint64_t* save_rsp, uint64_t next_rsp);

namespace sched {
namespace {

proc::Process* running_process = nullptr;
uint64_t boot_thread_rsp = 0;
uint64_t switch_count = 0;

proc::Process* next_runnable() {
    unsigned start = 0;
    if (running_process != nullptr)
        for (unsigned i = 0; i < proc::max_processes; ++i)
            if (proc::slot(i) == running_process)
                start = i + 1;
    for (unsigned n = 0; n < proc::max_processes; ++n) {
        proc::Process* p = proc::slot((start + n) % proc::max_processes);
        if (p->state == proc::State::runnable)
            return p;
    }
    return nullptr;
}

}  // namespace

proc::Process* running() { return running_process; }
uint64_t switches() { return switch_count; }

void switch_to(proc::Process* next) {
    proc::Process* previous = running_process;
    if (next == previous)
        return;
    ++switch_count;
    running_process = next;
    uint64_t* save = previous != nullptr ? &previous->saved_rsp : &boot_thread_rsp;
    if (next == nullptr) {
        vm::set_current(nullptr);
        switch_context(save, boot_thread_rsp);
        return;
    }
    long rc = hv::call<__HYPERVISOR_stack_switch>(FLAT_KERNEL_SS, proc::kernel_stack_top(*next));
    if (rc != 0)
        panic("stack_switch returned %ld", rc);
    vm::set_current(&next->space);
    switch_context(save, next->saved_rsp);
}

void schedule() {
    proc::Process* next = next_runnable();
    if (next == nullptr && running_process != nullptr && running_process->state == proc::State::runnable)
        return;
    switch_to(next);
}

}  // namespace sched
