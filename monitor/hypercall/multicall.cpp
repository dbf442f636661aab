// multicall: a batch of hypercalls, each entry's result written back to
// it. iret and nested multicalls are refused per entry, as they cannot
// return into a batch.
#include <stdint.h>
#include <xen/xen.h>

#include "monitor/hypercall/guest_ptr.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/lib/xen_errno.hpp"

namespace monitor {

namespace {
constexpr uint64_t kMaxCalls = 1u << 16;
}

int64_t hc_multicall(GuestRegs& r, HypercallArgs a) {
    const uint64_t count = a.a2();
    if (count > kMaxCalls)
        return -EINVAL;
    GuestPtr<multicall_entry_t> calls(a.a1());
    for (uint64_t i = 0; i < count; ++i) {
        multicall_entry_t call;
        if (!calls.read(call, i))
            return -EFAULT;
        int64_t result;
        if (call.op == __HYPERVISOR_iret || call.op == __HYPERVISOR_multicall) {
            result = -EINVAL;
        } else {
            uint64_t args[6];
            for (unsigned k = 0; k < 6; ++k)
                args[k] = call.args[k];
            result = dispatch_hypercall(r, call.op, HypercallArgs(r, args));
        }
        GuestPtr<uint64_t> result_field(calls.address() + i * sizeof(multicall_entry_t) +
                                        __builtin_offsetof(multicall_entry_t, result));
        if (!result_field.write(static_cast<uint64_t>(result)))
            return -EFAULT;
    }
    return 0;
}

}  // namespace monitor
