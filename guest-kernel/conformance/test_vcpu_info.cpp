// VCPUOP_register_vcpu_info (Xen 4.18's map_guest_area), in the order Xen
// checks: an unreadable argument -XEN_EFAULT; an offset that leaves the frame
// (>= 4096) -XEN_EINVAL; (once registered: -XEN_EBUSY from here on); an area
// crossing the page or not 8-byte aligned -XEN_ENXIO; a frame that is not ours
// -XEN_EINVAL; a page-table frame (not writable-typeable) -XEN_EACCES; a vCPU id
// >= nr_vcpus -XEN_ENOENT. Then it moves vcpu_info into our page: the old
// contents copied (mask, time), evtchn_pending_sel all ones and
// upcall_pending set afterwards (one spurious scan), the time info up to
// date; upcalls follow the new copy's mask and not the old one's; pvclock
// still runs. A second registration is -XEN_EBUSY, even with another offset,
// while an offset >= 4096 is still -XEN_EINVAL (checked first).
// This cannot be undone: the subtest runs last, and the guest library
// follows the new location (xen_shared::relocate_vcpu0).
#include "../lib/string.hpp"
#include "events_support.hpp"

namespace {

constexpr uint32_t kOffset = 128;

long register_at(uint64_t mfn, uint32_t offset, unsigned vcpu = 0) {
    vcpu_register_vcpu_info r{mfn, offset, 0};
    return evs::vcpu_op(VCPUOP_register_vcpu_info, vcpu, &r);
}

}  // namespace

Outcome test_vcpu_info() {
    evs::Scope scope;
    REQUIRE(scope.failure() == nullptr, "%s", scope.failure());
    const uint64_t page = physmap::address_of(conf_vcpu_info_page);
    const uint64_t mfn = physmap::virt_to_mfn(page);
    memset(conf_vcpu_info_page, 0x5a, 4096);

    long rc = evs::vcpu_op(VCPUOP_register_vcpu_info, 0, reinterpret_cast<void*>(0x0000'4000'0000'0000));
    REQUIRE(rc == -XEN_EFAULT, "register_vcpu_info with an unmapped argument returned %ld, expected -EFAULT", rc);
    rc = register_at(mfn, 4096);
    REQUIRE(rc == -XEN_EINVAL, "offset 4096 returned %ld, expected -EINVAL", rc);
    rc = register_at(mfn, 4096 - 32);
    REQUIRE(rc == -XEN_ENXIO, "an area crossing the page returned %ld, expected -ENXIO", rc);
    rc = register_at(mfn, 4);
    REQUIRE(rc == -XEN_ENXIO, "a misaligned offset returned %ld, expected -ENXIO", rc);
    rc = register_at(1, kOffset);
    REQUIRE(rc == -XEN_EINVAL, "a frame that is not ours (mfn 1) returned %ld, expected -EINVAL", rc);
    const uint64_t l4 = physmap::virt_to_mfn(setup().info->pt_base);
    rc = register_at(l4, kOffset);
    REQUIRE(rc == -XEN_EACCES, "the L4 page-table frame returned %ld, expected -EACCES", rc);
    const unsigned n = evs::nr_vcpus();
    rc = register_at(mfn, kOffset, n);
    REQUIRE(rc == -XEN_ENOENT, "vCPU %u returned %ld, expected -ENOENT", n, rc);
    REQUIRE(conf_vcpu_info_page[kOffset] == 0x5a, "a refused registration wrote the page");

    // Move it; upcalls masked, nothing pending before.
    volatile vcpu_info& old = evs::vcpu();
    events::disable();
    old.evtchn_pending_sel = 0;
    old.evtchn_upcall_pending = 0;
    const uint32_t old_version = old.time.version;
    rc = register_at(mfn, kOffset);
    REQUIRE(rc == 0, "register_vcpu_info(our page, offset %u) returned %ld", kOffset, rc);
    auto* moved = reinterpret_cast<volatile vcpu_info*>(page + kOffset);
    REQUIRE(moved->evtchn_upcall_mask == 1, "the moved vcpu_info has upcall mask %u, expected the old 1",
            moved->evtchn_upcall_mask);
    REQUIRE(moved->evtchn_pending_sel == ~xen_ulong_t{0}, "evtchn_pending_sel %#lx after the move, expected all ones",
            moved->evtchn_pending_sel);
    REQUIRE(moved->evtchn_upcall_pending == 1, "upcall_pending not set after the move");
    REQUIRE((moved->time.version & 1) == 0 && moved->time.version >= old_version && moved->time.tsc_to_system_mul != 0,
            "the moved time info: version %u (was %u), mul %#x", moved->time.version, old_version,
            moved->time.tsc_to_system_mul);
    xen_shared::relocate_vcpu0(moved);
    evs::Scope moved_scope;  // the recorder now reads the new mask
    REQUIRE(moved_scope.failure() == nullptr, "%s", moved_scope.failure());
    REQUIRE(moved->evtchn_pending_sel == 0 && moved->evtchn_upcall_pending == 0,
            "the spurious scan did not consume the selector (%#lx)", moved->evtchn_pending_sel);

    // Upcalls go through the new copy: its mask counts, the old one's not.
    evs::PortCount counter{};
    evtchn_port_t ipi = 0;
    REQUIRE(moved_scope.bind_ipi(ipi, counter) == 0, "bind_ipi failed");
    old.evtchn_upcall_mask = 1;
    unsigned before = evs::upcalls();
    moved->evtchn_upcall_mask = 0;
    REQUIRE(events::send(ipi) == 0, "send failed");
    REQUIRE(evs::upcalls() == before + 1 && counter.count == 1,
            "send with the new mask 0 (old 1): %u upcalls, expected 1", evs::upcalls() - before);
    moved->evtchn_upcall_mask = 1;
    old.evtchn_upcall_mask = 0;
    before = evs::upcalls();
    REQUIRE(events::send(ipi) == 0, "send failed");
    REQUIRE(evs::upcalls() == before, "an upcall arrived although the new vcpu_info masks them");
    REQUIRE(moved->evtchn_upcall_pending == 1 && old.evtchn_upcall_pending == 0,
            "upcall_pending went to the old copy (new %u, old %u)", moved->evtchn_upcall_pending,
            old.evtchn_upcall_pending);
    events::enable();
    REQUIRE(counter.count == 2, "unmasking the new copy did not deliver the event");
    events::disable();
    old.evtchn_upcall_mask = 1;

    // Time through the new copy.
    const uint64_t t0 = evs::now();
    evs::PortCount timer_count{};
    evtchn_port_t timer = 0;
    REQUIRE(moved_scope.bind_timer(timer, timer_count) == 0, "bind_virq(VIRQ_TIMER) failed");
    const uint64_t woke = evs::sleep_until(t0 + 5 * evs::kMs);
    REQUIRE(woke >= t0 + 5 * evs::kMs && woke - t0 < 1000 * evs::kMs, "pvclock from the new copy: %lu us for 5 ms",
            (woke - t0) / 1000);

    rc = register_at(mfn, kOffset + 64);
    REQUIRE(rc == -XEN_EBUSY, "a second register_vcpu_info returned %ld, expected -EBUSY", rc);
    rc = register_at(mfn, 4);
    REQUIRE(rc == -XEN_EBUSY, "a second, misaligned register_vcpu_info returned %ld, expected -EBUSY (checked first)",
            rc);
    rc = register_at(mfn, 4096);
    REQUIRE(rc == -XEN_EINVAL, "a second register_vcpu_info with offset 4096 returned %ld, expected -EINVAL", rc);
    return passed();
}
