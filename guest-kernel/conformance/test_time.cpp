// Time as Xen gives it to a PV guest: vcpu_time_info (pvclock), the wall
// clock in shared_info, and the run state.
//
// pvclock: the version is even whenever the guest can see it (the monitor
// updates it only on its own vCPU, in ring 0); tsc_to_system_mul lies in
// [2^31, 2^32) as Xen's set_time_scale makes it; system time never goes
// backwards over many reads, in a long loop of short sleeps (1 ms each,
// pvclock_sleeps=N, default 400) between bursts of reads. Each sleep
// halts the vCPU in KVM and its host thread sleeps, so the host scheduler
// may move it to another host CPU: what the guest can prove is only that
// its clock stayed monotonic (and the sleeps were at least as long as
// asked) across whatever migrations happened; it cannot see the host CPU
// it runs on (rdtscp's TSC_AUX is the monitor's, not the host's).
// wallclock: wc_version even, the wall clock (wc_sec, wc_sec_hi, wc_nsec
// plus system time) between 2020 and 2100; the line
// "conformance:   wallclock: S.NNNNNNNNN" is compared with the host's clock
// by tests/integration/wallclock.sh.
// runstate: VCPUOP_get_runstate_info reports running, and after a 20 ms
// block the time spent blocked grew by >= 10 ms (on an emulator a loaded
// host can stretch the few hypercalls around the block by milliseconds); a vCPU id >= nr_vcpus is
// -XEN_ENOENT, an unwritable buffer -XEN_EFAULT; an area registered with
// VCPUOP_register_runstate_memory_area is written at once and updated by
// a block; address 0 stops the updates; a non-canonical address or one in
// the hypervisor's range is -XEN_EFAULT (Xen's guest_handle_okay), an unmapped
// canonical one accepted.
#include "../lib/runtime.hpp"
#include "events_support.hpp"

namespace {

using evs::kMs;
using evs::now;

constexpr uint64_t kNsPerSecond = 1'000'000'000;

}  // namespace

Outcome test_pvclock() {
    evs::Scope scope;
    REQUIRE(scope.failure() == nullptr, "%s", scope.failure());
    evs::PortCount counter{};
    evtchn_port_t timer = 0;
    REQUIRE(scope.bind_timer(timer, counter) == 0, "bind_virq(VIRQ_TIMER) failed");
    volatile vcpu_time_info& t = evs::vcpu().time;
    REQUIRE((t.version & 1) == 0, "vcpu_time_info version %u is odd", t.version);
    REQUIRE(t.tsc_to_system_mul >= (1u << 31), "tsc_to_system_mul %#x below 2^31 (Xen's scale is in [2^31, 2^32))",
            t.tsc_to_system_mul);
    REQUIRE(t.system_time != 0 && t.tsc_timestamp != 0, "vcpu_time_info is empty");

    const unsigned sleeps = static_cast<unsigned>(runtime::command_line_number("pvclock_sleeps", 400));
    uint64_t previous = now(), reads = 0, max_step = 0, versions_seen = 0;
    uint32_t last_version = t.version;
    for (unsigned i = 0; i < sleeps; ++i) {
        for (unsigned k = 0; k < 50; ++k) {
            const uint32_t version = t.version;
            REQUIRE((version & 1) == 0, "vcpu_time_info version %u odd while the guest reads it", version);
            if (version != last_version) {
                ++versions_seen;
                last_version = version;
            }
            const uint64_t current = now();
            ++reads;
            REQUIRE(current >= previous, "system time went backwards by %lu ns (read %lu, sleep %u)",
                    previous - current, reads, i);
            if (current - previous > max_step)
                max_step = current - previous;
            previous = current;
        }
        const uint64_t deadline = previous + 1 * kMs;
        const uint64_t woke = evs::sleep_until(deadline);
        REQUIRE(woke >= deadline, "a 1 ms sleep ended early");
        REQUIRE(woke >= previous, "system time went backwards across sleep %u by %lu ns", i, previous - woke);
        previous = woke;
    }
    print(
        "conformance:   pvclock: %lu reads across %u sleeps of 1 ms, never backwards; %lu updates seen, largest "
        "step %lu us\n",
        reads, sleeps, versions_seen, max_step / 1000);
    return passed();
}

Outcome test_wallclock() {
    evs::Scope scope;
    REQUIRE(scope.failure() == nullptr, "%s", scope.failure());
    volatile shared_info& s = evs::shared();
    const uint32_t version = s.wc_version;
    REQUIRE((version & 1) == 0, "wc_version %u is odd", version);
    REQUIRE(s.wc_nsec < kNsPerSecond, "wc_nsec %u is not below 1e9", s.wc_nsec);
    const uint64_t wall = pvclock::wallclock_ns();
    const uint64_t seconds = wall / kNsPerSecond;
    print("conformance:   wallclock: %lu.%09lu (wc_sec %u wc_sec_hi %u wc_nsec %u, system time %lu ns)\n", seconds,
          wall % kNsPerSecond, s.wc_sec, s.wc_sec_hi, s.wc_nsec, now());
    constexpr uint64_t k2020 = 1577836800, k2100 = 4102444800;
    REQUIRE(seconds >= k2020 && seconds < k2100, "wall clock %lu s since 1970 is not between 2020 and 2100", seconds);
    const uint64_t later = pvclock::wallclock_ns();
    REQUIRE(later >= wall, "the wall clock went backwards");
    return passed();
}

