// The PV console's input half on the host: pvvmm's standard input into the
// guest's console ring. A thread reads stdin and leaves the bytes in vCPU
// 0's host channel, posts kPostConsoleInput and kicks the vCPU (an MSI to
// its local APIC); the monitor copies them into the ring and raises the
// console event. On a terminal, stdin is put in raw mode (restored on every
// way out, a signal included) and Ctrl-] stops the guest, as `xl console`.
#pragma once

#include <pthread.h>
#include <termios.h>

#include <atomic>

#include "guest-abi/host_channel.hpp"
#include "vmm/kvm/vm.hpp"
#include "vmm/vcpu_thread.hpp"

namespace pvvmm {

inline constexpr char kConsoleEscape = 0x1d;  // Ctrl-]

class ConsoleInput {
public:
    ConsoleInput(abi::HostChannel& channel, const kvm::Vm& vm, RunControl& control);
    ~ConsoleInput();
    ConsoleInput(const ConsoleInput&) = delete;
    ConsoleInput& operator=(const ConsoleInput&) = delete;

    void start();
    [[nodiscard]] bool is_terminal() const { return raw_; }

private:
    void loop();
    // Copies what fits of `bytes` into the channel; false if the run ended.
    bool deliver(const char* bytes, size_t n);
    void kick();

    abi::HostChannel& ch_;
    const kvm::Vm& vm_;
    RunControl& control_;
    bool raw_ = false;
    pthread_t thread_{};
    bool started_ = false;
    int stop_pipe_[2] = {-1, -1};  // wakes the thread's poll() at the end
};

}  // namespace pvvmm
