#include "vmm/isolation/isolation_watch.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>

#include "guest-abi/layout.hpp"
#include "monitor/arch/x86_64/asm_offsets.hpp"
#include "pagetables/entry.hpp"

namespace pvvmm::isolation {
namespace {

constexpr size_t kLoggedViolations = 10;

// The vCPUs write these tables while the thread reads them: one relaxed
// 8-byte load per entry (the monitor writes whole entries too).
struct RacingTableReader {
    const GuestMemory& mem;
    uint64_t read(uint64_t table_pa, unsigned index) const {
        auto* entry = mem.object<uint64_t>(table_pa + index * 8ull);
        return entry ? std::atomic_ref<uint64_t>(*entry).load(std::memory_order_relaxed) : 0;
    }
};

// The same finding in two walks; the hardware may have set A/D bits in between.
bool same_finding(const Violation& a, const Violation& b) {
    return a.vcpu == b.vcpu && a.root == b.root && a.va == b.va && a.pa == b.pa && a.reason == b.reason;
}

std::string finding_key(const Violation& v) { return fmt::format("{} {} {:#x} {}", v.vcpu, v.root, v.va, v.reason); }

// A vCPU the monitor left an L4 release to while it slept: only the root
// it runs on (pv_cr3's) counts, the others are emptied before it runs
// guest code (monitor/smp/remote.cpp).
uint64_t root_while_cached_await_drop(const GuestMemory& mem, uint32_t vcpu) {
    const uint64_t cpu_info = layout::percpu_gpa(vcpu) + PERCPU_CPUINFO_OFFSET;
    const auto* flag = mem.object<uint64_t>(cpu_info + CPUINFO_CACHED_ROOTS_AWAIT_DROP);
    const auto* pv_cr3 = mem.object<uint64_t>(cpu_info + CPUINFO_PV_CR3);
    if (!flag || !pv_cr3 || std::atomic_ref<const uint64_t>(*flag).load(std::memory_order_acquire) == 0)
        return 0;
    return std::atomic_ref<const uint64_t>(*pv_cr3).load(std::memory_order_relaxed) & pt::kAddrMask;
}

Scope with_await_drop(const GuestMemory& mem, Scope scope) {
    if (!scope.only_root)
        scope.only_root = [&mem](uint32_t vcpu) { return root_while_cached_await_drop(mem, vcpu); };
    return scope;
}

}  // namespace

IsolationWatch::IsolationWatch(const GuestMemory& mem, const Scope& scope, std::chrono::milliseconds every,
                               RunControl& control)
    : mem_(mem), scope_(with_await_drop(mem, scope)), every_(every), control_(control), thread_([this] { loop(); }) {}

IsolationWatch::~IsolationWatch() { stop(); }

void IsolationWatch::stop() {
    {
        std::lock_guard g(lock_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

Report IsolationWatch::walk() const {
    const RacingTableReader reader{mem_};
    return check_restricted_roots(
        ReadEntry{[&reader](uint64_t table, unsigned index) { return reader.read(table, index); }}, scope_);
}

void IsolationWatch::loop() {
    std::unique_lock g(lock_);
    while (!wake_.wait_for(g, every_, [this] { return stopping_; })) {
        g.unlock();
        Report report = walk();
        if (report.violation_count != 0) {
            // A guest rewriting its tables mid-walk can make the walk follow
            // a frame that just stopped being a table: count only what a
            // second walk sees again.
            const Report again = walk();
            std::erase_if(report.violations, [&](const Violation& v) {
                return std::none_of(again.violations.begin(), again.violations.end(),
                                    [&](const Violation& w) { return same_finding(v, w); });
            });
            if (report.violation_count <= kMaxRecordedViolations)
                report.violation_count = report.violations.size();
        }
        record(report, true);
        g.lock();
    }
}

void IsolationWatch::record(const Report& report, bool racing) {
    ++summary_.walks;
    summary_.roots += report.roots;
    summary_.leaves += report.leaves;
    for (const Violation& v : report.violations) {
        if (!seen_.insert(finding_key(v)).second)
            continue;
        ++summary_.distinct_violations;
        if (summary_.violations.size() < Summary::kMaxKept)
            summary_.violations.push_back(v);
    }
    summary_.truncated = summary_.truncated || report.violation_count > report.violations.size();
    if (racing && summary_.distinct_violations != 0)
        control_.finish(Outcome::MonitorPanic, violation_detail(summary_));
}

Summary IsolationWatch::finish() {
    stop();
    record(walk(), false);
    const Summary& s = summary_;
    if (s.distinct_violations == 0) {
        spdlog::info("isolation: {} walks, {} roots, {} leaf mappings checked, 0 violations", s.walks, s.roots,
                     s.leaves);
        return s;
    }
    spdlog::error("isolation: {} walks, {} roots, {} leaf mappings checked, {}{} violations", s.walks, s.roots,
                  s.leaves, s.truncated ? "at least " : "", s.distinct_violations);
    for (size_t i = 0; i < std::min(s.violations.size(), kLoggedViolations); ++i)
        spdlog::error("isolation violated: {}", format_violation(s.violations[i]));
    if (s.distinct_violations > kLoggedViolations)
        spdlog::error("isolation: {} more violations not shown", s.distinct_violations - kLoggedViolations);
    return s;
}

std::string violation_detail(const Summary& summary) {
    if (summary.distinct_violations == 0)
        return {};
    return fmt::format("isolation violated: {} mapping(s) in restricted roots break the allowed set, first: {}",
                       summary.distinct_violations,
                       summary.violations.empty() ? "not recorded" : format_violation(summary.violations.front()));
}

}  // namespace pvvmm::isolation