namespace {

constexpr uint64_t kUnmapped = 0x0000'4000'0000'0000;

Outcome runstate_area(evtchn_port_t) {
    auto* area = reinterpret_cast<volatile vcpu_runstate_info*>(conf_runstate_page);
    memset(const_cast<vcpu_runstate_info*>(area), 0xff, sizeof *area);
    vcpu_register_runstate_memory_area reg{};
    reg.addr.v = const_cast<vcpu_runstate_info*>(area);
    long rc = evs::vcpu_op(VCPUOP_register_runstate_memory_area, 0, &reg);
    REQUIRE(rc == 0, "register_runstate_memory_area returned %ld", rc);
    REQUIRE(area->state == RUNSTATE_running && area->state_entry_time <= now(),
            "the registered area was not written at once (state %d, entry time %#lx)", area->state,
            area->state_entry_time);
    const uint64_t blocked0 = area->time[RUNSTATE_blocked];
    evs::sleep_until(now() + 20 * kMs);
    REQUIRE(area->state == RUNSTATE_running, "area state %d after the block, expected running", area->state);
    REQUIRE(area->time[RUNSTATE_blocked] >= blocked0 + 10 * kMs,
            "the area's blocked time grew by %lu us over a 20 ms block",
            (area->time[RUNSTATE_blocked] - blocked0) / 1000);

    // Address 0: no more updates.
    reg.addr.v = nullptr;
    rc = evs::vcpu_op(VCPUOP_register_runstate_memory_area, 0, &reg);
    REQUIRE(rc == 0, "register_runstate_memory_area(0) returned %ld", rc);
    memset(const_cast<vcpu_runstate_info*>(area), 0xab, sizeof *area);
    evs::sleep_until(now() + 2 * kMs);
    REQUIRE(area->state_entry_time == 0xababababababababull, "the area was still written after registering address 0");

    // Xen's guest_handle_okay: below 2^47 or above the hypervisor's range.
    const uint64_t refused[3] = {0x0000'8000'0000'0000, HYPERVISOR_VIRT_START, 0xffff'87ff'ffff'f000};
    for (uint64_t address : refused) {
        reg.addr.v = reinterpret_cast<vcpu_runstate_info*>(address);
        rc = evs::vcpu_op(VCPUOP_register_runstate_memory_area, 0, &reg);
        REQUIRE(rc == -XEN_EFAULT, "register_runstate_memory_area(%#lx) returned %ld, expected -EFAULT", address, rc);
    }
    reg.addr.v = reinterpret_cast<vcpu_runstate_info*>(kUnmapped);
    rc = evs::vcpu_op(VCPUOP_register_runstate_memory_area, 0, &reg);
    REQUIRE(rc == 0, "register_runstate_memory_area(unmapped canonical address) returned %ld, expected 0", rc);
    evs::sleep_until(now() + 1 * kMs);  // the writes fail quietly
    reg.addr.v = nullptr;
    rc = evs::vcpu_op(VCPUOP_register_runstate_memory_area, 0, &reg);
    REQUIRE(rc == 0, "register_runstate_memory_area(0) returned %ld", rc);
    rc = evs::vcpu_op(VCPUOP_register_runstate_memory_area, 0, reinterpret_cast<void*>(kUnmapped));
    REQUIRE(rc == -XEN_EFAULT, "register_runstate_memory_area with an unmapped argument returned %ld", rc);
    return passed();
}

}  // namespace

Outcome test_runstate() {
    evs::Scope scope;
    REQUIRE(scope.failure() == nullptr, "%s", scope.failure());
    evs::PortCount counter{};
    evtchn_port_t timer = 0;
    REQUIRE(scope.bind_timer(timer, counter) == 0, "bind_virq(VIRQ_TIMER) failed");
    vcpu_runstate_info before{}, after{};
    long rc = evs::vcpu_op(VCPUOP_get_runstate_info, 0, &before);
    REQUIRE(rc == 0, "get_runstate_info returned %ld", rc);
    REQUIRE(before.state == RUNSTATE_running, "state %d, expected running", before.state);
    REQUIRE(before.state_entry_time <= now(), "state_entry_time %lu is in the future", before.state_entry_time);
    const uint64_t slept_from = now();
    const uint64_t woke = evs::sleep_until(slept_from + 20 * kMs);
    rc = evs::vcpu_op(VCPUOP_get_runstate_info, 0, &after);
    REQUIRE(rc == 0 && after.state == RUNSTATE_running, "get_runstate_info after the block: rc %ld state %d", rc,
            after.state);
    const uint64_t blocked = after.time[RUNSTATE_blocked] - before.time[RUNSTATE_blocked];
    print("conformance:   runstate: %lu us blocked over a 20 ms sleep\n", blocked / 1000);
    REQUIRE(blocked >= 10 * kMs && blocked <= woke - before.state_entry_time,
            "time blocked grew by %lu us over a 20 ms block (%lu us since the running state began)", blocked / 1000,
            (woke - before.state_entry_time) / 1000);
    REQUIRE(after.time[RUNSTATE_running] > before.time[RUNSTATE_running], "time running did not grow");
    REQUIRE(after.state_entry_time > before.state_entry_time, "state_entry_time did not move");

    const unsigned n = evs::nr_vcpus();
    rc = evs::vcpu_op(VCPUOP_get_runstate_info, n, &after);
    REQUIRE(rc == -XEN_ENOENT, "get_runstate_info(vCPU %u) returned %ld, expected -ENOENT", n, rc);
    rc = evs::vcpu_op(VCPUOP_get_runstate_info, 0, reinterpret_cast<void*>(kUnmapped));
    REQUIRE(rc == -XEN_EFAULT, "get_runstate_info into unmapped memory returned %ld, expected -EFAULT", rc);
    if (n >= 2) {
        rc = evs::vcpu_op(VCPUOP_get_runstate_info, 1, &after);
        REQUIRE(rc == 0, "get_runstate_info(vCPU 1) returned %ld (any vCPU of the domain)", rc);
    }
    return runstate_area(timer);
}
