/* kvm-hold: keep one KVM VM with one vCPU (no in-kernel irqchip) open for
 * as long as the emulated machine runs.  Started by init before any program.
 *
 * Why: creating the first VM and destroying the last one makes the guest
 * kernel live-patch its own code on every CPU (the preempt-notifier and
 * kvm_has_noapic_vcpu static keys: __schedule included) and switch SVM/VMX
 * on or off on every CPU by IPI.  Under QEMU's multi-threaded TCG that
 * patching occasionally leaves the other CPU looping on the int3 of a
 * half-patched jump label in __schedule with interrupts off, and the IPI of
 * KVM's teardown (kvm_destroy_vm -> on_each_cpu) then waits for it forever:
 * a soft lockup in the pvvmm process that ends only at the emulator's time
 * limit (scripts/nested/README.md, "Stalls").  With this VM held open,
 * pvvmm's VMs are never the first or the last: no patching, no IPIs.
 *
 * Build: gcc -O2 -static -o kvm-hold kvm-hold.c (setup.sh does). */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void) {
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        perror("kvm-hold: /dev/kvm");
        return 1;
    }
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) {
        perror("kvm-hold: KVM_CREATE_VM");
        return 1;
    }
    if (ioctl(vm, KVM_CREATE_VCPU, 0) < 0) {
        perror("kvm-hold: KVM_CREATE_VCPU");
        return 1;
    }
    for (;;)
        pause();
}
