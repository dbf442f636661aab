// --check-isolation: a host thread that walks every restricted root
// (isolation_check.hpp) every N ms while the vCPUs run, and once more after
// they stopped. A violation ends the run as a monitor panic.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "vmm/isolation/isolation_check.hpp"
#include "vmm/memory.hpp"
#include "vmm/vcpu_thread.hpp"

namespace pvvmm::isolation {

struct Summary {
    uint64_t walks = 0;
    uint64_t roots = 0;   // summed over walks
    uint64_t leaves = 0;  // summed over walks
    uint64_t distinct_violations = 0;
    bool truncated = false;             // a walk found more than it could record
    std::vector<Violation> violations;  // distinct, in the order found, the first kMaxKept
    static constexpr size_t kMaxKept = 64;
};

class IsolationWatch {
public:
    // Starts the thread; `control` is told when a walk finds a violation.
    IsolationWatch(const GuestMemory& mem, const Scope& scope, std::chrono::milliseconds every, RunControl& control);
    IsolationWatch(const IsolationWatch&) = delete;
    IsolationWatch& operator=(const IsolationWatch&) = delete;
    ~IsolationWatch();

    // Stops the periodic walks, walks once more (the vCPUs must have
    // stopped), logs the result and returns it.
    Summary finish();

private:
    void loop();
    void stop();
    Report walk() const;
    void record(const Report& report, bool racing);

    const GuestMemory& mem_;
    const Scope scope_;
    const std::chrono::milliseconds every_;
    RunControl& control_;
    std::mutex lock_;
    std::condition_variable wake_;
    bool stopping_ = false;
    Summary summary_;
    std::set<std::string> seen_;  // violations found so far, for de-duplication across walks
    std::thread thread_;          // last: starts once everything above exists
};

// "isolation violated: ..." for RunResult::detail; empty when clean.
[[nodiscard]] std::string violation_detail(const Summary& summary);

}  // namespace pvvmm::isolation
