// One host thread per vCPU: KVM_RUN loop, exit handling and the monitor's
// doorbells (console, log, shutdown, panic). Any thread may end the run;
// the others are kicked out of KVM_RUN with a signal and immediate_exit.
#pragma once

#include <pthread.h>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "guest-abi/host_channel.hpp"
#include "vmm/kvm/vcpu.hpp"
#include "vmm/machine.hpp"
#include "vmm/memory.hpp"
#include "vmm/store_backend.hpp"

namespace pvvmm {

// What all vCPU threads share: the first ending wins.
class RunControl {
public:
    void finish(Outcome outcome, std::string detail);
    [[nodiscard]] bool finished() const { return finished_.load(std::memory_order_acquire); }
    // Waits until finished or the timeout (0 = forever) expires; false on timeout.
    bool wait(std::chrono::milliseconds timeout);
    [[nodiscard]] Outcome outcome() const { return outcome_; }
    [[nodiscard]] const std::string& detail() const { return detail_; }
    std::mutex output_lock;  // serialises console output of all vCPUs

private:
    std::mutex lock_;
    std::condition_variable cv_;
    std::atomic<bool> finished_{false};
    Outcome outcome_ = Outcome::MonitorPanic;
    std::string detail_;
};

class VcpuThread {
public:
    // `profile_steps`: count single-steps per RIP (RunOptions::profile_single_steps).
    // `ignore_kicks`: the thread blocks the kick signal (TestHook::StuckInKvmRun).
    // `store`: serves the guest's xenstore notifications (shared by all vCPUs).
    VcpuThread(kvm::Vcpu vcpu, const GuestMemory& mem, RunControl& control, StoreBackend& store, bool profile_steps,
               bool ignore_kicks);
    void start();
    void kick();  // make KVM_RUN return now
    // Waits for the thread to end; false if it has not ended within `limit`
    // (it is then still inside KVM_RUN, and keeps everything it uses alive).
    [[nodiscard]] bool join_within(std::chrono::milliseconds limit);
    [[nodiscard]] uint32_t id() const { return vcpu_.id(); }
    [[nodiscard]] const kvm::Vcpu& vcpu() const { return vcpu_; }
    [[nodiscard]] abi::HostChannel& channel() const { return *channel_; }
    [[nodiscard]] uint64_t single_steps() const { return single_steps_; }
    [[nodiscard]] const std::unordered_map<uint64_t, uint64_t>& steps_by_address() const { return steps_by_address_; }
    // Where the host thread is now, from /proc (state and kernel wait channel:
    // e.g. "S kvm_vcpu_block" halted in KVM, "R" running): for a hung guest.
    [[nodiscard]] std::string host_state() const;
    // The monitor's timer as its channel shows it: how long the vCPU has been
    // halted (if it is) and where its LAPIC deadline lies from the halt.
    [[nodiscard]] std::string timer_state() const;

private:
    void loop();
    // false: stop running this vCPU.
    bool handle_io(const kvm_run& run);
    void report_fault(const char* what);
    void flush_console();

    kvm::Vcpu vcpu_;
    const GuestMemory& mem_;
    RunControl& control_;
    StoreBackend& store_;
    abi::HostChannel* channel_;
    pthread_t thread_{};
    std::atomic<pid_t> tid_{0};
    bool started_ = false;
    uint64_t single_steps_ = 0;
    bool profile_steps_ = false;
    bool ignore_kicks_ = false;
    std::unordered_map<uint64_t, uint64_t> steps_by_address_;
};

}  // namespace pvvmm
