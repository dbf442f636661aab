#include "process.hpp"

#include "../lib/console.hpp"
#include "../lib/panic.hpp"
#include "../lib/string.hpp"
#include "../user/syscall_numbers.hpp"
#include "elf_loader.hpp"
#include "scheduler.hpp"

extern "C" void return_from_trap();

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
// return_from_trap with rsp at `frame`, which then enters user mode.
void prepare_first_entry(Process& p, const traps::Frame& frame) {
    auto* top = reinterpret_cast<uint8_t*>(kernel_stack_top(p));
    auto* user_frame = reinterpret_cast<traps::Frame*>(top - sizeof(traps::Frame));
    *user_frame = frame;
    auto* words = reinterpret_cast<uint64_t*>(user_frame);
    *--words = reinterpret_cast<uint64_t>(return_from_trap);
    for (unsigned i = 0; i < 6; ++i)  // rbx, rbp, r12..r15 popped by switch_context
        *--words = 0;
    p.saved_rsp = reinterpret_cast<uint64_t>(words);
}

void release(Process& p) { p.state = State::unused; }

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
    if (!vm::create(p->space)) {
        release(*p);
        return nullptr;
    }
    const char* failure = "";
    uint64_t entry = elf::load(image, p->space, p->regions, &failure);
    if (entry == 0 || !p->regions.add(sys::user_stack_top - sys::user_stack_size, sys::user_stack_top, true)) {
        print("kernel: cannot load %s: %s\n", image.name, failure);
        vm::destroy(p->space);
        release(*p);
        return nullptr;
    }
    p->next_mmap = sys::mmap_base;
    traps::Frame frame{};
    frame.rip = entry;
    frame.cs = FLAT_USER_CS64;
    frame.rflags = 0x202;  // IF: events follow the upcall mask in user mode
    frame.rsp = sys::user_stack_top;
    frame.ss = FLAT_USER_SS;
    frame.rdi = static_cast<uint64_t>(argument0);
    frame.rsi = static_cast<uint64_t>(argument1);
    prepare_first_entry(*p, frame);
    p->state = State::runnable;
    return p;
}

long fork(const traps::Frame& frame) {
    Process* parent = current();
    Process* child = allocate_slot();
    if (child == nullptr)
        return -sys::enomem;
    if (!vm::copy_on_write_clone(parent->space, child->space)) {
        release(*child);
        return -sys::enomem;
    }
    child->regions = parent->regions;
    child->next_mmap = parent->next_mmap;
    child->parent = parent;
    traps::Frame child_frame = frame;
    child_frame.rax = 0;
    prepare_first_entry(*child, child_frame);
    sched::wake(child);
    return child->pid;
}

void exit(int code) {
    Process* p = current();
    vm::set_current(nullptr);  // off its L4 before tearing it down
    vm::destroy(p->space);
    p->regions.clear();
    for (Process& child : table)
        if (child.state != State::unused && child.parent == p) {
            child.parent = nullptr;
            if (child.state == State::zombie)
                release(child);
        }
    p->exit_code = code;
    p->state = State::zombie;
    if (p->parent != nullptr && p->parent->state == State::waiting)
        p->parent->state = State::runnable;
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

void run() {
    sched::schedule();
    // Back on the boot thread: nothing is runnable any more. A process
    // still waiting would wait forever (a kernel bug).
    for (Process& p : table)
        if (p.state == State::waiting)
            panic("process %ld waits, but nothing can run", p.pid);
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
