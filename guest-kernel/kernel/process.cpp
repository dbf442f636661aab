#include "process.hpp"

#include "../lib/console.hpp"
#include "../lib/panic.hpp"
#include "../lib/string.hpp"
#include "../user/syscall_numbers.hpp"
#include "elf_loader.hpp"
#include "kernel_lock.hpp"
#include "scheduler.hpp"

extern "C" void process_first_entry();  // entry.S: process_started(), then return_from_trap

namespace proc {
namespace {

Process table[max_processes];
// Kernel stacks live in the image (kernel mappings, shared by every L4).
alignas(4096) uint8_t kernel_stacks[max_processes][kernel_stack_size];
long next_pid = 1;

unsigned index_of(const Process& p) { return static_cast<unsigned>(&p - table); }

Process* allocate_slot() {
    for (Process& p : table)
        if (p.state == State::unused) {
            p = Process{};
            p.pid = next_pid++;
            return &p;
        }
    return nullptr;
}

// Lays out a kernel stack so that the first switch to it "returns" into
// process_first_entry with rsp at `frame`, which then enters user mode.
void prepare_first_entry(Process& p, const traps::Frame& frame) {
    auto* top = reinterpret_cast<uint8_t*>(kernel_stack_top(p));
    auto* user_frame = reinterpret_cast<traps::Frame*>(top - sizeof(traps::Frame));
    *user_frame = frame;
    auto* words = reinterpret_cast<uint64_t*>(user_frame);
    *--words = reinterpret_cast<uint64_t>(process_first_entry);
    for (unsigned i = 0; i < 6; ++i)  // rbx, rbp, r12..r15 popped by switch_context
        *--words = 0;
    p.saved_rsp = reinterpret_cast<uint64_t>(words);
}

void release(Process& p) { p.state = State::unused; }

traps::Frame user_frame(uint64_t entry, uint64_t stack_top, long argument0, long argument1) {
    traps::Frame frame{};
    frame.rip = entry;
    frame.cs = FLAT_USER_CS64;
    frame.rflags = 0x202;  // IF: events follow the upcall mask in user mode
    frame.rsp = stack_top;
    frame.ss = FLAT_USER_SS;
    frame.rdi = static_cast<uint64_t>(argument0);
    frame.rsi = static_cast<uint64_t>(argument1);
    return frame;
}

}  // namespace

Process* current() { return sched::running(); }
Process* slot(unsigned index) { return &table[index]; }
uint64_t kernel_stack_top(const Process& p) {
    return reinterpret_cast<uint64_t>(kernel_stacks[index_of(p)]) + kernel_stack_size;
}

Process* spawn(const UserImage& image, long argument0, long argument1) {
    Process* p = allocate_slot();
    if (p == nullptr)
        return nullptr;
    p->memory = new_memory();
    if (p->memory == nullptr) {
        release(*p);
        return nullptr;
    }
    Memory& m = *p->memory;
    const char* failure = "";
    uint64_t entry = elf::load(image, m.space, m.regions, &failure);
    if (entry == 0 || !m.regions.add(sys::user_stack_top - sys::user_stack_size, sys::user_stack_top, true)) {
        print("kernel: cannot load %s: %s\n", image.name, failure);
        drop(m);
        release(*p);
        return nullptr;
    }
    m.next_mmap = sys::mmap_base;
    prepare_first_entry(*p, user_frame(entry, sys::user_stack_top, argument0, argument1));
    sched::wake(p);
    return p;
}

long fork(const traps::Frame& frame) {
    Process* parent = current();
    Process* child = allocate_slot();
    if (child == nullptr)
        return -sys::enomem;
    child->memory = clone_memory(*parent->memory);
    if (child->memory == nullptr) {
        release(*child);
        return -sys::enomem;
    }
    child->parent = parent;
    traps::Frame child_frame = frame;
    child_frame.rax = 0;
    prepare_first_entry(*child, child_frame);
    sched::wake(child);
    return child->pid;
}

long create_thread(uint64_t entry, uint64_t stack_top, long argument) {
    Process* self = current();
    Process* thread = allocate_slot();
    if (thread == nullptr)
        return -sys::enomem;
    thread->memory = self->memory;
    share(*thread->memory);
    thread->parent = self;
    prepare_first_entry(*thread, user_frame(entry, stack_top, argument, 0));
    sched::wake(thread);
    return thread->pid;
}

void exit(int code) {
    Process* p = current();
    vm::set_current(nullptr);  // off its L4 before (the last thread) tears it down
    drop(*p->memory);
    p->memory = nullptr;
    for (Process& child : table)
        if (child.state != State::unused && child.parent == p) {
            child.parent = nullptr;
            if (child.state == State::zombie)
                release(child);
        }
    p->exit_code = code;
    p->state = State::zombie;
    if (p->parent != nullptr && p->parent->state == State::waiting)
        sched::wake(p->parent);
    sched::process_exited();
    sched::schedule();
    panic("exited process %ld was scheduled again", p->pid);
}

long kill(long pid) {
    Process* self = current();
    for (Process& p : table) {
        if (p.pid != pid || p.state == State::unused || p.state == State::zombie)
            continue;
        if (p.parent != self)
            return -sys::eperm;
        p.kill_pending = true;
        if (p.state != State::runnable)
            sched::wake(&p);  // out of wait, sleep or read, to exit
        else
            sched::interrupt(&p);  // running elsewhere, maybe never entering the kernel
        return 0;
    }
    return -sys::esrch;
}

long wait(long pid, int* status) {
    Process* self = current();
    for (;;) {
        bool has_child = false;
        for (Process& child : table) {
            if (child.state == State::unused || child.parent != self || (pid != -1 && child.pid != pid))
                continue;
            has_child = true;
            if (child.state == State::zombie) {
                *status = child.exit_code;
                long reaped = child.pid;
                release(child);
                return reaped;
            }
        }
        if (!has_child)
            return -sys::echild;
        self->state = State::waiting;
        sched::schedule();
    }
}

void run() { sched::run_until_done(); }

bool any_alive() {
    for (const Process& p : table)
        if (p.state != State::unused && p.state != State::zombie)
            return true;
    return false;
}

bool reap(long pid, int* status) {
    for (Process& p : table)
        if (p.state == State::zombie && p.pid == pid && p.parent == nullptr) {
            *status = p.exit_code;
            release(p);
            return true;
        }
    return false;
}

void reap_all() {
    for (Process& p : table)
        if (p.state == State::zombie && p.parent == nullptr)
            release(p);
}

}  // namespace proc

// process_first_entry (entry.S): the new process holds the lock the
// scheduler thread switched to it with; user mode runs without it.
extern "C" void process_started() { kernel_lock::release(); }
